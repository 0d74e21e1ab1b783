/*
 * Promise (Promises/A+ with thenable adoption) and the microtask queue that
 * the host drains after every macrotask.  Runs in the sandbox heap.
 * Each part is the body of function (native, rt); see sandbox/runtime_parts.h.
 */
'use strict';

var SLOT = native.hidden('promise');
var PENDING = 0, FULFILLED = 1, REJECTED = 2;

/* The microtask queue: a FIFO with a moving head, so an interrupted drain resumes cleanly. */
var queue = [];
var head = 0;
/* Rejected promises without a handler, checked when the queue is empty. */
var unhandled = [];

rt.enqueue = function (job) {
	queue.push(job);
};

function reportUnhandled() {
	var list = unhandled;
	var i, st;

	unhandled = [];
	for (i = 0; i < list.length; i++) {
		st = list[i][SLOT];
		if (!st.handled)
			rt.reportError(st.value, 'Uncaught (in promise)');
	}
}

/* Runs every queued job, including those queued while draining. */
rt.drain = function () {
	var job;

	for (;;) {
		while (head < queue.length) {
			job = queue[head];
			queue[head++] = undefined;
			job();
		}
		queue.length = 0;
		head = 0;
		if (unhandled.length === 0)
			return;
		reportUnhandled();
		if (queue.length === 0)
			return;
	}
};

function isObject(x) {
	return x !== null && (typeof x === 'object' || typeof x === 'function');
}

function settle(p, state, value) {
	var st = p[SLOT];
	var reactions = st.reactions;
	var i;

	if (st.state !== PENDING)
		return;
	st.state = state;
	st.value = value;
	st.reactions = null;
	if (state === REJECTED && !st.handled)
		unhandled.push(p);
	for (i = 0; i < reactions.length; i++)
		scheduleReaction(reactions[i], state, value);
}

function scheduleReaction(reaction, state, value) {
	rt.enqueue(function () {
		var handler = state === FULFILLED ? reaction.onFulfilled : reaction.onRejected;
		var result;

		if (typeof handler !== 'function') {
			if (state === FULFILLED)
				reaction.resolve(value);
			else
				reaction.reject(value);
			return;
		}
		try {
			result = handler(value);
		} catch (e) {
			reaction.reject(e);
			return;
		}
		reaction.resolve(result);
	});
}

/* The resolve/reject pair of a promise; only the first call of either counts. */
function resolvingFunctions(p) {
	var done = false;

	function reject(reason) {
		if (done)
			return;
		done = true;
		settle(p, REJECTED, reason);
	}
	function resolve(x) {
		var then;

		if (done)
			return;
		done = true;
		if (x === p) {
			settle(p, REJECTED, new TypeError('a promise cannot be resolved with itself'));
			return;
		}
		if (!isObject(x)) {
			settle(p, FULFILLED, x);
			return;
		}
		try {
			then = x.then;
		} catch (e) {
			settle(p, REJECTED, e);
			return;
		}
		if (typeof then !== 'function') {
			settle(p, FULFILLED, x);
			return;
		}
		rt.enqueue(function () {
			var fns = resolvingFunctions(p);

			try {
				then.call(x, fns.resolve, fns.reject);
			} catch (e) {
				fns.reject(e);
			}
		});
	}
	return { resolve: resolve, reject: reject };
}

function Promise(executor) {
	var fns;

	if (!(this instanceof Promise) || this[SLOT] !== undefined)
		throw new TypeError("Promise constructor cannot be invoked without 'new'");
	if (typeof executor !== 'function')
		throw new TypeError('Promise resolver is not a function');
	this[SLOT] = { state: PENDING, value: undefined, reactions: [], handled: false };
	fns = resolvingFunctions(this);
	try {
		executor(fns.resolve, fns.reject);
	} catch (e) {
		fns.reject(e);
	}
}

function thisPromise(p, what) {
	if (!isObject(p) || p[SLOT] === undefined)
		throw new TypeError('Promise.prototype.' + what + ' called on an incompatible receiver');
	return p[SLOT];
}

/* A new promise and its resolving functions (a "promise capability"). */
function capability() {
	var cap = {};

	cap.promise = new Promise(function (resolve, reject) {
		cap.resolve = resolve;
		cap.reject = reject;
	});
	return cap;
}

Promise.prototype.then = function (onFulfilled, onRejected) {
	var st = thisPromise(this, 'then');
	var cap = capability();
	var reaction = {
		onFulfilled: onFulfilled, onRejected: onRejected,
		resolve: cap.resolve, reject: cap.reject
	};

	st.handled = true;
	if (st.state === PENDING)
		st.reactions.push(reaction);
	else
		scheduleReaction(reaction, st.state, st.value);
	return cap.promise;
};

Promise.prototype['catch'] = function (onRejected) {
	return this.then(undefined, onRejected);
};

Promise.prototype['finally'] = function (onFinally) {
	if (typeof onFinally !== 'function')
		return this.then(onFinally, onFinally);
	return this.then(function (value) {
		return Promise.resolve(onFinally()).then(function () { return value; });
	}, function (reason) {
		return Promise.resolve(onFinally()).then(function () { throw reason; });
	});
};

Object.defineProperty(Promise.prototype, Symbol.toStringTag, {
	value: 'Promise', configurable: true
});

Promise.resolve = function (x) {
	if (isObject(x) && x[SLOT] !== undefined && x.constructor === Promise)
		return x;
	return new Promise(function (resolve) { resolve(x); });
};

Promise.reject = function (reason) {
	return new Promise(function (resolve, reject) { reject(reason); });
};

/* The elements of an iterable (or array-like) as an array. */
rt.toArray = function (iterable) {
	var it, step, out;

	if (iterable === null || iterable === undefined)
		throw new TypeError(String(iterable) + ' is not iterable');
	if (typeof iterable[Symbol.iterator] === 'function') {
		it = iterable[Symbol.iterator]();
		out = [];
		while (!(step = it.next()).done)
			out.push(step.value);
		return out;
	}
	if (Array.isArray(iterable) || typeof iterable === 'string')
		return Array.prototype.slice.call(iterable);
	throw new TypeError('object is not iterable');
};

/* Shared skeleton of all/allSettled/any: calls each(i, promise, cap, count) per element. */
function combine(iterable, whenEmpty, each) {
	var cap = capability();
	var items, i, state;

	try {
		items = rt.toArray(iterable);
		state = { remaining: items.length, values: new Array(items.length) };
		if (items.length === 0)
			whenEmpty(cap, state);
		for (i = 0; i < items.length; i++)
			each(i, Promise.resolve(items[i]), cap, state);
	} catch (e) {
		cap.reject(e);
	}
	return cap.promise;
}

Promise.all = function (iterable) {
	return combine(iterable, function (cap) { cap.resolve([]); }, function (i, p, cap, st) {
		p.then(function (v) {
			st.values[i] = v;
			if (--st.remaining === 0)
				cap.resolve(st.values);
		}, cap.reject);
	});
};

Promise.allSettled = function (iterable) {
	return combine(iterable, function (cap) { cap.resolve([]); }, function (i, p, cap, st) {
		function record(entry) {
			st.values[i] = entry;
			if (--st.remaining === 0)
				cap.resolve(st.values);
		}
		p.then(function (v) {
			record({ status: 'fulfilled', value: v });
		}, function (e) {
			record({ status: 'rejected', reason: e });
		});
	});
};

function AggregateError(errors, message) {
	var e = new Error(message === undefined ? '' : String(message));

	Object.setPrototypeOf(e, AggregateError.prototype);
	Object.defineProperty(e, 'errors', { value: rt.toArray(errors), writable: true, configurable: true });
	return e;
}
AggregateError.prototype = Object.create(Error.prototype, {
	constructor: { value: AggregateError, writable: true, configurable: true },
	name: { value: 'AggregateError', writable: true, configurable: true },
	message: { value: '', writable: true, configurable: true }
});

Promise.any = function (iterable) {
	function none(cap, st) {
		cap.reject(new AggregateError(st.values, 'All promises were rejected'));
	}
	return combine(iterable, none, function (i, p, cap, st) {
		p.then(cap.resolve, function (e) {
			st.values[i] = e;
			if (--st.remaining === 0)
				none(cap, st);
		});
	});
};

Promise.race = function (iterable) {
	var cap = capability();
	var items, i;

	try {
		items = rt.toArray(iterable);
		for (i = 0; i < items.length; i++)
			Promise.resolve(items[i]).then(cap.resolve, cap.reject);
	} catch (e) {
		cap.reject(e);
	}
	return cap.promise;
};

function queueMicrotask(callback) {
	if (typeof callback !== 'function')
		throw new TypeError("queueMicrotask: argument is not a function");
	rt.enqueue(function () {
		try {
			callback();
		} catch (e) {
			rt.reportError(e, 'Uncaught');
		}
	});
}

rt.capability = capability;
rt.Promise = Promise;
rt.define(globalThis, 'Promise', Promise);
rt.define(globalThis, 'AggregateError', AggregateError);
rt.define(globalThis, 'queueMicrotask', queueMicrotask);

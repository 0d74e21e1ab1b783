/*
 * AbortController and AbortSignal (DOM): abort(reason), the abort event and
 * onabort, and the statics abort(), timeout() (on the runtime's timers) and any().
 */
'use strict';

var SLOT = native.hidden('abortsignal');
var CONTROLLER = native.hidden('abortcontroller');
var setTimer = globalThis.setTimeout;
var INTERNAL = {};
var addListener = rt.EventTarget.prototype.addEventListener;

function signalState(x) {
	var st = x !== null && typeof x === 'object' ? x[SLOT] : undefined;

	if (st === undefined)
		throw new TypeError('Illegal invocation: not an AbortSignal');
	return st;
}

function AbortSignal(token) {
	if (token !== INTERNAL || !(this instanceof AbortSignal))
		throw new TypeError("Failed to construct 'AbortSignal': Illegal constructor");
	rt.EventTarget.call(this);
	Object.defineProperty(this, SLOT, { value: {
		aborted: false,
		reason: undefined,
		algorithms: [],
		dependent: false,
		sources: [],
		dependents: [],
		onabort: null,
		handlerAdded: false
	} });
}
rt.inherit(AbortSignal, rt.EventTarget);

function newSignal() {
	return new AbortSignal(INTERNAL);
}

function defaultReason() {
	return rt.domException('This operation was aborted', 'AbortError');
}

/* Runs the abort algorithms and fires `abort` on a signal already marked aborted. */
function runAbortSteps(signal, st) {
	var algorithms = st.algorithms;
	var i;

	st.algorithms = [];
	for (i = 0; i < algorithms.length; i++) {
		try {
			algorithms[i].call(undefined, st.reason);
		} catch (e) {
			rt.reportError(e, 'Uncaught (in abort algorithm)');
		}
	}
	rt.dispatchEvent(signal, new rt.Event('abort'), false);
}

/* Signals `signal` with `reason` (default: an AbortError), and its dependents. */
function signalAbort(signal, reason) {
	var st = signalState(signal);
	var toAbort = [];
	var i, dst;

	if (st.aborted)
		return;
	st.aborted = true;
	st.reason = reason === undefined ? defaultReason() : reason;
	for (i = 0; i < st.dependents.length; i++) {
		dst = signalState(st.dependents[i]);
		if (!dst.aborted) {
			dst.aborted = true;
			dst.reason = st.reason;
			toAbort.push(st.dependents[i]);
		}
	}
	st.dependents = [];
	runAbortSteps(signal, st);
	for (i = 0; i < toAbort.length; i++)
		runAbortSteps(toAbort[i], signalState(toAbort[i]));
}

rt.getter(AbortSignal.prototype, 'aborted', function () { return signalState(this).aborted; });
rt.getter(AbortSignal.prototype, 'reason', function () { return signalState(this).reason; });
Object.defineProperty(AbortSignal.prototype, 'onabort', {
	get: function () { return signalState(this).onabort; },
	set: function (fn) {
		var st = signalState(this);

		st.onabort = typeof fn === 'function' || (fn !== null && typeof fn === 'object') ?
		    fn : null;
		/* The handler's place among the listeners is fixed when first set, as in HTML. */
		if (st.onabort !== null && !st.handlerAdded) {
			st.handlerAdded = true;
			addListener.call(this, 'abort', function (event) {
				if (typeof st.onabort === 'function')
					return st.onabort.call(this, event);
			});
		}
	},
	enumerable: true, configurable: true
});
rt.methods(AbortSignal.prototype, {
	throwIfAborted: function () {
		var st = signalState(this);

		if (st.aborted)
			throw st.reason;
	}
});
Object.defineProperty(AbortSignal.prototype, Symbol.toStringTag,
    { value: 'AbortSignal', configurable: true });

rt.methods(AbortSignal, {
	abort: function (reason) {
		var signal = newSignal();
		var st = signalState(signal);

		st.aborted = true;
		st.reason = reason === undefined ? defaultReason() : reason;
		return signal;
	},
	timeout: function (ms) {
		var signal;

		ms = Number(ms);
		if (!isFinite(ms) || ms < 0 || ms > Number.MAX_SAFE_INTEGER)
			throw new TypeError("Failed to execute 'timeout' on 'AbortSignal': " +
			    'the delay must be a non-negative finite number');
		signal = newSignal();
		setTimer(function () {
			signalAbort(signal, rt.domException('The operation was aborted due to timeout',
			    'TimeoutError'));
		}, Math.floor(ms));
		return signal;
	},
	any: function (signals) {
		var list = rt.toArray(signals);
		var result = newSignal();
		var rst = signalState(result);
		var i, j, st, src;

		for (i = 0; i < list.length; i++)
			signalState(list[i]);
		for (i = 0; i < list.length; i++) {
			st = signalState(list[i]);
			if (st.aborted) {
				rst.aborted = true;
				rst.reason = st.reason;
				return result;
			}
		}
		rst.dependent = true;
		for (i = 0; i < list.length; i++) {
			st = signalState(list[i]);
			src = st.dependent ? st.sources : [list[i]];
			for (j = 0; j < src.length; j++) {
				if (rst.sources.indexOf(src[j]) !== -1)
					continue;
				rst.sources.push(src[j]);
				signalState(src[j]).dependents.push(result);
			}
		}
		return result;
	}
});

function AbortController() {
	if (!(this instanceof AbortController))
		throw new TypeError("Failed to construct 'AbortController': use 'new'");
	Object.defineProperty(this, CONTROLLER, { value: newSignal() });
}

function controllerSignal(x) {
	var signal = x !== null && typeof x === 'object' ? x[CONTROLLER] : undefined;

	if (signal === undefined)
		throw new TypeError('Illegal invocation: not an AbortController');
	return signal;
}

rt.getter(AbortController.prototype, 'signal', function () { return controllerSignal(this); });
rt.methods(AbortController.prototype, {
	abort: function (reason) {
		signalAbort(controllerSignal(this), reason);
	}
});
Object.defineProperty(AbortController.prototype, Symbol.toStringTag,
    { value: 'AbortController', configurable: true });

rt.isAbortSignal = function (x) {
	return x !== null && typeof x === 'object' && x[SLOT] !== undefined;
};

/* Runs fn(reason) once when `signal` aborts (not if it already has). */
rt.abortSignalFollow = function (signal, fn) {
	var st = signalState(signal);

	if (!st.aborted)
		st.algorithms.push(fn);
};

/* Forgets an algorithm added with rt.abortSignalFollow. */
rt.abortSignalUnfollow = function (signal, fn) {
	var st = signalState(signal);
	var i = st.algorithms.indexOf(fn);

	if (i !== -1)
		st.algorithms.splice(i, 1);
};

rt.AbortSignal = AbortSignal;
rt.AbortController = AbortController;
rt.define(globalThis, 'AbortSignal', AbortSignal);
rt.define(globalThis, 'AbortController', AbortController);

/*
 * Storage calls: rt.call and rt.callBytes, through which the bindings
 * (46-kv.js, 47-d1.js, 48-r2.js) reach the broker.  A call is admitted for
 * the running request (native.callAdmit), waits in a FIFO while the sandbox
 * has 64 calls in flight, and is then started (native.callStart).  Its input
 * body goes out only as the broker pulls it (rt.onCallPull), its output body
 * comes in only as its reader reads (native.callPull).  The host reports
 * what the broker sends through the rt.onCall* entry points, each run as a
 * task of the request that made the call (sandbox/calls.h).
 */
'use strict';

/* The runtime's own constructors, whatever tenant code does to the globals. */
var Promise = rt.Promise;
var ReadableStream = rt.ReadableStream;
var Error = globalThis.Error;
var TypeError = globalThis.TypeError;
var RangeError = globalThis.RangeError;
var parseJson = JSON.parse;
var stringify = JSON.stringify;
var encoder = rt.encoder; /* UTF-8, lone surrogates as U+FFFD (rt.utf8 without its String()) */

var PIECE_MAX = 256 * 1024; /* IPC_BODY_CHUNK_MAX: one input piece */
var ARGS_MAX = 512 * 1024;  /* IPC_CALL_ARGS_MAX */
var BINDING_MAX = 64;
var METHOD_MAX = 32;
var PULL_AHEAD = 4;         /* output pieces asked for at a time */
var STATUS_INVALID = 1;
var STATUS_UNAVAILABLE = 7;
var BUSY = -1;              /* native.callStart: 64 calls in flight */
var GLOBAL_SCOPE = 'Disallowed operation called within global scope. Asynchronous I/O ' +
    '(ex: fetch() or connect()), setting a timeout, and generating random values are not ' +
    'allowed within global scope. To fix this error, perform this operation within a handler.';
var TOO_MANY = 'Too many API requests by single Worker invocation.';

var NAMES_MAX = 64;        /* distinct binding and method names kept as bytes */

var calls = {};   /* id -> call in flight */
var waiting = []; /* admitted calls not started yet, oldest first from waitHead */
var waitHead = 0;
var names = Object.create(null); /* binding or method name -> its UTF-8 bytes */
var nameCount = 0;
var capturing = null;            /* the call whose promise is being made (capture) */

function noop() {}

/*
 * A call: what to send (owner request, names and arguments as UTF-8 bytes),
 * how to settle its promise, and the state of its input and output bodies.
 * `whole` calls (rt.callBytes) settle with the body read whole, through
 * finish(doc, bytes, context) when there is one.
 */
function newCall(owner, binding, method, args, bytes, reader) {
	return {
		owner: owner, binding: binding, method: method, args: args,
		resolve: null, reject: null, id: 0,
		whole: false, finish: null, context: undefined,
		/* input: the bytes still to send from `at`, or the stream's reader */
		bytes: bytes, at: 0, reader: reader, reading: false, pulled: 0, inputOpen: false,
		/* output: the body stream's controller while pieces are to come */
		controller: null, asked: 0, wake: null
	};
}

/* The executor of a call's promise: hands its resolving functions to the call being made. */
function capture(resolve, reject) {
	capturing.resolve = resolve;
	capturing.reject = reject;
}

/*
 * A binding or method name as UTF-8 bytes.  The runtime uses few names, so
 * each is encoded once; past NAMES_MAX distinct ones they are not kept.
 */
function nameBytes(name) {
	var bytes = names[name];

	if (bytes !== undefined)
		return bytes;
	bytes = rt.utf8(name);
	if (nameCount < NAMES_MAX) {
		names[name] = bytes;
		nameCount++;
	}
	return bytes;
}

/* The error a failed call rejects with: TypeError for a bad argument, else Error. */
function failure(status, text) {
	var doc = null;
	var message = 'storage call failed';
	var e;

	try {
		doc = parseJson(text);
	} catch (x) {
		doc = null;
	}
	if (doc !== null && typeof doc === 'object' && typeof doc.message === 'string')
		message = doc.message;
	e = status === STATUS_INVALID ? new TypeError(message) : new Error(message);
	e.storeStatus = status;
	if (doc !== null && typeof doc === 'object' && doc.code !== undefined && doc.code !== null)
		e.code = doc.code;
	return e;
}

function unavailable() {
	var e = new Error('storage is unavailable');

	e.storeStatus = STATUS_UNAVAILABLE;
	return e;
}

/* ---- starting calls --------------------------------------------------------- */

/* Sends CALL with the first input piece: the call id, 0 (its request ended) or BUSY. */
function start(c) {
	var first = null;
	var more = false;
	var id;

	if (c.bytes !== null) {
		more = c.bytes.length > PIECE_MAX;
		first = more ? c.bytes.subarray(0, PIECE_MAX) : c.bytes;
	} else if (c.reader !== null) {
		more = true; /* nothing is read before the broker asks */
	}
	id = native.callStart(c.owner, c.binding, c.method, c.args, first, more);
	if (id <= 0)
		return id;
	c.id = id;
	c.args = null;
	c.inputOpen = more;
	if (more && c.bytes !== null)
		c.at = PIECE_MAX;
	else
		c.bytes = null;
	calls[id] = c;
	return id;
}

/* start(c), a throw (a field the CALL message cannot carry) rejecting the call instead. */
function tryStart(c) {
	try {
		return start(c);
	} catch (e) {
		c.reject(e);
		return 0;
	}
}

/* Starts waiting calls, oldest first, while there is room; those of ended requests go. */
function pump() {
	while (waitHead < waiting.length) {
		if (tryStart(waiting[waitHead]) === BUSY)
			return;
		waiting[waitHead++] = undefined;
	}
	waiting.length = 0;
	waitHead = 0;
}

/* ---- input bodies ---------------------------------------------------------------- */

/* A stream chunk as bytes: strings are UTF-8; TypeError for what is not bytes. */
function inputBytes(chunk) {
	if (typeof chunk === 'string')
		return rt.utf8(chunk);
	return rt.chunkBytes(chunk);
}

/* No more input goes out: drops the bytes and cancels the stream (with `reason`). */
function stopInput(c, reason) {
	var reader = c.reader;

	c.inputOpen = false;
	c.bytes = null;
	c.reader = null;
	if (reader !== null)
		reader.cancel(reason).then(undefined, noop);
}

/* Sends one piece the broker asked for. */
function send(c, piece, last) {
	c.pulled--;
	if (!native.callBody(c.id, piece, last)) {
		stopInput(c);
		return;
	}
	if (last) {
		c.inputOpen = false;
		c.reader = null;
	}
}

/* The input stream failed or produced something that is not bytes: the call fails with it. */
function inputFailed(c, e) {
	if (calls[c.id] !== c)
		return;
	delete calls[c.id];
	native.callCancel(c.id);
	stopInput(c, e);
	c.reject(e);
	pump();
}

function readInput(c) {
	c.reading = true;
	c.reader.read().then(function (r) {
		var bytes;

		c.reading = false;
		if (!c.inputOpen)
			return;
		if (r.done) {
			c.reader = null;
			send(c, null, true);
			return;
		}
		bytes = inputBytes(r.value);
		if (bytes.length > 0) {
			c.bytes = bytes;
			c.at = 0;
		}
		feed(c);
	}).then(undefined, function (e) {
		c.reading = false;
		inputFailed(c, e);
	});
}

/* Sends as many pieces as the broker has asked for, reading the stream only for those. */
function feed(c) {
	var piece;

	while (c.pulled > 0 && c.inputOpen && !c.reading) {
		if (c.bytes !== null) {
			piece = c.bytes.subarray(c.at, c.at + PIECE_MAX);
			c.at += piece.length;
			if (c.at >= c.bytes.length)
				c.bytes = null;
			send(c, piece, c.bytes === null && c.reader === null);
		} else if (c.reader !== null) {
			readInput(c);
		} else {
			send(c, null, true);
		}
	}
}

/* ---- output bodies ----------------------------------------------------------------- */

function wake(c) {
	var w = c.wake;

	c.wake = null;
	if (w !== null)
		w();
}

/* The output body: `first`, then pieces asked for only while a reader waits. */
function outputStream(c, first, more) {
	return new ReadableStream({
		start: function (controller) {
			if (first.length > 0)
				controller.enqueue(first);
			if (more)
				c.controller = controller;
			else
				controller.close();
		},
		pull: function () {
			if (c.controller === null)
				return undefined;
			if (c.asked === 0) {
				c.asked = PULL_AHEAD;
				native.callPull(c.id, PULL_AHEAD);
			}
			return new Promise(function (resolve) {
				c.wake = resolve;
			});
		},
		cancel: function () {
			if (c.controller === null)
				return;
			c.controller = null;
			wake(c);
			if (calls[c.id] === c) {
				delete calls[c.id];
				native.callCancel(c.id);
				pump();
			}
		}
	}, { highWaterMark: 0 });
}

/*
 * A call's outcome (rt.call): `doc`, and `whole`, the entire output body
 * when it came in the RESULT itself.  The body as a stream (`body`, an
 * accessor of the prototype) is made only when asked for.
 */
function Outcome(c, doc, chunk, more) {
	this.doc = doc;
	this.whole = more ? null : chunk;
	this.call = c;
	this.first = chunk;
	this.more = more;
	this.stream = undefined;
}
Object.defineProperty(Outcome.prototype, 'body', {
	enumerable: true,
	get: function () {
		if (this.stream === undefined)
			this.stream = this.more || this.first.length > 0 ?
			    outputStream(this.call, this.first, this.more) : null;
		return this.stream;
	}
});

function readAll(stream) {
	var reader = stream.getReader();
	var parts = [];

	function next() {
		return reader.read().then(function (r) {
			if (r.done)
				return parts.length === 1 ? parts[0] : rt.concatBytes(parts);
			parts.push(r.value);
			return next();
		});
	}
	return next();
}

/* ---- the API ------------------------------------------------------------------------ */

/* The input as bytes, or null; TypeError for what is neither bytes nor an unlocked stream. */
function inputBytesOf(input) {
	if (input === undefined || input === null)
		return null;
	if (input instanceof Uint8Array)
		return input;
	if (rt.isReadableStream(input)) {
		if (input.locked)
			throw new TypeError('This ReadableStream is currently locked to a reader.');
		return null;
	}
	throw new TypeError('a call input must be a Uint8Array or a ReadableStream');
}

/* A call admitted for the running request, not started yet; throws as rt.call does. */
function admit(binding, method, args, input) {
	var text, bytes, owner, b, m;

	if (typeof binding !== 'string' || typeof method !== 'string')
		throw new TypeError('a storage call needs a binding and a method name');
	b = nameBytes(binding);
	m = nameBytes(method);
	if (b.length === 0 || b.length > BINDING_MAX || m.length === 0 || m.length > METHOD_MAX)
		throw new TypeError('bad binding or method name for a storage call');
	text = args === undefined || args === null ? '{}' : stringify(args);
	if (typeof text !== 'string')
		throw new TypeError('storage call arguments must be an object');
	text = encoder.encode(text);
	if (text.length > ARGS_MAX)
		throw new RangeError('the arguments of ' + method + ' exceed ' + ARGS_MAX + ' bytes');
	bytes = inputBytesOf(input);
	owner = native.callAdmit();
	if (owner === 0)
		throw new Error(GLOBAL_SCOPE);
	if (owner < 0)
		throw new Error(TOO_MANY);
	return newCall(owner, b, m, text, bytes,
	    bytes === null && input !== undefined && input !== null ? input.getReader() : null);
}

/*
 * The promise of call `c`, which starts now unless calls wait before it or
 * the sandbox has too many in flight.
 */
function begin(c) {
	var p;

	/* The constructor runs capture at once, and nothing in between can throw. */
	capturing = c;
	p = new Promise(capture);
	capturing = null;
	if (waitHead < waiting.length) {
		waiting.push(c);
		pump();
	} else if (tryStart(c) === BUSY) {
		waiting.push(c);
	}
	return p;
}

/*
 * rt.call(binding, method, args, input) -> Promise<{doc, body}>: one call of
 * `method` on env binding `binding` with the argument object `args` and an
 * optional input body (a Uint8Array, read as it is sent, or a ReadableStream
 * of bytes or strings).  doc is the result document; body is null or a
 * ReadableStream of Uint8Array.  Throws outside a request and past the
 * per-request limit; rejects with TypeError (status 1) or Error carrying
 * .storeStatus and, when the broker sent one, .code.
 */
rt.call = function (binding, method, args, input) {
	return begin(admit(binding, method, args, input));
};

/*
 * rt.callBytes(binding, method, args, input, finish, context): the same,
 * settled with the whole output body: Promise<{doc, bytes}> (bytes null for
 * an empty body), or, with `finish`, with what finish(doc, bytes, context)
 * returns (its throw rejects).  A body that came in the RESULT itself is
 * handed over in the same task, without a stream or promise in between.
 */
rt.callBytes = function (binding, method, args, input, finish, context) {
	var c = admit(binding, method, args, input);

	c.whole = true;
	c.finish = typeof finish === 'function' ? finish : null;
	c.context = context;
	return begin(c);
};

/* What a whole call settles with: finish's value, or {doc, bytes}. */
function finishWhole(c, doc, bytes) {
	if (c.finish === null)
		return { doc: doc, bytes: bytes };
	return c.finish(doc, bytes, c.context);
}

/* Settles whole call `c` from its RESULT: the body is `chunk`, and more pieces when `more`. */
function settleWhole(c, doc, chunk, more) {
	var value;

	if (more) {
		c.resolve(readAll(outputStream(c, chunk, more)).then(function (bytes) {
			return finishWhole(c, doc, bytes);
		}));
		return;
	}
	try {
		value = finishWhole(c, doc, chunk.length > 0 ? chunk : null);
	} catch (e) {
		c.reject(e);
		return;
	}
	c.resolve(value);
}

/* ---- the host's entry points ------------------------------------------------------- */

/* RESULT: the outcome, and the first piece of the output body (more: pieces follow). */
rt.onCallResult = function (id, status, text, chunk, more) {
	var c = calls[id];
	var doc;

	if (c === undefined)
		return;
	if (!more)
		delete calls[id];
	/* Answered: the broker wants no more input. */
	stopInput(c);
	if (status !== 0) {
		c.reject(failure(status, text));
		pump();
		return;
	}
	try {
		doc = text === '' ? null : parseJson(text);
	} catch (e) {
		if (more) {
			delete calls[id];
			native.callCancel(id);
		}
		c.reject(new Error('storage sent a result that is not JSON'));
		pump();
		return;
	}
	if (c.whole)
		settleWhole(c, doc, chunk, more);
	else
		c.resolve(new Outcome(c, doc, chunk, more));
	if (!more)
		pump();
};

/* RESULT_BODY: the next piece of the output body. */
rt.onCallBody = function (id, chunk, last) {
	var c = calls[id];

	if (c === undefined)
		return;
	if (c.asked > 0)
		c.asked--;
	if (last)
		delete calls[id];
	if (c.controller !== null) {
		try {
			if (chunk.length > 0)
				c.controller.enqueue(chunk);
			if (last)
				c.controller.close();
		} catch (e) {
			/* Cancelled or errored meanwhile: nobody reads what follows. */
		}
		if (last)
			c.controller = null;
	}
	wake(c);
	if (last)
		pump();
};

/* CALL_PULL: the broker wants `n` more input pieces. */
rt.onCallPull = function (id, n) {
	var c = calls[id];

	if (c === undefined || !c.inputOpen)
		return;
	c.pulled += n;
	feed(c);
};

/* The broker went away with the call in flight. */
rt.onCallLost = function (id) {
	var c = calls[id];
	var e = unavailable();

	if (c === undefined)
		return;
	delete calls[id];
	stopInput(c, e);
	if (c.controller !== null) {
		try {
			c.controller.error(e);
		} catch (x) {
			/* Already closed or errored. */
		}
		c.controller = null;
		wake(c);
	} else {
		c.reject(e);
	}
	pump();
};

/* The host cancelled these calls when their request ended: nothing of them runs again. */
rt.onCallsDropped = function (ids) {
	var i, c;

	for (i = 0; i < ids.length; i++) {
		c = calls[ids[i]];
		if (c === undefined)
			continue;
		delete calls[ids[i]];
		c.inputOpen = false;
		c.controller = null;
	}
	pump();
};

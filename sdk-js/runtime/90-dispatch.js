/*
 * Request dispatch: the host's entry points for REQ_HEAD, REQ_BODY and
 * REQ_CANCEL.  Runs the fetch handler and sends its Response (native.respond,
 * then native.respondChunk for a body streamed as it is produced) or error
 * 1101 (native.fail); a request ends when it has responded, its body has been
 * sent and its waitUntil promises have settled (native.done).
 */
'use strict';

/* The runtime's own Promise, whatever tenant code does to the global. */
var Promise = rt.Promise;
var ERROR_EXCEPTION = 1101;
/* IPC_BODY_WINDOW: response bytes that may be on their way before a RESP_CREDIT. */
var BODY_WINDOW = 1048576;
var NON_ASCII = /[^\x00-\x7f]/;
var requests = {};

function end(st) {
	if (st.ended)
		return;
	st.ended = true;
	delete requests[st.handle];
	rt.dropTimers(native.done(st.handle));
}

function maybeEnd(st) {
	if (st.responded && !st.streaming && st.pending === 0)
		end(st);
}

function fail(st, e) {
	if (st.ended)
		return;
	rt.reportError(e, 'Uncaught');
	if (st.responded)
		return;
	st.responded = true;
	native.fail(st.handle, ERROR_EXCEPTION);
	maybeEnd(st);
}

function describe(x) {
	if (x === null || x === undefined)
		return String(x);
	if (typeof x === 'object' && x.constructor && typeof x.constructor.name === 'string')
		return 'an instance of ' + (x.constructor.name || 'an anonymous class');
	return 'a ' + typeof x;
}

function wireHeaders(list) {
	var i;

	for (i = 0; i < list.length; i++)
		if (NON_ASCII.test(list[i]))
			list[i] = rt.utf8(list[i]);
	return list;
}

/* The stream body went out whole, or failed: 1101 then cuts the client's connection. */
function streamDone(st, error) {
	if (!st.streaming)
		return;
	st.streaming = false;
	st.reader = null;
	if (error !== undefined) {
		rt.reportError(error, 'Uncaught (in response body)');
		native.fail(st.handle, ERROR_EXCEPTION);
	}
	maybeEnd(st);
}

/* Sends what `stream` produces, chunk by chunk, as it produces it. */
function pump(st, stream) {
	var reader = stream.getReader();

	st.reader = reader;
	function next() {
		reader.read().then(function (r) {
			var bytes;

			if (st.ended || !st.streaming)
				return;
			if (r.done) {
				native.respondChunk(st.handle, null, true);
				streamDone(st);
				return;
			}
			bytes = rt.chunkBytes(r.value);
			if (bytes.length > 0) {
				native.respondChunk(st.handle, bytes, false);
				st.unacked += bytes.length;
			}
			/* A slow client: wait until it has taken most of what was sent. */
			if (st.unacked >= BODY_WINDOW)
				st.resume = next;
			else
				next();
		}).then(undefined, function (e) {
			if (st.ended || !st.streaming)
				return;
			reader.cancel(e).then(undefined, function () {});
			streamDone(st, e);
		});
	}
	next();
}

function deliver(st, response) {
	var parts;

	if (st.ended || st.responded)
		return;
	if (!(response instanceof rt.Response)) {
		fail(st, new TypeError('The fetch handler did not return a Response; it returned ' +
		    describe(response) + '.'));
		return;
	}
	try {
		parts = rt.responseParts(response);
	} catch (e) {
		fail(st, e);
		return;
	}
	st.responded = true;
	if (rt.isReadableStream(parts[2])) {
		native.respond(st.handle, parts[0], wireHeaders(parts[1]), true);
		st.streaming = true;
		pump(st, parts[2]);
		return;
	}
	native.respond(st.handle, parts[0], wireHeaders(parts[1]), parts[2]);
	maybeEnd(st);
}

/*
 * The reactions to the handler's result.  Made here rather than inside
 * rt.onRequest so that they hold st alone, not the request and body of that
 * scope: a closure stays alive until a collection finds it.
 */
function delivererOf(st) {
	return function (response) {
		deliver(st, response);
	};
}

function failerOf(st) {
	return function (e) {
		fail(st, e);
	};
}

function waitUntilOf(st) {
	return function (promise) {
		if (st.ended)
			return;
		st.pending++;
		Promise.resolve(promise).then(undefined, function (e) {
			rt.reportError(e, 'Uncaught (in waitUntil)');
		}).then(function () {
			st.pending--;
			maybeEnd(st);
		});
	};
}

function passThroughOnException() {}

/*
 * The ctx of a module worker's fetch: own methods, so that they work
 * detached (const { waitUntil } = ctx), defined through one shared
 * descriptor rather than a fresh object and closure per request.
 */
var METHOD = { value: undefined, writable: true, configurable: true };

function ExecutionContext(st) {
	METHOD.value = waitUntilOf(st);
	Object.defineProperty(this, 'waitUntil', METHOD);
	METHOD.value = passThroughOnException;
	Object.defineProperty(this, 'passThroughOnException', METHOD);
	METHOD.value = undefined;
	this.props = {};
}

function invoke(st, request) {
	if (rt.scriptFormat === rt.FORMAT_MODULE)
		return rt.handler.fetch(request, rt.env, new ExecutionContext(st));
	return rt.dispatchFetch(request, waitUntilOf(st));
}

/* REQ_HEAD: `headerList` is flat [name, value, ...]. */
rt.onRequest = function (handle, method, url, headerList, hasBody) {
	var body = rt.incomingBody(hasBody, handle);
	var request = rt.incomingRequest(method, url, headerList, body);
	var st = {
		handle: handle, body: body, pending: 0, responded: false, ended: false,
		streaming: false, reader: null, unacked: 0, resume: null
	};
	var result;

	requests[handle] = st;
	try {
		result = invoke(st, request);
	} catch (e) {
		fail(st, e);
		return;
	}
	Promise.resolve(result).then(delivererOf(st), failerOf(st));
};

/* REQ_BODY: one chunk (a Uint8Array) of the request body. */
rt.onBody = function (handle, chunk, last) {
	var st = requests[handle];

	if (st !== undefined)
		rt.bodyPush(st.body, chunk, last);
};

/* RESP_CREDIT: the client took `bytes` of the streaming response body. */
rt.onRespCredit = function (handle, bytes) {
	var st = requests[handle], resume;

	if (st === undefined)
		return;
	st.unacked = bytes > st.unacked ? 0 : st.unacked - bytes;
	if (st.resume !== null && st.unacked < BODY_WINDOW) {
		resume = st.resume;
		st.resume = null;
		resume();
	}
};

/* REQ_CANCEL, or the host gave up on the request: forget it and its timers. */
rt.onCancel = function (handle, timerIds) {
	var st = requests[handle];

	if (st !== undefined) {
		st.ended = true;
		delete requests[handle];
		/* The client is gone: stop the source of a streaming body. */
		if (st.reader !== null)
			st.reader.cancel(new Error('the request was cancelled')).then(undefined,
			    function () {});
	}
	rt.dropTimers(timerIds);
};

/*
 * Request dispatch: the host's entry points for REQ_HEAD, REQ_BODY and
 * REQ_CANCEL.  Runs the fetch handler and sends its Response (native.respond)
 * or error 1101 (native.fail); a request ends when it has responded and its
 * waitUntil promises have settled (native.done).
 */
'use strict';

/* The runtime's own Promise, whatever tenant code does to the global. */
var Promise = rt.Promise;
var ERROR_EXCEPTION = 1101;
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
	if (st.responded && st.pending === 0)
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
	native.respond(st.handle, parts[0], wireHeaders(parts[1]), parts[2]);
	maybeEnd(st);
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

function ExecutionContext(st) {
	var waitUntil = waitUntilOf(st);

	rt.methods(this, {
		waitUntil: function (promise) { waitUntil(promise); },
		passThroughOnException: function () {}
	});
	this.props = {};
}

function invoke(st, request) {
	if (rt.scriptFormat === rt.FORMAT_MODULE)
		return rt.handler.fetch(request, rt.env, new ExecutionContext(st));
	return rt.dispatchFetch(request, waitUntilOf(st));
}

/* REQ_HEAD: `headerList` is flat [name, value, ...]. */
rt.onRequest = function (handle, method, url, headerList, hasBody) {
	var body = rt.incomingBody(hasBody);
	var request = rt.incomingRequest(method, url, headerList, body);
	var st = { handle: handle, body: body, pending: 0, responded: false, ended: false };
	var result;

	requests[handle] = st;
	try {
		result = invoke(st, request);
	} catch (e) {
		fail(st, e);
		return;
	}
	Promise.resolve(result).then(function (response) {
		deliver(st, response);
	}, function (e) {
		fail(st, e);
	});
};

/* REQ_BODY: one chunk (a Uint8Array) of the request body. */
rt.onBody = function (handle, chunk, last) {
	var st = requests[handle];

	if (st !== undefined)
		rt.bodyPush(st.body, chunk, last);
};

/* REQ_CANCEL, or the host gave up on the request: forget it and its timers. */
rt.onCancel = function (handle, timerIds) {
	var st = requests[handle];

	if (st !== undefined) {
		st.ended = true;
		delete requests[handle];
	}
	rt.dropTimers(timerIds);
};

/*
 * Response: status, headers and a body; what a fetch handler returns.  The
 * host sends it with rt.responseParts.
 */
'use strict';

var SLOT = native.hidden('response');
var BODY = rt.BODY;
var NULL_BODY_STATUS = [101, 204, 205, 304];
var REDIRECT_STATUS = [301, 302, 303, 307, 308];
var REASON = /^[\t\x20-\x7e\x80-\xff]*$/;

function state(r) {
	var st = r !== null && typeof r === 'object' ? r[SLOT] : undefined;

	if (st === undefined)
		throw new TypeError('Illegal invocation: not a Response object');
	return st;
}

function checkStatus(status) {
	if (status === undefined)
		return 200;
	status = Number(status);
	if (status !== Math.floor(status) || status < 200 || status > 599)
		throw new RangeError('Responses may only be constructed with status codes in the range 200 to 599, inclusive.');
	return status;
}

function Response(body, options) {
	var opts = options === undefined || options === null ? {} : options;
	var st, b;

	if (!(this instanceof Response))
		throw new TypeError("Failed to construct 'Response': use 'new'");
	st = {
		status: checkStatus(opts.status),
		statusText: opts.statusText === undefined ? '' : String(opts.statusText),
		headers: new rt.Headers(opts.headers)
	};
	if (!REASON.test(st.statusText))
		throw new TypeError('Invalid statusText');
	b = rt.bodyFromInit(body);
	if (b.state.bytes !== null && NULL_BODY_STATUS.indexOf(st.status) !== -1)
		throw new TypeError('Response with null body status cannot have body');
	if (b.contentType !== null && !st.headers.has('content-type'))
		st.headers.set('content-type', b.contentType);
	Object.defineProperty(this, SLOT, { value: st });
	Object.defineProperty(this, BODY, { value: b.state });
}

rt.getter(Response.prototype, 'status', function () { return state(this).status; });
rt.getter(Response.prototype, 'statusText', function () { return state(this).statusText; });
rt.getter(Response.prototype, 'headers', function () { return state(this).headers; });
rt.getter(Response.prototype, 'ok', function () {
	var s = state(this).status;

	return s >= 200 && s <= 299;
});
rt.getter(Response.prototype, 'redirected', function () { state(this); return false; });
rt.getter(Response.prototype, 'url', function () { state(this); return ''; });
rt.getter(Response.prototype, 'type', function () { state(this); return 'default'; });
rt.getter(Response.prototype, 'webSocket', function () { state(this); return null; });
rt.bodyMixin(Response.prototype);
rt.methods(Response.prototype, {
	clone: function () {
		var st = state(this);
		var r = Object.create(Response.prototype);

		Object.defineProperty(r, SLOT, { value: {
			status: st.status, statusText: st.statusText, headers: new rt.Headers(st.headers)
		} });
		Object.defineProperty(r, BODY, { value: rt.bodyClone(this) });
		return r;
	}
});
Object.defineProperty(Response.prototype, Symbol.toStringTag, { value: 'Response', configurable: true });

rt.methods(Response, {
	json: function (data, options) {
		var text = JSON.stringify(data);
		var r;

		if (text === undefined)
			throw new TypeError('Response.json: the value cannot be serialized to JSON');
		r = new Response(text, options);
		state(r).headers.set('content-type', 'application/json');
		if (options && options.headers && new rt.Headers(options.headers).has('content-type'))
			state(r).headers.set('content-type', new rt.Headers(options.headers).get('content-type'));
		return r;
	},
	redirect: function (url, status) {
		var r;

		status = status === undefined ? 302 : Number(status);
		if (REDIRECT_STATUS.indexOf(status) === -1)
			throw new RangeError('Invalid redirect status code: ' + status);
		r = new Response(null, { status: status, headers: { location: String(url) } });
		rt.freezeHeaders(state(r).headers);
		return r;
	}
});

/* What the host sends for a Response: [status, [name, value, ...], bytes or null]. */
rt.responseParts = function (r) {
	var st = state(r);

	return [st.status, rt.headersToList(st.headers), rt.bodyBytes(r)];
};

rt.Response = Response;
rt.define(globalThis, 'Response', Response);

/*
 * Response: status, headers and a body; what a fetch handler returns.  The
 * host sends it with rt.responseParts.
 */
'use strict';

var SLOT = native.hidden('response');
var BODY = rt.BODY;
var URLCtor = globalThis.URL;
var NULL_BODY_STATUS = [101, 204, 205, 304];
var REDIRECT_STATUS = [301, 302, 303, 307, 308];
var REASON = /^[\t\x20-\x7e\x80-\xff]*$/;
var ENCODE_BODY = ['automatic', 'manual'];

function state(r) {
	var st = r !== null && typeof r === 'object' ? r[SLOT] : undefined;

	if (st === undefined)
		throw new TypeError('Illegal invocation: not a Response object');
	return st;
}

/* Web IDL unsigned short. */
function toStatus(x) {
	var n = Number(x);

	if (n !== n || n === Infinity || n === -Infinity)
		return 0;
	n = n < 0 ? Math.ceil(n) : Math.floor(n);
	n %= 65536;
	return n < 0 ? n + 65536 : n;
}

function checkStatus(status) {
	if (status === undefined)
		return 200;
	status = toStatus(status);
	if (status < 200 || status > 599)
		throw new RangeError('Responses may only be constructed with status codes in the range 200 to 599, inclusive.');
	return status;
}

/* The Response init dictionary, checked: { status, statusText, headers, cf, encodeBody }. */
function readInit(options) {
	var opts = options === undefined || options === null ? {} : options;
	var out;

	if (typeof opts !== 'object' && typeof opts !== 'function')
		throw new TypeError("Failed to construct 'Response': the init must be an object");
	out = {
		status: checkStatus(opts.status),
		statusText: opts.statusText === undefined ? '' : String(opts.statusText),
		headers: new rt.Headers(opts.headers),
		cf: opts.cf === null ? undefined : opts.cf,
		encodeBody: opts.encodeBody === undefined ? 'automatic' : String(opts.encodeBody),
		type: 'default',
		url: ''
	};
	if (!REASON.test(out.statusText))
		throw new TypeError('Invalid statusText');
	if (ENCODE_BODY.indexOf(out.encodeBody) === -1)
		throw new TypeError("encodeBody must be 'automatic' or 'manual'");
	if (out.cf !== undefined && typeof out.cf !== 'object')
		throw new TypeError('cf must be an object');
	if (opts.webSocket !== undefined && opts.webSocket !== null)
		throw new TypeError('WebSocket responses are not supported yet');
	return out;
}

function make(st, body) {
	var r = Object.create(Response.prototype);

	Object.defineProperty(r, SLOT, { value: st });
	Object.defineProperty(r, BODY, { value: body });
	return r;
}

/* Sets up r from its init and an extracted body, as the Fetch spec's "initialize a response". */
function withBody(st, extracted) {
	if (rt.bodyStateHasBody(extracted.state) && NULL_BODY_STATUS.indexOf(st.status) !== -1)
		throw new TypeError('Response with null body status (101, 204, 205, or 304) cannot have a body.');
	if (extracted.contentType !== null && !st.headers.has('content-type'))
		rt.headersAppend(st.headers, 'content-type', extracted.contentType);
	return extracted.state;
}

function Response(body, options) {
	var st, b;

	if (!(this instanceof Response))
		throw new TypeError("Failed to construct 'Response': use 'new'");
	st = readInit(options);
	b = withBody(st, rt.bodyFromInit(body));
	Object.defineProperty(this, SLOT, { value: st });
	Object.defineProperty(this, BODY, { value: b });
}

function headersOf(r) {
	return state(r).headers;
}

rt.getter(Response.prototype, 'status', function () { return state(this).status; });
rt.getter(Response.prototype, 'statusText', function () { return state(this).statusText; });
rt.getter(Response.prototype, 'headers', function () { return state(this).headers; });
rt.getter(Response.prototype, 'ok', function () {
	var s = state(this).status;

	return s >= 200 && s <= 299;
});
rt.getter(Response.prototype, 'redirected', function () { state(this); return false; });
rt.getter(Response.prototype, 'url', function () { return state(this).url; });
rt.getter(Response.prototype, 'type', function () { return state(this).type; });
rt.getter(Response.prototype, 'cf', function () { return state(this).cf; });
rt.getter(Response.prototype, 'encodeBody', function () { return state(this).encodeBody; });
rt.getter(Response.prototype, 'webSocket', function () { state(this); return null; });
rt.bodyMixin(Response.prototype, headersOf);
rt.methods(Response.prototype, {
	clone: function () {
		var st = state(this);
		var copy = {};
		var keys = Object.keys(st);
		var i;

		for (i = 0; i < keys.length; i++)
			copy[keys[i]] = st[keys[i]];
		copy.headers = rt.headersCopy(st.headers);
		return make(copy, rt.bodyClone(this));
	}
});
Object.defineProperty(Response.prototype, Symbol.toStringTag, { value: 'Response', configurable: true });

function absoluteUrl(url) {
	var s = String(url);

	if (typeof URLCtor === 'function') {
		try {
			return new URLCtor(s).href;
		} catch (e) {
			throw new TypeError('Unable to parse URL: ' + s);
		}
	}
	/* A Request parses as well as we can without 32-url.js. */
	return new rt.Request(s).url;
}

rt.methods(Response, {
	json: function (data, options) {
		var text = JSON.stringify(data);
		var st = readInit(options);

		if (text === undefined)
			throw new TypeError('Response.json: the value cannot be serialized to JSON');
		return make(st, withBody(st, {
			state: rt.bodyFromInit(text).state,
			contentType: 'application/json'
		}));
	},
	redirect: function (url, status) {
		var st;

		status = status === undefined ? 302 : toStatus(status);
		if (REDIRECT_STATUS.indexOf(status) === -1)
			throw new RangeError('Invalid redirect status code: ' + status);
		st = readInit({ status: status });
		rt.headersAppend(st.headers, 'location', absoluteUrl(url));
		rt.freezeHeaders(st.headers);
		return make(st, rt.bodyFromInit(null).state);
	},
	error: function () {
		var st = readInit({});

		st.status = 0;
		st.type = 'error';
		rt.freezeHeaders(st.headers);
		return make(st, rt.bodyFromInit(null).state);
	}
});

/*
 * What the host sends for a Response: [status, [name, value, ...], body], the
 * body being null, bytes, or a ReadableStream to send as it produces.
 */
rt.responseParts = function (r) {
	var st = state(r);

	if (st.type === 'error')
		throw new TypeError('Return value from serve handler must not be an error response (like Response.error()).');
	return [st.status, rt.headersToList(st.headers), rt.bodyForSend(r)];
};

rt.Response = Response;
rt.define(globalThis, 'Response', Response);

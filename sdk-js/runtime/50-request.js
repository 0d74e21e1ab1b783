/*
 * Request: method, url, headers and a body.  The host's incoming requests
 * are built with rt.incomingRequest; their body arrives in REQ_BODY chunks.
 */
'use strict';

var SLOT = native.hidden('request');
var BODY = rt.BODY;
var METHOD_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
var NORMALIZED = ['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT'];

function normalizeMethod(m) {
	var upper;

	m = String(m);
	if (!METHOD_TOKEN.test(m))
		throw new TypeError("'" + m + "' is not a valid HTTP method.");
	upper = m.toUpperCase();
	return NORMALIZED.indexOf(upper) !== -1 ? upper : m;
}

function state(r) {
	var st = r !== null && typeof r === 'object' ? r[SLOT] : undefined;

	if (st === undefined)
		throw new TypeError('Illegal invocation: not a Request object');
	return st;
}

function init(self, st, body) {
	Object.defineProperty(self, SLOT, { value: st });
	Object.defineProperty(self, BODY, { value: body });
}

function Request(input, options) {
	var from = input instanceof Request ? state(input) : null;
	var opts = options === undefined || options === null ? {} : options;
	var st = {
		method: from ? from.method : 'GET',
		url: from ? from.url : String(input),
		headers: null,
		redirect: from ? from.redirect : 'follow'
	};
	var body, hasBodyInit = opts.body !== undefined && opts.body !== null;

	if (!(this instanceof Request))
		throw new TypeError("Failed to construct 'Request': use 'new'");
	if (opts.method !== undefined)
		st.method = normalizeMethod(opts.method);
	if (opts.redirect !== undefined)
		st.redirect = String(opts.redirect);
	st.headers = new rt.Headers(opts.headers !== undefined ? opts.headers :
	    (from ? from.headers : undefined));
	if (hasBodyInit && (st.method === 'GET' || st.method === 'HEAD'))
		throw new TypeError('Request with GET/HEAD method cannot have body.');
	if (hasBodyInit) {
		body = rt.bodyFromInit(opts.body);
		if (body.contentType !== null && !st.headers.has('content-type'))
			st.headers.set('content-type', body.contentType);
		body = body.state;
	} else if (from) {
		body = rt.bodyClone(input);
	} else {
		body = rt.bodyFromInit(null).state;
	}
	init(this, st, body);
}

rt.getter(Request.prototype, 'method', function () { return state(this).method; });
rt.getter(Request.prototype, 'url', function () { return state(this).url; });
rt.getter(Request.prototype, 'headers', function () { return state(this).headers; });
rt.getter(Request.prototype, 'redirect', function () { return state(this).redirect; });
rt.getter(Request.prototype, 'cf', function () { return state(this).cf; });
rt.getter(Request.prototype, 'signal', function () { return null; });
rt.bodyMixin(Request.prototype);
rt.methods(Request.prototype, {
	clone: function () {
		return new Request(this);
	}
});
Object.defineProperty(Request.prototype, Symbol.toStringTag, { value: 'Request', configurable: true });

/* The Request a REQ_HEAD describes; `body` comes from rt.incomingBody. */
rt.incomingRequest = function (method, url, headerList, body) {
	var r = Object.create(Request.prototype);

	init(r, {
		method: method,
		url: url,
		headers: rt.headersFromList(headerList, true),
		redirect: 'manual',
		cf: undefined
	}, body);
	return r;
};

rt.Request = Request;
rt.define(globalThis, 'Request', Request);

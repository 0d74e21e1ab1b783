/*
 * Request: method, url, headers, redirect, signal, cf and a body.  The host's
 * incoming requests are built with rt.incomingRequest; their body arrives in
 * REQ_BODY chunks.
 */
'use strict';

var SLOT = native.hidden('request');
var BODY = rt.BODY;
/* Captured at load: tenant code may replace the global. */
var URLCtor = globalThis.URL;
var METHOD_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
var NORMALIZED = ['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT'];
var FORBIDDEN_METHODS = ['CONNECT', 'TRACE', 'TRACK'];
var REDIRECTS = ['follow', 'error', 'manual'];
var CACHE_MODES = ['no-store', 'no-cache'];
var SCHEME = /^([A-Za-z][A-Za-z0-9+.\-]*):/;
var C0_EDGES = /^[\x00-\x20]+|[\x00-\x20]+$/g;

function normalizeMethod(m) {
	var upper;

	m = String(m);
	if (!METHOD_TOKEN.test(m))
		throw new TypeError("'" + m + "' is not a valid HTTP method.");
	upper = m.toUpperCase();
	if (FORBIDDEN_METHODS.indexOf(upper) !== -1)
		throw new TypeError("'" + m + "' HTTP method is unsupported.");
	return NORMALIZED.indexOf(upper) !== -1 ? upper : m;
}

/*
 * An absolute URL, serialized.  Without a URL parser (32-url.js) only the
 * scheme and, for special schemes, the host's case and an empty path are
 * normalized.
 */
function parseUrl(input) {
	var s = String(input);
	var m, rest;

	if (typeof URLCtor === 'function') {
		try {
			return new URLCtor(s).href;
		} catch (e) {
			throw new TypeError('Invalid URL: ' + s);
		}
	}
	s = s.replace(C0_EDGES, '').replace(/[\t\n\r]/g, '');
	m = SCHEME.exec(s);
	if (m === null)
		throw new TypeError('Invalid URL: ' + s);
	rest = s.slice(m[0].length);
	if (/^(https?|wss?|ftp)$/i.test(m[1])) {
		m = [m[0], m[1], /^[\/\\]{2}([^\/\\?#]*)(.*)$/.exec(rest)];
		if (m[2] === null || m[2][1] === '' || m[2][1].charAt(0) === '@')
			throw new TypeError('Invalid URL: ' + s);
		rest = m[2][2];
		if (rest === '' || rest.charAt(0) === '?' || rest.charAt(0) === '#')
			rest = '/' + rest;
		return m[1].toLowerCase() + '://' + m[2][1].toLowerCase() + rest.replace(/\\/g, '/');
	}
	return m[1].toLowerCase() + ':' + rest;
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

function checkSignal(signal) {
	var AS = rt.AbortSignal || globalThis.AbortSignal;

	if (signal === null)
		return null;
	if (typeof AS === 'function' && !(signal instanceof AS))
		throw new TypeError("Failed to construct 'Request': member signal is not of type AbortSignal.");
	return signal;
}

function Request(input, options) {
	var from = input instanceof Request ? state(input) : null;
	var opts = options === undefined || options === null ? {} : options;
	var st, body, hasBodyInit, extracted;

	if (!(this instanceof Request))
		throw new TypeError("Failed to construct 'Request': use 'new'");
	if (typeof opts !== 'object' && typeof opts !== 'function')
		throw new TypeError("Failed to construct 'Request': the init must be an object");
	st = {
		method: from ? from.method : 'GET',
		url: from ? from.url : parseUrl(input),
		headers: null,
		redirect: from ? from.redirect : 'follow',
		signal: from ? from.signal : undefined,
		cf: from ? from.cf : undefined,
		integrity: from ? from.integrity : '',
		keepalive: from ? from.keepalive : false,
		cache: from ? from.cache : undefined,
		fetcher: from ? from.fetcher : null
	};
	if (opts.method !== undefined)
		st.method = normalizeMethod(opts.method);
	if (opts.redirect !== undefined) {
		st.redirect = String(opts.redirect);
		if (REDIRECTS.indexOf(st.redirect) === -1)
			throw new TypeError("Failed to construct 'Request': invalid redirect mode '" +
			    st.redirect + "'.");
	}
	if (opts.cache !== undefined) {
		st.cache = String(opts.cache);
		if (CACHE_MODES.indexOf(st.cache) === -1)
			throw new TypeError("Unsupported cache mode: " + st.cache);
	}
	if (opts.integrity !== undefined)
		st.integrity = String(opts.integrity);
	if (opts.keepalive !== undefined)
		st.keepalive = Boolean(opts.keepalive);
	if (opts.signal !== undefined)
		st.signal = checkSignal(opts.signal);
	if (opts.cf !== undefined) {
		if (opts.cf !== null && typeof opts.cf !== 'object')
			throw new TypeError("Failed to construct 'Request': cf must be an object");
		st.cf = opts.cf === null ? undefined : opts.cf;
	}
	if (opts.fetcher !== undefined)
		st.fetcher = opts.fetcher;
	st.headers = new rt.Headers(opts.headers !== undefined ? opts.headers :
	    (from ? from.headers : undefined));
	hasBodyInit = opts.body !== undefined && opts.body !== null;
	if ((hasBodyInit || (from && !rt.bodyIsNull(input))) &&
	    (st.method === 'GET' || st.method === 'HEAD'))
		throw new TypeError('Request with a GET or HEAD method cannot have a body.');
	if (hasBodyInit) {
		extracted = rt.bodyFromInit(opts.body);
		if (extracted.contentType !== null && !st.headers.has('content-type'))
			rt.headersAppend(st.headers, 'content-type', extracted.contentType);
		body = extracted.state;
	} else if (from) {
		body = rt.bodyTake(input);
	} else {
		body = rt.bodyFromInit(null).state;
	}
	init(this, st, body);
}

function headersOf(r) {
	return state(r).headers;
}

rt.getter(Request.prototype, 'method', function () { return state(this).method; });
rt.getter(Request.prototype, 'url', function () { return state(this).url; });
rt.getter(Request.prototype, 'headers', function () { return state(this).headers; });
rt.getter(Request.prototype, 'redirect', function () { return state(this).redirect; });
rt.getter(Request.prototype, 'cf', function () { return state(this).cf; });
rt.getter(Request.prototype, 'integrity', function () { return state(this).integrity; });
rt.getter(Request.prototype, 'keepalive', function () { return state(this).keepalive; });
rt.getter(Request.prototype, 'cache', function () { return state(this).cache; });
rt.getter(Request.prototype, 'fetcher', function () { return state(this).fetcher; });
/* A signal that never aborts when none was given (once AbortController exists). */
rt.getter(Request.prototype, 'signal', function () {
	var st = state(this);
	var AC = rt.AbortController || globalThis.AbortController;

	if (st.signal === undefined || st.signal === null) {
		if (typeof AC !== 'function')
			return null;
		st.signal = new AC().signal;
	}
	return st.signal;
});
rt.bodyMixin(Request.prototype, headersOf);
rt.methods(Request.prototype, {
	clone: function () {
		var st = state(this);
		var r = Object.create(Request.prototype);
		var copy = {};
		var keys = Object.keys(st);
		var i;

		for (i = 0; i < keys.length; i++)
			copy[keys[i]] = st[keys[i]];
		copy.headers = rt.headersCopy(st.headers);
		init(r, copy, rt.bodyClone(this));
		return r;
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
		signal: undefined,
		cf: undefined,
		integrity: '',
		keepalive: false,
		cache: undefined,
		fetcher: null
	}, body);
	return r;
};

rt.Request = Request;
rt.define(globalThis, 'Request', Request);

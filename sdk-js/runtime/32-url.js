/*
 * URL and URLSearchParams: the WHATWG URL class over the C parser
 * (native.urlParse / native.urlSet, sandbox/url.c) and the
 * application/x-www-form-urlencoded list, kept live with the URL's query.
 */
'use strict';

var URL_SLOT = native.hidden('url');
var PARAMS_SLOT = native.hidden('urlSearchParams');
var ITER_SLOT = native.hidden('urlSearchParamsIterator');
/* Indexes of the arrays the natives return; setters take (index - FIRST_PART). */
var HREF = 0, ORIGIN = 1, FIRST_PART = 2, SEARCH = 9;
var PARTS = ['protocol', 'username', 'password', 'host', 'hostname', 'port', 'pathname',
    'search', 'hash'];
var HEX = '0123456789ABCDEF';
var SURROGATE = /[\uD800-\uDFFF]/;
/* "UTF-8 decode without BOM": a leading U+FEFF is data here, not a signature. */
var DECODER = new TextDecoder('utf-8', { ignoreBOM: true });

/* Web IDL USVString conversion, as far as the natives need it (they replace lone surrogates). */
function toUSV(x) {
	if (typeof x === 'symbol')
		throw new TypeError('Cannot convert a Symbol value to a string');
	return String(x);
}

function requireArgs(n, count, what) {
	if (n < count)
		throw new TypeError("Failed to execute '" + what + "': " + count +
		    ' argument' + (count > 1 ? 's' : '') + ' required, but only ' + n + ' present.');
}

/* --- application/x-www-form-urlencoded --------------------------------- */

/* Percent-decodes a string's UTF-8 bytes and decodes them again as UTF-8 (U+FFFD for bad bytes). */
function percentDecode(s) {
	var bytes, out, i, o = 0, hi, lo;

	if (s.indexOf('%') < 0 && !SURROGATE.test(s))
		return s;
	bytes = rt.utf8(s);
	out = new Uint8Array(bytes.length);
	for (i = 0; i < bytes.length; i++) {
		if (bytes[i] === 0x25 && i + 2 < bytes.length &&
		    (hi = hexValue(bytes[i + 1])) >= 0 && (lo = hexValue(bytes[i + 2])) >= 0) {
			out[o++] = hi * 16 + lo;
			i += 2;
		} else {
			out[o++] = bytes[i];
		}
	}
	return DECODER.decode(out.subarray(0, o));
}

function hexValue(b) {
	if (b >= 0x30 && b <= 0x39)
		return b - 0x30;
	if (b >= 0x41 && b <= 0x46)
		return b - 0x41 + 10;
	if (b >= 0x61 && b <= 0x66)
		return b - 0x61 + 10;
	return -1;
}

/* The urlencoded parser: a list of [name, value] pairs. */
function parseForm(s) {
	var list = [], seqs = s.split('&'), i, seq, eq, name, value;

	for (i = 0; i < seqs.length; i++) {
		seq = seqs[i];
		if (seq === '')
			continue;
		eq = seq.indexOf('=');
		name = eq >= 0 ? seq.slice(0, eq) : seq;
		value = eq >= 0 ? seq.slice(eq + 1) : '';
		list.push([percentDecode(name.replace(/\+/g, ' ')),
		    percentDecode(value.replace(/\+/g, ' '))]);
	}
	return list;
}

/* The urlencoded byte serializer of one string (UTF-8, space as '+'). */
function encodeForm(s) {
	var bytes, out = [], i, b;

	if (/^[A-Za-z0-9*\-._]*$/.test(s))
		return s;
	bytes = rt.utf8(s);
	for (i = 0; i < bytes.length; i++) {
		b = bytes[i];
		if ((b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) ||
		    b === 0x2a || b === 0x2d || b === 0x2e || b === 0x5f)
			out.push(String.fromCharCode(b));
		else if (b === 0x20)
			out.push('+');
		else
			out.push('%' + HEX.charAt(b >> 4) + HEX.charAt(b & 15));
	}
	return out.join('');
}

function serializeForm(list) {
	var out = [], i;

	for (i = 0; i < list.length; i++)
		out.push(encodeForm(list[i][0]) + '=' + encodeForm(list[i][1]));
	return out.join('&');
}

/* --- URLSearchParams ---------------------------------------------------- */

function paramsState(p) {
	var st = rt.isObject(p) ? p[PARAMS_SLOT] : undefined;

	if (st === undefined)
		throw new TypeError('Illegal invocation: not a URLSearchParams object');
	return st;
}

/* The update steps: the associated URL's query follows the list. */
function update(st) {
	var ust;

	if (st.url === null)
		return;
	ust = st.url[URL_SLOT];
	setPart(ust, SEARCH, serializeForm(st.list), false);
}

function fillParams(st, init) {
	var pairs, keys, i;

	if (rt.isObject(init) && init[PARAMS_SLOT] !== undefined) {
		pairs = init[PARAMS_SLOT].list;
		for (i = 0; i < pairs.length; i++)
			st.list.push([pairs[i][0], pairs[i][1]]);
	} else if (rt.isObject(init) && typeof init[Symbol.iterator] === 'function') {
		iterate(init, function (pair) {
			var p;

			if (!rt.isObject(pair) && typeof pair !== 'string')
				throw new TypeError("Failed to construct 'URLSearchParams': " +
				    'each pair must be an iterable [name, value]');
			if (typeof Object(pair)[Symbol.iterator] !== 'function')
				throw new TypeError("Failed to construct 'URLSearchParams': " +
				    'each pair must be an iterable [name, value]');
			p = listOf(Object(pair));
			if (p.length !== 2)
				throw new TypeError("Failed to construct 'URLSearchParams': " +
				    'each pair must have exactly two items');
			st.list.push([toUSV(p[0]), toUSV(p[1])]);
		});
	} else if (rt.isObject(init)) {
		keys = Object.keys(init);
		for (i = 0; i < keys.length; i++)
			st.list.push([toUSV(keys[i]), toUSV(init[keys[i]])]);
	} else if (init !== undefined) {
		init = toUSV(init);
		st.list = parseForm(init.charAt(0) === '?' ? init.slice(1) : init);
	}
}

function URLSearchParams(init) {
	var st = { list: [], url: null };

	if (!(this instanceof URLSearchParams) || this[PARAMS_SLOT] !== undefined)
		throw new TypeError("Failed to construct 'URLSearchParams': Please use the 'new' operator");
	fillParams(st, init);
	Object.defineProperty(this, PARAMS_SLOT, { value: st });
}

function paramsFor(url, query) {
	var p = Object.create(URLSearchParams.prototype);

	Object.defineProperty(p, PARAMS_SLOT, { value: { list: parseForm(query), url: url } });
	return p;
}

/* The iterator prototype: `next` walks the live list through the hidden state. */
var ParamsIteratorPrototype = Object.create(rt.IteratorPrototype || Object.prototype);

rt.define(ParamsIteratorPrototype, 'next', function next() {
	var st = rt.isObject(this) ? this[ITER_SLOT] : undefined, pair;

	if (st === undefined)
		throw new TypeError('URLSearchParams Iterator.prototype.next called on an incompatible receiver');
	if (st.list === null || st.index >= st.list.length) {
		st.list = null;
		return { value: undefined, done: true };
	}
	pair = st.list[st.index++];
	if (st.kind === 'key')
		return { value: pair[0], done: false };
	if (st.kind === 'value')
		return { value: pair[1], done: false };
	return { value: [pair[0], pair[1]], done: false };
});
if (rt.IteratorPrototype === undefined)
	rt.define(ParamsIteratorPrototype, Symbol.iterator, function iterator() { return this; });
Object.defineProperty(ParamsIteratorPrototype, Symbol.toStringTag,
    { value: 'URLSearchParams Iterator', configurable: true });

function paramsIterator(p, kind) {
	var it = Object.create(ParamsIteratorPrototype);

	Object.defineProperty(it, ITER_SLOT, { value: { list: paramsState(p).list, index: 0, kind: kind } });
	return it;
}

/* The values of an iterable, as an array (closing the iterator when `fn` throws). */
function iterate(iterable, fn) {
	var it = iterable[Symbol.iterator](), step;

	if (!rt.isObject(it))
		throw new TypeError('the iterator is not an object');
	for (;;) {
		step = it.next();
		if (!rt.isObject(step))
			throw new TypeError('iterator result is not an object');
		if (step.done)
			return;
		try {
			fn(step.value);
		} catch (e) {
			if (typeof it['return'] === 'function') {
				try {
					it['return']();
				} catch (ignored) {
					/* The original error wins. */
				}
			}
			throw e;
		}
	}
}

function listOf(iterable) {
	var out = [];

	iterate(iterable, function (v) { out.push(v); });
	return out;
}

Object.defineProperty(URLSearchParams.prototype, 'size', {
	get: function () { return paramsState(this).list.length; },
	enumerable: true, configurable: true
});

rt.methods(URLSearchParams.prototype, {
	append: function append(name, value) {
		var st = paramsState(this);

		requireArgs(arguments.length, 2, 'URLSearchParams.append');
		st.list.push([toUSV(name), toUSV(value)]);
		update(st);
	},
	'delete': function delete_(name, value) {
		var st = paramsState(this), out = [], i;

		requireArgs(arguments.length, 1, 'URLSearchParams.delete');
		name = toUSV(name);
		if (value !== undefined)
			value = toUSV(value);
		for (i = 0; i < st.list.length; i++)
			if (st.list[i][0] !== name || (value !== undefined && st.list[i][1] !== value))
				out.push(st.list[i]);
		/* In place, so that live iterators see the removal. */
		st.list.length = 0;
		Array.prototype.push.apply(st.list, out);
		update(st);
	},
	get: function get(name) {
		var st = paramsState(this), i;

		requireArgs(arguments.length, 1, 'URLSearchParams.get');
		name = toUSV(name);
		for (i = 0; i < st.list.length; i++)
			if (st.list[i][0] === name)
				return st.list[i][1];
		return null;
	},
	getAll: function getAll(name) {
		var st = paramsState(this), out = [], i;

		requireArgs(arguments.length, 1, 'URLSearchParams.getAll');
		name = toUSV(name);
		for (i = 0; i < st.list.length; i++)
			if (st.list[i][0] === name)
				out.push(st.list[i][1]);
		return out;
	},
	has: function has(name, value) {
		var st = paramsState(this), i;

		requireArgs(arguments.length, 1, 'URLSearchParams.has');
		name = toUSV(name);
		if (value !== undefined)
			value = toUSV(value);
		for (i = 0; i < st.list.length; i++)
			if (st.list[i][0] === name && (value === undefined || st.list[i][1] === value))
				return true;
		return false;
	},
	set: function set(name, value) {
		var st = paramsState(this), found = false, out = [], i;

		requireArgs(arguments.length, 2, 'URLSearchParams.set');
		name = toUSV(name);
		value = toUSV(value);
		for (i = 0; i < st.list.length; i++) {
			if (st.list[i][0] !== name) {
				out.push(st.list[i]);
			} else if (!found) {
				found = true;
				out.push([name, value]);
			}
		}
		if (!found)
			out.push([name, value]);
		st.list.length = 0;
		Array.prototype.push.apply(st.list, out);
		update(st);
	},
	sort: function sort() {
		var st = paramsState(this), keyed = [], i;

		/* Stable by UTF-16 code units: ties keep their order through the index. */
		for (i = 0; i < st.list.length; i++)
			keyed.push({ pair: st.list[i], index: i });
		keyed.sort(function (a, b) {
			if (a.pair[0] < b.pair[0])
				return -1;
			if (a.pair[0] > b.pair[0])
				return 1;
			return a.index - b.index;
		});
		for (i = 0; i < keyed.length; i++)
			st.list[i] = keyed[i].pair;
		update(st);
	},
	toString: function toString() {
		return serializeForm(paramsState(this).list);
	},
	forEach: function forEach(callback, thisArg) {
		var st = paramsState(this), i;

		if (typeof callback !== 'function')
			throw new TypeError("Failed to execute 'forEach' on 'URLSearchParams': " +
			    'parameter 1 is not of type \'Function\'.');
		for (i = 0; i < st.list.length; i++)
			callback.call(thisArg, st.list[i][1], st.list[i][0], this);
	},
	keys: function keys() {
		return paramsIterator(this, 'key');
	},
	values: function values() {
		return paramsIterator(this, 'value');
	},
	entries: function entries() {
		return paramsIterator(this, 'key+value');
	}
});
rt.define(URLSearchParams.prototype, Symbol.iterator, URLSearchParams.prototype.entries);
Object.defineProperty(URLSearchParams.prototype, Symbol.toStringTag,
    { value: 'URLSearchParams', configurable: true });

/* --- URL ------------------------------------------------------------------ */

function urlState(u) {
	var st = rt.isObject(u) ? u[URL_SLOT] : undefined;

	if (st === undefined)
		throw new TypeError('Illegal invocation: not a URL object');
	return st;
}

function parseParts(url, base) {
	url = toUSV(url);
	if (base !== undefined)
		base = toUSV(base);
	return native.urlParse(url, base);
}

/* Runs a setter in C; `sync` refreshes the searchParams list from the new query. */
function setPart(st, index, value, sync) {
	var parts = native.urlSet(st.parts[HREF], index - FIRST_PART, value);

	if (parts === null)
		return;
	st.parts = parts;
	if (sync && st.params !== null)
		st.params[PARAMS_SLOT].list = parseForm(parts[SEARCH].slice(1));
}

function URL(url, base) {
	var parts;

	if (!(this instanceof URL) || this[URL_SLOT] !== undefined)
		throw new TypeError("Failed to construct 'URL': Please use the 'new' operator");
	requireArgs(arguments.length, 1, 'URL constructor');
	parts = parseParts(url, base);
	if (parts === null)
		throw new TypeError('Invalid URL string.');
	Object.defineProperty(this, URL_SLOT, { value: { parts: parts, params: null } });
}

Object.defineProperty(URL.prototype, 'href', {
	get: function () { return urlState(this).parts[HREF]; },
	set: function (v) {
		var st = urlState(this), parts = native.urlParse(toUSV(v), undefined);

		if (parts === null)
			throw new TypeError('Invalid URL string.');
		st.parts = parts;
		if (st.params !== null)
			st.params[PARAMS_SLOT].list = parseForm(parts[SEARCH].slice(1));
	},
	enumerable: true, configurable: true
});

Object.defineProperty(URL.prototype, 'origin', {
	get: function () { return urlState(this).parts[ORIGIN]; },
	enumerable: true, configurable: true
});

PARTS.forEach(function (name, i) {
	var index = FIRST_PART + i;

	Object.defineProperty(URL.prototype, name, {
		get: function () { return urlState(this).parts[index]; },
		set: function (v) { setPart(urlState(this), index, toUSV(v), index === SEARCH); },
		enumerable: true, configurable: true
	});
});

Object.defineProperty(URL.prototype, 'searchParams', {
	get: function () {
		var st = urlState(this);

		if (st.params === null)
			st.params = paramsFor(this, st.parts[SEARCH].slice(1));
		return st.params;
	},
	enumerable: true, configurable: true
});

rt.methods(URL.prototype, {
	toString: function toString() {
		return urlState(this).parts[HREF];
	},
	toJSON: function toJSON() {
		return urlState(this).parts[HREF];
	}
});
Object.defineProperty(URL.prototype, Symbol.toStringTag, { value: 'URL', configurable: true });

rt.methods(URL, {
	canParse: function canParse(url, base) {
		requireArgs(arguments.length, 1, 'URL.canParse');
		return parseParts(url, base) !== null;
	},
	parse: function parse(url, base) {
		var parts, u;

		requireArgs(arguments.length, 1, 'URL.parse');
		parts = parseParts(url, base);
		if (parts === null)
			return null;
		u = Object.create(URL.prototype);
		Object.defineProperty(u, URL_SLOT, { value: { parts: parts, params: null } });
		return u;
	}
});

rt.define(globalThis, 'URL', URL);
rt.define(globalThis, 'URLSearchParams', URLSearchParams);

/*
 * Headers: a case-insensitive multimap of HTTP fields.  Iteration yields
 * lower-cased names in sorted order, values of one name combined with ", "
 * (each Set-Cookie separately).
 */
'use strict';

var SLOT = native.hidden('headers');
var TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
var FORBIDDEN_CHAR = /[\0\r\n]/;

function checkName(name) {
	name = String(name);
	if (!TOKEN.test(name))
		throw new TypeError('Invalid header name: ' + JSON.stringify(name));
	return name.toLowerCase();
}

function checkValue(value) {
	value = String(value).replace(/^[ \t]+|[ \t]+$/g, '');
	if (FORBIDDEN_CHAR.test(value))
		throw new TypeError('Invalid header value: ' + JSON.stringify(value));
	return value;
}

function state(h) {
	var st = h !== null && typeof h === 'object' ? h[SLOT] : undefined;

	if (st === undefined)
		throw new TypeError('Illegal invocation: not a Headers object');
	return st;
}

function mutable(h) {
	var st = state(h);

	if (st.immutable)
		throw new TypeError("Can't modify immutable headers.");
	return st;
}

function fill(h, init) {
	var pairs, keys, i;

	if (init === undefined || init === null)
		return;
	if (typeof init !== 'object' && typeof init !== 'function')
		throw new TypeError('Headers: init must be an object');
	if (init[SLOT] !== undefined) {
		pairs = init[SLOT].list;
		for (i = 0; i < pairs.length; i++)
			h.append(pairs[i][0], pairs[i][1]);
		return;
	}
	if (typeof init[Symbol.iterator] === 'function' || Array.isArray(init)) {
		pairs = rt.toArray(init);
		for (i = 0; i < pairs.length; i++) {
			if (pairs[i] === null || typeof pairs[i] !== 'object')
				throw new TypeError('Headers: each entry must be a [name, value] pair');
			var pair = rt.toArray(pairs[i]);
			if (pair.length !== 2)
				throw new TypeError('Headers: each entry must be a [name, value] pair');
			h.append(pair[0], pair[1]);
		}
		return;
	}
	keys = Object.keys(init);
	for (i = 0; i < keys.length; i++)
		h.append(keys[i], init[keys[i]]);
}

function Headers(init) {
	if (!(this instanceof Headers))
		throw new TypeError("Failed to construct 'Headers': use 'new'");
	Object.defineProperty(this, SLOT, { value: { list: [], immutable: false } });
	fill(this, init);
}

/* The iteration order: sorted names, combined values, Set-Cookie one by one. */
function sortedEntries(st) {
	var names = [];
	var seen = {};
	var out = [];
	var i, j, name, values;

	for (i = 0; i < st.list.length; i++) {
		name = st.list[i][0];
		if (seen[name] !== true) {
			seen[name] = true;
			names.push(name);
		}
	}
	names.sort();
	for (i = 0; i < names.length; i++) {
		values = valuesOf(st, names[i]);
		if (names[i] === 'set-cookie') {
			for (j = 0; j < values.length; j++)
				out.push([names[i], values[j]]);
		} else {
			out.push([names[i], values.join(', ')]);
		}
	}
	return out;
}

function valuesOf(st, name) {
	var out = [];
	var i;

	for (i = 0; i < st.list.length; i++)
		if (st.list[i][0] === name)
			out.push(st.list[i][1]);
	return out;
}

function makeIterator(items, pick) {
	var i = 0;
	var it = {
		next: function () {
			if (i >= items.length)
				return { value: undefined, done: true };
			return { value: pick(items[i++]), done: false };
		}
	};

	it[Symbol.iterator] = function () { return this; };
	return it;
}
rt.makeIterator = makeIterator;

rt.methods(Headers.prototype, {
	append: function (name, value) {
		var st = mutable(this);

		st.list.push([checkName(name), checkValue(value)]);
	},
	set: function (name, value) {
		var st = mutable(this);
		var key = checkName(name);
		var v = checkValue(value);

		st.list = st.list.filter(function (e) { return e[0] !== key; });
		st.list.push([key, v]);
	},
	'delete': function (name) {
		var st = mutable(this);
		var key = checkName(name);

		st.list = st.list.filter(function (e) { return e[0] !== key; });
	},
	get: function (name) {
		var values = valuesOf(state(this), checkName(name));

		return values.length === 0 ? null : values.join(', ');
	},
	getAll: function (name) {
		return valuesOf(state(this), checkName(name));
	},
	getSetCookie: function () {
		return valuesOf(state(this), 'set-cookie');
	},
	has: function (name) {
		return valuesOf(state(this), checkName(name)).length > 0;
	},
	forEach: function (callback, thisArg) {
		var entries = sortedEntries(state(this));
		var i;

		if (typeof callback !== 'function')
			throw new TypeError('Headers.forEach: callback is not a function');
		for (i = 0; i < entries.length; i++)
			callback.call(thisArg, entries[i][1], entries[i][0], this);
	},
	entries: function () {
		return makeIterator(sortedEntries(state(this)), function (e) { return [e[0], e[1]]; });
	},
	keys: function () {
		return makeIterator(sortedEntries(state(this)), function (e) { return e[0]; });
	},
	values: function () {
		return makeIterator(sortedEntries(state(this)), function (e) { return e[1]; });
	}
});
rt.define(Headers.prototype, Symbol.iterator, Headers.prototype.entries);
Object.defineProperty(Headers.prototype, Symbol.toStringTag, { value: 'Headers', configurable: true });

/* Headers from the host's flat [name, value, ...] list; immutable when asked. */
rt.headersFromList = function (list, immutable) {
	var h = new Headers();
	var i;

	for (i = 0; i + 1 < list.length; i += 2) {
		try {
			h.append(list[i], list[i + 1]);
		} catch (e) {
			/* The supervisor parsed these; a field Headers rejects is skipped. */
		}
	}
	h[SLOT].immutable = immutable;
	return h;
};

/* The flat [name, value, ...] list the host sends, in iteration order. */
rt.headersToList = function (h) {
	var entries = sortedEntries(state(h));
	var out = [];
	var i;

	for (i = 0; i < entries.length; i++)
		out.push(entries[i][0], entries[i][1]);
	return out;
};

rt.headersOf = function (init) {
	return new Headers(init);
};

rt.freezeHeaders = function (h) {
	state(h).immutable = true;
};

rt.Headers = Headers;
rt.define(globalThis, 'Headers', Headers);

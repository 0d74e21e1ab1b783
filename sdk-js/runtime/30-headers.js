/*
 * Headers: a case-insensitive multimap of HTTP fields.  Iteration yields
 * lower-cased names in sorted order, values of one name combined with ", "
 * (each Set-Cookie separately).  Guards: "none" or "immutable".
 */
'use strict';

var SLOT = native.hidden('headers');
var TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/* HTTP whitespace, trimmed from both ends of a value (Fetch "normalize"). */
var EDGE_WHITESPACE = /^[\t\n\r ]+|[\t\n\r ]+$/g;
var FORBIDDEN_CHAR = /[\0\r\n]/;

function checkName(name) {
	name = String(name);
	if (!TOKEN.test(name))
		throw new TypeError('Invalid header name: ' + JSON.stringify(name));
	return name.toLowerCase();
}

function checkValue(value) {
	value = String(value).replace(EDGE_WHITESPACE, '');
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

/* Drops the cached iteration order after a change. */
function changed(st) {
	st.sorted = null;
}

function appendTo(st, name, value) {
	st.list.push([checkName(name), checkValue(value)]);
	changed(st);
}

function fill(st, init) {
	var pairs, pair, keys, i;

	if (init === undefined || init === null)
		return;
	if (typeof init !== 'object' && typeof init !== 'function')
		throw new TypeError("Failed to construct 'Headers': the init must be an object");
	if (init[SLOT] !== undefined) {
		pairs = init[SLOT].list;
		for (i = 0; i < pairs.length; i++)
			st.list.push([pairs[i][0], pairs[i][1]]);
		changed(st);
		return;
	}
	if (typeof init[Symbol.iterator] === 'function' || Array.isArray(init)) {
		pairs = rt.toArray(init);
		for (i = 0; i < pairs.length; i++) {
			if (pairs[i] === null || (typeof pairs[i] !== 'object' && typeof pairs[i] !== 'function'))
				throw new TypeError('Headers: each entry must be a [name, value] pair');
			pair = rt.toArray(pairs[i]);
			if (pair.length !== 2)
				throw new TypeError('Headers: each entry must be a [name, value] pair');
			appendTo(st, pair[0], pair[1]);
		}
		return;
	}
	keys = Object.keys(init);
	for (i = 0; i < keys.length; i++)
		appendTo(st, keys[i], init[keys[i]]);
}

function newState() {
	return { list: [], immutable: false, sorted: null };
}

function Headers(init) {
	var st = newState();

	if (!(this instanceof Headers))
		throw new TypeError("Failed to construct 'Headers': use 'new'");
	fill(st, init);
	Object.defineProperty(this, SLOT, { value: st });
}

function valuesOf(st, name) {
	var out = [];
	var i;

	for (i = 0; i < st.list.length; i++)
		if (st.list[i][0] === name)
			out.push(st.list[i][1]);
	return out;
}

/* The iteration order: sorted names, combined values, Set-Cookie one by one (cached). */
function sortedEntries(st) {
	var names = [];
	var seen = {};
	var out = [];
	var i, j, name, values;

	if (st.sorted !== null)
		return st.sorted;
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
	st.sorted = out;
	return out;
}

/*
 * An iterator over items() (re-read on every step, so it sees changes made
 * while iterating) mapped through pick.
 */
function makeIterator(items, pick, tag) {
	var i = 0;
	var it = {};

	rt.define(it, 'next', function () {
		var list = items();

		if (i >= list.length)
			return { value: undefined, done: true };
		return { value: pick(list[i++]), done: false };
	});
	rt.define(it, Symbol.iterator, function () { return this; });
	if (tag !== undefined)
		Object.defineProperty(it, Symbol.toStringTag, { value: tag, configurable: true });
	return it;
}
rt.makeIterator = function (items, pick, tag) {
	return makeIterator(Array.isArray(items) ? function () { return items; } : items, pick, tag);
};

function removeName(st, key) {
	st.list = st.list.filter(function (e) { return e[0] !== key; });
}

function headersIterator(h, pick) {
	var st = state(h);

	return makeIterator(function () { return sortedEntries(st); }, pick, 'Headers Iterator');
}

rt.methods(Headers.prototype, {
	append: function (name, value) {
		var st = mutable(this);

		appendTo(st, name, value);
	},
	set: function (name, value) {
		var st = mutable(this);
		var key = checkName(name);
		var v = checkValue(value);
		var i;

		/* The first one keeps its place, as in the Fetch spec's "set". */
		for (i = 0; i < st.list.length; i++)
			if (st.list[i][0] === key)
				break;
		removeName(st, key);
		st.list.splice(Math.min(i, st.list.length), 0, [key, v]);
		changed(st);
	},
	'delete': function (name) {
		var st = mutable(this);

		removeName(st, checkName(name));
		changed(st);
	},
	get: function (name) {
		var values = valuesOf(state(this), checkName(name));

		return values.length === 0 ? null : values.join(', ');
	},
	/* Workers-only: every Set-Cookie value, uncombined. */
	getAll: function (name) {
		var key = checkName(name);

		if (key !== 'set-cookie')
			throw new TypeError('getAll() can only be used with the header name "Set-Cookie".');
		return valuesOf(state(this), key);
	},
	getSetCookie: function () {
		return valuesOf(state(this), 'set-cookie');
	},
	has: function (name) {
		return valuesOf(state(this), checkName(name)).length > 0;
	},
	forEach: function (callback, thisArg) {
		var st = state(this);
		var i, entries;

		if (typeof callback !== 'function')
			throw new TypeError('Headers.forEach: callback is not a function');
		for (i = 0; i < (entries = sortedEntries(st)).length; i++)
			callback.call(thisArg, entries[i][1], entries[i][0], this);
	},
	entries: function () {
		return headersIterator(this, function (e) { return [e[0], e[1]]; });
	},
	keys: function () {
		return headersIterator(this, function (e) { return e[0]; });
	},
	values: function () {
		return headersIterator(this, function (e) { return e[1]; });
	}
});
rt.define(Headers.prototype, Symbol.iterator, Headers.prototype.entries);
Object.defineProperty(Headers.prototype, Symbol.toStringTag, { value: 'Headers', configurable: true });

/* Headers from the host's flat [name, value, ...] list; immutable when asked. */
rt.headersFromList = function (list, immutable) {
	var h = new Headers();
	var st = h[SLOT];
	var i;

	for (i = 0; i + 1 < list.length; i += 2) {
		try {
			appendTo(st, list[i], list[i + 1]);
		} catch (e) {
			/* The supervisor parsed these; a field Headers rejects is skipped. */
		}
	}
	st.immutable = immutable;
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

/* A Headers holding a copy of h's fields, with the same guard unless `immutable` is given. */
rt.headersCopy = function (h, immutable) {
	var src = state(h);
	var copy = new Headers(h);

	copy[SLOT].immutable = immutable === undefined ? src.immutable : immutable;
	return copy;
};

/* Appends without the guard check: the runtime filling in a default. */
rt.headersAppend = function (h, name, value) {
	appendTo(state(h), name, value);
};

/* The raw value of one field (combined), or null; unaffected by tenant overrides. */
rt.headersGet = function (h, name) {
	var values = valuesOf(state(h), String(name).toLowerCase());

	return values.length === 0 ? null : values.join(', ');
};

rt.headersOf = function (init) {
	return new Headers(init);
};

rt.freezeHeaders = function (h) {
	state(h).immutable = true;
};

rt.Headers = Headers;
rt.define(globalThis, 'Headers', Headers);

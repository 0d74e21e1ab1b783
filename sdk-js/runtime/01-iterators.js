/*
 * Iteration protocol for the builtins Duktape leaves without it: arrays,
 * strings (by code point), typed arrays and arguments objects, plus
 * Symbol.asyncIterator and the iteration helpers the other parts share.
 */
'use strict';

var ITER = native.hidden('iterator');
var KEYS = 0, VALUES = 1, ENTRIES = 2;

/* Defines a non-enumerable data property only when the name is missing. */
function polyfill(obj, name, value) {
	if (obj[name] === undefined)
		Object.defineProperty(obj, name, { value: value, writable: true, configurable: true });
}
rt.polyfill = polyfill;

/* Defines every entry of `table` with rt.polyfill. */
function polyfills(obj, table) {
	var names = Object.keys(table);
	var i;

	for (i = 0; i < names.length; i++)
		polyfill(obj, names[i], table[names[i]]);
}
rt.polyfills = polyfills;

function isObject(x) {
	return x !== null && (typeof x === 'object' || typeof x === 'function');
}
rt.isObject = isObject;

/* ToIntegerOrInfinity. */
function toInteger(x) {
	x = Number(x);
	if (x !== x)
		return 0;
	if (x === 0 || x === Infinity || x === -Infinity)
		return x;
	return x < 0 ? Math.ceil(x) : Math.floor(x);
}
rt.toInteger = toInteger;

/* ToLength. */
function toLength(x) {
	x = toInteger(x);
	if (x <= 0)
		return 0;
	return x > 9007199254740991 ? 9007199254740991 : x;
}
rt.toLength = toLength;

/* A relative index (negative counts from the end) clamped to [0, len]. */
function relativeIndex(x, len) {
	x = toInteger(x);
	if (x < 0)
		return x + len < 0 ? 0 : x + len;
	return x > len ? len : x;
}
rt.relativeIndex = relativeIndex;

if (Symbol.asyncIterator === undefined)
	Object.defineProperty(Symbol, 'asyncIterator', { value: Symbol('Symbol.asyncIterator') });

/* %IteratorPrototype%: every builtin iterator is itself iterable. */
var IteratorPrototype = {};
Object.defineProperty(IteratorPrototype, Symbol.iterator, {
	value: function iterator() { return this; }, writable: true, configurable: true
});
rt.IteratorPrototype = IteratorPrototype;

function result(value, done) {
	return { value: value, done: done };
}
rt.iterResult = result;

/* A prototype for builtin iterators: `next` reads the state in the hidden slot. */
function builtinIteratorPrototype(tag, next) {
	var proto = Object.create(IteratorPrototype);

	rt.define(proto, 'next', function next_() {
		var st = isObject(this) ? this[ITER] : undefined;

		if (st === undefined || st.tag !== tag)
			throw new TypeError(tag + '.prototype.next called on an incompatible receiver');
		return next(st);
	});
	Object.defineProperty(proto, Symbol.toStringTag, { value: tag, configurable: true });
	return proto;
}
rt.builtinIteratorPrototype = builtinIteratorPrototype;

/* A new iterator of `proto` whose state is `st` (st.tag must match the prototype's tag). */
function builtinIterator(proto, st) {
	var it = Object.create(proto);

	Object.defineProperty(it, ITER, { value: st });
	return it;
}
rt.builtinIterator = builtinIterator;

/* Array iterators: over any array-like, reading its length at every step. */
var ArrayIteratorPrototype = builtinIteratorPrototype('Array Iterator', function (st) {
	var o = st.object, i = st.index;

	if (o === undefined)
		return result(undefined, true);
	if (i >= toLength(o.length)) {
		st.object = undefined;
		return result(undefined, true);
	}
	st.index = i + 1;
	if (st.kind === KEYS)
		return result(i, false);
	if (st.kind === VALUES)
		return result(o[i], false);
	return result([i, o[i]], false);
});

function arrayIterator(kind) {
	return function () {
		if (this === null || this === undefined)
			throw new TypeError('Array.prototype iterator called on null or undefined');
		return builtinIterator(ArrayIteratorPrototype,
		    { tag: 'Array Iterator', object: Object(this), index: 0, kind: kind });
	};
}
var arrayValues = arrayIterator(VALUES);
rt.arrayValues = arrayValues;

function installArrayIterators(proto) {
	polyfills(proto, {
		keys: arrayIterator(KEYS),
		values: arrayValues,
		entries: arrayIterator(ENTRIES)
	});
	if (proto[Symbol.iterator] === undefined)
		rt.define(proto, Symbol.iterator, proto.values);
}
installArrayIterators(Array.prototype);
rt.TypedArrayPrototype = Object.getPrototypeOf(Uint8Array.prototype);
installArrayIterators(rt.TypedArrayPrototype);

/* String iterator: one code point (one or two UTF-16 units) per step. */
var StringIteratorPrototype = builtinIteratorPrototype('String Iterator', function (st) {
	var s = st.string, i = st.index, c, d;

	if (s === undefined)
		return result(undefined, true);
	if (i >= s.length) {
		st.string = undefined;
		return result(undefined, true);
	}
	c = s.charCodeAt(i);
	if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
		d = s.charCodeAt(i + 1);
		if (d >= 0xdc00 && d <= 0xdfff) {
			st.index = i + 2;
			return result(s.slice(i, i + 2), false);
		}
	}
	st.index = i + 1;
	return result(s.charAt(i), false);
});

if (String.prototype[Symbol.iterator] === undefined) {
	rt.define(String.prototype, Symbol.iterator, function () {
		if (this === null || this === undefined)
			throw new TypeError('String.prototype[Symbol.iterator] called on null or undefined');
		return builtinIterator(StringIteratorPrototype,
		    { tag: 'String Iterator', string: String(this), index: 0 });
	});
}

/*
 * Arguments objects inherit from Object.prototype in Duktape, so they get
 * their iterator through an accessor there that answers only for them (other
 * objects see undefined, as before, and assigning still makes an own
 * property).  swc's spec-mode for-of over `arguments` calls it directly.
 */
if (Object.prototype[Symbol.iterator] === undefined) {
	Object.defineProperty(Object.prototype, Symbol.iterator, {
		get: function () {
			if (Object.prototype.toString.call(this) === '[object Arguments]')
				return arrayValues;
			return undefined;
		},
		set: function (v) {
			if (this === Object.prototype)
				throw new TypeError('cannot redefine Object.prototype[Symbol.iterator]');
			Object.defineProperty(this, Symbol.iterator,
			    { value: v, writable: true, enumerable: true, configurable: true });
		},
		configurable: true
	});
}

/* GetIterator(obj): the iterator of an iterable, or a TypeError. */
function getIterator(obj, what) {
	var method, it;

	if (obj !== null && obj !== undefined)
		method = obj[Symbol.iterator];
	if (typeof method !== 'function')
		throw new TypeError((what || 'object') + ' is not iterable');
	it = method.call(obj);
	if (!isObject(it))
		throw new TypeError('the iterator is not an object');
	return it;
}
rt.getIterator = getIterator;

/* IteratorClose on an abrupt completion: errors from return() are dropped. */
function closeIterator(it) {
	var ret;

	try {
		ret = it['return'];
		if (typeof ret === 'function')
			ret.call(it);
	} catch (ignored) {
		/* The original error wins. */
	}
}
rt.closeIterator = closeIterator;

/* Calls fn(value) for each value of an iterable; closes the iterator if fn throws. */
function forOf(iterable, fn, what) {
	var it = getIterator(iterable, what);
	var next = it.next;
	var step;

	for (;;) {
		step = next.call(it);
		if (!isObject(step))
			throw new TypeError('iterator result is not an object');
		if (step.done)
			return;
		try {
			fn(step.value);
		} catch (e) {
			closeIterator(it);
			throw e;
		}
	}
}
rt.forOf = forOf;

/* The values of an iterable as a new array. */
function listFrom(iterable, what) {
	var out = [];

	forOf(iterable, function (v) { out.push(v); }, what);
	return out;
}
rt.listFrom = listFrom;

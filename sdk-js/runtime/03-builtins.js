/*
 * The ES2015+ methods of Array, typed arrays, Object, String, Math and
 * Symbol that Duktape 2.7 lacks; each is defined only when missing, and
 * non-enumerable as the spec has it.  Runs in the sandbox heap.
 */
'use strict';

/* Captured now: later parts may reuse these rt names for their own helpers. */
var builtinIteratorPrototype = rt.builtinIteratorPrototype, builtinIterator = rt.builtinIterator;
var iterResult = rt.iterResult, forOf = rt.forOf, isObject = rt.isObject;

var toInteger = rt.toInteger, toLength = rt.toLength, relativeIndex = rt.relativeIndex;
var getIterator = rt.getIterator, closeIterator = rt.closeIterator, polyfill = rt.polyfill, polyfills = rt.polyfills;
var hasOwn = Object.prototype.hasOwnProperty;

function sameValueZero(a, b) {
	return a === b || (a !== a && b !== b);
}

function toObject(x, what) {
	if (x === null || x === undefined)
		throw new TypeError(what + ' called on null or undefined');
	return Object(x);
}

function callable(fn, what) {
	if (typeof fn !== 'function')
		throw new TypeError(what + ': ' + String(typeof fn) + ' is not a function');
	return fn;
}

function isConstructor(C) {
	return typeof C === 'function' && C !== Array;
}

/* ---- Array ---- */

polyfills(Array, {
	from: function from(items, mapFn, thisArg) {
		var C = this, out, n, len, i, it, step, v;

		if (mapFn !== undefined)
			callable(mapFn, 'Array.from');
		if (items === null || items === undefined)
			throw new TypeError('Array.from: ' + String(items) + ' is not iterable');
		if (typeof items[Symbol.iterator] === 'function') {
			out = isConstructor(C) ? new C() : [];
			it = getIterator(items);
			for (n = 0; !(step = it.next()).done; n++) {
				v = step.value;
				if (mapFn !== undefined) {
					try {
						v = mapFn.call(thisArg, v, n);
					} catch (e) {
						closeIterator(it);
						throw e;
					}
				}
				out[n] = v;
			}
			out.length = n;
			return out;
		}
		items = Object(items);
		len = toLength(items.length);
		out = isConstructor(C) ? new C(len) : new Array(len);
		for (i = 0; i < len; i++)
			out[i] = mapFn !== undefined ? mapFn.call(thisArg, items[i], i) : items[i];
		out.length = len;
		return out;
	},
	of: function of() {
		var C = this, len = arguments.length;
		var out = isConstructor(C) ? new C(len) : new Array(len);
		var i;

		for (i = 0; i < len; i++)
			out[i] = arguments[i];
		out.length = len;
		return out;
	}
});

function findFrom(self, pred, thisArg, fromEnd, what) {
	var o = toObject(self, what), len = toLength(o.length), i, k;

	callable(pred, what);
	for (i = 0; i < len; i++) {
		k = fromEnd ? len - 1 - i : i;
		if (pred.call(thisArg, o[k], k, o))
			return k;
	}
	return -1;
}

function flatten(target, source, depth, mapFn, thisArg) {
	var len = toLength(source.length), i, v;

	for (i = 0; i < len; i++) {
		if (!(i in source))
			continue;
		v = mapFn !== undefined ? mapFn.call(thisArg, source[i], i, source) : source[i];
		if (depth > 0 && Array.isArray(v))
			flatten(target, v, depth - 1, undefined, undefined);
		else
			target.push(v);
	}
	return target;
}

polyfills(Array.prototype, {
	includes: function includes(x, fromIndex) {
		var o = toObject(this, 'Array.prototype.includes'), len = toLength(o.length), i;

		for (i = relativeIndex(fromIndex, len); i < len; i++) {
			if (sameValueZero(o[i], x))
				return true;
		}
		return false;
	},
	find: function find(pred, thisArg) {
		var i = findFrom(this, pred, thisArg, false, 'Array.prototype.find');

		return i === -1 ? undefined : this[i];
	},
	findIndex: function findIndex(pred, thisArg) {
		return findFrom(this, pred, thisArg, false, 'Array.prototype.findIndex');
	},
	findLast: function findLast(pred, thisArg) {
		var i = findFrom(this, pred, thisArg, true, 'Array.prototype.findLast');

		return i === -1 ? undefined : this[i];
	},
	findLastIndex: function findLastIndex(pred, thisArg) {
		return findFrom(this, pred, thisArg, true, 'Array.prototype.findLastIndex');
	},
	fill: function fill(value, start, end) {
		var o = toObject(this, 'Array.prototype.fill'), len = toLength(o.length);
		var i = relativeIndex(start, len);
		var stop = end === undefined ? len : relativeIndex(end, len);

		for (; i < stop; i++)
			o[i] = value;
		return o;
	},
	flat: function flat(depth) {
		var o = toObject(this, 'Array.prototype.flat');

		return flatten([], o, depth === undefined ? 1 : toInteger(depth), undefined, undefined);
	},
	flatMap: function flatMap(fn, thisArg) {
		var o = toObject(this, 'Array.prototype.flatMap');

		return flatten([], o, 1, callable(fn, 'Array.prototype.flatMap'), thisArg);
	},
	at: function at(index) {
		var o = toObject(this, 'Array.prototype.at'), len = toLength(o.length);
		var i = toInteger(index);

		if (i < 0)
			i += len;
		return i < 0 || i >= len ? undefined : o[i];
	},
	copyWithin: function copyWithin(target, start, end) {
		var o = toObject(this, 'Array.prototype.copyWithin'), len = toLength(o.length);
		var to = relativeIndex(target, len), from = relativeIndex(start, len);
		var stop = end === undefined ? len : relativeIndex(end, len);
		var count = Math.min(stop - from, len - to), dir = 1;

		if (from < to && to < from + count) {
			dir = -1;
			from += count - 1;
			to += count - 1;
		}
		for (; count > 0; count--, from += dir, to += dir) {
			if (from in o)
				o[to] = o[from];
			else
				delete o[to];
		}
		return o;
	},
	toReversed: function toReversed() {
		return Array.prototype.slice.call(toObject(this, 'Array.prototype.toReversed')).reverse();
	},
	toSorted: function toSorted(compare) {
		if (compare !== undefined)
			callable(compare, 'Array.prototype.toSorted');
		return Array.prototype.slice.call(toObject(this, 'Array.prototype.toSorted')).sort(compare);
	}
});

/* ---- Typed arrays: %TypedArray% and its prototype ---- */

var TypedArrayPrototype = rt.TypedArrayPrototype;
var typedArrayNames = ['Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array',
    'Int32Array', 'Uint32Array', 'Float32Array', 'Float64Array'];

function isTypedArray(x) {
	return ArrayBuffer.isView(x) && !(x instanceof DataView);
}

function typed(x, what) {
	if (!isTypedArray(x))
		throw new TypeError(what + ' called on an incompatible receiver');
	return x;
}

/* A new typed array of the same kind as `ta` (the species of typed arrays is ignored). */
function sameKind(ta, len) {
	return new ta.constructor(len);
}

function typedFrom(C, values) {
	var out = new C(values.length), i;

	for (i = 0; i < values.length; i++)
		out[i] = values[i];
	return out;
}

/* Numeric order with NaN last and -0 before +0, as %TypedArray%.prototype.sort has it. */
function numericOrder(a, b) {
	if (a !== a)
		return b !== b ? 0 : 1;
	if (b !== b)
		return -1;
	if (a < b)
		return -1;
	if (a > b)
		return 1;
	if (a === 0 && b === 0)
		return 1 / a < 1 / b ? -1 : (1 / a > 1 / b ? 1 : 0);
	return 0;
}

var typedStatics = {
	from: function from(source, mapFn, thisArg) {
		var values;

		if (typeof this !== 'function')
			throw new TypeError('TypedArray.from: this is not a constructor');
		if (mapFn !== undefined)
			callable(mapFn, 'TypedArray.from');
		values = Array.from(source, mapFn, thisArg);
		return typedFrom(this, values);
	},
	of: function of() {
		if (typeof this !== 'function')
			throw new TypeError('TypedArray.of: this is not a constructor');
		return typedFrom(this, Array.prototype.slice.call(arguments));
	}
};

(function () {
	var TypedArray = Object.getPrototypeOf(Uint8Array);
	var i, C;

	if (TypedArray !== Function.prototype)
		polyfills(TypedArray, typedStatics);
	for (i = 0; i < typedArrayNames.length; i++) {
		C = globalThis[typedArrayNames[i]];
		if (typeof C === 'function' && !hasOwn.call(C, 'from') && C.from === undefined)
			polyfills(C, typedStatics);
	}
})();

/* Methods that read the typed array like an array and return something other than a typed array. */
function viaArray(name, what) {
	var method = Array.prototype[name];

	return function () {
		return method.apply(typed(this, what), arguments);
	};
}

polyfills(TypedArrayPrototype, {
	at: viaArray('at', '%TypedArray%.prototype.at'),
	includes: viaArray('includes', '%TypedArray%.prototype.includes'),
	indexOf: viaArray('indexOf', '%TypedArray%.prototype.indexOf'),
	lastIndexOf: viaArray('lastIndexOf', '%TypedArray%.prototype.lastIndexOf'),
	join: viaArray('join', '%TypedArray%.prototype.join'),
	forEach: viaArray('forEach', '%TypedArray%.prototype.forEach'),
	every: viaArray('every', '%TypedArray%.prototype.every'),
	some: viaArray('some', '%TypedArray%.prototype.some'),
	reduce: viaArray('reduce', '%TypedArray%.prototype.reduce'),
	reduceRight: viaArray('reduceRight', '%TypedArray%.prototype.reduceRight'),
	find: viaArray('find', '%TypedArray%.prototype.find'),
	findIndex: viaArray('findIndex', '%TypedArray%.prototype.findIndex'),
	findLast: viaArray('findLast', '%TypedArray%.prototype.findLast'),
	findLastIndex: viaArray('findLastIndex', '%TypedArray%.prototype.findLastIndex'),
	fill: function fill(value, start, end) {
		var ta = typed(this, '%TypedArray%.prototype.fill'), len = ta.length;
		var i = relativeIndex(start, len);
		var stop = end === undefined ? len : relativeIndex(end, len);

		value = Number(value);
		for (; i < stop; i++)
			ta[i] = value;
		return ta;
	},
	copyWithin: function copyWithin(target, start, end) {
		var ta = typed(this, '%TypedArray%.prototype.copyWithin'), len = ta.length;
		var to = relativeIndex(target, len), from = relativeIndex(start, len);
		var stop = end === undefined ? len : relativeIndex(end, len);
		var count = Math.min(stop - from, len - to);

		if (count > 0)
			ta.set(ta.subarray(from, from + count), to);
		return ta;
	},
	slice: function slice(start, end) {
		var ta = typed(this, '%TypedArray%.prototype.slice'), len = ta.length;
		var from = relativeIndex(start, len);
		var stop = end === undefined ? len : relativeIndex(end, len);
		var out = sameKind(ta, Math.max(stop - from, 0));

		if (stop > from)
			out.set(ta.subarray(from, stop));
		return out;
	},
	map: function map(fn, thisArg) {
		var ta = typed(this, '%TypedArray%.prototype.map'), out = sameKind(ta, ta.length), i;

		callable(fn, '%TypedArray%.prototype.map');
		for (i = 0; i < ta.length; i++)
			out[i] = fn.call(thisArg, ta[i], i, ta);
		return out;
	},
	filter: function filter(fn, thisArg) {
		var ta = typed(this, '%TypedArray%.prototype.filter'), kept = [], i;

		callable(fn, '%TypedArray%.prototype.filter');
		for (i = 0; i < ta.length; i++) {
			if (fn.call(thisArg, ta[i], i, ta))
				kept.push(ta[i]);
		}
		return typedFrom(ta.constructor, kept);
	},
	reverse: function reverse() {
		var ta = typed(this, '%TypedArray%.prototype.reverse'), i, j, t;

		for (i = 0, j = ta.length - 1; i < j; i++, j--) {
			t = ta[i];
			ta[i] = ta[j];
			ta[j] = t;
		}
		return ta;
	},
	sort: function sort(compare) {
		var ta = typed(this, '%TypedArray%.prototype.sort');
		var values = Array.prototype.slice.call(ta), i;

		if (compare !== undefined)
			callable(compare, '%TypedArray%.prototype.sort');
		values.sort(compare === undefined ? numericOrder : function (a, b) {
			var r = Number(compare(a, b));

			return r !== r ? 0 : r;
		});
		for (i = 0; i < values.length && i < ta.length; i++)
			ta[i] = values[i];
		return ta;
	},
	toReversed: function toReversed() {
		var ta = typed(this, '%TypedArray%.prototype.toReversed');

		return TypedArrayPrototype.reverse.call(TypedArrayPrototype.slice.call(ta));
	},
	toSorted: function toSorted(compare) {
		var ta = typed(this, '%TypedArray%.prototype.toSorted');

		return TypedArrayPrototype.sort.call(TypedArrayPrototype.slice.call(ta), compare);
	}
});

/* ---- Object ---- */

polyfills(Object, {
	entries: function entries(o) {
		var keys, out = [], i;

		o = toObject(o, 'Object.entries');
		keys = Object.keys(o);
		for (i = 0; i < keys.length; i++) {
			if (Object.prototype.propertyIsEnumerable.call(o, keys[i]))
				out.push([keys[i], o[keys[i]]]);
		}
		return out;
	},
	values: function values(o) {
		var keys, out = [], i;

		o = toObject(o, 'Object.values');
		keys = Object.keys(o);
		for (i = 0; i < keys.length; i++) {
			if (Object.prototype.propertyIsEnumerable.call(o, keys[i]))
				out.push(o[keys[i]]);
		}
		return out;
	},
	fromEntries: function fromEntries(iterable) {
		var out = {};

		forOf(iterable, function (entry) {
			if (!isObject(entry))
				throw new TypeError('Object.fromEntries: iterator value ' + String(entry) +
				    ' is not an entry object');
			Object.defineProperty(out, entry[0], { value: entry[1], writable: true,
			    enumerable: true, configurable: true });
		}, 'Object.fromEntries argument');
		return out;
	},
	getOwnPropertyDescriptors: function getOwnPropertyDescriptors(o) {
		var keys, out = {}, i, d;

		o = toObject(o, 'Object.getOwnPropertyDescriptors');
		keys = Reflect.ownKeys(o);
		for (i = 0; i < keys.length; i++) {
			d = Object.getOwnPropertyDescriptor(o, keys[i]);
			if (d !== undefined)
				out[keys[i]] = d;
		}
		return out;
	},
	hasOwn: function hasOwn_(o, key) {
		return hasOwn.call(toObject(o, 'Object.hasOwn'), key);
	}
});

/* ---- String ---- */

function thisString(self, what) {
	if (self === null || self === undefined)
		throw new TypeError('String.prototype.' + what + ' called on null or undefined');
	return String(self);
}

function pad(self, maxLength, fillString, atStart, what) {
	var s = thisString(self, what), len = toLength(maxLength), fill, n, filler;

	fill = fillString === undefined ? ' ' : String(fillString);
	if (len <= s.length || fill === '')
		return s;
	n = len - s.length;
	filler = fill.repeat(Math.ceil(n / fill.length)).slice(0, n);
	return atStart ? filler + s : s + filler;
}

var WHITESPACE_START = /^[\s\uFEFF\xA0]+/;
var WHITESPACE_END = /[\s\uFEFF\xA0]+$/;

function isRegExp(x) {
	return isObject(x) && Object.prototype.toString.call(x) === '[object RegExp]';
}

/* GetSubstitution for a match without capture groups. */
function substitute(matched, str, position, replacement) {
	var out = '', i = 0, c, tail = position + matched.length;

	for (;;) {
		c = replacement.indexOf('$', i);
		if (c === -1 || c === replacement.length - 1)
			return out + replacement.slice(i);
		out += replacement.slice(i, c);
		switch (replacement.charAt(c + 1)) {
		case '$':
			out += '$';
			break;
		case '&':
			out += matched;
			break;
		case '`':
			out += str.slice(0, position);
			break;
		case '\'':
			out += str.slice(tail);
			break;
		default:
			out += replacement.slice(c, c + 2);
			break;
		}
		i = c + 2;
	}
}

function regExpFlags(re) {
	var f = re.flags;

	if (typeof f === 'string')
		return f;
	return (re.global ? 'g' : '') + (re.ignoreCase ? 'i' : '') + (re.multiline ? 'm' : '');
}

var RegExpStringIteratorPrototype = builtinIteratorPrototype('RegExp String Iterator', function (st) {
	var m;

	if (st.done)
		return iterResult(undefined, true);
	m = st.re.exec(st.string);
	if (m === null) {
		st.done = true;
		return iterResult(undefined, true);
	}
	if (!st.global) {
		st.done = true;
		return iterResult(m, false);
	}
	if (m[0] === '')
		st.re.lastIndex = toLength(st.re.lastIndex) + 1;
	return iterResult(m, false);
});

polyfills(String.prototype, {
	padStart: function padStart(maxLength, fillString) {
		return pad(this, maxLength, fillString, true, 'padStart');
	},
	padEnd: function padEnd(maxLength, fillString) {
		return pad(this, maxLength, fillString, false, 'padEnd');
	},
	trimStart: function trimStart() {
		return thisString(this, 'trimStart').replace(WHITESPACE_START, '');
	},
	trimEnd: function trimEnd() {
		return thisString(this, 'trimEnd').replace(WHITESPACE_END, '');
	},
	at: function at(index) {
		var s = thisString(this, 'at'), i = toInteger(index);

		if (i < 0)
			i += s.length;
		return i < 0 || i >= s.length ? undefined : s.charAt(i);
	},
	replaceAll: function replaceAll(search, replacement) {
		var s = thisString(this, 'replaceAll'), out = '', last = 0, positions = [], p, i, step;

		if (isRegExp(search)) {
			if (regExpFlags(search).indexOf('g') === -1)
				throw new TypeError('replaceAll must be called with a global RegExp');
			return s.replace(search, replacement);
		}
		search = String(search);
		if (typeof replacement !== 'function')
			replacement = String(replacement);
		step = search.length > 0 ? search.length : 1;
		for (p = s.indexOf(search, 0); p !== -1; p = s.indexOf(search, p + step)) {
			positions.push(p);
			if (p >= s.length)
				break;
		}
		for (i = 0; i < positions.length; i++) {
			p = positions[i];
			out += s.slice(last, p);
			out += typeof replacement === 'function' ?
			    String(replacement(search, p, s)) : substitute(search, s, p, replacement);
			last = p + search.length;
		}
		return out + s.slice(last);
	},
	matchAll: function matchAll(regexp) {
		var s = thisString(this, 'matchAll'), re, flags;

		if (isRegExp(regexp)) {
			flags = regExpFlags(regexp);
			if (flags.indexOf('g') === -1)
				throw new TypeError('matchAll must be called with a global RegExp');
			re = new RegExp(regexp.source, flags);
			re.lastIndex = toLength(regexp.lastIndex);
		} else {
			re = new RegExp(regexp === undefined ? '(?:)' : regexp, 'g');
		}
		return builtinIterator(RegExpStringIteratorPrototype, { tag: 'RegExp String Iterator',
		    re: re, string: s, global: true, done: false });
	}
});
polyfill(String.prototype, 'trimLeft', String.prototype.trimStart);
polyfill(String.prototype, 'trimRight', String.prototype.trimEnd);

polyfill(String, 'raw', function raw(template) {
	var strings = toObject(toObject(template, 'String.raw').raw, 'String.raw');
	var len = toLength(strings.length), out = '', i;

	for (i = 0; i < len; i++) {
		out += String(strings[i]);
		if (i + 1 < len && i + 1 < arguments.length)
			out += String(arguments[i + 1]);
	}
	return out;
});

/* ---- Number, Math, Symbol ---- */

polyfills(Number, {
	isNaN: function isNaN(x) { return typeof x === 'number' && x !== x; },
	isSafeInteger: function isSafeInteger(x) {
		return Number.isInteger(x) && Math.abs(x) <= 9007199254740991;
	},
	parseFloat: parseFloat,
	parseInt: parseInt
});

var float32 = new Float32Array(1);

polyfills(Math, {
	fround: function fround(x) {
		float32[0] = x;
		return float32[0];
	},
	expm1: function expm1(x) {
		x = Number(x);
		return Math.abs(x) < 1e-5 ? x + x * x / 2 + x * x * x / 6 : Math.exp(x) - 1;
	},
	log1p: function log1p(x) {
		x = Number(x);
		return Math.abs(x) < 1e-4 ? x - x * x / 2 + x * x * x / 3 : Math.log(1 + x);
	},
	sinh: function sinh(x) {
		x = Number(x);
		return x === 0 ? x : (Math.exp(x) - Math.exp(-x)) / 2;
	},
	cosh: function cosh(x) {
		x = Number(x);
		return (Math.exp(x) + Math.exp(-x)) / 2;
	},
	tanh: function tanh(x) {
		var a, b;

		x = Number(x);
		if (x === Infinity)
			return 1;
		if (x === -Infinity)
			return -1;
		if (x === 0)
			return x;
		a = Math.exp(x);
		b = Math.exp(-x);
		return a === Infinity ? 1 : (b === Infinity ? -1 : (a - b) / (a + b));
	},
	asinh: function asinh(x) {
		x = Number(x);
		if (x === 0 || !isFinite(x))
			return x;
		return x < 0 ? -Math.log(-x + Math.sqrt(x * x + 1)) : Math.log(x + Math.sqrt(x * x + 1));
	},
	acosh: function acosh(x) {
		x = Number(x);
		return Math.log(x + Math.sqrt(x * x - 1));
	},
	atanh: function atanh(x) {
		x = Number(x);
		return x === 0 ? x : Math.log((1 + x) / (1 - x)) / 2;
	}
});

if (!('description' in Symbol.prototype)) {
	Object.defineProperty(Symbol.prototype, 'description', {
		get: function () {
			var s = Symbol.prototype.toString.call(this);

			return s === 'Symbol()' ? undefined : s.slice(7, -1);
		},
		configurable: true
	});
}

// language.test.js: the ES2015+ builtins the runtime adds to Duktape 2.7
// (iterators, collections, Array/Object/String/Math methods, Reflect).

function collect(it) {
	var out = [], step;
	while (!(step = it.next()).done)
		out.push(step.value);
	return out;
}

function spread(iterable) {
	return collect(iterable[Symbol.iterator]());
}

// ---- iterators ----

test('arrays iterate with keys, values, entries and Symbol.iterator', function () {
	var a = ['x', 'y'];
	assertEqual(Array.prototype[Symbol.iterator], Array.prototype.values);
	assertDeepEqual(collect(a.keys()), [0, 1]);
	assertDeepEqual(collect(a.values()), ['x', 'y']);
	assertDeepEqual(collect(a.entries()), [[0, 'x'], [1, 'y']]);
	var it = a[Symbol.iterator]();
	assertEqual(it[Symbol.iterator](), it);
	assertEqual(Object.prototype.toString.call(it), '[object Array Iterator]');
	assertEqual(Object.keys(Array.prototype).indexOf('values'), -1, 'non-enumerable');
});

test('an array iterator sees elements pushed while iterating, and stays done', function () {
	var a = [1], seen = [], it = a[Symbol.iterator](), step;
	while (!(step = it.next()).done) {
		seen.push(step.value);
		if (a.length < 3)
			a.push(a.length + 1);
	}
	assertDeepEqual(seen, [1, 2, 3]);
	a.push(4);
	assertEqual(it.next().done, true);
});

test('strings iterate by code point', function () {
	assertDeepEqual(spread('a\ud83d\ude00b'), ['a', '\ud83d\ude00', 'b']);
	assertDeepEqual(spread('\ud83d'), ['\ud83d'], 'a lone surrogate is its own step');
	assertEqual(Array.from('\ud83d\ude00\ud83d\ude01').length, 2);
});

test('typed arrays are iterable', function () {
	var u = new Uint8Array([5, 6]);
	assertDeepEqual(spread(u), [5, 6]);
	assertDeepEqual(collect(u.entries()), [[0, 5], [1, 6]]);
	assertDeepEqual(Array.from(new Float64Array([0.5])), [0.5]);
});

test('arguments objects are iterable; plain objects are not', function () {
	var args = (function () { return arguments; })(1, 2, 3);
	assertEqual(typeof args[Symbol.iterator], 'function');
	assertDeepEqual(spread(args), [1, 2, 3]);
	assertEqual(({})[Symbol.iterator], undefined);
	assertThrows(function () { Array.from({}[Symbol.iterator]()); }, TypeError);
	var o = {};
	o[Symbol.iterator] = function () { return [9][Symbol.iterator](); };
	assert(Object.prototype.hasOwnProperty.call(o, Symbol.iterator), 'assignment makes an own property');
	assertDeepEqual(Array.from(o), [9]);
});

test('Symbol.asyncIterator and Symbol.prototype.description', function () {
	assertEqual(typeof Symbol.asyncIterator, 'symbol');
	assertEqual(Symbol('hi').description, 'hi');
	assertEqual(Symbol().description, undefined);
});

// ---- Map ----

test('Map keeps insertion order and uses SameValueZero', function () {
	var m = new Map([['a', 1], [NaN, 2], [0, 3]]);
	assertEqual(m.size, 3);
	assertEqual(m.get(NaN), 2, 'NaN finds NaN');
	assertEqual(m.get(-0), 3, '-0 finds +0');
	m.set(-0, 4);
	assertEqual(m.size, 3);
	assert(1 / Array.from(m.keys())[2] > 0, 'a -0 key is stored as +0');
	assertEqual(m.get('0'), undefined, 'no coercion between 0 and "0"');
	assertDeepEqual(Array.from(m.keys()).map(String), ['a', 'NaN', '0']);
	assertEqual(m.set('b', 5), m, 'set returns the map');
	assertEqual(Object.prototype.toString.call(m), '[object Map]');
});

test('Map keys of every type stay distinct', function () {
	var o1 = {}, o2 = {}, s1 = Symbol('s'), s2 = Symbol('s'), f = Object.freeze({});
	var m = new Map();
	m.set(o1, 'o1').set(o2, 'o2').set(s1, 's1').set(s2, 's2').set(f, 'frozen')
	    .set(null, 'null').set(undefined, 'undef').set(true, 'true').set('true', 'str')
	    .set(1, 'one').set('1', 'str1');
	assertEqual(m.size, 11);
	assertEqual(m.get(o1), 'o1');
	assertEqual(m.get(o2), 'o2');
	assertEqual(m.get({}), undefined);
	assertEqual(m.get(s2), 's2');
	assertEqual(m.get(f), 'frozen', 'frozen objects work as keys');
	assertEqual(m.get(null), 'null');
	assertEqual(m.get(undefined), 'undef');
	assertEqual(m.get(true), 'true');
	assertEqual(m.get(1), 'one');
	assert(m['delete'](f) && !m.has(f));
	assert(m['delete'](s1) && !m.has(s1) && m.has(s2));
	assertEqual(m['delete'](o1), true);
	assertEqual(m['delete'](o1), false);
	assertEqual(Object.keys(o2).length, 0, 'keys get no visible property');
	assertEqual(JSON.stringify(o2), '{}');
	assertEqual(Object.getOwnPropertySymbols(o2).length, 0);
});

test('Map iteration survives deletes, adds and clear', function () {
	var m = new Map([[1, 'a'], [2, 'b'], [3, 'c'], [4, 'd']]);
	var seen = [];
	m.forEach(function (v, k, map) {
		seen.push(k);
		assertEqual(map, m);
		if (k === 1) {
			m['delete'](2);
			m.set(5, 'e');
		}
		if (k === 3)
			m['delete'](3);
	});
	assertDeepEqual(seen, [1, 3, 4, 5]);

	var it = m.entries();
	assertDeepEqual(it.next().value, [1, 'a']);
	m.clear();
	assertEqual(m.size, 0);
	m.set(9, 'z');
	assertDeepEqual(it.next().value, [9, 'z'], 'an iterator continues with entries added after clear');
	assertEqual(it.next().done, true);
	m.set(10, 'y');
	assertEqual(it.next().done, true, 'a finished iterator stays finished');
});

test('Map constructor takes iterables and checks its input', function () {
	var m = new Map(new Map([['k', 'v']]).entries());
	assertEqual(m.get('k'), 'v');
	assertThrows(function () { Map(); }, TypeError);
	assertThrows(function () { new Map([1]); }, TypeError);
	assertThrows(function () { new Map(5); }, TypeError);
	assertThrows(function () { Map.prototype.get.call({}, 1); }, TypeError);
	assertEqual(new Map(null).size, 0);
});

// ---- Set ----

test('Set order after delete and re-add, and NaN', function () {
	var s = new Set([1, 2, 3, 2, NaN, NaN]);
	assertEqual(s.size, 4);
	assert(s.has(NaN));
	s['delete'](1);
	s.add(1);
	assertDeepEqual(Array.from(s).map(String), ['2', '3', 'NaN', '1']);
	assertEqual(s.keys, s.values);
	assertEqual(Set.prototype[Symbol.iterator], Set.prototype.values);
	assertDeepEqual(collect(new Set(['x']).entries()), [['x', 'x']]);
});

test('Set iteration visits an element deleted and re-added before the end', function () {
	var s = new Set(['a', 'b', 'c']), seen = [];
	s.forEach(function (v) {
		seen.push(v);
		if (v === 'a' && seen.length === 1) {
			s['delete']('a');
			s.add('a');
		}
		if (seen.length > 10)
			throw new Error('runaway');
	});
	assertDeepEqual(seen, ['a', 'b', 'c', 'a']);
});

test('Set of strings of the same text with different types', function () {
	var s = new Set(['1', 1, true, 'true', null, 'null', undefined, 'undefined']);
	assertEqual(s.size, 8);
});

// ---- WeakMap / WeakSet ----

test('WeakMap stores by identity and hides its marks', function () {
	var wm = new WeakMap(), k1 = {}, k2 = function () {}, frozen = Object.freeze({});
	wm.set(k1, 1).set(k2, 2).set(frozen, 3);
	assertEqual(wm.get(k1), 1);
	assertEqual(wm.get(k2), 2);
	assertEqual(wm.get(frozen), 3);
	assert(wm.has(k1) && !wm.has({}));
	assertEqual(wm.get('str'), undefined);
	assertEqual(wm.has(1), false);
	assertThrows(function () { wm.set('str', 1); }, TypeError);
	assertThrows(function () { wm.set(Symbol('s'), 1); }, TypeError);
	assert(wm['delete'](k1));
	assert(!wm.has(k1) && wm.get(k1) === undefined);
	assert(!wm['delete'](k1));
	wm.set(k1, 'again');
	assertEqual(wm.get(k1), 'again');
	assert(wm['delete'](frozen) && !wm.has(frozen));
	assertEqual(Object.keys(k1).length, 0);
	assertEqual(Object.getOwnPropertyNames(k1).length, 0);
	assertEqual(Object.getOwnPropertySymbols(k1).length, 0);
	var other = new WeakMap();
	assertEqual(other.get(k1), undefined, 'two WeakMaps do not share entries');
	assertEqual(typeof wm.size, 'undefined');
	assertEqual(typeof wm.forEach, 'undefined');
});

test('WeakMap and WeakSet reject the wrong receiver', function () {
	var wm = new WeakMap([[{}, 1]]), ws = new WeakSet();
	assertThrows(function () { WeakMap.prototype.get.call(ws, {}); }, TypeError);
	assertThrows(function () { WeakSet.prototype.add.call(wm, {}); }, TypeError);
	assertThrows(function () { WeakMap(); }, TypeError);
});

test('WeakSet', function () {
	var o = {}, ws = new WeakSet([o]);
	assert(ws.has(o) && !ws.has({}));
	assertEqual(ws.add(o), ws);
	assert(ws['delete'](o) && !ws.has(o));
	assertThrows(function () { ws.add(1); }, TypeError);
	assertEqual(Object.prototype.toString.call(ws), '[object WeakSet]');
});

// ---- Array ----

test('Array.from with iterables, array-likes and a map function', function () {
	assertDeepEqual(Array.from(new Set([1, 2]), function (x, i) { return x * 10 + i; }), [10, 21]);
	assertDeepEqual(Array.from({ length: 3 }, function (_, i) { return i * i; }), [0, 1, 4]);
	assertDeepEqual(Array.from(new Map([[1, 2]])), [[1, 2]]);
	assertDeepEqual(Array.from('ab'), ['a', 'b']);
	assertThrows(function () { Array.from(null); }, TypeError);
	assertThrows(function () { Array.from([], 5); }, TypeError);
	var closed = false;
	var iterable = {};
	iterable[Symbol.iterator] = function () {
		return { next: function () { return { value: 1, done: false }; },
		    'return': function () { closed = true; return {}; } };
	};
	assertThrows(function () { Array.from(iterable, function () { throw new RangeError('x'); }); }, RangeError);
	assert(closed, 'the iterator is closed when the map function throws');
	assertDeepEqual(Array.of(7, 8), [7, 8]);
	assertEqual(Array.of(3).length, 1);
});

test('includes, find, findIndex, findLast, findLastIndex', function () {
	var a = [1, NaN, 3, -0];
	assert(a.includes(NaN) && a.includes(0) && !a.includes('1'));
	assert(!a.includes(1, 1) && a.includes(3, -2));
	assertEqual(a.find(function (x) { return x > 1; }), 3);
	assertEqual(a.findIndex(function (x) { return x !== x; }), 1);
	assertEqual(a.find(function () { return false; }), undefined);
	assertEqual([1, 2, 3, 4].findLast(function (x) { return x % 2; }), 3);
	assertEqual([1, 2, 3, 4].findLastIndex(function (x) { return x > 10; }), -1);
	assertEqual([1, 2].findLastIndex(function (x) { return x === 1; }), 0);
	assertThrows(function () { [].find(); }, TypeError);
	assertEqual(Array.prototype.includes.call({ length: 1, 0: 'x' }, 'x'), true);
});

test('flat, flatMap, fill, at, copyWithin', function () {
	assertDeepEqual([1, [2, [3, [4]]]].flat(), [1, 2, [3, [4]]]);
	assertDeepEqual([1, [2, [3, [4, [5]]]]].flat(Infinity), [1, 2, 3, 4, 5]);
	assertDeepEqual([1, [2]].flat(0), [1, [2]]);
	assertEqual([1, , 3].flat().length, 2, 'holes are skipped');
	assertDeepEqual([1, 2].flatMap(function (x) { return [x, [x * 2]]; }), [1, [2], 2, [4]]);
	assertDeepEqual(new Array(3).fill(0), [0, 0, 0]);
	assertDeepEqual([1, 2, 3, 4].fill(9, 1, -1), [1, 9, 9, 4]);
	assertEqual([1, 2, 3].at(-1), 3);
	assertEqual([1, 2, 3].at(5), undefined);
	assertEqual([1, 2, 3].at(1.7), 2);
	assertDeepEqual([1, 2, 3, 4, 5].copyWithin(0, 3), [4, 5, 3, 4, 5]);
	assertDeepEqual([1, 2, 3, 4, 5].copyWithin(1, 0, 3), [1, 1, 2, 3, 5]);
	assertDeepEqual([1, 2, 3, 4, 5].copyWithin(-2, -3, -1), [1, 2, 3, 3, 4]);
	assertDeepEqual([3, 1, 2].toSorted(), [1, 2, 3]);
	assertDeepEqual([1, 2].toReversed(), [2, 1]);
});

test('new Array methods are non-enumerable: for-in over arrays is unchanged', function () {
	var keys = [], k;
	for (k in [1, 2])
		keys.push(k);
	assertDeepEqual(keys, ['0', '1']);
	for (k in {})
		throw new Error('Object.prototype gained an enumerable ' + k);
});

// ---- typed arrays ----

test('typed array from, of, slice, fill, indexOf, includes, join, at', function () {
	var u = Uint8Array.from([1, 2, 300]);
	assert(u instanceof Uint8Array);
	assertEqual(u[2], 44, 'values are converted to the element type');
	assertEqual(Uint8Array.from(new Set([7]), function (x) { return x * 2; })[0], 14);
	var f = Float32Array.of(1.5, 2.5);
	assert(f instanceof Float32Array);
	assertEqual(f.length, 2);
	var s = u.slice(1);
	assert(s instanceof Uint8Array && s.length === 2 && s[0] === 2);
	s[0] = 99;
	assertEqual(u[1], 2, 'slice copies');
	assertEqual(u.slice(-1)[0], 44);
	assertEqual(u.slice(2, 1).length, 0);
	assertDeepEqual(Array.from(new Int16Array(3).fill(-2, 1)), [0, -2, -2]);
	assertEqual(u.indexOf(2), 1);
	assertEqual(u.indexOf(200), -1);
	assert(new Float64Array([NaN]).includes(NaN));
	assertEqual(u.join('-'), '1-2-44');
	assertEqual(u.join(), '1,2,44');
	assertEqual(u.at(-1), 44);
	assertThrows(function () { Uint8Array.prototype.slice.call([1, 2]); }, TypeError);
});

test('typed array map, filter, sort, reverse, reduce, copyWithin', function () {
	var i = new Int32Array([3, -1, 2]);
	var doubled = i.map(function (x) { return x * 2; });
	assert(doubled instanceof Int32Array);
	assertDeepEqual(Array.from(doubled), [6, -2, 4]);
	assertDeepEqual(Array.from(i.filter(function (x) { return x > 0; })), [3, 2]);
	assertDeepEqual(Array.from(new Float64Array([10, 9, NaN, 1, -0, 0]).sort()).map(String),
	    ['0', '0', '1', '9', '10', 'NaN'], 'numeric, not string, order');
	assertEqual(1 / new Float64Array([0, -0]).sort()[0], -Infinity, '-0 sorts first');
	assertDeepEqual(Array.from(i.slice().reverse()), [2, -1, 3]);
	assertEqual(i.reduce(function (a, b) { return a + b; }, 0), 4);
	assertDeepEqual(Array.from(new Uint8Array([1, 2, 3, 4, 5]).copyWithin(0, 3)), [4, 5, 3, 4, 5]);
	var seen = 0;
	i.forEach(function () { seen++; });
	assertEqual(seen, 3);
	assert(i.some(function (x) { return x < 0; }) && !i.every(function (x) { return x < 0; }));
	assertEqual(i.find(function (x) { return x < 0; }), -1);
});

// ---- Object ----

test('Object.entries, values, fromEntries, getOwnPropertyDescriptors', function () {
	var o = { a: 1, b: 'x' };
	Object.defineProperty(o, 'hidden', { value: 3, enumerable: false });
	assertDeepEqual(Object.entries(o), [['a', 1], ['b', 'x']]);
	assertDeepEqual(Object.values(o), [1, 'x']);
	assertDeepEqual(Object.entries('hi'), [['0', 'h'], ['1', 'i']]);
	assertThrows(function () { Object.values(null); }, TypeError);
	assertDeepEqual(Object.fromEntries([['a', 1], ['b', 2]]), { a: 1, b: 2 });
	assertDeepEqual(Object.fromEntries(new Map([['x', [1]], ['y', null]])), { x: [1], y: null });
	assertThrows(function () { Object.fromEntries([1]); }, TypeError);
	assertThrows(function () { Object.fromEntries({}); }, TypeError);
	var sym = Symbol('s');
	var src = { get g() { return 1; } };
	src[sym] = 2;
	var d = Object.getOwnPropertyDescriptors(src);
	assertEqual(typeof d.g.get, 'function');
	assertEqual(d[sym].value, 2);
	var clone = Object.create(Object.getPrototypeOf(src), d);
	assertEqual(clone.g, 1);
	assert(Object.hasOwn(o, 'hidden') && !Object.hasOwn(o, 'toString'));
});

// ---- String ----

test('padStart and padEnd', function () {
	assertEqual('5'.padStart(3, '0'), '005');
	assertEqual('abc'.padStart(10, '123456789'), '1234567abc', 'a long fill is truncated');
	assertEqual('abc'.padEnd(8, 'xy'), 'abcxyxyx');
	assertEqual('abc'.padStart(2), 'abc');
	assertEqual('a'.padEnd(3), 'a  ');
	assertEqual('a'.padEnd(3, ''), 'a');
});

test('trimStart, trimEnd, at, String.raw', function () {
	assertEqual('  \t x \n '.trimStart(), 'x \n ');
	assertEqual('  x \n\u00a0'.trimEnd(), '  x');
	assertEqual(String.prototype.trimLeft, String.prototype.trimStart);
	assertEqual('abc'.at(-1), 'c');
	assertEqual('abc'.at(3), undefined);
	assertEqual(String.raw({ raw: ['a', 'b', 'c'] }, 1, 2, 3), 'a1b2c');
	var strings = ['x\n', ''];
	strings.raw = ['x\\n', ''];
	assertEqual(String.raw(strings, 42), 'x\\n42');
});

test('replaceAll with strings, special $ patterns, functions and RegExps', function () {
	assertEqual('a.b.c'.replaceAll('.', '/'), 'a/b/c');
	assertEqual('aaa'.replaceAll('aa', 'b'), 'ba');
	assertEqual('xyx'.replaceAll('x', '[$&]'), '[x]y[x]');
	assertEqual('ab'.replaceAll('b', '$$'), 'a$');
	assertEqual('abc'.replaceAll('b', "($`|$')"), 'a(a|c)c');
	assertEqual('ab'.replaceAll('b', '$1$<n>$'), 'a$1$<n>$', 'no groups: kept as written');
	assertEqual('ab'.replaceAll('', '-'), '-a-b-');
	var calls = [];
	assertEqual('a-a'.replaceAll('a', function (m, pos, s) { calls.push([m, pos, s]); return 'b'; }), 'b-b');
	assertDeepEqual(calls, [['a', 0, 'a-a'], ['a', 2, 'a-a']]);
	assertEqual('1a2a'.replaceAll(/(\d)a/g, '<$1>'), '<1><2>');
	assertThrows(function () { 'x'.replaceAll(/x/, 'y'); }, TypeError);
});

test('matchAll', function () {
	var ms = Array.from('a1b22c'.matchAll(/(\d+)/g));
	assertEqual(ms.length, 2);
	assertEqual(ms[0][1], '1');
	assertEqual(ms[1][0], '22');
	assertEqual(ms[1].index, 3);
	assertEqual(Array.from('aXa'.matchAll('a')).length, 2);
	assertEqual(Array.from('ab'.matchAll(/(?:)/g)).length, 3, 'empty matches advance');
	assertThrows(function () { 'a'.matchAll(/a/); }, TypeError);
	var re = /a/g;
	Array.from('aaa'.matchAll(re));
	assertEqual(re.lastIndex, 0, 'the argument RegExp is not moved');
});

// ---- Number, Math ----

test('Number and Math additions', function () {
	assert(Number.isNaN(NaN) && !Number.isNaN('NaN'));
	assert(Number.isSafeInteger(9007199254740991) && !Number.isSafeInteger(9007199254740992));
	assertEqual(Number.parseFloat('1.5x'), 1.5);
	assertEqual(Number.parseInt('ff', 16), 255);
	assertEqual(Math.fround(5.5), 5.5);
	assertEqual(Math.fround(5.05), 5.050000190734863);
	assertEqual(Math.fround(1e40), Infinity);
	assert(Math.abs(Math.tanh(0.5) - 0.46211715726000974) < 1e-15);
	assertEqual(Math.sinh(0), 0);
	assert(Math.abs(Math.log1p(1e-10) - 1e-10) < 1e-20);
	assert(Math.abs(Math.expm1(1) - 1.718281828459045) < 1e-15);
	assertEqual(Math.tanh(1000), 1);
});

// ---- Reflect ----

test('Reflect.get with a receiver runs getters on the receiver', function () {
	var base = { get who() { return this.name; }, plain: 1 };
	var child = Object.create(base);
	child.name = 'child';
	assertEqual(Reflect.get(base, 'who', { name: 'recv' }), 'recv');
	assertEqual(Reflect.get(child, 'who', child), 'child');
	assertEqual(Reflect.get(base, 'plain', {}), 1);
	assertEqual(Reflect.get(base, 'missing', {}), undefined);
	assertEqual(Reflect.get(base, 'plain'), 1);
	assertThrows(function () { Reflect.get(1, 'x', {}); }, TypeError);
});

test('Reflect.set with a receiver', function () {
	var log = [];
	var base = { set v(x) { log.push([this.id, x]); }, data: 1 };
	Object.defineProperty(base, 'ro', { value: 1, writable: false });
	var recv = { id: 'r' };
	assertEqual(Reflect.set(base, 'v', 5, recv), true);
	assertDeepEqual(log, [['r', 5]]);
	assertEqual(Reflect.set(base, 'data', 2, recv), true);
	assertEqual(recv.data, 2, 'a data property is created on the receiver');
	assertEqual(base.data, 1);
	assertEqual(Reflect.set(base, 'ro', 2, recv), false);
	assertEqual(Reflect.set(base, 'fresh', 3, Object.freeze({})), false);
	assertEqual(Reflect.set(base, 'x', 1, 5), false);
});

test('Reflect.construct with a newTarget', function () {
	function A(x) { this.x = x; this.kind = this.describe(); }
	A.prototype.describe = function () { return 'A'; };
	function B() {}
	B.prototype = Object.create(A.prototype);
	B.prototype.describe = function () { return 'B'; };
	var o = Reflect.construct(A, [1], B);
	assert(o instanceof B);
	assertEqual(o.x, 1);
	assertEqual(o.kind, 'B', 'the constructor already sees the newTarget prototype');
	var e = Reflect.construct(Error, ['boom'], B);
	assert(e instanceof B);
	assertEqual(e.message, 'boom');
	assertEqual(Boolean.prototype.valueOf.call(Reflect.construct(Boolean, [], function () {})), false);
	assertEqual(Reflect.construct(A, [2]).x, 2);
	assertThrows(function () { Reflect.construct(A, [], 1); }, TypeError);
});

// ---- Promise and microtasks ----

test('queueMicrotask runs before timers, in order', function () {
	var order = [];
	return new Promise(function (resolve) {
		setTimeout(function () { order.push('timeout'); resolve(); }, 0);
		queueMicrotask(function () { order.push('m1'); });
		Promise.resolve().then(function () { order.push('p'); });
		queueMicrotask(function () { order.push('m2'); });
	}).then(function () {
		assertDeepEqual(order, ['m1', 'p', 'm2', 'timeout']);
		assertThrows(function () { queueMicrotask(1); }, TypeError);
	});
});

test('scheduler.wait resolves after the delay', function () {
	var order = [];
	assertEqual(typeof scheduler, 'object');
	setTimeout(function () { order.push('t5'); }, 5);
	return scheduler.wait(20).then(function (v) {
		assertEqual(v, undefined);
		order.push('waited');
		assertDeepEqual(order, ['t5', 'waited']);
	});
});

test('Promise: thenable adoption, ordering and finally', function () {
	var order = [];
	var thenable = { then: function (res) { order.push('then called'); res('adopted'); } };
	var p1 = Promise.resolve(thenable).then(function (v) { order.push(v); });
	var p2 = Promise.resolve(1).then(function () { order.push('a1'); }).then(function () { order.push('a2'); });
	var p3 = Promise.resolve(2).then(function () { order.push('b1'); }).then(function () { order.push('b2'); });
	var fin = Promise.reject(new Error('x'))['finally'](function () { order.push('finally'); return 'ignored'; });
	return Promise.all([p1, p2, p3, fin.then(null, function (e) { return e.message; })]).then(function (r) {
		assertEqual(r[3], 'x', 'finally passes the rejection through');
		assert(order.indexOf('a1') < order.indexOf('b1') && order.indexOf('b1') < order.indexOf('a2'),
		    'reactions interleave: ' + order.join());
		assert(order.indexOf('then called') < order.indexOf('adopted'));
	});
});

test('Promise.allSettled and Promise.any with AggregateError', function () {
	return Promise.allSettled([1, Promise.reject('no')]).then(function (r) {
		assertDeepEqual(r, [{ status: 'fulfilled', value: 1 }, { status: 'rejected', reason: 'no' }]);
		return Promise.any([Promise.reject(1), Promise.reject(2)]);
	}).then(function () {
		throw new Error('any should reject');
	}, function (e) {
		assert(e instanceof AggregateError && e instanceof Error);
		assertDeepEqual(e.errors, [1, 2]);
		return Promise.any([Promise.reject(1), 'ok', new Set([3])]);
	}).then(function (v) {
		assertEqual(v, 'ok');
		return Promise.all(new Set([1, Promise.resolve(2)]));
	}).then(function (v) {
		assertDeepEqual(v, [1, 2], 'Promise.all takes any iterable');
	});
});

test('proxies and non-extensible objects work as Map, Set and WeakMap keys', function () {
	var target = {}, p = new Proxy(target, {}), sealed = Object.preventExtensions({});
	var m = new Map([[p, 'proxy'], [target, 'target'], [sealed, 'sealed']]);
	assertEqual(m.size, 3);
	assertEqual(m.get(p), 'proxy');
	assertEqual(m.get(target), 'target');
	assertEqual(m.get(sealed), 'sealed');
	assert(new Set([p, p, sealed, sealed]).size === 2);
	var wm = new WeakMap([[p, 1], [sealed, 2]]);
	assertEqual(wm.get(p), 1);
	assertEqual(wm.get(sealed), 2);
	assert(!wm.has(target));
});

test('scheduler.wait rejects when its signal aborts', function () {
	if (typeof AbortController !== 'function')
		return undefined;
	var c = new AbortController();
	var p = assertRejects(scheduler.wait(60000, { signal: c.signal }));
	c.abort(new RangeError('stop'));
	return p.then(function (e) {
		assert(e instanceof RangeError, 'rejects with the reason');
		var pre = new AbortController();
		pre.abort();
		return assertRejects(scheduler.wait(1, { signal: pre.signal }));
	});
});

// language-downlevel.test.js: hand-written ES5 in the shapes swc (spec
// mode, target es5) and esbuild emit for modern syntax, to show that what
// their helpers call at run time exists: Reflect receivers, WeakMap-based
// private fields, iterators for for-of and spread, async functions and
// async iteration driven by promises.

// --- minimal stand-ins for the helpers' run-time behaviour ---

function dl_getProto(o) {
	return Object.getPrototypeOf(o);
}

function dl_inherit(Child, Parent) {
	Child.prototype = Object.create(Parent && Parent.prototype,
	    { constructor: { value: Child, writable: true, configurable: true } });
	if (Parent)
		Object.setPrototypeOf(Child, Parent);
}

// What a spec-mode helper does to decide between Reflect.construct and apply().
function dl_reflectConstructWorks() {
	try {
		return !Boolean.prototype.valueOf.call(Reflect.construct(Boolean, [], function () {}));
	} catch (e) {
		return false;
	}
}

function dl_isNative(fn) {
	return Function.toString.call(fn).indexOf('[native code]') !== -1;
}

function dl_callSuper(self, Derived, args) {
	var Parent = dl_getProto(Derived);
	var r = dl_reflectConstructWorks() ?
	    Reflect.construct(Parent, args || [], dl_getProto(self).constructor) :
	    Parent.apply(self, args);
	return r !== null && (typeof r === 'object' || typeof r === 'function') ? r : self;
}

// A wrapper that lets compiled classes extend a native constructor.
function dl_wrapNative(Native) {
	var cache = new Map();
	if (!dl_isNative(Native))
		return Native;
	if (cache.has(Native))
		return cache.get(Native);
	function Wrapper() {
		return Reflect.construct(Native, arguments, dl_getProto(this).constructor);
	}
	Wrapper.prototype = Object.create(Native.prototype,
	    { constructor: { value: Wrapper, writable: true, configurable: true } });
	Object.setPrototypeOf(Wrapper, Native);
	cache.set(Native, Wrapper);
	return Wrapper;
}

// super.prop: find the home object's prototype, then read with the instance as receiver.
function dl_superGet(home, prop, receiver) {
	return Reflect.get(dl_getProto(home), prop, receiver);
}

function dl_superSet(home, prop, value, receiver) {
	if (!Reflect.set(dl_getProto(home), prop, value, receiver))
		throw new TypeError('failed to set super property');
	return value;
}

// Spread: arrays are copied; anything else must be iterable (Array.from), or an arguments object.
function dl_toArray(x) {
	if (Array.isArray(x))
		return x.slice();
	if (typeof Symbol !== 'undefined' && x[Symbol.iterator] != null || x['@@iterator'] != null)
		return Array.from(x);
	var tag = Object.prototype.toString.call(x).slice(8, -1);
	if (tag === 'Arguments')
		return Array.prototype.slice.call(x);
	throw new TypeError('Invalid attempt to spread non-iterable instance.');
}

// Destructuring [a, b, ...rest] = x for a non-array.
function dl_sliced(x, n) {
	var it = x[Symbol.iterator](), out = [], step;
	while (out.length < n && !(step = it.next()).done)
		out.push(step.value);
	return out;
}

// --- class with super.method(), super getters and super setters ---

var Animal = (function () {
	function Animal(name) {
		if (!(this instanceof Animal))
			throw new TypeError('Cannot call a class as a function');
		this.name = name;
	}
	Animal.prototype.speak = function () { return this.name + ' makes a sound'; };
	Object.defineProperty(Animal.prototype, 'title', {
		get: function () { return 'the ' + this.name; },
		set: function (v) { this.name = v.replace(/^the /, ''); },
		configurable: true
	});
	return Animal;
})();

var Dog = (function (_Animal) {
	dl_inherit(Dog, _Animal);
	function Dog(name) {
		if (!(this instanceof Dog))
			throw new TypeError('Cannot call a class as a function');
		return dl_callSuper(this, Dog, [name]);
	}
	Dog.prototype.speak = function () {
		return dl_superGet(Dog.prototype, 'speak', this).call(this) + ', woof (' +
		    dl_superGet(Dog.prototype, 'title', this) + ')';
	};
	Dog.prototype.rename = function (t) {
		dl_superSet(Dog.prototype, 'title', t, this);
	};
	return Dog;
})(Animal);

test('class with super.method(), a super getter and a super setter', function () {
	var d = new Dog('Rex');
	assert(d instanceof Dog && d instanceof Animal);
	assertEqual(d.speak(), 'Rex makes a sound, woof (the Rex)');
	d.rename('the Max');
	assertEqual(d.name, 'Max');
	assertThrows(function () { Dog('x'); }, TypeError);
});

// --- private fields and methods: WeakMap and WeakSet ---

var Counter = (function () {
	var _count = new WeakMap(), _step = new WeakMap(), _bump = new WeakSet();
	function Counter(step) {
		_bump.add(this);
		_count.set(this, { writable: true, value: 0 });
		_step.set(this, { writable: true, value: step });
	}
	function bump(self) {
		if (!_bump.has(self))
			throw new TypeError('attempted to call a private method on a non-instance');
		var d = _count.get(self);
		d.value += _step.get(self).value;
		return d.value;
	}
	Counter.prototype.next = function () { return bump(this); };
	Counter.hasCount = function (o) { return _count.has(o); };
	Counter.peek = function (o) {
		if (!_count.has(o))
			throw new TypeError('attempted to get private field on non-instance');
		return _count.get(o).value;
	};
	return Counter;
})();

test('private fields and methods compiled to WeakMap and WeakSet', function () {
	var a = new Counter(2), b = new Counter(10);
	a.next();
	assertEqual(a.next(), 4);
	assertEqual(b.next(), 10);
	assertEqual(Counter.peek(a), 4);
	assert(Counter.hasCount(a) && !Counter.hasCount({}), '#count in obj');
	assertThrows(function () { Counter.peek({}); }, TypeError);
	assertThrows(function () { Counter.prototype.next.call({}); }, TypeError);
	assertEqual(JSON.stringify(a), '{}', 'nothing private shows');
	var frozen = Object.freeze(new Counter(1));
	assertEqual(frozen.next(), 1, 'a frozen instance keeps its private state');
});

// --- extending natives: Error, Map, Array through the wrapper ---

var HttpError = (function (_Error) {
	dl_inherit(HttpError, _Error);
	function HttpError(status, message) {
		var self = dl_callSuper(this, HttpError, [message]);
		self.status = status;
		self.name = 'HttpError';
		return self;
	}
	HttpError.prototype.describe = function () { return this.status + ' ' + this.message; };
	return HttpError;
})(dl_wrapNative(Error));

var Registry = (function (_Map) {
	dl_inherit(Registry, _Map);
	function Registry(entries) {
		return dl_callSuper(this, Registry, [entries]);
	}
	Registry.prototype.names = function () { return dl_toArray(this.keys()); };
	return Registry;
})(dl_wrapNative(Map));

test('class extends Error and class extends Map', function () {
	var e = new HttpError(404, 'not found');
	assert(e instanceof HttpError && e instanceof Error);
	assertEqual(e.describe(), '404 not found');
	assertEqual(e.message, 'not found');
	var r = new Registry([['a', 1], ['b', 2]]);
	assert(r instanceof Registry && r instanceof Map);
	assertEqual(r.get('b'), 2);
	assertDeepEqual(r.names(), ['a', 'b']);
	assertEqual(r.size, 2);
	assert(dl_reflectConstructWorks(), 'helpers take the Reflect.construct path');
});

// --- for-of over a Map (spec mode: iterator protocol with return() on break) ---

test('for-of over a Map, with destructuring and an early break', function () {
	var m = new Map([['x', 1], ['y', 2], ['z', 3]]), out = [];
	var normal = true, failed = false, err;
	try {
		for (var it = m[Symbol.iterator](), step; !(normal = (step = it.next()).done); normal = true) {
			var pair = dl_sliced(step.value, 2), k = pair[0], v = pair[1];
			out.push(k + '=' + v);
			if (k === 'y')
				break;
		}
	} catch (e) {
		failed = true;
		err = e;
	} finally {
		try {
			if (!normal && it['return'] != null)
				it['return']();
		} finally {
			if (failed)
				throw err;
		}
	}
	assertDeepEqual(out, ['x=1', 'y=2']);
});

test('for-of over arguments, and esbuild\'s for-of over an array of names', function () {
	function sum() {
		var total = 0, it, step;
		for (it = arguments[Symbol.iterator](); !(step = it.next()).done;)
			total += step.value;
		return total;
	}
	assertEqual(sum(1, 2, 3), 6);
	var from = { a: 1, b: 2 }, to = {}, names = Object.getOwnPropertyNames(from), it, step;
	for (it = names[Symbol.iterator](); !(step = it.next()).done;)
		to[step.value] = from[step.value];
	assertDeepEqual(to, { a: 1, b: 2 });
});

// --- spreads and destructuring ---

test('array spread of a Set, a string, a Map and arguments', function () {
	var s = new Set([3, 1, 3, 2]);
	assertDeepEqual([0].concat(dl_toArray(s)), [0, 3, 1, 2]);
	assertDeepEqual(dl_toArray('a\ud83d\ude00'), ['a', '\ud83d\ude00']);
	assertDeepEqual(dl_toArray(new Map([[1, 2]])), [[1, 2]]);
	var args = (function () { return arguments; })('p', 'q');
	assertDeepEqual(dl_toArray(args), ['p', 'q']);
	assertThrows(function () { dl_toArray({}); }, TypeError);
	var parts = dl_sliced('x\ud83d\ude00y', 2);
	assertDeepEqual(parts, ['x', '\ud83d\ude00']);
	assertDeepEqual(Object.fromEntries(Object.entries({ a: 1 }).map(function (e) { return [e[0], e[1] + 1]; })),
	    { a: 2 });
});

test('tagged template literal with String.raw', function () {
	var strings = ['a', '\n'];
	var raw = ['a', '\\n'];
	var tpl = Object.freeze(Object.defineProperties(strings, { raw: { value: Object.freeze(raw) } }));
	assertEqual(String.raw(tpl, 1), 'a1\\n');
});

// --- async / await as a generator-like state machine ---

// Drives a step function (state, sent) -> {op: 'await'|'return'|'throw', value}, like an async helper.
function dl_async(body) {
	return function () {
		var self = this, args = arguments;
		return new Promise(function (resolve, reject) {
			var frame = { label: 0, sent: undefined, args: args };
			function step(kind, value) {
				var r;
				try {
					r = body.call(self, frame, kind, value);
				} catch (e) {
					reject(e);
					return;
				}
				if (r.op === 'return')
					resolve(r.value);
				else
					Promise.resolve(r.value).then(function (v) { step('next', v); },
					    function (e) { step('throw', e); });
			}
			step('next', undefined);
		});
	};
}

// async function fetchTwice(p) { try { const a = await p; const b = await (a + 1); return [a, b]; } catch (e) { return 'caught ' + e; } }
var fetchTwice = dl_async(function (f, kind, value) {
	if (kind === 'throw')
		return { op: 'return', value: 'caught ' + value };
	switch (f.label) {
	case 0:
		f.label = 1;
		return { op: 'await', value: f.args[0] };
	case 1:
		f.a = value;
		f.label = 2;
		return { op: 'await', value: f.a + 1 };
	default:
		return { op: 'return', value: [f.a, value] };
	}
});

test('async/await compiled to a state machine over promises', function () {
	return fetchTwice(Promise.resolve(1)).then(function (r) {
		assertDeepEqual(r, [1, 2]);
		return fetchTwice(Promise.reject('bad'));
	}).then(function (r) {
		assertEqual(r, 'caught bad');
		return Promise.all([1, 2, 3].map(dl_async(function (f, kind, value) {
			if (f.label === 0) {
				f.label = 1;
				return { op: 'await', value: new Promise(function (res) { setTimeout(res, 1, f.args[0]); }) };
			}
			return { op: 'return', value: value * 10 };
		})));
	}).then(function (r) {
		assertDeepEqual(r, [10, 20, 30]);
	});
});

// --- async iteration: Symbol.asyncIterator and for await ---

// The lookup an async-iterator helper does: Symbol.asyncIterator, "@@asyncIterator", then a sync iterator.
function dl_asyncIterator(x) {
	var method = x[Symbol.asyncIterator] || x['@@asyncIterator'];
	if (method != null)
		return method.call(x);
	method = x[Symbol.iterator];
	if (method == null)
		throw new TypeError('Object is not async iterable');
	var it = method.call(x);
	return {
		next: function () {
			var r = it.next();
			return Promise.resolve(r.value).then(function (v) { return { value: v, done: r.done }; });
		}
	};
}

function ticker(n) {
	var i = 0, source = {};
	source[Symbol.asyncIterator] = function () {
		return {
			next: function () {
				return new Promise(function (resolve) {
					setTimeout(function () {
						resolve(i < n ? { value: i++, done: false } : { value: undefined, done: true });
					}, 1);
				});
			}
		};
	};
	return source;
}

// for await (const x of source) out.push(x)
function dl_forAwait(source, fn) {
	var it = dl_asyncIterator(source);
	function loop() {
		return it.next().then(function (step) {
			if (step.done)
				return undefined;
			fn(step.value);
			return loop();
		});
	}
	return loop();
}

test('for await over an async iterable and over a sync iterable of promises', function () {
	var out = [];
	return dl_forAwait(ticker(3), function (x) { out.push(x); }).then(function () {
		assertDeepEqual(out, [0, 1, 2]);
		out = [];
		return dl_forAwait([Promise.resolve('a'), 'b'], function (x) { out.push(x); });
	}).then(function () {
		assertDeepEqual(out, ['a', 'b']);
		assertEqual(typeof ticker(0)[Symbol.asyncIterator], 'function');
	});
});

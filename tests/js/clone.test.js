// clone.test.js: structuredClone.
function cloneFails(v) {
	var e = assertThrows(function () { structuredClone(v); });
	assert(e instanceof DOMException, 'a DOMException, got ' + e);
	assertEqual(e.name, 'DataCloneError');
	assertEqual(e.code, 25);
}

test('primitives come back as they are', function () {
	assertEqual(structuredClone(1.5), 1.5);
	assertEqual(structuredClone('s'), 's');
	assertEqual(structuredClone(null), null);
	assertEqual(structuredClone(undefined), undefined);
	assertEqual(structuredClone(true), true);
	assert(isNaN(structuredClone(NaN)));
	assertEqual(1 / structuredClone(-0), -Infinity);
});

test('plain objects and arrays are deep copies; prototypes are not kept', function () {
	function K() { this.a = 1; }
	K.prototype.b = 2;
	var src = { n: 1, list: [1, 'two', { three: 3 }], k: new K() };
	var c = structuredClone(src);
	assert(c !== src && c.list !== src.list && c.list[2] !== src.list[2]);
	assertDeepEqual(c, { n: 1, list: [1, 'two', { three: 3 }], k: { a: 1 } });
	assertEqual(c.k.b, undefined);
	assert(Array.isArray(c.list));
	var sparse = structuredClone([1, , 3]);
	assertEqual(sparse.length, 3);
	assertEqual(1 in sparse, false);
});

test('cycles and shared references are preserved', function () {
	var shared = { s: 1 };
	var o = { a: shared, b: shared, list: [shared] };
	o.self = o;
	var c = structuredClone(o);
	assertEqual(c.self, c);
	assertEqual(c.a, c.b);
	assertEqual(c.list[0], c.a);
	assert(c.a !== shared);
});

test('wrapper objects, Date and RegExp', function () {
	var c = structuredClone([new Number(3), new String('s'), new Boolean(false),
	    new Date(86400000), /a+b/gi]);
	assertEqual(typeof c[0], 'object');
	assertEqual(c[0].valueOf(), 3);
	assertEqual(c[1].valueOf(), 's');
	assertEqual(c[2].valueOf(), false);
	assert(c[3] instanceof Date);
	assertEqual(c[3].getTime(), 86400000);
	assert(c[4] instanceof RegExp);
	assertEqual(c[4].source, 'a+b');
	assertEqual(c[4].global && c[4].ignoreCase && !c[4].multiline, true);
});

test('ArrayBuffer, typed arrays and DataView are copied, sharing one new buffer', function () {
	var buf = new ArrayBuffer(8);
	var u = new Uint8Array(buf, 2, 3);
	u[0] = 7;
	var f = new Float64Array([1.5]);
	var c = structuredClone({ u: u, dv: new DataView(buf, 1), b: buf, f: f });
	assert(c.b !== buf);
	assertEqual(c.u.buffer, c.b);
	assertEqual(c.dv.buffer, c.b);
	assertEqual(c.u.byteOffset, 2);
	assertEqual(c.u.length, 3);
	assertEqual(c.u[0], 7);
	assertEqual(c.dv.byteOffset, 1);
	assert(c.f instanceof Float64Array);
	assertEqual(c.f[0], 1.5);
	u[0] = 9;
	assertEqual(c.u[0], 7, 'a copy, not a view on the original');
});

test('Error types keep their type and message', function () {
	var e = structuredClone(new RangeError('bad'));
	assert(e instanceof RangeError);
	assertEqual(e.message, 'bad');
	var custom = new Error('x');
	custom.name = 'MyError';
	assertEqual(structuredClone(custom).name, 'Error');
	var d = structuredClone(new DOMException('m', 'DataError'));
	assert(d instanceof DOMException);
	assertEqual(d.name, 'DataError');
	assertEqual(d.message, 'm');
});

test('Map and Set, when the runtime has them', function () {
	if (typeof Map !== 'function' || typeof Set !== 'function')
		return;
	var key = { k: 1 };
	var m = new Map([[key, 'v'], ['self', null]]);
	m.set('self', m);
	var c = structuredClone({ m: m, s: new Set([key, 2]), key: key });
	assert(c.m instanceof Map);
	assertEqual(c.m.get('self'), c.m);
	assert(c.s.has(c.key));
	assertEqual(c.m.get(c.key), 'v');
	assertEqual(c.s.size, 2);
});

test('functions, symbols and host objects throw DataCloneError', function () {
	cloneFails(function () {});
	cloneFails({ f: function () {} });
	cloneFails(Symbol('s'));
	cloneFails(new AbortController());
	cloneFails(new EventTarget());
	cloneFails(new Headers());
	cloneFails(new Response('x'));
	cloneFails(Promise.resolve(1));
});

test('transfer: ArrayBuffers only, each once', function () {
	var b = new ArrayBuffer(4);
	new Uint8Array(b)[0] = 5;
	var c = structuredClone({ b: b }, { transfer: [b] });
	assertEqual(new Uint8Array(c.b)[0], 5);
	var e = assertThrows(function () { structuredClone(1, { transfer: [{}] }); });
	assertEqual(e.name, 'DataCloneError');
	e = assertThrows(function () { structuredClone(1, { transfer: [b, b] }); });
	assertEqual(e.name, 'DataCloneError');
	assertThrows(function () { structuredClone(); }, TypeError);
});

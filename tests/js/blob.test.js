// blob.test.js: Blob, File and FormData.
function bytesOf(u8) {
	return Array.prototype.slice.call(u8);
}

test('Blob from strings, buffers, views and Blobs', function () {
	var ab = new Uint8Array([1, 2, 3]).buffer;
	var b = new Blob(['h\u00e9', ab, new Uint8Array([9, 8, 7, 6]).subarray(1, 3),
	    new DataView(new Uint8Array([5]).buffer), new Blob(['!'])]);
	assertEqual(b.size, 3 + 3 + 2 + 1 + 1);
	assertEqual(b.type, '');
	return b.bytes().then(function (u8) {
		assert(u8 instanceof Uint8Array);
		assertDeepEqual(bytesOf(u8), [104, 0xc3, 0xa9, 1, 2, 3, 8, 7, 5, 33]);
	});
});

test('Blob copies its parts', function () {
	var src = new Uint8Array([1, 2]);
	var b = new Blob([src]);
	src[0] = 99;
	return b.bytes().then(function (u8) {
		assertDeepEqual(bytesOf(u8), [1, 2]);
		u8[1] = 77;
		return b.bytes();
	}).then(function (u8) {
		assertDeepEqual(bytesOf(u8), [1, 2], 'bytes() hands out a copy');
	});
});

test('Blob type is lower-cased, or empty when invalid', function () {
	assertEqual(new Blob([], { type: 'Text/HTML;Charset=UTF-8' }).type, 'text/html;charset=utf-8');
	assertEqual(new Blob([], { type: 'a\u00e9b' }).type, '');
	assertEqual(new Blob([], { type: 'a\nb' }).type, '');
	assertEqual(new Blob().size, 0);
	assertThrows(function () { new Blob('abc'); }, TypeError);
	assertThrows(function () { new Blob([], { endings: 'weird' }); }, TypeError);
	assertThrows(function () { Blob([]); }, TypeError);
});

test('Blob.text, arrayBuffer', function () {
	var b = new Blob(['caf\u00e9 ', '\u2603']);
	return b.text().then(function (t) {
		assertEqual(t, 'caf\u00e9 \u2603');
		return b.arrayBuffer();
	}).then(function (ab) {
		assert(ab instanceof ArrayBuffer);
		assertEqual(ab.byteLength, 9);
	});
});

test('Blob.slice with negative and out-of-range indices and a type', function () {
	var b = new Blob(['0123456789'], { type: 'text/plain' });
	var checks = [
		[b.slice(), '0123456789'],
		[b.slice(2), '23456789'],
		[b.slice(2, 5), '234'],
		[b.slice(-3), '789'],
		[b.slice(-3, -1), '78'],
		[b.slice(5, 2), ''],
		[b.slice(-100, 100), '0123456789'],
		[b.slice(1.9, 3.2), '12'],
		[b.slice(2, 6).slice(1, -1), '34']
	];
	assertEqual(b.slice().type, '', 'slice without a type has none');
	assertEqual(b.slice(0, 1, 'Image/PNG').type, 'image/png');
	assertEqual(b.slice(-3).size, 3);
	return Promise.all(checks.map(function (c) { return c[0].text(); })).then(function (texts) {
		for (var i = 0; i < checks.length; i++)
			assertEqual(texts[i], checks[i][1], 'slice #' + i);
	});
});

test('File has name, lastModified and is a Blob', function () {
	var f = new File(['abc'], 'a.txt', { type: 'text/plain', lastModified: 1234.9 });
	assertEqual(f.name, 'a.txt');
	assertEqual(f.lastModified, 1234);
	assertEqual(f.type, 'text/plain');
	assertEqual(f.size, 3);
	assert(f instanceof Blob);
	assert(f instanceof File);
	assertEqual(Object.prototype.toString.call(f), '[object File]');
	assertEqual(Object.prototype.toString.call(new Blob()), '[object Blob]');
	var now = Date.now();
	var g = new File([], 'x');
	assert(Math.abs(g.lastModified - now) < 60000, 'lastModified defaults to now');
	assertThrows(function () { new File(['x']); }, TypeError);
	return f.text().then(function (t) { assertEqual(t, 'abc'); });
});

test('FormData append/get/getAll/has/delete keep insertion order', function () {
	var fd = new FormData();
	fd.append('b', '1');
	fd.append('a', '2');
	fd.append('b', 3);
	assertEqual(fd.get('b'), '1');
	assertDeepEqual(fd.getAll('b'), ['1', '3']);
	assertEqual(fd.get('zzz'), null);
	assertDeepEqual(fd.getAll('zzz'), []);
	assert(fd.has('a'));
	var seen = [];
	fd.forEach(function (v, k, obj) { seen.push(k + '=' + v); assert(obj === fd); });
	assertDeepEqual(seen, ['b=1', 'a=2', 'b=3']);
	fd['delete']('b');
	assertEqual(fd.has('b'), false);
	assertDeepEqual(fd.getAll('a'), ['2']);
});

test('FormData.set replaces the first and drops the others', function () {
	var fd = new FormData();
	fd.append('x', '1');
	fd.append('y', 'y');
	fd.append('x', '2');
	fd.set('x', '3');
	var keys = [], it = fd.keys(), s;
	while (!(s = it.next()).done) keys.push(s.value);
	assertDeepEqual(keys, ['x', 'y']);
	assertEqual(fd.get('x'), '3');
	fd.set('z', 'new');
	assertEqual(fd.get('z'), 'new');
});

test('FormData Blob values become Files named "blob" unless a filename is given', function () {
	var fd = new FormData();
	fd.append('a', new Blob(['x'], { type: 'text/plain' }));
	fd.append('b', new Blob(['y']), 'y.bin');
	var f = new File(['z'], 'orig.txt');
	fd.append('c', f);
	fd.append('d', f, 'renamed.txt');
	var a = fd.get('a');
	assert(a instanceof File);
	assertEqual(a.name, 'blob');
	assertEqual(a.type, 'text/plain');
	assertEqual(fd.get('b').name, 'y.bin');
	assert(fd.get('c') === f, 'a File is kept as it is');
	assertEqual(fd.get('d').name, 'renamed.txt');
	assertEqual(fd.get('d').size, 1);
	assertThrows(function () { fd.append('e', 'string', 'name.txt'); }, TypeError);
	assertThrows(function () { fd.append('e'); }, TypeError);
	assertThrows(function () { new FormData({}); }, TypeError);
});

test('FormData iteration: entries, values, Symbol.iterator, toStringTag', function () {
	var fd = new FormData();
	fd.append('k', 'v');
	fd.append('k2', 'v2');
	var it = fd[Symbol.iterator]();
	assertDeepEqual(it.next().value, ['k', 'v']);
	assertDeepEqual(it.next().value, ['k2', 'v2']);
	assertEqual(it.next().done, true);
	assertEqual(fd.values().next().value, 'v');
	assertEqual(Object.prototype.toString.call(fd), '[object FormData]');
});

test('FormData names and values are USV strings', function () {
	var fd = new FormData();
	fd.append('a\ud800', 'b\udc00c');
	assertEqual(fd.get('a\ufffd'), 'b\ufffdc');
});

// headers.test.js: the Headers class (names, values, iteration, guards).
function entriesOf(h) {
	var out = [], it = h.entries(), s;

	while (!(s = it.next()).done)
		out.push(s.value[0] + '=' + s.value[1]);
	return out;
}

test('names are case-insensitive and lower-cased when iterated', function () {
	var h = new Headers({ 'X-Foo': 'a' });
	assertEqual(h.get('x-foo'), 'a');
	assertEqual(h.get('X-FOO'), 'a');
	assert(h.has('x-Foo'));
	assertDeepEqual(entriesOf(h), ['x-foo=a']);
});

test('invalid names throw TypeError', function () {
	var h = new Headers();
	assertThrows(function () { h.append('bad name', 'x'); }, TypeError);
	assertThrows(function () { h.append('', 'x'); }, TypeError);
	assertThrows(function () { h.set('x:y', 'x'); }, TypeError);
	assertThrows(function () { h.get('\u00e9'); }, TypeError);
	assertThrows(function () { new Headers({ 'a b': '1' }); }, TypeError);
	h.append("!#$%&'*+-.^_`|~", 'ok');
	assertEqual(h.get("!#$%&'*+-.^_`|~"), 'ok');
});

test('values: CR, LF and NUL inside are rejected', function () {
	var h = new Headers();
	assertThrows(function () { h.append('a', 'x\r\ny'); }, TypeError);
	assertThrows(function () { h.append('a', 'x\ny'); }, TypeError);
	assertThrows(function () { h.append('a', 'x\ry'); }, TypeError);
	assertThrows(function () { h.set('a', 'x\u0000y'); }, TypeError);
	assertEqual(h.has('a'), false);
});

test('values: leading and trailing whitespace is trimmed, inner kept', function () {
	var h = new Headers();
	h.append('a', '  \t value  with  space \t ');
	assertEqual(h.get('a'), 'value  with  space');
	h.set('b', '\r\n  x \n');
	assertEqual(h.get('b'), 'x');
	h.set('c', '   ');
	assertEqual(h.get('c'), '');
	h.set('d', 42);
	assertEqual(h.get('d'), '42');
});

test('append combines with ", ", set replaces, delete removes', function () {
	var h = new Headers();
	h.append('Accept', 'text/html');
	h.append('accept', 'application/json');
	assertEqual(h.get('accept'), 'text/html, application/json');
	h.set('ACCEPT', '*/*');
	assertEqual(h.get('accept'), '*/*');
	h['delete']('Accept');
	assertEqual(h.get('accept'), null);
	assertEqual(h.has('accept'), false);
	assertEqual(h.get('missing'), null);
});

test('iteration is sorted by name with values combined', function () {
	var h = new Headers([['Zeta', '1'], ['alpha', '2'], ['Mid', '3'], ['ALPHA', '4']]);
	assertDeepEqual(entriesOf(h), ['alpha=2, 4', 'mid=3', 'zeta=1']);
	var keys = [], values = [], it = h.keys(), s;
	while (!(s = it.next()).done) keys.push(s.value);
	it = h.values();
	while (!(s = it.next()).done) values.push(s.value);
	assertDeepEqual(keys, ['alpha', 'mid', 'zeta']);
	assertDeepEqual(values, ['2, 4', '3', '1']);
	it = h[Symbol.iterator]();
	assertDeepEqual(it.next().value, ['alpha', '2, 4']);
	assert(it[Symbol.iterator]() === it, 'iterators are iterable');
});

test('Set-Cookie is iterated once per value, not combined', function () {
	var h = new Headers();
	h.append('Set-Cookie', 'a=1; Path=/');
	h.append('X-B', 'b');
	h.append('set-cookie', 'b=2, expires=Thu, 01 Jan 2026 00:00:00 GMT');
	assertDeepEqual(entriesOf(h), ['set-cookie=a=1; Path=/',
	    'set-cookie=b=2, expires=Thu, 01 Jan 2026 00:00:00 GMT', 'x-b=b']);
	assertEqual(h.get('set-cookie'), 'a=1; Path=/, b=2, expires=Thu, 01 Jan 2026 00:00:00 GMT');
	assertDeepEqual(h.getSetCookie(), ['a=1; Path=/', 'b=2, expires=Thu, 01 Jan 2026 00:00:00 GMT']);
	assertDeepEqual(h.getAll('Set-Cookie'), h.getSetCookie());
	assertDeepEqual(new Headers().getSetCookie(), []);
});

test('getAll only accepts Set-Cookie (as in Workers)', function () {
	var h = new Headers({ a: '1' });
	assertThrows(function () { h.getAll('a'); }, TypeError);
});

test('forEach gets (value, name, headers) in sorted order', function () {
	var h = new Headers({ b: '2', a: '1' }), seen = [], self = {};
	h.forEach(function (value, name, obj) {
		seen.push(name + ':' + value);
		assert(obj === h);
		assert(this === self);
	}, self);
	assertDeepEqual(seen, ['a:1', 'b:2']);
	assertThrows(function () { h.forEach(null); }, TypeError);
});

test('iterators see changes made while iterating', function () {
	var h = new Headers({ a: '1', c: '3' });
	var it = h.keys();
	assertEqual(it.next().value, 'a');
	h.append('b', '2');
	assertEqual(it.next().value, 'b');
	assertEqual(it.next().value, 'c');
	assertEqual(it.next().done, true);
});

test('constructor from object, pairs, Headers and iterables', function () {
	var a = new Headers({ 'Content-Type': 'text/plain', 'X-N': 1 });
	assertEqual(a.get('content-type'), 'text/plain');
	assertEqual(a.get('x-n'), '1');
	var b = new Headers([['x', '1'], ['X', '2']]);
	assertEqual(b.get('x'), '1, 2');
	var c = new Headers(b);
	c.append('y', '3');
	assertEqual(c.get('x'), '1, 2');
	assertEqual(b.has('y'), false, 'a copy is independent');
	var d = new Headers(b.entries());
	assertEqual(d.get('x'), '1, 2');
	assertThrows(function () { new Headers([['a']]); }, TypeError);
	assertThrows(function () { new Headers([['a', '1', '2']]); }, TypeError);
	assertThrows(function () { new Headers(['ab']); }, TypeError);
	assertThrows(function () { new Headers('a: b'); }, TypeError);
	assertThrows(function () { Headers(); }, TypeError);
	assertEqual(new Headers(undefined).has('a'), false);
});

test('toStringTag and methods reject other receivers', function () {
	assertEqual(Object.prototype.toString.call(new Headers()), '[object Headers]');
	assertThrows(function () { Headers.prototype.get.call({}, 'a'); }, TypeError);
});

test('incoming request headers are immutable, a copy is not', function (request) {
	assertThrows(function () { request.headers.set('x-a', '1'); }, TypeError);
	assertThrows(function () { request.headers.append('x-a', '1'); }, TypeError);
	assertThrows(function () { request.headers['delete']('host'); }, TypeError);
	var copy = new Headers(request.headers);
	copy.set('x-a', '1');
	assertEqual(copy.get('x-a'), '1');
	var r = new Request(request);
	r.headers.set('x-b', '2');
	assertEqual(r.headers.get('x-b'), '2');
});

test('Response.redirect and Response.error headers are immutable', function () {
	var r = Response.redirect('https://example.com/', 301);
	assertThrows(function () { r.headers.set('x', '1'); }, TypeError);
	assertThrows(function () { Response.error().headers.append('x', '1'); }, TypeError);
	var ok = new Response('x');
	ok.headers.set('x', '1');
	assertEqual(ok.headers.get('x'), '1');
});

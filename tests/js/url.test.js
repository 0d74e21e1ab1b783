// url.test.js: URL, URLSearchParams (and its live binding to URL#search),
// atob and btoa, as a Workers developer uses them.

test('URL parses and exposes every component', function () {
	var u = new URL('HTTPS://user:pa%20ss@EXAMPLE.com:8443/a/./b/../c?x=1&y=2#frag');
	assertEqual(u.href, 'https://user:pa%20ss@example.com:8443/a/c?x=1&y=2#frag');
	assertEqual(u.protocol, 'https:');
	assertEqual(u.username, 'user');
	assertEqual(u.password, 'pa%20ss');
	assertEqual(u.host, 'example.com:8443');
	assertEqual(u.hostname, 'example.com');
	assertEqual(u.port, '8443');
	assertEqual(u.pathname, '/a/c');
	assertEqual(u.search, '?x=1&y=2');
	assertEqual(u.hash, '#frag');
	assertEqual(u.origin, 'https://example.com:8443');
	assertEqual(String(u), u.href);
	assertEqual(JSON.stringify({ u: u }), '{"u":"' + u.href + '"}');
	assertEqual(Object.prototype.toString.call(u), '[object URL]');
});

test('URL resolves against a base, string or URL', function () {
	assertEqual(new URL('../x?q', 'http://h/a/b/c').href, 'http://h/a/x?q');
	assertEqual(new URL('//other/p', new URL('https://h/')).href, 'https://other/p');
	assertEqual(new URL('#f', 'http://h/p?q').href, 'http://h/p?q#f');
	assertEqual(new URL('http://h:80/').port, '');
});

test('URL hosts: IDNA, IPv4 forms, IPv6', function () {
	assertEqual(new URL('http://bücher.example/').hostname, 'xn--bcher-kva.example');
	assertEqual(new URL('http://0x7f.1/').hostname, '127.0.0.1');
	assertEqual(new URL('http://4294967295/').hostname, '255.255.255.255');
	assertEqual(new URL('http://[0:0:0:0:0:0:0:1]:8080/').host, '[::1]:8080');
	assertEqual(new URL('http://[::ffff:1.2.3.4]/').hostname, '[::ffff:102:304]');
	assertThrows(function () { new URL('http://4294967296/'); }, TypeError);
	assertThrows(function () { new URL('http://a b/'); }, TypeError);
});

test('URL constructor failures are TypeErrors', function () {
	assertThrows(function () { new URL('not a url'); }, TypeError);
	assertThrows(function () { new URL('/relative'); }, TypeError);
	assertThrows(function () { new URL('x', 'also not a url'); }, TypeError);
	assertThrows(function () { new URL(); }, TypeError);
	assertThrows(function () { URL('http://h/'); }, TypeError);
});

test('URL.canParse and URL.parse', function () {
	assertEqual(URL.canParse('https://h/'), true);
	assertEqual(URL.canParse('nope'), false);
	assertEqual(URL.canParse('/p', 'https://h/'), true);
	assertEqual(URL.parse('nope'), null);
	var u = URL.parse('p?q', 'https://h/d/');
	assert(u instanceof URL);
	assertEqual(u.href, 'https://h/d/p?q');
});

test('URL setters follow the standard', function () {
	var u = new URL('http://example.com/path?q#h');
	u.protocol = 'https';
	assertEqual(u.href, 'https://example.com/path?q#h');
	u.protocol = 'mailto';            // special to non-special: ignored
	assertEqual(u.protocol, 'https:');
	u.port = '443';
	assertEqual(u.port, '');
	u.port = '8080abc';
	assertEqual(u.port, '8080');
	u.port = 'abc';                   // invalid: unchanged
	assertEqual(u.port, '8080');
	u.hostname = 'other.example';
	assertEqual(u.host, 'other.example:8080');
	u.host = 'x.example:99';
	assertEqual(u.host, 'x.example:99');
	u.username = 'a b';
	u.password = 'p@ss';
	assertEqual(u.href, 'https://a%20b:p%40ss@x.example:99/path?q#h');
	u.pathname = 'new path';
	assertEqual(u.pathname, '/new%20path');
	u.hash = 'frag ment';
	assertEqual(u.hash, '#frag%20ment');
	u.hash = '';
	assertEqual(u.href, 'https://a%20b:p%40ss@x.example:99/new%20path?q');
	u.href = 'http://fresh/';
	assertEqual(u.host, 'fresh');
	assertThrows(function () { u.href = 'bad'; }, TypeError);
	assertEqual(u.href, 'http://fresh/');
});

test('searchParams is live in both directions', function () {
	var u = new URL('https://h/p?a=1&b=2');
	var p = u.searchParams;
	assert(p === u.searchParams, 'the same object every time');
	assertEqual(p.get('a'), '1');
	p.append('c', 'x y');
	assertEqual(u.search, '?a=1&b=2&c=x+y');
	p.delete('a');
	assertEqual(u.href, 'https://h/p?b=2&c=x+y');
	u.search = '?z=9';
	assertEqual(p.get('z'), '9');
	assertEqual(p.has('b'), false);
	u.href = 'https://h/?k=v';
	assertEqual(p.get('k'), 'v');
	p.delete('k');
	assertEqual(u.href, 'https://h/', 'an empty list removes the query');
	u.search = '';
	assertEqual(p.size, 0);
});

test('URLSearchParams constructors', function () {
	assertEqual(new URLSearchParams('?a=1&b=2').toString(), 'a=1&b=2');
	assertEqual(new URLSearchParams('a=1').get('a'), '1');
	assertEqual(new URLSearchParams({ x: '1', y: 2 }).toString(), 'x=1&y=2');
	assertEqual(new URLSearchParams([['a', 'b'], ['a', 'c']]).getAll('a').join(), 'b,c');
	var copy = new URLSearchParams(new URLSearchParams('q=1'));
	assertEqual(copy.get('q'), '1');
	assertEqual(new URLSearchParams().toString(), '');
	assertThrows(function () { new URLSearchParams([['a']]); }, TypeError);
	assertThrows(function () { new URLSearchParams([['a', 'b', 'c']]); }, TypeError);
});

test('URLSearchParams methods', function () {
	var p = new URLSearchParams('a=1&b=2&a=3');
	assertEqual(p.size, 3);
	assertEqual(p.get('a'), '1');
	assertEqual(p.get('missing'), null);
	assertDeepEqual(p.getAll('a'), ['1', '3']);
	assertEqual(p.has('a'), true);
	assertEqual(p.has('a', '3'), true);
	assertEqual(p.has('a', '4'), false);
	p.set('a', 'z');
	assertEqual(p.toString(), 'a=z&b=2');
	p.append('a', '2');
	p.delete('a', 'z');
	assertEqual(p.toString(), 'b=2&a=2');
	var seen = [];
	p.forEach(function (value, name, obj) {
		assert(obj === p);
		seen.push(name + '=' + value);
	});
	assertDeepEqual(seen, ['b=2', 'a=2']);
});

test('URLSearchParams iterators', function () {
	var p = new URLSearchParams('x=1&y=2');
	var it = p.entries();
	assertDeepEqual(it.next(), { value: ['x', '1'], done: false });
	assertDeepEqual(it.next(), { value: ['y', '2'], done: false });
	assertEqual(it.next().done, true);
	assertDeepEqual(Array.from(p.keys()), ['x', 'y']);
	assertDeepEqual(Array.from(p.values()), ['1', '2']);
	assertDeepEqual(Array.from(p), [['x', '1'], ['y', '2']]);
	assert(p[Symbol.iterator] === p.entries);
});

test('URLSearchParams.sort is stable and by UTF-16 code units', function () {
	var p = new URLSearchParams('z=1&a=2&z=0&\uFFFD=x&\uD83D\uDE00=y&a=1');
	p.sort();
	assertDeepEqual(Array.from(p.keys()), ['a', 'a', 'z', 'z', '\uD83D\uDE00', '\uFFFD']);
	assertDeepEqual(p.getAll('a'), ['2', '1']);
	assertDeepEqual(p.getAll('z'), ['1', '0']);
});

test('urlencoded serialization and parsing', function () {
	var p = new URLSearchParams();
	p.append('a b', 'c&d=e+f');
	p.append('\u00e9', '*-._~!\'()');
	assertEqual(p.toString(), 'a+b=c%26d%3De%2Bf&%C3%A9=*-._%7E%21%27%28%29');
	var q = new URLSearchParams('x=%zz&y=%C3%A9&z=%FF&w=a+b');
	assertEqual(q.get('x'), '%zz');
	assertEqual(q.get('y'), '\u00e9');
	assertEqual(q.get('z'), '\uFFFD');
	assertEqual(q.get('w'), 'a b');
});

test('atob and btoa', function () {
	assertEqual(btoa('hello'), 'aGVsbG8=');
	assertEqual(atob('aGVsbG8='), 'hello');
	assertEqual(atob(' aGVs bG8 '), 'hello');
	assertEqual(atob('aGVsbG8'), 'hello');
	assertEqual(btoa('\u00ff\u00fe'), '//4=');
	assertEqual(atob('//4='), '\u00ff\u00fe');
	assertEqual(atob(''), '');
	var e = assertThrows(function () { atob('a'); }, 'InvalidCharacterError');
	if (typeof DOMException === 'function')
		assert(e instanceof DOMException, 'a DOMException');
	assertThrows(function () { atob('ab=c'); }, 'InvalidCharacterError');
	assertThrows(function () { btoa('\u0100'); }, 'InvalidCharacterError');
	assertThrows(function () { atob(); }, TypeError);
});

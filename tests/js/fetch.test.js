// fetch.test.js: Request, Response and the Body mixin.
function bytesOf(u8) {
	return Array.prototype.slice.call(u8);
}

// ---- Body mixin ----

test('text, json, arrayBuffer, bytes of a string body', function () {
	return Promise.all([
		new Response('h\u00e9llo').text(),
		new Response('{"a":[1,2]}').json(),
		new Response('ab').arrayBuffer(),
		new Response('ab').bytes()
	]).then(function (v) {
		assertEqual(v[0], 'h\u00e9llo');
		assertDeepEqual(v[1], { a: [1, 2] });
		assert(v[2] instanceof ArrayBuffer);
		assertDeepEqual(bytesOf(new Uint8Array(v[2])), [97, 98]);
		assert(v[3] instanceof Uint8Array);
		assertDeepEqual(bytesOf(v[3]), [97, 98]);
	});
});

test('json() of invalid JSON rejects with SyntaxError', function () {
	return assertRejects(new Response('{nope').json(), SyntaxError);
});

test('text() strips a UTF-8 BOM and replaces invalid bytes', function () {
	return new Response(new Uint8Array([0xef, 0xbb, 0xbf, 0x61, 0xff, 0x62])).text().then(function (t) {
		assertEqual(t, 'a\ufffdb');
	});
});

test('bodyUsed: a second read rejects with TypeError', function () {
	var r = new Response('once');
	assertEqual(r.bodyUsed, false);
	return r.text().then(function (t) {
		assertEqual(t, 'once');
		assertEqual(r.bodyUsed, true);
		return assertRejects(r.text(), TypeError);
	}).then(function () {
		return assertRejects(r.arrayBuffer(), TypeError);
	});
});

test('a null body reads as empty and never becomes used', function () {
	var r = new Response(null);
	assertEqual(r.body, null);
	return r.text().then(function (t) {
		assertEqual(t, '');
		assertEqual(r.bodyUsed, false);
		return r.arrayBuffer();
	}).then(function (ab) {
		assertEqual(ab.byteLength, 0);
	});
});

test('body init: buffers are copied; views use only their window', function () {
	var u8 = new Uint8Array([1, 2, 3, 4]);
	var r1 = new Response(u8.subarray(1, 3));
	var r2 = new Response(u8.buffer);
	u8[1] = 99;
	assertEqual(r1.headers.get('content-type'), null, 'bytes have no content-type');
	return Promise.all([r1.bytes(), r2.bytes()]).then(function (v) {
		assertDeepEqual(bytesOf(v[0]), [2, 3]);
		assertDeepEqual(bytesOf(v[1]), [1, 2, 3, 4]);
	});
});

test('default content-types: string, Blob, FormData, URLSearchParams', function () {
	assertEqual(new Response('x').headers.get('content-type'), 'text/plain;charset=UTF-8');
	assertEqual(new Response(new Blob(['x'], { type: 'image/png' })).headers.get('content-type'),
	    'image/png');
	assertEqual(new Response(new Blob(['x'])).headers.get('content-type'), null);
	var ct = new Response(new FormData()).headers.get('content-type');
	assert(/^multipart\/form-data; boundary=[-0-9A-Za-z]{20,}$/.test(ct), ct);
	assertEqual(new Response('x', { headers: { 'Content-Type': 'text/html' } })
	    .headers.get('content-type'), 'text/html', 'an explicit content-type wins');
	if (typeof URLSearchParams === 'function')
		assertEqual(new Response(new URLSearchParams('a=1')).headers.get('content-type'),
		    'application/x-www-form-urlencoded;charset=UTF-8');
});

test('a Blob body keeps its bytes; blob() carries the content-type', function () {
	var r = new Response(new Blob(['abc']), { headers: { 'content-type': 'text/x-Thing' } });
	return r.blob().then(function (b) {
		assert(b instanceof Blob);
		assertEqual(b.size, 3);
		assertEqual(b.type, 'text/x-thing');
		return b.text();
	}).then(function (t) {
		assertEqual(t, 'abc');
	});
});

test('multipart round trip: a text part and a file part', function () {
	var fd = new FormData();
	fd.append('title', 'h\u00e9llo\nworld');
	fd.append('upload', new File([new Uint8Array([0, 13, 10, 45, 45, 255])], 'da"ta.bin',
	    { type: 'application/x-raw' }));
	fd.append('title', 'second');
	return new Response(fd).formData().then(function (back) {
		assertDeepEqual(back.getAll('title'), ['h\u00e9llo\r\nworld', 'second']);
		var f = back.get('upload');
		assert(f instanceof File, 'the file part is a File');
		assertEqual(f.name, 'da"ta.bin');
		assertEqual(f.type, 'application/x-raw');
		assertEqual(f.size, 6);
		return f.bytes();
	}).then(function (u8) {
		assertDeepEqual(bytesOf(u8), [0, 13, 10, 45, 45, 255]);
	});
});

test('multipart serialization is what a server expects', function () {
	var fd = new FormData();
	fd.append('a', '1');
	fd.append('f', new Blob(['xy']), 'f.txt');
	var r = new Response(fd);
	var boundary = r.headers.get('content-type').split('boundary=')[1];
	return r.text().then(function (t) {
		assertEqual(t, '--' + boundary + '\r\n' +
		    'Content-Disposition: form-data; name="a"\r\n\r\n1\r\n' +
		    '--' + boundary + '\r\n' +
		    'Content-Disposition: form-data; name="f"; filename="f.txt"\r\n' +
		    'Content-Type: application/octet-stream\r\n\r\nxy\r\n' +
		    '--' + boundary + '--\r\n');
	});
});

test('multipart parsing: preamble, quoted boundary, part without content-type', function () {
	var body = 'ignored preamble\r\n--XyZ\r\n' +
	    'Content-Disposition: form-data; name="t"\r\n\r\n' +
	    'v1\r\n--XyZ\r\n' +
	    'content-disposition: form-data; filename="n.txt"; name="file"\r\n\r\n' +
	    'file body\r\n--XyZ--\r\nepilogue';
	var r = new Response(body, { headers: { 'content-type': 'multipart/form-data; boundary="XyZ"' } });
	return r.formData().then(function (fd) {
		assertEqual(fd.get('t'), 'v1');
		assertEqual(fd.get('file').name, 'n.txt');
		assertEqual(fd.get('file').type, 'text/plain');
		return fd.get('file').text();
	}).then(function (t) {
		assertEqual(t, 'file body');
	});
});

test('malformed multipart and wrong content-types reject with TypeError', function () {
	function form(body, ct) {
		return new Response(body, { headers: { 'content-type': ct } }).formData();
	}
	return Promise.all([
		assertRejects(form('--b\r\nContent-Disposition: form-data; name="a"\r\n\r\nno end',
		    'multipart/form-data; boundary=b'), TypeError, 'unterminated'),
		assertRejects(form('--b--\r\n', 'multipart/form-data'), TypeError, 'no boundary'),
		assertRejects(form('--b\r\nContent-Type: text/plain\r\n\r\nx\r\n--b--',
		    'multipart/form-data; boundary=b'), TypeError, 'no disposition'),
		assertRejects(form('a=1', 'text/plain'), TypeError, 'text/plain'),
		assertRejects(new Response('a=1').formData(), TypeError, 'string body')
	]);
});

test('urlencoded parsing: + and %-escapes decode to UTF-8', function () {
	var r = new Response('a=1&b=x+y&c=%C3%A9t%C3%A9%2B%26&empty=&noeq&&d=%zz%4&a=2&%E2%98%83=snow',
	    { headers: { 'content-type': 'application/x-www-form-urlencoded;charset=UTF-8' } });
	return r.formData().then(function (fd) {
		assertDeepEqual(fd.getAll('a'), ['1', '2']);
		assertEqual(fd.get('b'), 'x y');
		assertEqual(fd.get('c'), '\u00e9t\u00e9+&');
		assertEqual(fd.get('empty'), '');
		assertEqual(fd.get('noeq'), '');
		assertEqual(fd.get('d'), '%zz%4');
		assertEqual(fd.get('\u2603'), 'snow');
		var keys = [], it = fd.keys(), s;
		while (!(s = it.next()).done) keys.push(s.value);
		assertDeepEqual(keys, ['a', 'b', 'c', 'empty', 'noeq', 'd', 'a', '\u2603']);
	});
});

// ---- Request ----

test('Request basics: method, url, headers, redirect, defaults', function () {
	var r = new Request('https://example.com/a?b=1', { headers: { 'X-A': '1' } });
	assertEqual(r.method, 'GET');
	assertEqual(r.url, 'https://example.com/a?b=1');
	assertEqual(r.headers.get('x-a'), '1');
	assertEqual(r.redirect, 'follow');
	assertEqual(r.cf, undefined);
	assertEqual(r.bodyUsed, false);
	assertEqual(r.body, null);
	assertEqual(r.integrity, '');
	assertEqual(r.keepalive, false);
	assertEqual(Object.prototype.toString.call(r), '[object Request]');
	assertEqual(new Request('https://example.com').url, 'https://example.com/');
	assertEqual(new Request('HTTPS://EXAMPLE.com/Path').url, 'https://example.com/Path');
});

test('Request methods: normalized, validated, forbidden', function () {
	function m(x) { return new Request('https://e.com/', { method: x }).method; }
	assertEqual(m('get'), 'GET');
	assertEqual(m('post'), 'POST');
	assertEqual(m('Delete'), 'DELETE');
	assertEqual(m('options'), 'OPTIONS');
	assertEqual(m('head'), 'HEAD');
	assertEqual(m('put'), 'PUT');
	assertEqual(m('patch'), 'patch', 'only the six standard methods are upper-cased');
	assertEqual(m('PROPFIND'), 'PROPFIND');
	assertThrows(function () { m('bad method'); }, TypeError);
	assertThrows(function () { m(''); }, TypeError);
	assertThrows(function () { m('CONNECT'); }, TypeError);
	assertThrows(function () { m('trace'); }, TypeError);
	assertThrows(function () { m('Track'); }, TypeError);
});

test('Request url must be absolute', function () {
	assertThrows(function () { new Request('/relative'); }, TypeError);
	assertThrows(function () { new Request('example.com/x'); }, TypeError);
	assertThrows(function () { new Request(''); }, TypeError);
	assertThrows(function () { new Request('http://'); }, TypeError);
	assertEqual(new Request({ toString: function () { return 'https://x.test/s'; } }).url,
	    'https://x.test/s');
});

test('Request redirect, cf, cache and signal options', function () {
	var r = new Request('https://e.com/', { redirect: 'manual', cf: { cacheTtl: 5 } });
	assertEqual(r.redirect, 'manual');
	assertEqual(r.cf.cacheTtl, 5);
	assertThrows(function () { new Request('https://e.com/', { redirect: 'sometimes' }); }, TypeError);
	assertThrows(function () { new Request('https://e.com/', { cf: 5 }); }, TypeError);
	assertThrows(function () { new Request('https://e.com/', { cache: 'force-cache' }); }, TypeError);
	assertEqual(new Request('https://e.com/', { cache: 'no-store' }).cache, 'no-store');
	var s = r.signal;
	if (typeof AbortController === 'function')
		assertEqual(s.aborted, false);
	else
		assertEqual(s, null);
});

test('GET and HEAD requests cannot have a body', function () {
	assertThrows(function () { new Request('https://e.com/', { body: 'x' }); }, TypeError);
	assertThrows(function () { new Request('https://e.com/', { method: 'HEAD', body: 'x' }); }, TypeError);
	var ok = new Request('https://e.com/', { method: 'GET', body: null });
	assertEqual(ok.method, 'GET');
	var post = new Request('https://e.com/', { method: 'POST', body: 'x' });
	assertThrows(function () { new Request(post, { method: 'GET' }); }, TypeError);
});

test('Request bodies: content-type defaults and reading', function () {
	var r = new Request('https://e.com/', { method: 'POST', body: '{"x":1}' });
	assertEqual(r.headers.get('content-type'), 'text/plain;charset=UTF-8');
	var fd = new FormData();
	fd.append('k', 'v');
	var r2 = new Request('https://e.com/', { method: 'PUT', body: fd });
	assert(/^multipart\/form-data; boundary=/.test(r2.headers.get('content-type')));
	return r.json().then(function (v) {
		assertEqual(v.x, 1);
		assertEqual(r.bodyUsed, true);
		return r2.formData();
	}).then(function (back) {
		assertEqual(back.get('k'), 'v');
	});
});

test('new Request(request) takes its body and copies its fields', function () {
	var a = new Request('https://e.com/p', { method: 'POST', body: 'data', headers: { 'x-a': '1' },
	    redirect: 'error' });
	var b = new Request(a, { headers: { 'x-b': '2' } });
	assertEqual(b.url, 'https://e.com/p');
	assertEqual(b.method, 'POST');
	assertEqual(b.redirect, 'error');
	assertEqual(b.headers.get('x-a'), null, 'init headers replace the input ones');
	assertEqual(b.headers.get('x-b'), '2');
	assertEqual(a.bodyUsed, true, 'the input body moved to the new request');
	assertThrows(function () { new Request(a); }, TypeError);
	var c = new Request(new Request('https://e.com/q', { headers: { 'x-c': '3' } }));
	assertEqual(c.headers.get('x-c'), '3');
	return b.text().then(function (t) { assertEqual(t, 'data'); });
});

test('Request.clone copies the body; a used body cannot be cloned', function () {
	var a = new Request('https://e.com/', { method: 'POST', body: 'abc', cf: { x: 1 } });
	var b = a.clone();
	assertEqual(b.method, 'POST');
	assertEqual(b.cf.x, 1);
	assert(b.headers !== a.headers);
	b.headers.set('x-new', '1');
	assertEqual(a.headers.has('x-new'), false);
	return Promise.all([a.text(), b.text()]).then(function (v) {
		assertDeepEqual(v, ['abc', 'abc']);
		assertEqual(a.bodyUsed, true);
		assertThrows(function () { a.clone(); }, TypeError);
	});
});

test('the incoming request: immutable headers, readable body', function (request) {
	assertEqual(request.method, 'GET');
	assert(/^http:\/\/suite\d+\.test\/$/.test(request.url), request.url);
	assertEqual(request.redirect, 'manual');
	var c = request.clone();
	assertEqual(c.url, request.url);
	return request.text().then(function (t) {
		assertEqual(t, '');
	});
});

// ---- Response ----

test('Response defaults', function () {
	var r = new Response();
	assertEqual(r.status, 200);
	assertEqual(r.statusText, '');
	assertEqual(r.ok, true);
	assertEqual(r.redirected, false);
	assertEqual(r.url, '');
	assertEqual(r.type, 'default');
	assertEqual(r.body, null);
	assertEqual(r.bodyUsed, false);
	assertEqual(Object.prototype.toString.call(r), '[object Response]');
	assertThrows(function () { Response(); }, TypeError);
});

test('Response status range and ok', function () {
	assertEqual(new Response(null, { status: 404 }).ok, false);
	assertEqual(new Response(null, { status: 299 }).ok, true);
	assertEqual(new Response(null, { status: 599 }).status, 599);
	assertEqual(new Response(null, { status: '201' }).status, 201);
	[0, 100, 101, 199, 600, 1000, -1, NaN].forEach(function (s) {
		assertThrows(function () { new Response(null, { status: s }); }, RangeError, 'status ' + s);
	});
});

test('Response statusText is validated', function () {
	assertEqual(new Response(null, { statusText: 'I am a teapot' }).statusText, 'I am a teapot');
	assertThrows(function () { new Response(null, { statusText: 'a\r\nb' }); }, TypeError);
	assertThrows(function () { new Response(null, { statusText: '\u2603' }); }, TypeError);
});

test('null-body statuses reject a body', function () {
	[204, 205, 304].forEach(function (s) {
		assertThrows(function () { new Response('x', { status: s }); }, TypeError, 'status ' + s);
		assertEqual(new Response(null, { status: s }).status, s);
	});
	assertEqual(new Response('', { status: 200 }).status, 200);
});

test('Response.json', function () {
	var r = Response.json({ a: 1 }, { status: 201, headers: { 'x-y': 'z' } });
	assertEqual(r.status, 201);
	assertEqual(r.headers.get('content-type'), 'application/json');
	assertEqual(r.headers.get('x-y'), 'z');
	var custom = Response.json([1], { headers: { 'Content-Type': 'application/vnd.api+json' } });
	assertEqual(custom.headers.get('content-type'), 'application/vnd.api+json');
	assertThrows(function () { Response.json(undefined); }, TypeError);
	assertThrows(function () { Response.json(1, { status: 700 }); }, RangeError);
	return r.json().then(function (v) { assertDeepEqual(v, { a: 1 }); });
});

test('Response.redirect', function () {
	var r = Response.redirect('https://example.com/next');
	assertEqual(r.status, 302);
	assertEqual(r.headers.get('location'), 'https://example.com/next');
	[301, 302, 303, 307, 308].forEach(function (s) {
		assertEqual(Response.redirect('https://example.com/', s).status, s);
	});
	[200, 300, 304, 309, 404].forEach(function (s) {
		assertThrows(function () { Response.redirect('https://example.com/', s); }, RangeError,
		    'status ' + s);
	});
	assertThrows(function () { Response.redirect('/relative', 301); }, TypeError);
});

test('Response.error', function () {
	var r = Response.error();
	assertEqual(r.type, 'error');
	assertEqual(r.status, 0);
	assertEqual(r.ok, false);
	assertEqual(r.body, null);
});

test('Response.clone: both copies read; bodyUsed after clone', function () {
	var a = new Response('twice', { status: 202, statusText: 'Accepted', headers: { 'x': '1' } });
	var b = a.clone();
	assertEqual(b.status, 202);
	assertEqual(b.statusText, 'Accepted');
	assertEqual(b.headers.get('x'), '1');
	return a.text().then(function (t) {
		assertEqual(t, 'twice');
		assertEqual(a.bodyUsed, true);
		assertEqual(b.bodyUsed, false, 'the clone is not used by reading the original');
		assertThrows(function () { a.clone(); }, TypeError);
		return b.text();
	}).then(function (t) {
		assertEqual(t, 'twice');
	});
});

test('clone of a Response.redirect keeps its immutable headers', function () {
	var c = Response.redirect('https://example.com/', 307).clone();
	assertEqual(c.status, 307);
	assertThrows(function () { c.headers.set('x', '1'); }, TypeError);
});

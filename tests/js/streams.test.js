// streams.test.js: Streams (web-streams-polyfill), bodies as streams,
// TextEncoderStream/TextDecoderStream, Blob.stream and __edged_builtin.
function bytesOf(u8) {
	return Array.prototype.slice.call(u8);
}

// A stream of the given chunks, enqueued at once.
function streamOf(chunks) {
	return new ReadableStream({
		start: function (c) {
			for (var i = 0; i < chunks.length; i++)
				c.enqueue(chunks[i]);
			c.close();
		}
	});
}

// All chunks of a stream, through a reader.
function collect(stream) {
	var reader = stream.getReader(), out = [];
	function next() {
		return reader.read().then(function (r) {
			if (r.done)
				return out;
			out.push(r.value);
			return next();
		});
	}
	return next();
}

function utf8(s) {
	return new TextEncoder().encode(s);
}

test('the stream classes are globals', function () {
	var names = ['ReadableStream', 'WritableStream', 'TransformStream', 'ReadableStreamDefaultReader',
	    'ReadableStreamBYOBReader', 'WritableStreamDefaultWriter', 'ByteLengthQueuingStrategy',
	    'CountQueuingStrategy', 'TextEncoderStream', 'TextDecoderStream'];
	for (var i = 0; i < names.length; i++)
		assertEqual(typeof globalThis[names[i]], 'function', names[i]);
	assertEqual(Object.keys(globalThis).indexOf('ReadableStream'), -1, 'not enumerable');
	assertEqual(typeof ReadableStream.from, 'function');
});

test('reader: chunks in order, then done; locked while a reader holds it', function () {
	var s = streamOf(['a', 'b']);
	var reader = s.getReader();
	assertEqual(s.locked, true);
	assertThrows(function () { s.getReader(); }, TypeError);
	return reader.read().then(function (r) {
		assertDeepEqual(r, { value: 'a', done: false });
		return reader.read();
	}).then(function (r) {
		assertEqual(r.value, 'b');
		return reader.read();
	}).then(function (r) {
		assertEqual(r.done, true);
		assertEqual(r.value, undefined);
		reader.releaseLock();
		assertEqual(s.locked, false);
	});
});

test('pull-based source and an erroring stream', function () {
	var n = 0;
	var s = new ReadableStream({
		pull: function (c) {
			if (++n > 3)
				c.close();
			else
				c.enqueue(n);
		}
	}, new CountQueuingStrategy({ highWaterMark: 1 }));
	var bad = new ReadableStream({ start: function (c) { c.error(new RangeError('boom')); } });
	return collect(s).then(function (chunks) {
		assertDeepEqual(chunks, [1, 2, 3]);
		return assertRejects(bad.getReader().read(), RangeError);
	});
});

test('writer: writes reach the sink in order, close resolves', function () {
	var seen = [], closed = false;
	var ws = new WritableStream({
		write: function (chunk) { seen.push(chunk); },
		close: function () { closed = true; }
	});
	var w = ws.getWriter();
	assertEqual(ws.locked, true);
	w.write('x');
	w.write('y');
	return w.close().then(function () {
		assertDeepEqual(seen, ['x', 'y']);
		assertEqual(closed, true);
	});
});

test('pipeThrough a TransformStream that upper-cases', function () {
	var upper = new TransformStream({
		transform: function (chunk, c) { c.enqueue(String(chunk).toUpperCase()); }
	});
	return collect(streamOf(['ab', 'cd']).pipeThrough(upper)).then(function (chunks) {
		assertDeepEqual(chunks, ['AB', 'CD']);
	});
});

test('pipeTo a WritableStream', function () {
	var seen = [];
	return streamOf([1, 2, 3]).pipeTo(new WritableStream({
		write: function (c) { seen.push(c); }
	})).then(function () {
		assertDeepEqual(seen, [1, 2, 3]);
	});
});

test('tee: both branches get every chunk', function () {
	var pair = streamOf(['p', 'q']).tee();
	return Promise.all([collect(pair[0]), collect(pair[1])]).then(function (v) {
		assertDeepEqual(v[0], ['p', 'q']);
		assertDeepEqual(v[1], ['p', 'q']);
	});
});

test('async iteration: for await over a stream (Symbol.asyncIterator)', function () {
	var it = streamOf(['one', 'two'])[Symbol.asyncIterator]();
	var out = [];
	function next() {
		return it.next().then(function (r) {
			if (r.done)
				return out;
			out.push(r.value);
			return next();
		});
	}
	return next().then(function (v) {
		assertDeepEqual(v, ['one', 'two']);
	});
});

test('ReadableStream.from an array', function () {
	return collect(ReadableStream.from([1, 2])).then(function (v) {
		assertDeepEqual(v, [1, 2]);
	});
});

test('TextDecoderStream: a multi-byte character split across chunks', function () {
	var euro = utf8('a\u20acb');  // 61 e2 82 ac 62
	var s = streamOf([euro.subarray(0, 2), euro.subarray(2, 3), euro.subarray(3)]);
	var tds = new TextDecoderStream();
	assertEqual(tds.encoding, 'utf-8');
	assertEqual(tds.fatal, false);
	return collect(s.pipeThrough(tds)).then(function (chunks) {
		assertEqual(chunks.join(''), 'a\u20acb');
		assertEqual(chunks.length, 2, 'the split character waits for its last byte');
	});
});

test('TextEncoderStream: strings to UTF-8, a surrogate pair split across chunks', function () {
	var s = streamOf(['h\u00e9', '\ud83d', '\ude00']).pipeThrough(new TextEncoderStream());
	return collect(s).then(function (chunks) {
		var all = [];
		for (var i = 0; i < chunks.length; i++) {
			assert(chunks[i] instanceof Uint8Array);
			all = all.concat(bytesOf(chunks[i]));
		}
		assertDeepEqual(all, [0x68, 0xc3, 0xa9, 0xf0, 0x9f, 0x98, 0x80]);
	});
});

test('Blob.prototype.stream', function () {
	return collect(new Blob(['xy', 'z']).stream()).then(function (chunks) {
		assertEqual(new TextDecoder().decode(chunks[0]), 'xyz');
	});
});

// ---- bodies as streams ----

test('response.body is a ReadableStream of bytes, read chunk by chunk', function () {
	var r = new Response('hello');
	var body = r.body;
	assert(body instanceof ReadableStream);
	assertEqual(r.body, body, 'the same stream each time');
	assertEqual(r.bodyUsed, false);
	return collect(body).then(function (chunks) {
		assert(chunks[0] instanceof Uint8Array);
		assertEqual(new TextDecoder().decode(chunks[0]), 'hello');
		assertEqual(r.bodyUsed, true);
		return assertRejects(r.text(), TypeError);
	});
});

test('reading the stream and text() are exclusive', function () {
	var a = new Response('x');
	var reader = a.body.getReader();
	var b = new Response('y');
	return assertRejects(a.text(), TypeError, 'locked').then(function () {
		reader.releaseLock();
		return b.text();
	}).then(function (t) {
		assertEqual(t, 'y');
		assertEqual(b.bodyUsed, true);
		assert(b.body.locked, 'consumed: its stream is locked');
		assertThrows(function () { b.body.getReader(); }, TypeError);
	});
});

test('new Response(stream).text() reads the whole stream', function () {
	var s = streamOf([utf8('ab'), utf8('c'), new Uint8Array(0), utf8('\u00e9')]);
	var r = new Response(s);
	assertEqual(r.body, s);
	assertEqual(r.headers.get('content-type'), null);
	return r.text().then(function (t) {
		assertEqual(t, 'abc\u00e9');
		assertEqual(r.bodyUsed, true);
		assertThrows(function () { new Response(s); }, TypeError, 'a read stream is no body');
	});
});

test('a stream of strings is not a body', function () {
	return assertRejects(new Response(streamOf(['text'])).text(), TypeError);
});

test('a locked stream cannot be a body', function () {
	var s = streamOf([]);
	s.getReader();
	assertThrows(function () { new Response(s); }, TypeError);
});

test('clone of a stream body: both read everything', function () {
	var r = new Response(streamOf([utf8('to'), utf8('gether')]));
	var c = r.clone();
	return Promise.all([r.text(), c.text()]).then(function (v) {
		assertDeepEqual(v, ['together', 'together']);
	});
});

test('request.body of a POST is a stream of its bytes', function () {
	var req = new Request('https://example.com/', { method: 'POST', body: 'posted' });
	assert(req.body instanceof ReadableStream);
	assertEqual(new Request('https://example.com/').body, null);
	return collect(req.body).then(function (chunks) {
		assertEqual(new TextDecoder().decode(chunks[0]), 'posted');
		assertEqual(req.bodyUsed, true);
	});
});

test('new Request with a stream body', function () {
	var req = new Request('https://example.com/', { method: 'POST', body: streamOf([utf8('{"a":'), utf8('1}')]) });
	return req.json().then(function (v) {
		assertDeepEqual(v, { a: 1 });
		assertThrows(function () {
			new Request('https://example.com/', { method: 'GET', body: streamOf([]) });
		}, TypeError);
	});
});

test('a null-body status refuses a stream body', function () {
	assertThrows(function () { new Response(streamOf([]), { status: 204 }); }, TypeError);
});

// ---- platform modules ----

test('__edged_builtin: cloudflare:workers base classes', function () {
	var m = __edged_builtin('cloudflare:workers');
	var env = {};
	assertEqual(__edged_builtin('cloudflare:workers'), m, 'one namespace');
	function Room(ctx, env) { m.DurableObject.call(this, ctx, env); }
	Room.prototype = Object.create(m.DurableObject.prototype);
	var room = new Room('state', env);
	assert(room instanceof m.DurableObject);
	assertEqual(room.ctx, 'state');
	assertEqual(room.env, env);
	var api = new m.WorkerEntrypoint(1, 2);
	assertEqual(api.ctx, 1);
	assertEqual(api.env, 2);
	assertThrows(function () { m.DurableObject(); }, TypeError);
});

test('__edged_builtin: an unsupported module throws a TypeError naming it', function () {
	var e = assertThrows(function () { __edged_builtin('node:fs'); }, TypeError);
	assert(e.message.indexOf('node:fs') !== -1, e.message);
});

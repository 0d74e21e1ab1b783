// encoding.test.js: TextEncoder / TextDecoder as the WHATWG Encoding standard has them.
function units(s) {
	var out = [];
	for (var i = 0; i < s.length; i++)
		out.push(s.charCodeAt(i));
	return out;
}

function u8(list) {
	return new Uint8Array(list);
}

test('TextEncoder.encode gives UTF-8 bytes; lone surrogates become U+FFFD', function () {
	var enc = new TextEncoder();
	assertEqual(enc.encoding, 'utf-8');
	assertDeepEqual(Array.prototype.slice.call(enc.encode('a\u00e9\u20ac\ud83d\ude00')),
	    [0x61, 0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xf0, 0x9f, 0x98, 0x80]);
	assertDeepEqual(Array.prototype.slice.call(enc.encode('\ud800x')), [0xef, 0xbf, 0xbd, 0x78]);
	assertEqual(enc.encode().length, 0);
	assert(enc.encode('x') instanceof Uint8Array);
});

test('encodeInto counts UTF-16 units read and bytes written, never splitting a pair', function () {
	var enc = new TextEncoder();
	var dest = new Uint8Array(5);
	var r = enc.encodeInto('a\ud83d\ude00b', dest);
	assertEqual(r.read, 3);
	assertEqual(r.written, 5);
	assertDeepEqual(Array.prototype.slice.call(dest), [0x61, 0xf0, 0x9f, 0x98, 0x80]);
	r = enc.encodeInto('a\ud83d\ude00b', new Uint8Array(4));
	assertEqual(r.read, 1, 'a pair that does not fit is not started');
	assertEqual(r.written, 1);
	r = enc.encodeInto('\u00e9\u20ac', new Uint8Array(4));
	assertEqual(r.read, 1);
	assertEqual(r.written, 2);
	r = enc.encodeInto('\udc00', new Uint8Array(3));
	assertEqual(r.read, 1);
	assertEqual(r.written, 3);
	dest = new Uint8Array(10);
	r = enc.encodeInto('hi', dest.subarray(4));
	assertEqual(r.written, 2);
	assertEqual(dest[4], 0x68);
	assertThrows(function () { enc.encodeInto('x', new ArrayBuffer(4)); }, TypeError);
});

test('TextDecoder labels: canonical names, case and whitespace, unknown labels', function () {
	assertEqual(new TextDecoder().encoding, 'utf-8');
	assertEqual(new TextDecoder(' UTF8\n').encoding, 'utf-8');
	assertEqual(new TextDecoder('unicode-1-1-utf-8').encoding, 'utf-8');
	assertEqual(new TextDecoder('utf-16').encoding, 'utf-16le');
	assertEqual(new TextDecoder('UTF-16LE').encoding, 'utf-16le');
	assertEqual(new TextDecoder('unicodefffe').encoding, 'utf-16be');
	assertEqual(new TextDecoder('latin1').encoding, 'windows-1252');
	assertThrows(function () { new TextDecoder('utf-7'); }, RangeError);
	assertThrows(function () { new TextDecoder('iso-2022-kr'); }, RangeError, 'replacement');
	assertThrows(function () { new TextDecoder(''); }, RangeError);
	var d = new TextDecoder('utf-8', { fatal: 1, ignoreBOM: 'yes' });
	assertEqual(d.fatal, true);
	assertEqual(d.ignoreBOM, true);
	assertEqual(new TextDecoder().fatal, false);
});

test('UTF-8 replacement follows the maximal-subpart rule', function () {
	var d = new TextDecoder();
	var cases = [
		[[0xf0, 0x80, 0x80], [0xfffd, 0xfffd, 0xfffd]],
		[[0xed, 0xa0, 0x80], [0xfffd, 0xfffd, 0xfffd]],
		[[0xe0, 0x80], [0xfffd, 0xfffd]],
		[[0xf4, 0x90, 0x80, 0x80], [0xfffd, 0xfffd, 0xfffd, 0xfffd]],
		[[0xc0, 0xaf], [0xfffd, 0xfffd]],
		[[0xe2, 0x82], [0xfffd]],
		[[0xe2, 0x82, 0x41], [0xfffd, 0x41]],
		[[0xf0, 0x9f, 0x98, 0x41], [0xfffd, 0x41]],
		[[0xff, 0xfe], [0xfffd, 0xfffd]],
		[[0x61, 0x80, 0x62], [0x61, 0xfffd, 0x62]],
		[[0xf0, 0x9f, 0x98, 0x80], [0xd83d, 0xde00]]
	];
	for (var i = 0; i < cases.length; i++)
		assertDeepEqual(units(d.decode(u8(cases[i][0]))), cases[i][1], 'case ' + i);
});

test('UTF-8 BOM: stripped once per stream unless ignoreBOM', function () {
	assertEqual(new TextDecoder().decode(u8([0xef, 0xbb, 0xbf, 0x41])), 'A');
	assertEqual(new TextDecoder().decode(u8([0xef, 0xbb, 0xbf, 0xef, 0xbb, 0xbf])), '\ufeff');
	assertEqual(new TextDecoder('utf-8', { ignoreBOM: true }).decode(u8([0xef, 0xbb, 0xbf, 0x41])),
	    '\ufeffA');
	var d = new TextDecoder();
	assertEqual(d.decode(u8([0xef, 0xbb]), { stream: true }), '');
	assertEqual(d.decode(u8([0xbf, 0x42])), 'B');
	assertEqual(d.decode(u8([0xef, 0xbb, 0xbf, 0x43])), 'C', 'a new stream strips it again');
});

test('fatal decoding throws TypeError', function () {
	var d = new TextDecoder('utf-8', { fatal: true });
	assertThrows(function () { d.decode(u8([0xff])); }, TypeError);
	assertThrows(function () { d.decode(u8([0xe2, 0x82])); }, TypeError, 'truncated at the end');
	assertEqual(d.decode(u8([0xe2, 0x82]), { stream: true }), '', 'held back while streaming');
	assertEqual(d.decode(u8([0xac])), '\u20ac');
	assertEqual(d.decode(u8([0x41])), 'A', 'usable after an error');
	assertThrows(function () {
		new TextDecoder('utf-16le', { fatal: true }).decode(u8([0x00, 0xdc]));
	}, TypeError);
});

test('streaming UTF-8 holds incomplete sequences back across calls', function () {
	var bytes = new TextEncoder().encode('h\u00e9\u20ac\ud83d\ude00!');
	var whole = new TextDecoder().decode(bytes);
	var d = new TextDecoder(), out = '';
	for (var i = 0; i < bytes.length; i++)
		out += d.decode(bytes.subarray(i, i + 1), { stream: true });
	out += d.decode();
	assertEqual(out, whole);
	assertEqual(d.decode(u8([0xf0, 0x9f]), { stream: true }), '');
	assertDeepEqual(units(d.decode()), [0xfffd], 'flushed at the end');
});

test('UTF-16LE and UTF-16BE, with BOM, pairs and streaming', function () {
	var le = new TextDecoder('utf-16le');
	assertEqual(le.decode(u8([0xff, 0xfe, 0x41, 0x00, 0x3d, 0xd8, 0x00, 0xde])), 'A\ud83d\ude00');
	assertDeepEqual(units(le.decode(u8([0x3d, 0xd8, 0x41, 0x00, 0x00, 0xdc, 0x42]))),
	    [0xfffd, 0x41, 0xfffd, 0xfffd]);
	var be = new TextDecoder('utf-16be');
	assertEqual(be.decode(u8([0x00, 0x41, 0xd8]), { stream: true }), 'A');
	assertEqual(be.decode(u8([0x3d, 0xde]), { stream: true }), '');
	assertEqual(be.decode(u8([0x00])), '\ud83d\ude00');
	assertEqual(new TextDecoder('utf-16be').decode(u8([0xfe, 0xff, 0x00, 0x42])), 'B');
	assertEqual(new TextDecoder('utf-16le', { ignoreBOM: true }).decode(u8([0xff, 0xfe])),
	    '\ufeff');
});

test('windows-1252 (latin1, ascii labels)', function () {
	assertDeepEqual(units(new TextDecoder('ascii').decode(u8([0x41, 0x80, 0xe9, 0x9f, 0x81]))),
	    [0x41, 0x20ac, 0xe9, 0x178, 0x81]);
});

test('decode accepts ArrayBuffer and any view, and rejects anything else', function () {
	var d = new TextDecoder();
	var buf = new TextEncoder().encode('xhiy').buffer;
	assertEqual(d.decode(buf), 'xhiy');
	assertEqual(d.decode(new DataView(buf, 1, 2)), 'hi');
	assertEqual(d.decode(new Uint8Array(buf, 1, 2)), 'hi');
	assertEqual(d.decode(), '');
	assertThrows(function () { d.decode('abc'); }, TypeError);
	assertThrows(function () { d.decode({}); }, TypeError);
});

test('large inputs round-trip', function () {
	var s = new Array(20001).join('\u00e9\ud83d\ude00a');
	var bytes = new TextEncoder().encode(s);
	assertEqual(new TextDecoder().decode(bytes), s);
	var le = new Uint8Array(s.length * 2);
	for (var i = 0; i < s.length; i++) {
		le[2 * i] = s.charCodeAt(i) & 0xff;
		le[2 * i + 1] = s.charCodeAt(i) >> 8;
	}
	assertEqual(new TextDecoder('utf-16le').decode(le), s);
});

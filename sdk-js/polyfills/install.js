/*
 * The tail of the generated streams part (see build.mjs): installs the
 * exports of web-streams-polyfill (`__streams`, above) as globals and on
 * `rt`, and adds what the polyfill lacks: TextEncoderStream and
 * TextDecoderStream.  Plain ES5; runs in the sandbox heap.
 */

(function () {
	var names = Object.keys(__streams);
	var i;

	for (i = 0; i < names.length; i++) {
		rt[names[i]] = __streams[names[i]];
		rt.define(globalThis, names[i], __streams[names[i]]);
	}
})();

(function () {
	/* Captured now: tenant code may replace the globals. */
	var TransformStream = rt.TransformStream;
	var Encoder = globalThis.TextEncoder;
	var Decoder = globalThis.TextDecoder;
	var SLOT = native.hidden('codecStream');

	function slot(obj, what) {
		var st = obj !== null && typeof obj === 'object' ? obj[SLOT] : undefined;

		if (st === undefined || st.kind !== what)
			throw new TypeError('Illegal invocation: not a ' + what);
		return st;
	}

	function getters(proto, what, names) {
		var i;

		for (i = 0; i < names.length; i++) {
			(function (name) {
				rt.getter(proto, name, function () {
					return slot(this, what)[name];
				});
			})(names[i]);
		}
		Object.defineProperty(proto, Symbol.toStringTag, { value: what, configurable: true });
	}

	/* The bytes of a BufferSource chunk, as TextDecoder.decode takes them. */
	function bufferSource(chunk) {
		if (chunk instanceof ArrayBuffer || ArrayBuffer.isView(chunk))
			return chunk;
		throw new TypeError('TextDecoderStream: a chunk must be an ArrayBuffer or ArrayBufferView');
	}

	/* Strings in, UTF-8 bytes out; a high surrogate at the end of a chunk waits for the next. */
	function TextEncoderStream() {
		var encoder = new Encoder();
		var pending = '';
		var ts;

		if (!(this instanceof TextEncoderStream))
			throw new TypeError("Failed to construct 'TextEncoderStream': use 'new'");
		ts = new TransformStream({
			transform: function (chunk, controller) {
				var s = pending + String(chunk);
				var last = s.charCodeAt(s.length - 1);

				pending = '';
				if (last >= 0xd800 && last <= 0xdbff) {
					pending = s.charAt(s.length - 1);
					s = s.slice(0, -1);
				}
				if (s.length > 0)
					controller.enqueue(encoder.encode(s));
			},
			flush: function (controller) {
				if (pending !== '')
					controller.enqueue(encoder.encode(pending));
			}
		});
		Object.defineProperty(this, SLOT, { value: {
			kind: 'TextEncoderStream', encoding: 'utf-8',
			readable: ts.readable, writable: ts.writable
		} });
	}
	getters(TextEncoderStream.prototype, 'TextEncoderStream', ['encoding', 'readable', 'writable']);

	/* Bytes in, strings out; a character split across chunks is decoded whole. */
	function TextDecoderStream(label, options) {
		var decoder, ts;

		if (!(this instanceof TextDecoderStream))
			throw new TypeError("Failed to construct 'TextDecoderStream': use 'new'");
		decoder = new Decoder(label === undefined ? 'utf-8' : label, options);
		ts = new TransformStream({
			transform: function (chunk, controller) {
				var s = decoder.decode(bufferSource(chunk), { stream: true });

				if (s !== '')
					controller.enqueue(s);
			},
			flush: function (controller) {
				var s = decoder.decode();

				if (s !== '')
					controller.enqueue(s);
			}
		});
		Object.defineProperty(this, SLOT, { value: {
			kind: 'TextDecoderStream', encoding: decoder.encoding, fatal: decoder.fatal,
			ignoreBOM: decoder.ignoreBOM, readable: ts.readable, writable: ts.writable
		} });
	}
	getters(TextDecoderStream.prototype, 'TextDecoderStream',
	    ['encoding', 'fatal', 'ignoreBOM', 'readable', 'writable']);

	rt.define(globalThis, 'TextEncoderStream', TextEncoderStream);
	rt.define(globalThis, 'TextDecoderStream', TextDecoderStream);
})();

/*
 * TextEncoder and TextDecoder (WHATWG Encoding): UTF-8 through Duktape's
 * native coder (checked against the spec's maximal-subpart rule), UTF-16LE/BE
 * and windows-1252 in JS, with the spec's label table, fatal, ignoreBOM and
 * streaming.
 */
'use strict';

var NativeDecoder = globalThis.TextDecoder;
var SLOT = native.hidden('encoding');
var REPLACEMENT = 0xfffd;
var CHUNK = 8192;

/* Every label of the encodings we decode, mapped to the canonical name. */
var LABELS = {};
(function () {
	var table = {
		'utf-8': ['unicode-1-1-utf-8', 'unicode11utf8', 'unicode20utf8', 'utf-8', 'utf8',
		    'x-unicode20utf8'],
		'utf-16be': ['unicodefffe', 'utf-16be'],
		'utf-16le': ['csunicode', 'iso-10646-ucs-2', 'ucs-2', 'unicode', 'unicodefeff',
		    'utf-16', 'utf-16le'],
		'windows-1252': ['ansi_x3.4-1968', 'ascii', 'cp1252', 'cp819', 'csisolatin1', 'ibm819',
		    'iso-8859-1', 'iso-ir-100', 'iso8859-1', 'iso88591', 'iso_8859-1',
		    'iso_8859-1:1987', 'l1', 'latin1', 'us-ascii', 'windows-1252', 'x-cp1252']
	};
	var names = Object.keys(table);
	var i, j;

	for (i = 0; i < names.length; i++)
		for (j = 0; j < table[names[i]].length; j++)
			LABELS[table[names[i]][j]] = names[i];
})();

/* windows-1252 bytes 0x80..0x9f; the rest of the encoding is Latin-1. */
var CP1252 = [
	0x20ac, 0x81, 0x201a, 0x192, 0x201e, 0x2026, 0x2020, 0x2021,
	0x2c6, 0x2030, 0x160, 0x2039, 0x152, 0x8d, 0x17d, 0x8f,
	0x90, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014,
	0x2dc, 0x2122, 0x161, 0x203a, 0x153, 0x9d, 0x17e, 0x178
];

/* The canonical name for a label, or null (strip ASCII whitespace, lower-case). */
function encodingOf(label) {
	var key = String(label).replace(/^[\t\n\f\r ]+|[\t\n\f\r ]+$/g, '').toLowerCase();

	return Object.prototype.hasOwnProperty.call(LABELS, key) ? LABELS[key] : null;
}
rt.encodingOf = encodingOf;

/* A Uint8Array over the bytes of a BufferSource (no copy); undefined is empty. */
function bytesOf(input, what) {
	if (input === undefined)
		return new Uint8Array(0);
	if (input instanceof ArrayBuffer)
		return new Uint8Array(input);
	if (ArrayBuffer.isView(input))
		return new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
	throw new TypeError(what + ': the input must be an ArrayBuffer or an ArrayBufferView');
}

/* A string from an array of UTF-16 code units, in slices apply() can take. */
function fromUnits(units) {
	var out = '';
	var i;

	for (i = 0; i < units.length; i += CHUNK)
		out += String.fromCharCode.apply(null, units.slice(i, i + CHUNK));
	return out;
}

function decodeError() {
	return new TypeError("Failed to execute 'decode' on 'TextDecoder': " +
	    'the encoded data was not valid');
}

/*
 * The spec's shared UTF-16 decoder.  `st` keeps the held-back byte and lead
 * surrogate between streaming calls; `flush` ends the stream.
 */
function decodeUtf16(st, bytes, flush, bigEndian) {
	var units = [];
	var i, unit;

	for (i = 0; i < bytes.length; i++) {
		if (st.leadByte === -1) {
			st.leadByte = bytes[i];
			continue;
		}
		unit = bigEndian ? (st.leadByte << 8) | bytes[i] : st.leadByte | (bytes[i] << 8);
		st.leadByte = -1;
		if (st.leadSurrogate !== -1) {
			if (unit >= 0xdc00 && unit <= 0xdfff) {
				units.push(st.leadSurrogate, unit);
				st.leadSurrogate = -1;
				continue;
			}
			/* An unpaired lead: an error, then this unit on its own. */
			st.leadSurrogate = -1;
			if (st.fatal)
				throw decodeError();
			units.push(REPLACEMENT);
		}
		if (unit >= 0xd800 && unit <= 0xdbff) {
			st.leadSurrogate = unit;
		} else if (unit >= 0xdc00 && unit <= 0xdfff) {
			if (st.fatal)
				throw decodeError();
			units.push(REPLACEMENT);
		} else {
			units.push(unit);
		}
	}
	if (flush && (st.leadByte !== -1 || st.leadSurrogate !== -1)) {
		st.leadByte = st.leadSurrogate = -1;
		if (st.fatal)
			throw decodeError();
		units.push(REPLACEMENT);
	}
	return fromUnits(units);
}

function decodeCp1252(bytes) {
	var units = new Array(bytes.length);
	var i, b;

	for (i = 0; i < bytes.length; i++) {
		b = bytes[i];
		units[i] = b >= 0x80 && b <= 0x9f ? CP1252[b - 0x80] : b;
	}
	return fromUnits(units);
}

function decoderState(x) {
	var st = x !== null && typeof x === 'object' ? x[SLOT] : undefined;

	if (st === undefined || st.kind !== 'decoder')
		throw new TypeError('Illegal invocation: not a TextDecoder');
	return st;
}

function resetUtf16(st) {
	st.leadByte = st.leadSurrogate = -1;
	st.bomSeen = false;
}

function TextDecoder(label, options) {
	var encoding = encodingOf(label === undefined ? 'utf-8' : label);
	var st;

	if (!(this instanceof TextDecoder))
		throw new TypeError("Failed to construct 'TextDecoder': use 'new'");
	if (encoding === null)
		throw new RangeError("Failed to construct 'TextDecoder': the encoding label '" +
		    String(label) + "' is invalid or not supported");
	if (options !== undefined && options !== null && typeof options !== 'object')
		throw new TypeError("Failed to construct 'TextDecoder': options must be an object");
	st = {
		kind: 'decoder',
		encoding: encoding,
		fatal: !!(options && options.fatal),
		ignoreBOM: !!(options && options.ignoreBOM),
		native: null
	};
	if (encoding === 'utf-8')
		st.native = new NativeDecoder('utf-8', { fatal: st.fatal, ignoreBOM: st.ignoreBOM });
	resetUtf16(st);
	Object.defineProperty(this, SLOT, { value: st });
}

rt.getter(TextDecoder.prototype, 'encoding', function () { return decoderState(this).encoding; });
rt.getter(TextDecoder.prototype, 'fatal', function () { return decoderState(this).fatal; });
rt.getter(TextDecoder.prototype, 'ignoreBOM', function () { return decoderState(this).ignoreBOM; });
rt.methods(TextDecoder.prototype, {
	decode: function (input, options) {
		var st = decoderState(this);
		var stream = !!(options !== undefined && options !== null && options.stream);
		var bytes = bytesOf(input, "Failed to execute 'decode' on 'TextDecoder'");
		var out;

		if (st.native !== null) {
			try {
				return st.native.decode(bytes, { stream: stream });
			} catch (e) {
				/* An error ends the stream: the next call starts afresh. */
				st.native = new NativeDecoder('utf-8',
				    { fatal: st.fatal, ignoreBOM: st.ignoreBOM });
				throw decodeError();
			}
		}
		if (st.encoding === 'windows-1252')
			return decodeCp1252(bytes);
		try {
			out = decodeUtf16(st, bytes, !stream, st.encoding === 'utf-16be');
		} catch (e) {
			resetUtf16(st);
			throw e;
		}
		if (!st.ignoreBOM && !st.bomSeen && out.length > 0) {
			st.bomSeen = true;
			if (out.charCodeAt(0) === 0xfeff)
				out = out.slice(1);
		}
		if (!stream)
			resetUtf16(st);
		return out;
	}
});
Object.defineProperty(TextDecoder.prototype, Symbol.toStringTag,
    { value: 'TextDecoder', configurable: true });

/*
 * encodeInto: writes whole UTF-8 sequences of `source` while they fit;
 * `read` counts UTF-16 code units (a pair is never split), `written` bytes.
 */
function encodeInto(source, dest) {
	var read = 0, written = 0;
	var n = dest.length;
	var i, c, d, bytes;

	if (source.length * 3 <= n) {
		bytes = rt.encoder.encode(source);
		dest.set(bytes);
		return { read: source.length, written: bytes.length };
	}
	for (i = 0; i < source.length; i++) {
		c = source.charCodeAt(i);
		if (c < 0x80) {
			if (written + 1 > n)
				break;
			dest[written++] = c;
		} else if (c < 0x800) {
			if (written + 2 > n)
				break;
			dest[written++] = 0xc0 | (c >> 6);
			dest[written++] = 0x80 | (c & 0x3f);
		} else if (c >= 0xd800 && c <= 0xdbff && i + 1 < source.length &&
		    (d = source.charCodeAt(i + 1)) >= 0xdc00 && d <= 0xdfff) {
			if (written + 4 > n)
				break;
			c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
			dest[written++] = 0xf0 | (c >> 18);
			dest[written++] = 0x80 | ((c >> 12) & 0x3f);
			dest[written++] = 0x80 | ((c >> 6) & 0x3f);
			dest[written++] = 0x80 | (c & 0x3f);
			i++;
			read++;
		} else {
			/* A lone surrogate is encoded as U+FFFD. */
			if (c >= 0xd800 && c <= 0xdfff)
				c = REPLACEMENT;
			if (written + 3 > n)
				break;
			dest[written++] = 0xe0 | (c >> 12);
			dest[written++] = 0x80 | ((c >> 6) & 0x3f);
			dest[written++] = 0x80 | (c & 0x3f);
		}
		read++;
	}
	return { read: read, written: written };
}

function TextEncoder() {
	if (!(this instanceof TextEncoder))
		throw new TypeError("Failed to construct 'TextEncoder': use 'new'");
	Object.defineProperty(this, SLOT, { value: { kind: 'encoder' } });
}

function encoderState(x) {
	var st = x !== null && typeof x === 'object' ? x[SLOT] : undefined;

	if (st === undefined || st.kind !== 'encoder')
		throw new TypeError('Illegal invocation: not a TextEncoder');
	return st;
}

rt.getter(TextEncoder.prototype, 'encoding', function () {
	encoderState(this);
	return 'utf-8';
});
rt.methods(TextEncoder.prototype, {
	encode: function (input) {
		encoderState(this);
		return rt.encoder.encode(input === undefined ? '' : String(input));
	},
	encodeInto: function (source, destination) {
		encoderState(this);
		if (!(destination instanceof Uint8Array))
			throw new TypeError("Failed to execute 'encodeInto' on 'TextEncoder': " +
			    'the destination must be a Uint8Array');
		return encodeInto(String(source), destination);
	}
});
Object.defineProperty(TextEncoder.prototype, Symbol.toStringTag,
    { value: 'TextEncoder', configurable: true });

/*
 * rt.utf8TextKeepingBOM(bytes): a Uint8Array of UTF-8 as a string, invalid
 * sequences as U+FFFD and a leading BOM kept: what new TextDecoder('utf-8',
 * {ignoreBOM: true}).decode(bytes) returns, without the wrapper's checks and
 * option objects on each call (the UTF-8 decoder above is the native one too).
 */
var bomKeeper = new NativeDecoder('utf-8', { ignoreBOM: true });

rt.utf8TextKeepingBOM = function (bytes) {
	return bomKeeper.decode(bytes);
};

rt.define(globalThis, 'TextEncoder', TextEncoder);
rt.define(globalThis, 'TextDecoder', TextDecoder);

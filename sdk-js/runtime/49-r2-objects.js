/*
 * R2 objects as scripts see them: R2Object (an object's metadata),
 * R2ObjectBody (the metadata and a body streamed from the broker as it is
 * read) and R2Checksums, built from the object documents of broker/store.h.
 * 48-r2.js makes them with rt.r2Object and rt.r2ObjectBody.
 */
'use strict';

var Promise = rt.Promise;
var ReadableStream = rt.ReadableStream;
var BODY = native.hidden('r2body');
var CHECKSUMS = native.hidden('r2checksums');
var HASHES = ['md5', 'sha1', 'sha256', 'sha384', 'sha512'];
/* The string fields of httpMetadata and the headers writeHttpMetadata sets from them. */
var HTTP_FIELDS = [
	['contentType', 'content-type'],
	['contentLanguage', 'content-language'],
	['contentDisposition', 'content-disposition'],
	['contentEncoding', 'content-encoding'],
	['cacheControl', 'cache-control']
];
var DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
var MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
var HEX = /^(?:[0-9a-f]{2})*$/;
/* IMF-fixdate and RFC 850: [day,] DD Mon YYYY (or DD-Mon-YY) hh:mm:ss GMT */
var FIXDATE = new RegExp('^(?:[A-Za-z]+,[\\t ]*)?(\\d{1,2})[ -]([A-Za-z]{3})[ -](\\d{2}|\\d{4})' +
    '[\\t ]+(\\d{2}):(\\d{2}):(\\d{2})(?:[\\t ]+(?:GMT|UTC))?$');
/* asctime: Day Mon D hh:mm:ss YYYY */
var ASCTIME = /^[A-Za-z]{3}[\t ]+([A-Za-z]{3})[\t ]+(\d{1,2})[\t ]+(\d{2}):(\d{2}):(\d{2})[\t ]+(\d{4})$/;
var USED = 'Body has already been used. It can only be used once. ' +
    'Use tee() first if you need to read it twice.';

function pad2(n) {
	return n < 10 ? '0' + n : String(n);
}

/*
 * An IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT") for a time in ms: what
 * HTTP wants, which Duktape's toUTCString does not give.
 */
function httpDate(ms) {
	var d = new Date(ms);

	return DAYS[d.getUTCDay()] + ', ' + pad2(d.getUTCDate()) + ' ' + MONTHS[d.getUTCMonth()] +
	    ' ' + d.getUTCFullYear() + ' ' + pad2(d.getUTCHours()) + ':' + pad2(d.getUTCMinutes()) +
	    ':' + pad2(d.getUTCSeconds()) + ' GMT';
}
rt.httpDate = httpDate;

/*
 * The time of an HTTP date (IMF-fixdate, RFC 850 or asctime, as RFC 9110
 * accepts), falling back to Date.parse; NaN when it is none of these.
 */
rt.parseHttpDate = function (text) {
	var s = String(text).replace(/^[\t ]+|[\t ]+$/g, '');
	var m = FIXDATE.exec(s);
	var year, month;

	if (m === null) {
		m = ASCTIME.exec(s);
		if (m !== null)
			m = [m[0], m[2], m[1], m[6], m[3], m[4], m[5]];
	}
	if (m === null)
		return Date.parse(s);
	month = MONTHS.indexOf(m[2].charAt(0).toUpperCase() + m[2].slice(1).toLowerCase());
	if (month === -1)
		return NaN;
	year = Number(m[3]);
	if (m[3].length === 2)
		year += year < 70 ? 2000 : 1900;
	return Date.UTC(year, month, Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6]));
};

function hexToBuffer(hex) {
	var buf = new ArrayBuffer(hex.length / 2);
	var bytes = new Uint8Array(buf);
	var i;

	for (i = 0; i < bytes.length; i++)
		bytes[i] = parseInt(hex.substr(i * 2, 2), 16);
	return buf;
}

/* Lower-case hex of a Uint8Array. */
rt.hexOf = function (bytes) {
	var out = [];
	var i;

	for (i = 0; i < bytes.length; i++)
		out.push((bytes[i] < 16 ? '0' : '') + bytes[i].toString(16));
	return out.join('');
};

function readOnly(obj, name, value) {
	Object.defineProperty(obj, name, { value: value, enumerable: true });
}

function illegal() {
	throw new TypeError('Illegal constructor');
}

/* --- R2Checksums ----------------------------------------------------------------- */

function R2Checksums() {
	illegal();
}

/* Checksums from the document's {"md5": hex, ...}: ArrayBuffers, and hex again for toJSON. */
function makeChecksums(doc) {
	var c = Object.create(R2Checksums.prototype);
	var hex = {};
	var i, name, value;

	for (i = 0; i < HASHES.length; i++) {
		name = HASHES[i];
		value = doc !== null && typeof doc === 'object' ? doc[name] : undefined;
		if (typeof value === 'string' && HEX.test(value.toLowerCase())) {
			hex[name] = value.toLowerCase();
			readOnly(c, name, hexToBuffer(hex[name]));
		} else {
			readOnly(c, name, undefined);
		}
	}
	Object.defineProperty(c, CHECKSUMS, { value: hex });
	return c;
}

rt.methods(R2Checksums.prototype, {
	/* The checksums present, as lower-case hex strings. */
	toJSON: function () {
		var hex = this !== null && typeof this === 'object' ? this[CHECKSUMS] : undefined;
		var out = {};
		var i;

		if (hex === undefined)
			throw new TypeError('Illegal invocation: not an R2Checksums object');
		for (i = 0; i < HASHES.length; i++)
			if (hex[HASHES[i]] !== undefined)
				out[HASHES[i]] = hex[HASHES[i]];
		return out;
	}
});
Object.defineProperty(R2Checksums.prototype, Symbol.toStringTag,
    { value: 'R2Checksums', configurable: true });

/* --- R2Object -------------------------------------------------------------------- */

function R2Object() {
	illegal();
}

function httpMetadataOf(doc) {
	var out = {};
	var i, v;

	for (i = 0; i < HTTP_FIELDS.length; i++) {
		v = doc[HTTP_FIELDS[i][0]];
		if (typeof v === 'string')
			out[HTTP_FIELDS[i][0]] = v;
	}
	if (typeof doc.cacheExpiry === 'number')
		out.cacheExpiry = new Date(doc.cacheExpiry);
	return out;
}

function customMetadataOf(doc) {
	var out = {};
	var keys = Object.keys(doc);
	var i;

	for (i = 0; i < keys.length; i++)
		out[keys[i]] = String(doc[keys[i]]);
	return out;
}

function isObject(x) {
	return x !== null && typeof x === 'object';
}

/*
 * Fills the fields of an R2Object from an object document.  httpMetadata and
 * customMetadata are objects ({} when the object has none), except that a
 * list result has them only when `include` asked for them.
 */
function fill(o, doc, include) {
	var http = include.http ? httpMetadataOf(isObject(doc.httpMetadata) ? doc.httpMetadata : {}) :
	    undefined;
	var custom = include.custom ?
	    customMetadataOf(isObject(doc.customMetadata) ? doc.customMetadata : {}) : undefined;

	readOnly(o, 'key', String(doc.key));
	readOnly(o, 'version', String(doc.version));
	readOnly(o, 'size', Number(doc.size));
	readOnly(o, 'etag', String(doc.etag));
	readOnly(o, 'httpEtag', typeof doc.httpEtag === 'string' ? doc.httpEtag :
	    '"' + String(doc.etag) + '"');
	readOnly(o, 'checksums', makeChecksums(doc.checksums));
	readOnly(o, 'uploaded', new Date(Number(doc.uploaded)));
	readOnly(o, 'httpMetadata', http);
	readOnly(o, 'customMetadata', custom);
	readOnly(o, 'range', isObject(doc.range) ?
	    { offset: Number(doc.range.offset), length: Number(doc.range.length) } : undefined);
	readOnly(o, 'storageClass', typeof doc.storageClass === 'string' ? doc.storageClass :
	    'Standard');
	readOnly(o, 'ssecKeyMd5', undefined);
	return o;
}

rt.methods(R2Object.prototype, {
	/* Sets the Content-* and caching headers of the object's httpMetadata on `headers`. */
	writeHttpMetadata: function (headers) {
		var m, i;

		if (!(this instanceof R2Object))
			throw new TypeError('Illegal invocation: not an R2Object');
		m = this.httpMetadata;
		if (!(headers instanceof rt.Headers))
			throw new TypeError("Failed to execute 'writeHttpMetadata' on 'R2Object': " +
			    "parameter 1 is not of type 'Headers'.");
		if (m === undefined)
			throw new TypeError('HTTP metadata unknown for key `' + this.key +
			    "`. Did you forget to add 'httpMetadata' to `include` when listing?");
		for (i = 0; i < HTTP_FIELDS.length; i++)
			if (typeof m[HTTP_FIELDS[i][0]] === 'string')
				rt.Headers.prototype.set.call(headers, HTTP_FIELDS[i][1], m[HTTP_FIELDS[i][0]]);
		if (m.cacheExpiry instanceof Date && m.cacheExpiry.getTime() === m.cacheExpiry.getTime())
			rt.Headers.prototype.set.call(headers, 'expires', httpDate(m.cacheExpiry.getTime()));
	}
});
Object.defineProperty(R2Object.prototype, Symbol.toStringTag,
    { value: 'R2Object', configurable: true });

/* --- R2ObjectBody ---------------------------------------------------------------- */

function R2ObjectBody() {
	illegal();
}
R2ObjectBody.prototype = Object.create(R2Object.prototype, {
	constructor: { value: R2ObjectBody, writable: true, configurable: true }
});
Object.setPrototypeOf(R2ObjectBody, R2Object);

function bodyOf(o) {
	var st = isObject(o) ? o[BODY] : undefined;

	if (st === undefined)
		throw new TypeError('Illegal invocation: not an R2ObjectBody');
	return st;
}

/* Whether a stream has been read from or cancelled (web-streams-polyfill's slot). */
function isDisturbed(stream) {
	return stream._disturbed === true;
}

/* All the bytes of the body, read from its stream; the body is used afterwards. */
function consume(o) {
	var st, reader, parts;

	try {
		st = bodyOf(o);
		if (isDisturbed(st.stream))
			throw new TypeError(USED);
		reader = st.stream.getReader();
	} catch (e) {
		return Promise.reject(e);
	}
	parts = [];
	function next() {
		return reader.read().then(function (r) {
			var bytes;

			if (r.done)
				return parts.length === 1 ? parts[0] : rt.concatBytes(parts);
			try {
				bytes = rt.chunkBytes(r.value);
			} catch (e) {
				reader.cancel(e);
				throw e;
			}
			if (bytes.length > 0)
				parts.push(bytes);
			return next();
		});
	}
	return next().then(function (bytes) {
		reader.releaseLock();
		return bytes;
	});
}

rt.getter(R2ObjectBody.prototype, 'body', function () {
	return bodyOf(this).stream;
});
rt.getter(R2ObjectBody.prototype, 'bodyUsed', function () {
	return isDisturbed(bodyOf(this).stream);
});
rt.methods(R2ObjectBody.prototype, {
	arrayBuffer: function () {
		return consume(this).then(rt.toArrayBuffer);
	},
	bytes: function () {
		return consume(this).then(function (bytes) {
			/* A chunk may be a view into a larger buffer: hand out an exact one. */
			return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ?
			    bytes : new Uint8Array(rt.toArrayBuffer(bytes));
		});
	},
	text: function () {
		return consume(this).then(rt.fromUtf8);
	},
	json: function () {
		return consume(this).then(function (bytes) {
			return JSON.parse(rt.fromUtf8(bytes));
		});
	},
	blob: function () {
		var self = this;

		return consume(this).then(function (bytes) {
			var m = self.httpMetadata;
			var type = m !== undefined && typeof m.contentType === 'string' ? m.contentType : '';

			return rt.blobOf(new Uint8Array(rt.toArrayBuffer(bytes)), type);
		});
	}
});
Object.defineProperty(R2ObjectBody.prototype, Symbol.toStringTag,
    { value: 'R2ObjectBody', configurable: true });

/* A stream that is over at once: the body of an empty object. */
rt.emptyStream = function () {
	return new ReadableStream({
		start: function (controller) {
			controller.close();
		}
	});
};

/*
 * An R2Object from an object document.  `list` says the document comes from
 * a list, where httpMetadata and customMetadata are there only when asked
 * for with `include` (`http`, `custom`).
 */
rt.r2Object = function (doc, list, http, custom) {
	if (!isObject(doc))
		throw new Error('R2: the broker sent no object');
	return fill(Object.create(R2Object.prototype), doc,
	    list ? { http: http === true, custom: custom === true } : { http: true, custom: true });
};

/* An R2ObjectBody from an object document and its body (a ReadableStream, or null when empty). */
rt.r2ObjectBody = function (doc, stream) {
	var o;

	if (!isObject(doc))
		throw new Error('R2: the broker sent no object');
	o = fill(Object.create(R2ObjectBody.prototype), doc, { http: true, custom: true });
	Object.defineProperty(o, BODY, { value: { stream: stream !== null && stream !== undefined ?
	    stream : rt.emptyStream() } });
	return o;
};

rt.R2Object = R2Object;
rt.R2ObjectBody = R2ObjectBody;
rt.R2Checksums = R2Checksums;

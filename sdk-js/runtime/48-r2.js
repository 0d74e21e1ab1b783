/*
 * R2 bindings: R2Bucket (head, get, put, delete, list and multipart uploads)
 * and R2MultipartUpload, over the broker's R2 methods (broker/store.h) through
 * rt.call.  Arguments are checked and converted here, before any call; the
 * objects that come back are built by 49-r2-objects.js.
 */
'use strict';

var Promise = rt.Promise;
var BUCKET = native.hidden('r2bucket');
var UPLOAD = native.hidden('r2upload');
var HTTP_FIELDS = [
	['contentType', 'content-type'],
	['contentLanguage', 'content-language'],
	['contentDisposition', 'content-disposition'],
	['contentEncoding', 'content-encoding'],
	['cacheControl', 'cache-control']
];
var HASHES = [
	{ name: 'md5', label: 'MD5', size: 16 },
	{ name: 'sha1', label: 'SHA-1', size: 20 },
	{ name: 'sha256', label: 'SHA-256', size: 32 },
	{ name: 'sha384', label: 'SHA-384', size: 48 },
	{ name: 'sha512', label: 'SHA-512', size: 64 }
];
var INCLUDE = ['httpMetadata', 'customMetadata'];
var STORAGE_CLASSES = ['Standard', 'InfrequentAccess'];
var HEX = /^[0-9a-fA-F]*$/;
var RANGE_HEADER = /^[\t ]*bytes[\t ]*=[\t ]*(\d*)[\t ]*-[\t ]*(\d*)[\t ]*$/i;
var CODE_SUFFIX = /\((\d+)\)$/;
var STATUS_INVALID = 1;

function isObject(x) {
	return x !== null && (typeof x === 'object' || typeof x === 'function');
}

function isHeaders(x) {
	return x instanceof rt.Headers;
}

/* Runs fn, turning what it throws into a rejection: R2 methods never throw. */
function attempt(fn) {
	try {
		return Promise.resolve(fn());
	} catch (e) {
		return Promise.reject(e);
	}
}

/*
 * The error a script sees for a failed call: the broker's message (which
 * ends in "(code)") after "<action>: ", as Cloudflare words R2 errors, with
 * `code` and `action`.  Errors from the transport itself pass unchanged.
 */
function r2Error(action, e) {
	var message, err, m;

	if (!isObject(e) || e.storeStatus === undefined)
		return e;
	message = String(e.message);
	if (message.indexOf(action + ': ') !== 0)
		message = action + ': ' + message;
	m = CODE_SUFFIX.exec(message);
	err = e.storeStatus === STATUS_INVALID && m === null ? new TypeError(message) :
	    new Error(message);
	if (typeof e.code === 'number' && e.code !== 0)
		err.code = e.code;
	else if (m !== null)
		err.code = Number(m[1]);
	err.action = action;
	err.storeStatus = e.storeStatus;
	return err;
}

/* One storage call; it never throws (rt.call does outside a request or past the limit). */
function call(binding, action, method, args, input) {
	var p;

	try {
		p = rt.call(binding, method, args, input);
	} catch (e) {
		return Promise.reject(e);
	}
	return p.then(undefined, function (e) {
		throw r2Error(action, e);
	});
}

/* Releases a body nobody will read, so that the broker can let go of it. */
function discard(body) {
	if (isObject(body) && typeof body.cancel === 'function' && !body.locked)
		body.cancel().then(undefined, function () {});
}

function fail(what, message) {
	var iface = what === 'uploadPart' ? 'R2MultipartUpload' : 'R2Bucket';

	return new TypeError("Failed to execute '" + what + "' on '" + iface + "': " + message);
}

function keyOf(key, what) {
	if (key === undefined)
		throw fail(what, "parameter 1 is not of type 'string'.");
	return String(key);
}

function optionsOf(options, what) {
	if (options === undefined || options === null)
		return {};
	if (!isObject(options))
		throw fail(what, 'the options must be an object.');
	return options;
}

function optionalString(x) {
	return x === undefined || x === null ? undefined : String(x);
}

/* A time in ms from a Date (or a number of ms); TypeError for anything else or an invalid one. */
function timeOf(x, what) {
	var ms = x instanceof Date ? x.getTime() : (typeof x === 'number' ? x : NaN);

	if (ms !== ms || ms === Infinity || ms === -Infinity)
		throw new TypeError(what + ' must be a valid Date');
	return ms;
}

/* --- conditions, ranges, metadata, checksums ------------------------------------------ */

function checkEtag(etag) {
	var s = String(etag);

	if (s.length >= 2 && s.charAt(0) === '"' && s.charAt(s.length - 1) === '"')
		throw new TypeError('Conditional ETag should not be wrapped in quotes (' + s + ').');
	return s;
}

/* An If-Match / If-None-Match value: `*`, or one or more (possibly weak) quoted etags. */
function checkEtagHeader(value) {
	var s = value.replace(/^[\t ]+|[\t ]+$/g, '');

	if (s !== '*' && !/^(?:W\/)?"[^"]*"(?:[\t ]*,[\t ]*(?:W\/)?"[^"]*")*$/.test(s))
		throw new Error('Invalid conditional header: ' + JSON.stringify(value));
	return s;
}

/* Conditions from request headers: HTTP dates have whole seconds, and so do the comparisons. */
function conditionFromHeaders(h) {
	var out = { secondsGranularity: true };
	var v, ms;

	if ((v = rt.headersGet(h, 'if-match')) !== null)
		out.etagMatches = checkEtagHeader(v);
	if ((v = rt.headersGet(h, 'if-none-match')) !== null)
		out.etagDoesNotMatch = checkEtagHeader(v);
	/* A date HTTP cannot read makes the header void, as RFC 9110 says. */
	if ((v = rt.headersGet(h, 'if-modified-since')) !== null && (ms = rt.parseHttpDate(v)) === ms)
		out.uploadedAfter = ms;
	if ((v = rt.headersGet(h, 'if-unmodified-since')) !== null && (ms = rt.parseHttpDate(v)) === ms)
		out.uploadedBefore = ms;
	return out;
}

/* The "onlyIf" argument from an R2Conditional or a Headers; undefined for none. */
function conditionOf(onlyIf) {
	var out = {};

	if (onlyIf === undefined || onlyIf === null)
		return undefined;
	if (isHeaders(onlyIf))
		return conditionFromHeaders(onlyIf);
	if (!isObject(onlyIf))
		throw new TypeError('onlyIf must be an R2Conditional object or a Headers');
	if (onlyIf.etagMatches !== undefined)
		out.etagMatches = checkEtag(onlyIf.etagMatches);
	if (onlyIf.etagDoesNotMatch !== undefined)
		out.etagDoesNotMatch = checkEtag(onlyIf.etagDoesNotMatch);
	if (onlyIf.uploadedBefore !== undefined)
		out.uploadedBefore = timeOf(onlyIf.uploadedBefore, 'onlyIf.uploadedBefore');
	if (onlyIf.uploadedAfter !== undefined)
		out.uploadedAfter = timeOf(onlyIf.uploadedAfter, 'onlyIf.uploadedAfter');
	if (onlyIf.secondsGranularity !== undefined)
		out.secondsGranularity = onlyIf.secondsGranularity === true;
	return out;
}

function rangeNumber(x, what) {
	var n = Number(x);

	if (typeof x !== 'number' && (x === null || typeof x === 'object'))
		throw new TypeError('Invalid range. ' + what + ' must be a number.');
	if (!(n >= 0))
		throw new RangeError('Invalid range. ' + what + ' (' + n +
		    ') must be greater than or equal to 0.');
	if (Math.floor(n) !== n)
		throw new RangeError('Invalid range. ' + what + ' (' + n +
		    ') must be an integer, not floating point.');
	return n;
}

/* A single "bytes=a-b", "bytes=a-" or "bytes=-n"; anything else is ignored, as HTTP allows. */
function rangeFromHeaders(h) {
	var v = rt.headersGet(h, 'range');
	var m = v === null ? null : RANGE_HEADER.exec(v);
	var from, to;

	if (m === null || (m[1] === '' && m[2] === ''))
		return undefined;
	if (m[1] === '')
		return { suffix: Number(m[2]) };
	from = Number(m[1]);
	if (m[2] === '')
		return { offset: from };
	to = Number(m[2]);
	if (to < from)
		return undefined;
	return { offset: from, length: to - from + 1 };
}

/* The "range" argument from {offset, length} / {suffix} or a Headers; undefined for none. */
function rangeOf(range) {
	var out = {};

	if (range === undefined || range === null)
		return undefined;
	if (isHeaders(range))
		return rangeFromHeaders(range);
	if (!isObject(range))
		throw new TypeError('range must be an R2Range object or a Headers');
	if (range.offset !== undefined)
		out.offset = rangeNumber(range.offset, 'Starting offset');
	if (range.length !== undefined)
		out.length = rangeNumber(range.length, 'Length');
	if (range.suffix !== undefined) {
		if (range.offset !== undefined)
			throw new TypeError('Suffix is incompatible with offset.');
		if (range.length !== undefined)
			throw new TypeError('Suffix is incompatible with length.');
		out.suffix = rangeNumber(range.suffix, 'Suffix');
	}
	return out;
}

/* httpMetadata from an R2HTTPMetadata object or a Headers; undefined for none. */
function httpMetadataOf(m) {
	var out = {};
	var i, v, ms;

	if (m === undefined || m === null)
		return undefined;
	if (isHeaders(m)) {
		for (i = 0; i < HTTP_FIELDS.length; i++)
			if ((v = rt.headersGet(m, HTTP_FIELDS[i][1])) !== null)
				out[HTTP_FIELDS[i][0]] = v;
		if ((v = rt.headersGet(m, 'expires')) !== null && (ms = rt.parseHttpDate(v)) === ms)
			out.cacheExpiry = ms;
		return out;
	}
	if (!isObject(m))
		throw new TypeError('httpMetadata must be an R2HTTPMetadata object or a Headers');
	for (i = 0; i < HTTP_FIELDS.length; i++)
		if ((v = optionalString(m[HTTP_FIELDS[i][0]])) !== undefined)
			out[HTTP_FIELDS[i][0]] = v;
	if (m.cacheExpiry !== undefined && m.cacheExpiry !== null)
		out.cacheExpiry = timeOf(m.cacheExpiry, 'httpMetadata.cacheExpiry');
	return out;
}

function customMetadataOf(m) {
	var out = {};
	var keys, i;

	if (m === undefined || m === null)
		return undefined;
	if (!isObject(m))
		throw new TypeError('customMetadata must be an object of strings');
	keys = Object.keys(m);
	for (i = 0; i < keys.length; i++)
		out[keys[i]] = String(m[keys[i]]);
	return out;
}

/* A checksum as lower-case hex, from hex text or the digest's bytes. */
function hashOf(hash, value) {
	var bytes;

	if (typeof value === 'string') {
		if (value.length !== hash.size * 2)
			throw new TypeError(hash.label + ' is ' + hash.size * 2 + ' hex characters, not ' +
			    value.length);
		if (!HEX.test(value))
			throw new TypeError('Provided ' + hash.label + " wasn't a valid hex string");
		return value.toLowerCase();
	}
	if (value instanceof ArrayBuffer)
		bytes = new Uint8Array(value);
	else if (ArrayBuffer.isView(value))
		bytes = new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
	else
		throw new TypeError(hash.label + ' must be a hex string, an ArrayBuffer or an ' +
		    'ArrayBufferView');
	if (bytes.length !== hash.size)
		throw new TypeError(hash.label + ' is ' + hash.size + ' bytes, not ' + bytes.length);
	return rt.hexOf(bytes);
}

function checkStorageClass(s) {
	if (s !== undefined && STORAGE_CLASSES.indexOf(String(s)) === -1)
		throw new TypeError("storageClass must be 'Standard' or 'InfrequentAccess', not " +
		    JSON.stringify(String(s)));
}

function checkSsecKey(key) {
	if (key !== undefined && key !== null)
		throw new TypeError('ssecKey: server-side encryption with customer keys is not ' +
		    'supported');
}

/*
 * The body of a put or uploadPart: bytes (a copy, since the broker reads them
 * later) or the stream itself, which the broker pulls as it writes.
 */
function inputOf(value) {
	var bytes;

	if (value === undefined || value === null)
		return new Uint8Array(0);
	if (typeof value === 'string')
		return rt.utf8(value);
	if ((bytes = rt.copyBytes(value)) !== null)
		return bytes;
	if (rt.isBlob(value))
		return rt.blobBytes(value);
	if (rt.isReadableStream(value)) {
		if (value.locked || value._disturbed === true)
			throw new TypeError('This ReadableStream is disturbed (has already been read ' +
			    'from) or locked, and cannot be used as a value.');
		return value;
	}
	throw new TypeError('The value must be a ReadableStream, an ArrayBuffer, an ' +
	    'ArrayBufferView, a string, a Blob or null');
}

/* A stream given as a value that will never be read is cancelled, as Workers does. */
function cancelValue(value, error) {
	if (rt.isReadableStream(value) && !value.locked)
		value.cancel(error).then(undefined, function () {});
}

/* --- R2Bucket ------------------------------------------------------------------------- */

function R2Bucket(binding) {
	if (!(this instanceof R2Bucket))
		throw new TypeError("Failed to construct 'R2Bucket': use 'new'");
	Object.defineProperty(this, BUCKET, { value: { binding: String(binding) } });
}

function bindingOf(b) {
	var st = isObject(b) ? b[BUCKET] : undefined;

	if (st === undefined)
		throw new TypeError('Illegal invocation: not an R2Bucket');
	return st.binding;
}

function listObjects(list, include) {
	var out = [];
	var i;

	if (!Array.isArray(list))
		return out;
	for (i = 0; i < list.length; i++)
		out.push(rt.r2Object(list[i], true, include.indexOf('httpMetadata') !== -1,
		    include.indexOf('customMetadata') !== -1));
	return out;
}

function listArgs(o) {
	var args = {};
	var include = [];
	var i, name;

	if (o.limit !== undefined && o.limit !== null) {
		args.limit = Number(o.limit);
		if (args.limit !== args.limit)
			throw new TypeError('list: limit must be a number');
	}
	if (o.prefix !== undefined && o.prefix !== null)
		args.prefix = String(o.prefix);
	if (o.cursor !== undefined && o.cursor !== null)
		args.cursor = String(o.cursor);
	if (o.delimiter !== undefined && o.delimiter !== null)
		args.delimiter = String(o.delimiter);
	if (o.startAfter !== undefined && o.startAfter !== null)
		args.startAfter = String(o.startAfter);
	if (o.include !== undefined && o.include !== null) {
		if (!isObject(o.include) || typeof o.include.length !== 'number')
			throw new TypeError('list: include must be an array');
		for (i = 0; i < o.include.length; i++) {
			name = String(o.include[i]);
			if (INCLUDE.indexOf(name) === -1)
				throw new RangeError('Unsupported include value ' + name);
			if (include.indexOf(name) === -1)
				include.push(name);
		}
		args.include = include;
	}
	return args;
}

/* The arguments of put and createMultipartUpload shared by both: metadata. */
function metadataArgs(args, o) {
	var http = httpMetadataOf(o.httpMetadata);
	var custom = customMetadataOf(o.customMetadata);

	if (http !== undefined)
		args.httpMetadata = http;
	if (custom !== undefined)
		args.customMetadata = custom;
	checkStorageClass(o.storageClass);
	checkSsecKey(o.ssecKey);
}

function putArgs(key, o) {
	var args = { key: key };
	var cond = conditionOf(o.onlyIf);
	var given = null;
	var i, hash;

	metadataArgs(args, o);
	if (cond !== undefined)
		args.onlyIf = cond;
	for (i = 0; i < HASHES.length; i++) {
		hash = HASHES[i];
		if (o[hash.name] === undefined || o[hash.name] === null)
			continue;
		if (given !== null)
			throw new TypeError('You cannot specify multiple hashing algorithms.');
		given = hash.name;
		args[hash.name] = hashOf(hash, o[hash.name]);
	}
	return args;
}

rt.methods(R2Bucket.prototype, {
	/* The object's metadata, or null when there is no such key. */
	head: function (key) {
		var self = this;

		return attempt(function () {
			var binding = bindingOf(self);

			return call(binding, 'head', 'head', { key: keyOf(key, 'head') }).then(function (res) {
				discard(res.body);
				return res.doc === null || !isObject(res.doc.object) ? null :
				    rt.r2Object(res.doc.object, false);
			});
		});
	},
	/*
	 * The object with its body (streamed), null when there is no such key, or
	 * the object without a body when onlyIf does not hold.
	 */
	get: function (key, options) {
		var self = this;

		return attempt(function () {
			var binding = bindingOf(self);
			var args = { key: keyOf(key, 'get') };
			var o = optionsOf(options, 'get');
			var cond = conditionOf(o.onlyIf);
			var range = rangeOf(o.range);

			checkSsecKey(o.ssecKey);
			if (cond !== undefined)
				args.onlyIf = cond;
			if (range !== undefined)
				args.range = range;
			return call(binding, 'get', 'get', args).then(function (res) {
				var doc = res.doc;

				if (doc === null || !isObject(doc.object)) {
					discard(res.body);
					return null;
				}
				if (doc.body !== true) {
					discard(res.body);
					return rt.r2Object(doc.object, false);
				}
				return rt.r2ObjectBody(doc.object, res.body);
			});
		});
	},
	/* The new object, or null when onlyIf does not hold. */
	put: function (key, value, options) {
		var self = this;
		var binding, input, args;

		try {
			binding = bindingOf(self);
			args = putArgs(keyOf(key, 'put'), optionsOf(options, 'put'));
			input = inputOf(value);
		} catch (e) {
			cancelValue(value, e);
			return Promise.reject(e);
		}
		return call(binding, 'put', 'put', args, input).then(function (res) {
			discard(res.body);
			return res.doc === null || !isObject(res.doc.object) ? null :
			    rt.r2Object(res.doc.object, false);
		});
	},
	'delete': function (keys) {
		var self = this;

		return attempt(function () {
			var binding = bindingOf(self);
			var list = [];
			var i;

			if (Array.isArray(keys)) {
				for (i = 0; i < keys.length; i++)
					list.push(keyOf(keys[i], 'delete'));
			} else {
				list.push(keyOf(keys, 'delete'));
			}
			return call(binding, 'delete', 'delete', { keys: list }).then(function (res) {
				discard(res.body);
			});
		});
	},
	list: function (options) {
		var self = this;

		return attempt(function () {
			var binding = bindingOf(self);
			var args = listArgs(optionsOf(options, 'list'));
			var include = args.include === undefined ? [] : args.include;

			return call(binding, 'list', 'list', args).then(function (res) {
				var doc = isObject(res.doc) ? res.doc : {};
				var out = {
					objects: listObjects(doc.objects, include),
					delimitedPrefixes: Array.isArray(doc.delimitedPrefixes) ?
					    doc.delimitedPrefixes.map(String) : [],
					truncated: doc.truncated === true
				};

				discard(res.body);
				if (typeof doc.cursor === 'string' && doc.cursor !== '')
					out.cursor = doc.cursor;
				return out;
			});
		});
	},
	createMultipartUpload: function (key, options) {
		var self = this;

		return attempt(function () {
			var binding = bindingOf(self);
			var k = keyOf(key, 'createMultipartUpload');
			var args = { key: k };

			metadataArgs(args, optionsOf(options, 'createMultipartUpload'));
			return call(binding, 'createMultipartUpload', 'createMultipartUpload', args)
			    .then(function (res) {
				discard(res.body);
				if (!isObject(res.doc) || typeof res.doc.uploadId !== 'string')
					throw new Error('createMultipartUpload: the broker sent no upload id');
				return makeUpload(binding, k, res.doc.uploadId);
			});
		});
	},
	/* An upload begun earlier (no call: a wrong id shows when it is used). */
	resumeMultipartUpload: function (key, uploadId) {
		var binding = bindingOf(this);

		if (uploadId === undefined)
			throw fail('resumeMultipartUpload', "parameter 2 is not of type 'string'.");
		return makeUpload(binding, keyOf(key, 'resumeMultipartUpload'), String(uploadId));
	}
});
Object.defineProperty(R2Bucket.prototype, Symbol.toStringTag,
    { value: 'R2Bucket', configurable: true });

/* --- R2MultipartUpload ---------------------------------------------------------------- */

function R2MultipartUpload() {
	throw new TypeError('Illegal constructor');
}

function makeUpload(binding, key, uploadId) {
	var u = Object.create(R2MultipartUpload.prototype);

	Object.defineProperty(u, UPLOAD, { value: { binding: binding, key: key, uploadId: uploadId } });
	Object.defineProperty(u, 'key', { value: key, enumerable: true });
	Object.defineProperty(u, 'uploadId', { value: uploadId, enumerable: true });
	return u;
}

function uploadOf(u) {
	var st = isObject(u) ? u[UPLOAD] : undefined;

	if (st === undefined)
		throw new TypeError('Illegal invocation: not an R2MultipartUpload');
	return st;
}

function partNumberOf(n) {
	var v = Number(n);

	if (!(v >= 1 && v <= 10000) || Math.floor(v) !== v)
		throw new TypeError('Part number must be between 1 and 10000 (inclusive). ' +
		    'Actual value was: ' + String(n));
	return v;
}

rt.methods(R2MultipartUpload.prototype, {
	/* Resolves to the part's {partNumber, etag}, for complete(). */
	uploadPart: function (partNumber, value, options) {
		var st, number, input;

		try {
			st = uploadOf(this);
			number = partNumberOf(partNumber);
			checkSsecKey(optionsOf(options, 'uploadPart').ssecKey);
			input = inputOf(value);
		} catch (e) {
			cancelValue(value, e);
			return Promise.reject(e);
		}
		return call(st.binding, 'uploadPart', 'uploadPart',
		    { key: st.key, uploadId: st.uploadId, partNumber: number }, input)
		    .then(function (res) {
			discard(res.body);
			return { partNumber: number, etag: String(res.doc.etag) };
		});
	},
	abort: function () {
		var self = this;

		return attempt(function () {
			var st = uploadOf(self);

			return call(st.binding, 'abortMultipartUpload', 'abortMultipartUpload',
			    { key: st.key, uploadId: st.uploadId }).then(function (res) {
				discard(res.body);
			});
		});
	},
	/* The object the parts make, in the order given. */
	complete: function (uploadedParts) {
		var self = this;

		return attempt(function () {
			var st = uploadOf(self);
			var parts = [];
			var i, p;

			if (!Array.isArray(uploadedParts))
				throw new TypeError('complete: the parts must be an array of ' +
				    '{partNumber, etag}');
			for (i = 0; i < uploadedParts.length; i++) {
				p = uploadedParts[i];
				if (!isObject(p) || p.etag === undefined)
					throw new TypeError('complete: part ' + i + ' is not a ' +
					    '{partNumber, etag} object');
				parts.push({ partNumber: partNumberOf(p.partNumber), etag: String(p.etag) });
			}
			return call(st.binding, 'completeMultipartUpload', 'completeMultipartUpload',
			    { key: st.key, uploadId: st.uploadId, parts: parts }).then(function (res) {
				discard(res.body);
				if (!isObject(res.doc) || !isObject(res.doc.object))
					throw new Error('completeMultipartUpload: the broker sent no object');
				return rt.r2Object(res.doc.object, false);
			});
		});
	}
});
Object.defineProperty(R2MultipartUpload.prototype, Symbol.toStringTag,
    { value: 'R2MultipartUpload', configurable: true });

rt.R2Bucket = R2Bucket;
rt.R2MultipartUpload = R2MultipartUpload;

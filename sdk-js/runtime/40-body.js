/*
 * The Body mixin shared by Request and Response: the bytes of a body (known
 * at once, arriving from the host in chunks, or read from a ReadableStream),
 * the Fetch spec's "extract a body" for every BodyInit, the body as a
 * ReadableStream, and text/json/arrayBuffer/bytes/blob/formData.
 */
'use strict';

/* The runtime's own Promise and constructors, whatever tenant code does to the globals. */
var Promise = rt.Promise;
var ReadableStream = rt.ReadableStream;
var SearchParams = globalThis.URLSearchParams;
var BODY = native.hidden('body');
var BOUNDARY_CHARS = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
var LATIN1_CHUNK = 8192;

/*
 * A body: `bytes` null and `done` for no body; otherwise the bytes once done.
 * A body still arriving keeps its chunks; `followers` are the bodies of
 * clones (and of a Request built from this one) that get every later chunk.
 * Once `stream` is set (a ReadableStream body, or `.body` was asked for), the
 * stream is the body: reads go through it, and chunks still arriving are
 * enqueued through `controller`.
 */
function bodyState(bytes, done) {
	return {
		bytes: bytes, done: done, chunks: [], size: 0, waiters: [], used: false,
		followers: [], detached: false, stream: null, controller: null,
		flow: null, taken: 0, queued: 0
	};
}

/*
 * Flow control of a request body arriving from the host: the supervisor
 * sends a window of it and more only as the script takes what it has.  A
 * body's `taken` counts the bytes its reader has taken; the request's `flow`
 * (shared with clones) credits the host with the furthest any reader got,
 * so bytes read by two clones are credited once.  Bytes are taken when a
 * whole-body read is waiting for them, when the stream's reader has pulled
 * past them, or when nobody will ever read them (a cancelled stream).
 */
function take(st, n) {
	var f = st.flow;

	if (f === null || n <= 0)
		return;
	st.taken += n;
	if (st.taken > f.credited) {
		native.reqCredit(f.handle, st.taken - f.credited);
		f.credited = st.taken;
	}
}

/* A body read from `stream`. */
function streamState(stream) {
	var st = bodyState(null, false);

	st.stream = stream;
	return st;
}

function isReadableStream(x) {
	return typeof ReadableStream === 'function' && x instanceof ReadableStream;
}

/*
 * Whether a stream has been read from or cancelled.  The spec's [[disturbed]]
 * slot has no public accessor; web-streams-polyfill keeps it as `_disturbed`.
 */
function isDisturbed(stream) {
	return stream._disturbed === true;
}

function hasBody(st) {
	return st.stream !== null || st.bytes !== null || !st.done;
}

function isUsed(st) {
	return st.used || (st.stream !== null && isDisturbed(st.stream));
}

/* A stream chunk as bytes (a view of it, not a copy); TypeError for anything else. */
function chunkBytes(chunk) {
	if (chunk instanceof Uint8Array)
		return chunk;
	if (chunk instanceof ArrayBuffer)
		return new Uint8Array(chunk);
	if (ArrayBuffer.isView(chunk))
		return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
	throw new TypeError('This ReadableStream did not return bytes: a body stream must ' +
	    'produce ArrayBuffer or ArrayBufferView chunks, not ' + typeof chunk + '.');
}
rt.chunkBytes = chunkBytes;
rt.isReadableStream = isReadableStream;

/* Reads a (unlocked) stream to its end: a promise of all its bytes. */
function readAll(stream) {
	var reader = stream.getReader();
	var parts = [];

	function next() {
		return reader.read().then(function (r) {
			var bytes;

			if (r.done)
				return rt.concatBytes(parts);
			try {
				bytes = chunkBytes(r.value);
			} catch (e) {
				reader.cancel(e);
				throw e;
			}
			if (bytes.length > 0)
				parts.push(new Uint8Array(bytes));
			return next();
		});
	}
	return next();
}

/* A closed stream that has been read from: the body of a body already consumed. */
function usedStream() {
	var s = new ReadableStream({
		start: function (controller) {
			controller.close();
		}
	});

	s.getReader().read();
	return s;
}

/* The ReadableStream of a body (made on first use); null for no body. */
function streamOf(st) {
	if (st.stream !== null)
		return st.stream;
	if (!hasBody(st))
		return null;
	if (st.used) {
		st.stream = usedStream();
		return st.stream;
	}
	st.stream = new ReadableStream({
		start: function (controller) {
			var i;

			if (st.done) {
				if (st.bytes.length > 0)
					controller.enqueue(new Uint8Array(st.bytes));
				controller.close();
				return;
			}
			for (i = 0; i < st.chunks.length; i++)
				controller.enqueue(st.chunks[i]);
			st.queued += st.size;
			st.chunks = [];
			st.size = 0;
			st.controller = controller;
		},
		/* Called once the reader has emptied the queue: what was queued is taken. */
		pull: function () {
			take(st, st.queued);
			st.queued = 0;
		},
		cancel: function () {
			st.controller = null;
			st.detached = true;
			take(st, st.queued);
			st.queued = 0;
		}
	});
	return st.stream;
}

function randomBoundary() {
	var s = '----edged-formdata-';
	var i;

	for (i = 0; i < 24; i++)
		s += BOUNDARY_CHARS.charAt(Math.floor(Math.random() * BOUNDARY_CHARS.length));
	return s;
}

/* The multipart/form-data encoding of a name or filename inside a quoted-string. */
function escapeQuoted(s) {
	return s.replace(/\n/g, '%0A').replace(/\r/g, '%0D').replace(/"/g, '%22');
}

/* A string value of multipart/form-data: newlines normalized to CRLF. */
function crlf(s) {
	return s.replace(/\r\n|\r|\n/g, '\r\n');
}

/* The multipart/form-data bytes of a FormData, with its boundary. */
function encodeMultipart(fd, boundary) {
	var entries = rt.formDataEntries(fd);
	var parts = [];
	var i, name, value, head;

	for (i = 0; i < entries.length; i++) {
		name = escapeQuoted(crlf(entries[i][0]));
		value = entries[i][1];
		head = '--' + boundary + '\r\nContent-Disposition: form-data; name="' + name + '"';
		if (typeof value === 'string') {
			parts.push(rt.utf8(head + '\r\n\r\n' + crlf(value) + '\r\n'));
			continue;
		}
		head += '; filename="' + escapeQuoted(value.name) + '"\r\nContent-Type: ' +
		    (value.type || 'application/octet-stream') + '\r\n\r\n';
		parts.push(rt.utf8(head), rt.blobBytes(value), rt.utf8('\r\n'));
	}
	parts.push(rt.utf8('--' + boundary + '--\r\n'));
	return rt.concatBytes(parts);
}

/* The body of `init` as in new Response(init): { state, contentType }. */
rt.bodyFromInit = function (init) {
	var bytes, boundary, type;

	if (init === undefined || init === null)
		return { state: bodyState(null, true), contentType: null };
	if (isReadableStream(init)) {
		if (init.locked || isDisturbed(init))
			throw new TypeError('This ReadableStream is disturbed (has already been read from) or locked, and cannot be used as a body.');
		return { state: streamState(init), contentType: null };
	}
	if (typeof init === 'string')
		return { state: bodyState(rt.utf8(init), true), contentType: 'text/plain;charset=UTF-8' };
	bytes = rt.copyBytes(init);
	if (bytes !== null)
		return { state: bodyState(bytes, true), contentType: null };
	if (rt.isBlob(init)) {
		bytes = new Uint8Array(rt.blobBytes(init).length);
		bytes.set(rt.blobBytes(init));
		type = init.type;
		return { state: bodyState(bytes, true), contentType: type === '' ? null : type };
	}
	if (rt.isFormData(init)) {
		boundary = randomBoundary();
		return {
			state: bodyState(encodeMultipart(init, boundary), true),
			contentType: 'multipart/form-data; boundary=' + boundary
		};
	}
	if (typeof SearchParams === 'function' && init instanceof SearchParams) {
		return {
			state: bodyState(rt.utf8(init.toString()), true),
			contentType: 'application/x-www-form-urlencoded;charset=UTF-8'
		};
	}
	/* Anything else is a string, as Web IDL converts it. */
	return { state: bodyState(rt.utf8(String(init)), true), contentType: 'text/plain;charset=UTF-8' };
};

/* A body the host will deliver with rt.bodyPush; `hasBody` false means empty and done. */
rt.incomingBody = function (hasBody, handle) {
	var st = hasBody ? bodyState(new Uint8Array(0), false) : bodyState(null, true);

	if (hasBody && handle !== undefined)
		st.flow = { handle: handle, credited: 0 };
	return st;
};

function finish(st) {
	var all = rt.concatBytes(st.chunks);
	var i, waiters;

	st.bytes = all;
	st.chunks = [];
	st.done = true;
	waiters = st.waiters;
	st.waiters = [];
	for (i = 0; i < waiters.length; i++)
		waiters[i](all);
}

rt.bodyPush = function (st, chunk, last) {
	var i;

	for (i = 0; i < st.followers.length; i++)
		rt.bodyPush(st.followers[i], chunk, last);
	if (st.done)
		return;
	if (last)
		st.followers = [];
	if (st.controller !== null) {
		try {
			if (chunk.length > 0) {
				st.queued += chunk.length;
				st.controller.enqueue(chunk);
			}
			if (last)
				st.controller.close();
		} catch (e) {
			/* The stream was errored or cancelled: nobody reads what follows. */
			st.controller = null;
			st.detached = true;
			take(st, st.queued);
			st.queued = 0;
		}
		if (last) {
			st.controller = null;
			st.done = true;
		}
		return;
	}
	if (st.detached) {
		take(st, chunk.length);
		if (last)
			st.done = true;
		return;
	}
	if (chunk.length > 0) {
		st.chunks.push(chunk);
		st.size += chunk.length;
		if (st.waiters.length > 0)
			take(st, chunk.length);
	}
	if (last)
		finish(st);
};

/* A body that holds what `st` has and gets what `st` will get. */
function follow(st) {
	var f;

	if (st.done)
		return bodyState(st.bytes === null ? null : new Uint8Array(st.bytes), true);
	f = bodyState(new Uint8Array(0), false);
	f.chunks = st.chunks.slice();
	f.size = st.size;
	f.flow = st.flow;
	st.followers.push(f);
	return f;
}

/* Marks the body used and resolves with all its bytes once they have arrived. */
function consume(obj) {
	var st = obj[BODY];

	if (st === undefined)
		return Promise.reject(new TypeError('Illegal invocation: not a Request or Response'));
	if (isUsed(st))
		return Promise.reject(new TypeError('Body has already been used. It can only be used once.'));
	if (st.stream !== null) {
		if (st.stream.locked)
			return Promise.reject(new TypeError('The body stream is locked to a reader.'));
		st.used = true;
		return readAll(st.stream);
	}
	if (st.bytes === null && st.done)
		return Promise.resolve(new Uint8Array(0));
	st.used = true;
	if (st.done)
		return Promise.resolve(st.bytes);
	/* Everything is wanted: what is here is taken, and so is what comes. */
	take(st, st.size);
	return new Promise(function (resolve) {
		st.waiters.push(resolve);
	});
}

/* The bytes of a body that is complete and unused, for sending; null for no body. */
rt.bodyBytes = function (obj) {
	var st = obj[BODY];

	if (isUsed(st))
		throw new TypeError('the response body has already been used');
	if (st.stream !== null || !st.done)
		throw new TypeError('a streaming body cannot be returned yet');
	return st.bytes;
};

/*
 * What to send of a body: null for none, its bytes when they are all here
 * and nobody asked for the stream, else the ReadableStream to pump.
 */
rt.bodyForSend = function (obj) {
	var st = obj[BODY];

	if (isUsed(st))
		throw new TypeError('the response body has already been used');
	if (st.stream === null && st.done)
		return st.bytes;
	if (streamOf(st).locked)
		throw new TypeError('the response body stream is locked to a reader');
	return st.stream;
};

/* Whether a body state (as rt.bodyFromInit returns) holds a body. */
rt.bodyStateHasBody = hasBody;

rt.bodyIsNull = function (obj) {
	return !hasBody(obj[BODY]);
};

rt.bodyUsed = function (obj) {
	return isUsed(obj[BODY]);
};

/* A copy of obj's body for a clone; TypeError once it has been used. */
rt.bodyClone = function (obj) {
	var st = obj[BODY];
	var pair;

	if (isUsed(st))
		throw new TypeError('Body has already been used. It can only be used once.');
	if (st.stream !== null) {
		if (st.stream.locked)
			throw new TypeError('Cannot clone a body whose stream is locked to a reader.');
		pair = st.stream.tee();
		st.stream = pair[0];
		return streamState(pair[1]);
	}
	return follow(st);
};

/*
 * Takes obj's body for a new Request (new Request(request)): the new one gets
 * the bytes, obj's body counts as used.
 */
rt.bodyTake = function (obj) {
	var st = obj[BODY];
	var taken;

	if (isUsed(st))
		throw new TypeError('Cannot construct a Request with a Request object that has already been used.');
	if (st.stream !== null) {
		if (st.stream.locked)
			throw new TypeError('Cannot construct a Request with a Request whose body is locked.');
		st.used = true;
		return streamState(st.stream);
	}
	if (st.bytes === null && st.done)
		return bodyState(null, true);
	if (st.done) {
		taken = bodyState(st.bytes, true);
	} else {
		taken = follow(st);
		st.detached = true;
		st.chunks = [];
	}
	st.used = true;
	return taken;
};

/* Binary string of bytes: one char per byte, so that indexes match. */
function latin1(bytes) {
	var out = [];
	var i;

	for (i = 0; i < bytes.length; i += LATIN1_CHUNK)
		out.push(String.fromCharCode.apply(null, bytes.subarray(i, i + LATIN1_CHUNK)));
	return out.join('');
}

/* The parameters of a header value such as `form-data; name="a"` (keys lower-cased). */
function headerParams(value) {
	var params = {};
	var re = /;[\t ]*([^=;\t ]+)[\t ]*=[\t ]*("(?:[^"\\]|\\.)*"|[^;]*)/g;
	var m, v;

	while ((m = re.exec(value)) !== null) {
		v = m[2];
		if (v.charAt(0) === '"')
			v = v.slice(1, -1).replace(/\\(.)/g, '$1');
		else
			v = v.replace(/[\t ]+$/, '');
		if (params[m[1].toLowerCase()] === undefined)
			params[m[1].toLowerCase()] = v;
	}
	return params;
}

function essence(contentType) {
	return contentType.split(';')[0].replace(/^[\t ]+|[\t ]+$/g, '').toLowerCase();
}

function badForm(why) {
	return new TypeError('Failed to parse the body as FormData: ' + why);
}

/* The name and filename escapes of multipart/form-data, undone. */
function unescapeQuoted(s) {
	return s.replace(/%22/g, '"').replace(/%0D/gi, '\r').replace(/%0A/gi, '\n');
}

/* The entries of a multipart/form-data body. */
function parseMultipart(bytes, boundary) {
	var s = latin1(bytes);
	var delim = '--' + boundary;
	var entries = [];
	var pos, p, headEnd, bodyStart, next, lines, i, colon, name, disposition, type, params;

	if (boundary === undefined || boundary === '' || boundary.length > 200)
		throw badForm('no valid boundary in the content-type');
	if (s.indexOf(delim) === 0) {
		pos = 0;
	} else {
		pos = s.indexOf('\r\n' + delim);
		if (pos === -1)
			throw badForm('no boundary found');
		pos += 2;
	}
	for (;;) {
		p = pos + delim.length;
		if (s.substr(p, 2) === '--')
			return entries;
		while (s.charAt(p) === ' ' || s.charAt(p) === '\t')
			p++;
		if (s.substr(p, 2) !== '\r\n')
			throw badForm('a boundary is not followed by CRLF');
		p += 2;
		if (s.substr(p, 2) === '\r\n') {
			headEnd = p;
			bodyStart = p + 2;
		} else {
			headEnd = s.indexOf('\r\n\r\n', p);
			if (headEnd === -1)
				throw badForm('a part has no end of headers');
			bodyStart = headEnd + 4;
		}
		next = s.indexOf('\r\n' + delim, bodyStart);
		if (next === -1)
			throw badForm('the last part is not closed');
		lines = rt.fromUtf8(bytes.subarray(p, headEnd)).split('\r\n');
		disposition = null;
		type = null;
		for (i = 0; i < lines.length; i++) {
			colon = lines[i].indexOf(':');
			if (colon <= 0)
				continue;
			name = lines[i].slice(0, colon).replace(/[\t ]+$/, '').toLowerCase();
			if (name === 'content-disposition')
				disposition = lines[i].slice(colon + 1).replace(/^[\t ]+|[\t ]+$/g, '');
			else if (name === 'content-type')
				type = lines[i].slice(colon + 1).replace(/^[\t ]+|[\t ]+$/g, '');
		}
		if (disposition === null || essence(disposition) !== 'form-data')
			throw badForm('a part has no Content-Disposition: form-data');
		params = headerParams(disposition);
		if (params.name === undefined)
			throw badForm('a part has no name');
		if (params.filename !== undefined) {
			entries.push([unescapeQuoted(params.name), rt.fileOf(
			    new Uint8Array(bytes.subarray(bodyStart, next)), unescapeQuoted(params.filename),
			    type === null ? 'text/plain' : type)]);
		} else {
			entries.push([unescapeQuoted(params.name),
			    rt.fromUtf8(bytes.subarray(bodyStart, next))]);
		}
		pos = next + 2;
	}
}

function hexValue(c) {
	if (c >= 0x30 && c <= 0x39)
		return c - 0x30;
	c |= 0x20;
	if (c >= 0x61 && c <= 0x66)
		return c - 0x61 + 10;
	return -1;
}

/* application/x-www-form-urlencoded: '+' is a space, %XX a byte, then UTF-8. */
function formDecode(bytes) {
	var out = new Uint8Array(bytes.length);
	var n = 0;
	var i, c, hi, lo;

	for (i = 0; i < bytes.length; i++) {
		c = bytes[i];
		if (c === 0x2b) {
			c = 0x20;
		} else if (c === 0x25 && i + 2 < bytes.length &&
		    (hi = hexValue(bytes[i + 1])) !== -1 && (lo = hexValue(bytes[i + 2])) !== -1) {
			c = hi * 16 + lo;
			i += 2;
		}
		out[n++] = c;
	}
	return rt.fromUtf8(out.subarray(0, n));
}

function parseUrlencoded(bytes) {
	var entries = [];
	var start = 0;
	var i, end, eq, piece;

	for (i = 0; i <= bytes.length; i++) {
		if (i < bytes.length && bytes[i] !== 0x26)
			continue;
		end = i;
		if (end > start) {
			piece = bytes.subarray(start, end);
			for (eq = 0; eq < piece.length && piece[eq] !== 0x3d; eq++)
				;
			entries.push([formDecode(piece.subarray(0, eq)),
			    formDecode(piece.subarray(Math.min(eq + 1, piece.length)))]);
		}
		start = i + 1;
	}
	return entries;
}

/* The FormData of a body with the given content-type. */
function parseForm(bytes, contentType) {
	var type = contentType === null ? '' : essence(contentType);

	if (type === 'multipart/form-data')
		return rt.formDataOf(parseMultipart(bytes, headerParams(contentType).boundary));
	if (type === 'application/x-www-form-urlencoded')
		return rt.formDataOf(parseUrlencoded(bytes));
	throw new TypeError('Failed to parse the body as FormData: the content-type is neither ' +
	    'multipart/form-data nor application/x-www-form-urlencoded');
}

rt.BODY = BODY;

/*
 * Adds the body methods and bodyUsed/body to a prototype; headersOf(obj)
 * returns obj's Headers, for content-type.
 */
rt.bodyMixin = function (proto, headersOf) {
	function contentType(obj) {
		return rt.headersGet(headersOf(obj), 'content-type');
	}

	rt.methods(proto, {
		arrayBuffer: function () {
			return consume(this).then(rt.toArrayBuffer);
		},
		bytes: function () {
			return consume(this);
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
				var type = contentType(self);

				return rt.blobOf(bytes, type === null ? '' : type);
			});
		},
		formData: function () {
			var self = this;

			return consume(this).then(function (bytes) {
				return parseForm(bytes, contentType(self));
			});
		}
	});
	rt.getter(proto, 'bodyUsed', function () {
		var st = this[BODY];

		if (st === undefined)
			throw new TypeError('Illegal invocation');
		return isUsed(st);
	});
	/* A ReadableStream of Uint8Array chunks, or null when there is no body. */
	rt.getter(proto, 'body', function () {
		if (this[BODY] === undefined)
			throw new TypeError('Illegal invocation');
		return streamOf(this[BODY]);
	});
};

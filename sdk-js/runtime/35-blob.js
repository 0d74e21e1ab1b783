/*
 * Blob and File: immutable bytes with a MIME type (and, for File, a name and
 * a modification time).  Bodies and FormData read a Blob's bytes through rt.
 */
'use strict';

var Promise = rt.Promise;
var SLOT = native.hidden('blob');
var FILE = native.hidden('file');
var TYPE_CHARS = /^[\x20-\x7e]*$/;

function state(b) {
	var st = b !== null && typeof b === 'object' ? b[SLOT] : undefined;

	if (st === undefined)
		throw new TypeError('Illegal invocation: not a Blob object');
	return st;
}

/* A Blob's type: lower-cased, or "" when it holds anything outside U+0020..U+007E. */
function normalizeType(type) {
	type = String(type);
	return TYPE_CHARS.test(type) ? type.toLowerCase() : '';
}

/* The bytes of one blob part as a Uint8Array (shared for Blobs: they never change). */
function partBytes(part) {
	var bytes;

	if (part !== null && typeof part === 'object' && part[SLOT] !== undefined)
		return part[SLOT].bytes;
	if (part instanceof ArrayBuffer)
		return new Uint8Array(part);
	if (ArrayBuffer.isView(part))
		return new Uint8Array(part.buffer, part.byteOffset, part.byteLength);
	bytes = rt.utf8(String(part));
	return bytes;
}

/* One Uint8Array holding the concatenation of a list of Uint8Arrays. */
rt.concatBytes = function (list) {
	var size = 0;
	var at = 0;
	var out, i;

	for (i = 0; i < list.length; i++)
		size += list[i].length;
	out = new Uint8Array(size);
	for (i = 0; i < list.length; i++) {
		out.set(list[i], at);
		at += list[i].length;
	}
	return out;
};

function bytesOfParts(parts) {
	var list = [];
	var i, items;

	if (parts === undefined)
		return new Uint8Array(0);
	if (parts === null || (typeof parts !== 'object' && typeof parts !== 'function'))
		throw new TypeError("Failed to construct 'Blob': the parts must be a sequence");
	items = rt.toArray(parts);
	for (i = 0; i < items.length; i++)
		list.push(partBytes(items[i]));
	return rt.concatBytes(list);
}

function init(self, bytes, type) {
	Object.defineProperty(self, SLOT, { value: { bytes: bytes, type: type } });
}

function Blob(parts, options) {
	var type = '';

	if (!(this instanceof Blob))
		throw new TypeError("Failed to construct 'Blob': use 'new'");
	if (options !== undefined && options !== null) {
		if (typeof options !== 'object' && typeof options !== 'function')
			throw new TypeError("Failed to construct 'Blob': the options must be an object");
		if (options.endings !== undefined && options.endings !== 'transparent' &&
		    options.endings !== 'native')
			throw new TypeError("Failed to construct 'Blob': invalid endings");
		if (options.type !== undefined)
			type = normalizeType(options.type);
	}
	init(this, bytesOfParts(parts), type);
}

/* A relative index as in Blob.slice: negative counts from the end, clamped to [0, size]. */
function clampIndex(x, size, dflt) {
	var n;

	if (x === undefined)
		return dflt;
	n = Number(x);
	if (n !== n)
		n = 0;
	n = n < 0 ? Math.ceil(n) : Math.floor(n);
	if (n < 0)
		return Math.max(size + n, 0);
	return Math.min(n, size);
}

function copyOf(bytes) {
	var out = new Uint8Array(bytes.length);

	out.set(bytes);
	return out;
}

rt.getter(Blob.prototype, 'size', function () { return state(this).bytes.length; });
rt.getter(Blob.prototype, 'type', function () { return state(this).type; });
rt.methods(Blob.prototype, {
	slice: function (start, end, contentType) {
		var st = state(this);
		var size = st.bytes.length;
		var from = clampIndex(start, size, 0);
		var to = clampIndex(end, size, size);
		var b = Object.create(Blob.prototype);

		init(b, st.bytes.subarray(from, Math.max(from, to)),
		    contentType === undefined ? '' : normalizeType(contentType));
		return b;
	},
	text: function () {
		var st = state(this);

		return Promise.resolve(rt.fromUtf8(st.bytes));
	},
	arrayBuffer: function () {
		var st = state(this);

		return Promise.resolve(rt.toArrayBuffer(st.bytes));
	},
	bytes: function () {
		var st = state(this);

		return Promise.resolve(copyOf(st.bytes));
	},
	stream: function () {
		var st = state(this);
		var RS = rt.ReadableStream || globalThis.ReadableStream;
		var bytes = copyOf(st.bytes);

		if (typeof RS !== 'function')
			throw new TypeError('Blob.stream: streams are not supported yet');
		return new RS({
			start: function (controller) {
				if (bytes.length > 0)
					controller.enqueue(bytes);
				controller.close();
			}
		});
	}
});
Object.defineProperty(Blob.prototype, Symbol.toStringTag, { value: 'Blob', configurable: true });

function File(parts, name, options) {
	var last;

	if (!(this instanceof File))
		throw new TypeError("Failed to construct 'File': use 'new'");
	if (arguments.length < 2)
		throw new TypeError("Failed to construct 'File': 2 arguments required, but only " +
		    arguments.length + ' present.');
	Blob.call(this, parts, options);
	last = options !== undefined && options !== null && options.lastModified !== undefined ?
	    Number(options.lastModified) : Date.now();
	if (last !== last || last === Infinity || last === -Infinity)
		last = 0;
	Object.defineProperty(this, FILE, { value: {
		name: String(name),
		lastModified: last < 0 ? Math.ceil(last) : Math.floor(last)
	} });
}
File.prototype = Object.create(Blob.prototype, {
	constructor: { value: File, writable: true, configurable: true }
});
Object.setPrototypeOf(File, Blob);

function fileState(f) {
	var st = f !== null && typeof f === 'object' ? f[FILE] : undefined;

	if (st === undefined)
		throw new TypeError('Illegal invocation: not a File object');
	return st;
}

rt.getter(File.prototype, 'name', function () { return fileState(this).name; });
rt.getter(File.prototype, 'lastModified', function () { return fileState(this).lastModified; });
Object.defineProperty(File.prototype, Symbol.toStringTag, { value: 'File', configurable: true });

rt.isBlob = function (x) {
	return x !== null && typeof x === 'object' && x[SLOT] !== undefined;
};

rt.isFile = function (x) {
	return x !== null && typeof x === 'object' && x[FILE] !== undefined;
};

/* A Blob's bytes, shared: callers must not change them. */
rt.blobBytes = function (b) {
	return state(b).bytes;
};

/* A Blob over `bytes` (taken, not copied) with a type. */
rt.blobOf = function (bytes, type) {
	var b = Object.create(Blob.prototype);

	init(b, bytes, normalizeType(type));
	return b;
};

/* A File over `bytes` (taken, not copied). */
rt.fileOf = function (bytes, name, type, lastModified) {
	var f = Object.create(File.prototype);

	init(f, bytes, normalizeType(type));
	Object.defineProperty(f, FILE, { value: {
		name: String(name),
		lastModified: lastModified === undefined ? Date.now() : lastModified
	} });
	return f;
};

rt.Blob = Blob;
rt.File = File;
rt.define(globalThis, 'Blob', Blob);
rt.define(globalThis, 'File', File);

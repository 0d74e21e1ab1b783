/*
 * Helpers shared by the runtime parts and the global names every part may
 * rely on (globalThis, self).  Runs first in the sandbox heap.
 */
'use strict';

/* Installs a global the way Web IDL does: writable, configurable, not enumerable. */
rt.define = function (obj, name, value) {
	Object.defineProperty(obj, name, { value: value, writable: true, configurable: true });
};

/* Defines non-enumerable methods on a prototype from an object literal. */
rt.methods = function (proto, table) {
	var names = Object.keys(table);
	var i;

	for (i = 0; i < names.length; i++)
		rt.define(proto, names[i], table[names[i]]);
};

/* Defines a read-only accessor. */
rt.getter = function (proto, name, get) {
	Object.defineProperty(proto, name, { get: get, enumerable: true, configurable: true });
};

rt.encoder = new TextEncoder();
rt.decoder = new TextDecoder();

/* UTF-8 bytes of a string (lone surrogates become U+FFFD). */
rt.utf8 = function (s) {
	return rt.encoder.encode(String(s));
};

/* A string from UTF-8 bytes (invalid sequences become U+FFFD). */
rt.fromUtf8 = function (bytes) {
	return rt.decoder.decode(bytes);
};

/* A copy of the bytes of an ArrayBuffer, typed array or DataView as a Uint8Array; null otherwise. */
rt.copyBytes = function (x) {
	var src;

	if (x instanceof ArrayBuffer)
		src = new Uint8Array(x);
	else if (ArrayBuffer.isView(x))
		src = new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
	else
		return null;
	var out = new Uint8Array(src.length);
	out.set(src);
	return out;
};

/* A fresh ArrayBuffer holding the given bytes. */
rt.toArrayBuffer = function (bytes) {
	var buf = new ArrayBuffer(bytes.length);

	new Uint8Array(buf).set(bytes);
	return buf;
};

if (globalThis.self === undefined)
	rt.define(globalThis, 'self', globalThis);

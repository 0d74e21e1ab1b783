/*
 * structuredClone(value, {transfer}): the HTML structured clone algorithm
 * over what Duktape has, keeping cycles and shared references; anything not
 * serializable throws a DataCloneError DOMException.
 */
'use strict';

var ERROR_TYPES = {
	Error: Error, EvalError: EvalError, RangeError: RangeError,
	ReferenceError: ReferenceError, SyntaxError: SyntaxError, TypeError: TypeError,
	URIError: URIError
};

/* Runtime classes that are platform objects: not serializable. */
var PLATFORM = ['Request', 'Response', 'Headers', 'EventTarget', 'Event', 'AbortController',
	'AbortSignal', 'Promise', 'ReadableStream', 'WritableStream', 'TransformStream', 'FormData',
	'URL', 'URLSearchParams', 'CryptoKey', 'WebSocket', 'Cache'];
var WEAK = ['WeakMap', 'WeakSet', 'WeakRef'];
var TEXT_CODERS = [globalThis.TextEncoder, globalThis.TextDecoder];

function cloneError(what) {
	return rt.domException(what + ' could not be cloned.', 'DataCloneError');
}

/* Remembers originals and their clones (a Map when there is one, else two arrays). */
function Memory() {
	var M = rt.Map !== undefined ? rt.Map : globalThis.Map;

	if (typeof M === 'function') {
		this.map = new M();
	} else {
		this.map = null;
		this.from = [];
		this.to = [];
	}
}
Memory.prototype.get = function (x) {
	var i;

	if (this.map !== null)
		return this.map.get(x);
	i = this.from.indexOf(x);
	return i === -1 ? undefined : this.to[i];
};
Memory.prototype.set = function (x, y) {
	if (this.map !== null) {
		this.map.set(x, y);
	} else {
		this.from.push(x);
		this.to.push(y);
	}
};

/* Whether fn(x) runs without throwing: a brand check through a builtin method. */
function hasBrand(fn, x) {
	try {
		fn.call(x);
		return true;
	} catch (e) {
		return false;
	}
}

function isInstance(x, names) {
	var i, C;

	for (i = 0; i < names.length; i++) {
		C = rt[names[i]] !== undefined ? rt[names[i]] : globalThis[names[i]];
		if (typeof C === 'function' && x instanceof C)
			return true;
	}
	return false;
}

function copyBuffer(buf) {
	var out = new ArrayBuffer(buf.byteLength);

	new Uint8Array(out).set(new Uint8Array(buf));
	return out;
}

function viewConstructor(x) {
	var name = Object.prototype.toString.call(x).slice(8, -1);
	var names = ['Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array',
		'Int32Array', 'Uint32Array', 'Float32Array', 'Float64Array', 'DataView'];
	var i;

	for (i = 0; i < names.length; i++)
		if (x instanceof globalThis[names[i]])
			return globalThis[names[i]];
	throw cloneError(name);
}

function cloneView(x, memory) {
	var C = viewConstructor(x);
	var buffer = clone(x.buffer, memory);

	if (C === DataView)
		return new DataView(buffer, x.byteOffset, x.byteLength);
	return new C(buffer, x.byteOffset, x.length);
}

function cloneErrorObject(x) {
	var name = String(x.name);
	var C = Object.prototype.hasOwnProperty.call(ERROR_TYPES, name) ? ERROR_TYPES[name] : Error;
	var desc = Object.getOwnPropertyDescriptor(x, 'message');
	var out = desc !== undefined ? new C(String(x.message)) : new C();
	var stack = x.stack;

	if (typeof stack === 'string')
		Object.defineProperty(out, 'stack', { value: stack, writable: true, configurable: true });
	return out;
}

function cloneBlob(x) {
	var File = rt.File !== undefined ? rt.File : globalThis.File;
	var Blob = rt.Blob !== undefined ? rt.Blob : globalThis.Blob;

	if (typeof File === 'function' && x instanceof File)
		return new File([x], x.name, { type: x.type, lastModified: x.lastModified });
	return new Blob([x], { type: x.type });
}

function copyProperties(x, out, memory) {
	var keys = Object.keys(x);
	var i;

	for (i = 0; i < keys.length; i++)
		out[keys[i]] = clone(x[keys[i]], memory);
	return out;
}

function clone(x, memory) {
	var t = typeof x;
	var out, seen, M, S;

	if (t === 'undefined' || t === 'boolean' || t === 'number' || t === 'string' || x === null)
		return x;
	if (t === 'symbol')
		throw cloneError('A Symbol');
	if (t === 'function')
		throw cloneError('A function (' + (x.name || 'anonymous') + ')');
	if ((seen = memory.get(x)) !== undefined)
		return seen;
	M = rt.Map !== undefined ? rt.Map : globalThis.Map;
	S = rt.Set !== undefined ? rt.Set : globalThis.Set;
	if (hasBrand(Boolean.prototype.valueOf, x)) {
		out = new Boolean(Boolean.prototype.valueOf.call(x));
	} else if (hasBrand(Number.prototype.valueOf, x)) {
		out = new Number(Number.prototype.valueOf.call(x));
	} else if (hasBrand(String.prototype.valueOf, x)) {
		out = new String(String.prototype.valueOf.call(x));
	} else if (hasBrand(Symbol.prototype.valueOf, x)) {
		throw cloneError('A Symbol object');
	} else if (hasBrand(Date.prototype.getTime, x)) {
		out = new Date(Date.prototype.getTime.call(x));
	} else if (x instanceof RegExp) {
		out = new RegExp(x.source, (x.global ? 'g' : '') + (x.ignoreCase ? 'i' : '') +
		    (x.multiline ? 'm' : ''));
	} else if (x instanceof ArrayBuffer) {
		out = copyBuffer(x);
	} else if (ArrayBuffer.isView(x)) {
		out = cloneView(x, memory);
	} else if (typeof M === 'function' && x instanceof M) {
		out = new M();
		memory.set(x, out);
		/* Entries first, then clones: the spec lists them before it recurses. */
		var entries = [];
		x.forEach(function (v, k) { entries.push(k, v); });
		for (var i = 0; i < entries.length; i += 2)
			out.set(clone(entries[i], memory), clone(entries[i + 1], memory));
		return out;
	} else if (typeof S === 'function' && x instanceof S) {
		out = new S();
		memory.set(x, out);
		var values = [];
		x.forEach(function (v) { values.push(v); });
		for (var j = 0; j < values.length; j++)
			out.add(clone(values[j], memory));
		return out;
	} else if (x instanceof rt.DOMException) {
		out = new rt.DOMException(x.message, x.name);
	} else if (x instanceof Error) {
		out = cloneErrorObject(x);
	} else if (isInstance(x, ['Blob'])) {
		out = cloneBlob(x);
	} else if (Array.isArray(x)) {
		out = new Array(x.length);
		memory.set(x, out);
		return copyProperties(x, out, memory);
	} else if (isInstance(x, WEAK)) {
		throw cloneError('A weak collection');
	} else if (isInstance(x, PLATFORM) || x instanceof TEXT_CODERS[0] ||
	    x instanceof TEXT_CODERS[1]) {
		throw cloneError('An object of type ' + Object.prototype.toString.call(x).slice(8, -1));
	} else {
		out = {};
		memory.set(x, out);
		return copyProperties(x, out, memory);
	}
	memory.set(x, out);
	return out;
}

/* Checks the transfer list: ArrayBuffers only, each once. */
function checkTransfer(options) {
	var list, i;

	if (options === undefined || options === null)
		return;
	if (typeof options !== 'object')
		throw new TypeError("Failed to execute 'structuredClone': options must be an object");
	if (options.transfer === undefined)
		return;
	list = rt.toArray(options.transfer);
	for (i = 0; i < list.length; i++) {
		if (!(list[i] instanceof ArrayBuffer))
			throw cloneError('A transferable that is not an ArrayBuffer');
		if (list.indexOf(list[i]) !== i)
			throw cloneError('An ArrayBuffer listed twice in transfer');
	}
}

rt.structuredClone = function (value) {
	return clone(value, new Memory());
};

rt.define(globalThis, 'structuredClone', function structuredClone(value, options) {
	if (arguments.length === 0)
		throw new TypeError("Failed to execute 'structuredClone': 1 argument required, but only 0 present");
	checkTransfer(options);
	return clone(value, new Memory());
});

/*
 * KVNamespace: the env member of a "kv_namespace" binding.  Each method is
 * one storage call (rt.call, 44-calls.js) to the broker's KV backend, whose
 * argument and result documents are listed in broker/store.h; the broker
 * checks keys, values, metadata and expirations, and its errors reach the
 * script as they are.
 */
'use strict';

var Promise = rt.Promise;
var Map = rt.Map;
var ReadableStream = rt.ReadableStream;
var parseJson = JSON.parse;
var SLOT = native.hidden('kvnamespace');
var BULK_MAX = 100;
var CACHE_TTL_MIN = 30;
var SINGLE_TYPES = ['text', 'json', 'arrayBuffer', 'stream'];
var BULK_TYPES = ['text', 'json'];
var PUT_VALUE_ERROR = 'KV put() accepts only strings, ArrayBuffers, ArrayBufferViews, and ' +
    'ReadableStreams as values.';
/* Values come back byte for byte: a leading BOM is part of the value, as in workerd. */
var utf8Text = rt.utf8TextKeepingBOM;

/* The binding name behind a KVNamespace; TypeError for any other receiver. */
function bindingOf(ns) {
	var name = ns !== null && typeof ns === 'object' ? ns[SLOT] : undefined;

	if (name === undefined)
		throw new TypeError('Illegal invocation');
	return name;
}

/* Runs fn, turning a synchronous throw into a rejected promise (as workerd's methods do). */
function attempt(fn) {
	try {
		return Promise.resolve(fn());
	} catch (e) {
		return Promise.reject(e);
	}
}

/* Web IDL DOMString, as for a key. */
function toKey(x) {
	if (typeof x === 'symbol')
		throw new TypeError('Cannot convert a Symbol value to a string');
	return String(x);
}

function call(binding, method, args, input) {
	if (typeof rt.call !== 'function')
		return Promise.reject(new Error('KV ' + method + ' failed: storage calls are not available'));
	return rt.call(binding, method, args, input);
}

/* rt.callBytes: its promise settles with finish(doc, bytes, context). */
function callBytes(binding, method, args, finish, context) {
	if (typeof rt.callBytes !== 'function')
		return Promise.reject(new Error('KV ' + method + ' failed: storage calls are not available'));
	return rt.callBytes(binding, method, args, null, finish, context);
}

/* The get options: a type name, or {type, cacheTtl}.  cacheTtl is checked and ignored. */
function readGetOptions(options, bulk) {
	var type = 'text';
	var ttl;

	if (options !== undefined && options !== null) {
		if (typeof options === 'object' || typeof options === 'function') {
			if (options.type !== undefined)
				type = String(options.type);
			if (options.cacheTtl !== undefined) {
				ttl = Number(options.cacheTtl);
				if (!(ttl >= CACHE_TTL_MIN))
					throw new TypeError('KV GET failed: 400 Invalid cache_ttl of ' +
					    String(options.cacheTtl) + '. Cache TTL must be at least ' +
					    CACHE_TTL_MIN + '.');
			}
		} else {
			type = String(options);
		}
	}
	if (bulk) {
		if (BULK_TYPES.indexOf(type) === -1)
			throw new TypeError('KV GET_BULK failed: 400 "' + type +
			    '" is not a valid type. Use "json" or "text"');
	} else if (SINGLE_TYPES.indexOf(type) === -1) {
		throw new TypeError('Unknown response type. Possible types are "text", "arrayBuffer", ' +
		    '"json", and "stream".');
	}
	return type;
}

/* A value's bytes (null: empty) as the asked type; a bad JSON value throws SyntaxError. */
function decodeValue(bytes, type) {
	if (type === 'arrayBuffer')
		return rt.toArrayBuffer(bytes === null ? new Uint8Array(0) : bytes);
	if (type === 'json')
		return parseJson(bytes === null ? '' : utf8Text(bytes));
	return bytes === null ? '' : utf8Text(bytes);
}

function emptyStream() {
	return new ReadableStream({
		start: function (controller) {
			controller.close();
		}
	});
}

function metadataOf(doc) {
	return doc.metadata === undefined ? null : doc.metadata;
}

/* finish of a get (rt.callBytes): the value as `type`, null when the key does not exist. */
function valueOf(doc, bytes, type) {
	return doc.found ? decodeValue(bytes, type) : null;
}

/* finish of a getWithMetadata: {value, metadata, cacheStatus}. */
function valueWithMetadataOf(doc, bytes, type) {
	if (!doc.found)
		return { value: null, metadata: null, cacheStatus: null };
	return { value: decodeValue(bytes, type), metadata: metadataOf(doc), cacheStatus: null };
}

/*
 * One key: its value, or {value, metadata, cacheStatus} withMetadata; value
 * null when the key does not exist.  Decoded as the result comes in, so the
 * call's own promise is the one the script gets.
 */
function getOne(binding, key, type, withMetadata) {
	var args = { key: key };

	if (type === 'stream') {
		return call(binding, 'get', args).then(function (r) {
			var value;

			if (!r.doc.found)
				return withMetadata ? { value: null, metadata: null, cacheStatus: null } : null;
			value = r.body === null ? emptyStream() : r.body;
			return withMetadata ? { value: value, metadata: metadataOf(r.doc), cacheStatus: null } :
			    value;
		});
	}
	return callBytes(binding, 'get', args, withMetadata ? valueWithMetadataOf : valueOf, type);
}

/* Several keys: a Map from each key to its value, or to {value, metadata} with metadata. */
function getMany(binding, keys, type, withMetadata) {
	var names = [];
	var i;

	for (i = 0; i < keys.length; i++)
		names.push(toKey(keys[i]));
	if (names.length === 0)
		throw new Error('KV GET_BULK failed: 400 You must request a minimum of 1 key');
	if (names.length > BULK_MAX)
		throw new Error('KV GET_BULK failed: 400 You can request a maximum of ' + BULK_MAX +
		    ' keys');
	return call(binding, 'getMany', { keys: names }).then(function (r) {
		var values = r.doc.values;
		var map = new Map();
		var j, v, value;

		if (!Array.isArray(values))
			throw new Error('KV GET_BULK failed: the store sent no values');
		for (j = 0; j < values.length; j++) {
			v = values[j];
			if (!v.found) {
				map.set(v.key, null);
				continue;
			}
			value = v.value === null || v.value === undefined ? '' : v.value;
			if (type === 'json')
				value = parseJson(value);
			map.set(v.key, withMetadata ? { value: value, metadata: metadataOf(v) } : value);
		}
		return map;
	});
}

/* get and getWithMetadata; a throw becomes a rejection (attempt's work, without its closure). */
function get(ns, key, options, withMetadata) {
	var binding = bindingOf(ns);

	try {
		if (Array.isArray(key))
			return getMany(binding, key, readGetOptions(options, true), withMetadata);
		return getOne(binding, toKey(key), readGetOptions(options, false), withMetadata);
	} catch (e) {
		return Promise.reject(e);
	}
}

/* An expiration or a limit: a whole number (the broker checks its range). */
function toWhole(x, what) {
	var n = Number(x);

	if (n !== n || n === Infinity || n === -Infinity)
		throw new TypeError('Invalid ' + what + ' of ' + String(x) + '. Please specify an integer.');
	return Math.floor(n);
}

/* The put value as a call input: bytes, or the stream itself. */
function putInput(value) {
	var bytes;

	if (typeof value === 'symbol')
		throw new TypeError(PUT_VALUE_ERROR);
	if (value === null || (typeof value !== 'object' && typeof value !== 'function'))
		return rt.utf8(String(value));
	if (rt.isReadableStream(value)) {
		if (value.locked)
			throw new TypeError('This ReadableStream is currently locked to a reader.');
		return value;
	}
	/* A copy: later changes to the caller's buffer do not change what is stored. */
	bytes = rt.copyBytes(value);
	if (bytes === null)
		throw new TypeError(PUT_VALUE_ERROR);
	return bytes;
}

function KVNamespace() {
	throw new TypeError('Illegal constructor');
}

rt.methods(KVNamespace.prototype, {
	get: function (key, options) {
		return get(this, key, options, false);
	},
	getWithMetadata: function (key, options) {
		return get(this, key, options, true);
	},
	put: function (key, value, options) {
		var binding = bindingOf(this);

		return attempt(function () {
			var args = { key: toKey(key) };
			var input = putInput(value);
			var text;

			if (options !== undefined && options !== null) {
				if (typeof options !== 'object')
					throw new TypeError('KV put() options must be an object');
				if (options.expiration !== undefined && options.expiration !== null)
					args.expiration = toWhole(options.expiration, 'expiration');
				if (options.expirationTtl !== undefined && options.expirationTtl !== null)
					args.expiration_ttl = toWhole(options.expirationTtl, 'expiration_ttl');
				if (options.metadata !== undefined && options.metadata !== null) {
					/* What JSON keeps of it, as workerd serializes it. */
					text = JSON.stringify(options.metadata);
					if (text !== undefined)
						args.metadata = parseJson(text);
				}
			}
			return call(binding, 'put', args, input).then(function () {
				return undefined;
			});
		});
	},
	'delete': function (key) {
		var binding = bindingOf(this);

		return attempt(function () {
			return call(binding, 'delete', { key: toKey(key) }).then(function () {
				return undefined;
			});
		});
	},
	list: function (options) {
		var binding = bindingOf(this);

		return attempt(function () {
			var args = {};
			var limit;

			if (options !== undefined && options !== null) {
				if (typeof options !== 'object')
					throw new TypeError('KV list() options must be an object');
				if (options.prefix !== undefined && options.prefix !== null)
					args.prefix = toKey(options.prefix);
				if (options.cursor !== undefined && options.cursor !== null)
					args.cursor = String(options.cursor);
				if (options.limit !== undefined && options.limit !== null) {
					limit = toWhole(options.limit, 'key_count_limit');
					/* As in workerd, a limit of 0 or less means the default. */
					if (limit > 0)
						args.limit = limit;
				}
			}
			return call(binding, 'list', args).then(function (r) {
				var out = {
					keys: Array.isArray(r.doc.keys) ? r.doc.keys : [],
					list_complete: r.doc.list_complete === true
				};

				if (typeof r.doc.cursor === 'string' && !out.list_complete)
					out.cursor = r.doc.cursor;
				out.cacheStatus = null;
				return out;
			});
		});
	}
});
Object.defineProperty(KVNamespace.prototype, Symbol.toStringTag, {
	value: 'KvNamespace', configurable: true
});

/* The KVNamespace of binding `name`: its calls name the binding, the broker knows the namespace. */
rt.makeKVNamespace = function (name) {
	var ns = Object.create(KVNamespace.prototype);

	Object.defineProperty(ns, SLOT, { value: name });
	return ns;
};
rt.KVNamespace = KVNamespace;

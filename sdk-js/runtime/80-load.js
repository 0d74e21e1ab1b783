/*
 * Loading a tenant script: the env object from the LOAD bindings before the
 * script runs (vars, secrets, and the storage bindings of 46-kv.js, 47-d1.js
 * and 48-r2.js), and the check for a fetch handler after its global scope ran.
 */
'use strict';

var FORMAT_MODULE = 0, FORMAT_SERVICE_WORKER = 1;

function bindingValue(b) {
	switch (b.type) {
	case 'plain_text':
	case 'secret_text':
		if (typeof b.text !== 'string')
			throw new TypeError("binding '" + b.name + "' has no text");
		return b.text;
	case 'json':
		if (!('json' in b))
			throw new TypeError("binding '" + b.name + "' has no json value");
		return b.json;
	/* Storage bindings: calls name the binding; the broker knows its resource. */
	case 'kv_namespace':
		return rt.makeKVNamespace(b.name);
	case 'd1':
		return rt.makeD1Database(b.name);
	case 'r2_bucket':
		if (typeof rt.R2Bucket !== 'function')
			throw new TypeError("binding '" + b.name + "': R2 buckets are not available yet");
		return new rt.R2Bucket(b.name);
	default:
		throw new TypeError("unknown binding type '" + String(b.type) + "' for '" + b.name + "'");
	}
}

/* The env object from the LOAD bindings (a JSON array of binding objects); throws TypeError. */
function makeEnv(text) {
	var list, env = {}, i, b;

	try {
		list = JSON.parse(text);
	} catch (e) {
		throw new TypeError('bindings are not valid JSON');
	}
	if (!Array.isArray(list))
		throw new TypeError('bindings must be a JSON array');
	for (i = 0; i < list.length; i++) {
		b = list[i];
		if (b === null || typeof b !== 'object' || typeof b.name !== 'string' || b.name === '')
			throw new TypeError('binding ' + i + ' has no name');
		if (Object.prototype.hasOwnProperty.call(env, b.name))
			throw new TypeError("binding '" + b.name + "' is defined twice");
		env[b.name] = bindingValue(b);
	}
	return env;
}

/* Before the script runs: returns an error message, or undefined when the bindings are fine. */
rt.prepare = function (format, bindingsText) {
	var names, i;

	try {
		rt.env = makeEnv(bindingsText);
	} catch (e) {
		return String(e.message);
	}
	rt.scriptFormat = format;
	if (format === FORMAT_SERVICE_WORKER) {
		names = Object.keys(rt.env);
		for (i = 0; i < names.length; i++)
			rt.define(globalThis, names[i], rt.env[names[i]]);
	}
	return undefined;
};

/* After the global scope ran: returns an error message, or undefined when a fetch handler exists. */
rt.finishLoad = function () {
	var w, handler;

	if (rt.scriptFormat === FORMAT_SERVICE_WORKER) {
		if (!rt.hasFetchListener())
			return 'no fetch event listener';
		return undefined;
	}
	w = globalThis.__worker;
	handler = w !== null && typeof w === 'object' ? w['default'] : undefined;
	if (handler === null || (typeof handler !== 'object' && typeof handler !== 'function') ||
	    typeof handler.fetch !== 'function')
		return 'module worker has no default export with a fetch handler';
	rt.handler = handler;
	return undefined;
};

rt.FORMAT_MODULE = FORMAT_MODULE;

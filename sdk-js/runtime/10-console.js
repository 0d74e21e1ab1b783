/*
 * console: formats its arguments like a browser console and hands each line
 * to the host, which forwards it to the supervisor as a LOG frame.
 */
'use strict';

var LEVEL_ERROR = 0, LEVEL_WARN = 1, LEVEL_INFO = 2;
/* The host caps a line at 16 KiB; stop formatting well before that. */
var MAX_CHARS = 16384;

function formatError(e) {
	var text, stack;

	try {
		text = String(e.name || 'Error') + ': ' + String(e.message);
		stack = e.stack;
		if (typeof stack === 'string' && stack.indexOf(text) === 0)
			return stack;
		if (typeof stack === 'string' && stack.length > 0)
			return text + '\n' + stack;
	} catch (ignored) {
		return '[error]';
	}
	return text;
}

function inspectKey(k) {
	return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(k) ? k : JSON.stringify(k);
}

function inspect(x, depth, seen) {
	var t = typeof x;
	var parts, keys, i, name;

	if (t === 'string')
		return depth === 0 ? x : JSON.stringify(x);
	if (t === 'function')
		return '[Function: ' + (x.name || '(anonymous)') + ']';
	if (t === 'symbol')
		return x.toString();
	if (x === null || t !== 'object')
		return String(x);
	if (x instanceof Error)
		return formatError(x);
	if (seen.indexOf(x) !== -1)
		return '[Circular]';
	if (ArrayBuffer.isView(x) || x instanceof ArrayBuffer)
		return Object.prototype.toString.call(x).slice(8, -1) + '(' + x.byteLength + ')';
	if (depth > 2)
		return Array.isArray(x) ? '[Array]' : '[Object]';
	seen.push(x);
	parts = [];
	if (Array.isArray(x)) {
		for (i = 0; i < x.length && i < 100; i++)
			parts.push(inspect(x[i], depth + 1, seen));
		if (x.length > 100)
			parts.push('... ' + (x.length - 100) + ' more items');
		seen.pop();
		return '[ ' + parts.join(', ') + (parts.length ? ' ]' : ']');
	}
	keys = Object.keys(x);
	for (i = 0; i < keys.length && i < 100; i++)
		parts.push(inspectKey(keys[i]) + ': ' + inspect(x[keys[i]], depth + 1, seen));
	seen.pop();
	name = x.constructor && x.constructor !== Object && typeof x.constructor.name === 'string' ?
	    x.constructor.name + ' ' : '';
	if (parts.length === 0)
		return name + '{}';
	return name + '{ ' + parts.join(', ') + ' }';
}

/* One console line from a list of arguments. */
rt.format = function (args) {
	var out = [];
	var len = 0;
	var i, s;

	for (i = 0; i < args.length && len < MAX_CHARS; i++) {
		try {
			s = inspect(args[i], 0, []);
		} catch (e) {
			s = '[uninspectable]';
		}
		out.push(s);
		len += s.length + 1;
	}
	s = out.join(' ');
	return s.length > MAX_CHARS ? s.slice(0, MAX_CHARS) : s;
};

rt.formatError = function (e) {
	return e instanceof Error ? formatError(e) : inspect(e, 1, []);
};

rt.log = function (level, line) {
	native.log(level, rt.utf8(line));
};

/* Reports an error nobody handled (a rejection, a throwing timer) at error level. */
rt.reportError = function (e, prefix) {
	rt.log(LEVEL_ERROR, prefix + ' ' + rt.formatError(e));
};

function method(level) {
	return function () {
		rt.log(level, rt.format(arguments));
	};
}

var console = {};
rt.methods(console, {
	log: method(LEVEL_INFO),
	info: method(LEVEL_INFO),
	debug: method(LEVEL_INFO),
	trace: method(LEVEL_INFO),
	warn: method(LEVEL_WARN),
	error: method(LEVEL_ERROR)
});
rt.define(globalThis, 'console', console);
rt.LEVEL_ERROR = LEVEL_ERROR;

/*
 * console: formats its arguments the way Node's util.format/inspect do
 * (compact, bounded, cycle-safe) and hands each line to the host, which
 * forwards it to the supervisor as a LOG frame.
 */
'use strict';

var LEVEL_ERROR = 0, LEVEL_WARN = 1, LEVEL_INFO = 2, LEVEL_DEBUG = 3;
/* The host caps a line at 16 KiB; stop formatting well before that. */
var MAX_CHARS = 16384;
var MAX_DEPTH = 2;
var MAX_ITEMS = 100;
var IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
var dateNow = Date.now;
var toStr = Object.prototype.toString;

/*
 * Source lines: `edgectl build` appends `var __edged_lines = { sources: [...],
 * lines: '...' }` to a Worker (format: sdk-js/cli/lib/sourcemap.js, lineTable),
 * and an error's `worker.js:LINE` is shown as `FILE:LINE (worker.js:LINE)`.
 * The table is the tenant's: read at format time, decoded once per table,
 * bounded, and anything malformed means no mapping.
 */
var LINES_MAX_CHARS = 1024 * 1024;
var LINES_MAX_RUNS = 100000;
var LINES_MAX_SOURCES = 10000;
var LINES_MAX_MAPPED = 64;
var WORKER_LINE = /worker\.js:([0-9]{1,9})/g;
var RUN = /^(?:([0-9]{1,6}):([0-9]{1,9})|(-?[0-9]{1,9}))?(?:\*([0-9]{1,9}))?$/;
var linesCache = { text: null, sources: null, table: null };

/* A data property's value, or undefined (no getters of the tenant are run). */
function ownData(o, key) {
	var d = Object.getOwnPropertyDescriptor(o, key);

	return d !== undefined && 'value' in d ? d.value : undefined;
}

/*
 * The decoded table: { sources, runs }, runs a flat list of (start, end,
 * src, base, step): generated lines start..end-1 are at sources[src], line
 * base + step * (generated line - start).
 */
function decodeLines(text, sourceList) {
	var sources = [], runs = [];
	var tokens, i, m, n, k, src = -1, line = 0, gen = 1, s;

	n = ownData(sourceList, 'length');
	if (typeof n !== 'number' || n > LINES_MAX_SOURCES)
		return null;
	for (i = 0; i < n; i++) {
		s = ownData(sourceList, String(i));
		if (typeof s !== 'string')
			return null;
		s = s.replace(/[\x00-\x1f\x7f\u2028\u2029]/g, '?');
		sources.push(s.length > 200 ? s.slice(0, 200) + '...' : s);
	}
	tokens = text.split(',');
	if (tokens.length > LINES_MAX_RUNS)
		return null;
	for (i = 0; i < tokens.length; i++) {
		m = RUN.exec(tokens[i]);
		if (m === null)
			return null;
		k = m[4] !== undefined ? parseInt(m[4], 10) : 1;
		if (!(k >= 1))
			return null;
		if (m[1] !== undefined) {
			src = parseInt(m[1], 10);
			line = parseInt(m[2], 10);
			if (src >= sources.length)
				return null;
			runs.push(gen, gen + k, src, line, 0);
		} else if (m[3] !== undefined) {
			if (src < 0)
				return null;
			n = parseInt(m[3], 10);
			runs.push(gen, gen + k, src, line + n, n);
			line += n * k;
		}
		gen += k;
	}
	return { sources: sources, runs: runs };
}

/* The tenant's line table, decoded; null when there is none or it is malformed. */
function lineTable() {
	var t, text, sourceList;

	try {
		t = ownData(globalThis, '__edged_lines');
		if (t === null || typeof t !== 'object')
			return null;
		text = ownData(t, 'lines');
		sourceList = ownData(t, 'sources');
		if (typeof text !== 'string' || text.length > LINES_MAX_CHARS ||
		    sourceList === null || typeof sourceList !== 'object')
			return null;
		if (linesCache.text !== text || linesCache.sources !== sourceList) {
			linesCache.text = text;
			linesCache.sources = sourceList;
			linesCache.table = null;
			linesCache.table = decodeLines(text, sourceList);
		}
		return linesCache.table;
	} catch (e) {
		return null;
	}
}

/* `FILE:LINE` of generated line `gen`, or null. */
function originalLine(table, gen) {
	var runs = table.runs;
	var lo = 0, hi = runs.length / 5 - 1, mid, r, line;

	while (lo <= hi) {
		mid = (lo + hi) >> 1;
		r = mid * 5;
		if (gen < runs[r]) {
			hi = mid - 1;
		} else if (gen >= runs[r + 1]) {
			lo = mid + 1;
		} else {
			line = runs[r + 3] + runs[r + 4] * (gen - runs[r]);
			return line >= 1 ? table.sources[runs[r + 2]] + ':' + line : null;
		}
	}
	return null;
}

/* `text` with each worker.js:LINE (the first LINES_MAX_MAPPED) at its original place too. */
function mapLines(text) {
	var table, count = 0;

	if (typeof text !== 'string' || text.indexOf('worker.js:') === -1)
		return text;
	table = lineTable();
	if (table === null)
		return text;
	try {
		return text.replace(WORKER_LINE, function (all, gen) {
			var at;

			if (++count > LINES_MAX_MAPPED)
				return all;
			at = originalLine(table, parseInt(gen, 10));
			return at !== null ? at + ' (' + all + ')' : all;
		});
	} catch (e) {
		return text;
	}
}

function formatError(e) {
	var text, stack;

	try {
		text = String(e.name || 'Error') + ': ' + String(e.message);
		if (e.message === '' || e.message === undefined)
			text = String(e.name || 'Error');
		stack = e.stack;
		if (typeof stack === 'string' && stack.indexOf(text) === 0)
			return mapLines(stack);
		if (typeof stack === 'string' && stack.length > 0 && stack.indexOf('\n') !== -1)
			return mapLines(text + stack.slice(stack.indexOf('\n')));
	} catch (ignored) {
		return '[error]';
	}
	return mapLines(text);
}

function quote(s) {
	return "'" + s.replace(/[\\'\n\r\t\x00-\x1f]/g, function (c) {
		var code = c.charCodeAt(0);

		if (c === '\\' || c === "'")
			return '\\' + c;
		if (c === '\n')
			return '\\n';
		if (c === '\r')
			return '\\r';
		if (c === '\t')
			return '\\t';
		return '\\x' + (code < 16 ? '0' : '') + code.toString(16);
	}) + "'";
}

function inspectKey(k) {
	return IDENT.test(k) ? k : quote(k);
}

/* Whether fn.call(x) works: a brand check through a builtin method. */
function hasBrand(fn, x) {
	try {
		fn.call(x);
		return true;
	} catch (e) {
		return false;
	}
}

function constructorName(x) {
	var proto, ctor;

	try {
		proto = Object.getPrototypeOf(x);
		if (proto === null)
			return null;
		ctor = proto.constructor;
		return typeof ctor === 'function' && typeof ctor.name === 'string' ? ctor.name : '';
	} catch (e) {
		return '';
	}
}

function isMap(x) {
	var M = rt.Map !== undefined ? rt.Map : globalThis.Map;

	return typeof M === 'function' && x instanceof M && typeof x.forEach === 'function';
}

function isSet(x) {
	var S = rt.Set !== undefined ? rt.Set : globalThis.Set;

	return typeof S === 'function' && x instanceof S && typeof x.forEach === 'function';
}

/* The own enumerable properties as 'key: value' parts (accessors are not run). */
function propertyParts(x, st, depth, skipIndices) {
	var keys = Object.keys(x);
	var parts = [];
	var i, desc;

	for (i = 0; i < keys.length && st.left > 0; i++) {
		if (skipIndices && /^(0|[1-9][0-9]*)$/.test(keys[i]))
			continue;
		if (parts.length >= MAX_ITEMS) {
			parts.push('... ' + (keys.length - i) + ' more properties');
			break;
		}
		desc = Object.getOwnPropertyDescriptor(x, keys[i]);
		if (desc === undefined)
			continue;
		if (desc.get !== undefined || desc.set !== undefined)
			parts.push(inspectKey(keys[i]) + ': ' + (desc.get !== undefined ?
			    (desc.set !== undefined ? '[Getter/Setter]' : '[Getter]') : '[Setter]'));
		else
			parts.push(inspectKey(keys[i]) + ': ' + inspect(desc.value, st, depth + 1));
	}
	return parts;
}

function braces(prefix, open, parts, close) {
	if (parts.length === 0)
		return (prefix ? prefix + ' ' : '') + open + close;
	return (prefix ? prefix + ' ' : '') + open + ' ' + parts.join(', ') + ' ' + close;
}

function listParts(n, get, st, depth) {
	var parts = [];
	var i;

	for (i = 0; i < n && i < MAX_ITEMS && st.left > 0; i++)
		parts.push(get(i));
	if (n > MAX_ITEMS)
		parts.push('... ' + (n - MAX_ITEMS) + ' more items');
	return parts;
}

function inspectArray(x, st, depth) {
	var parts = [];
	var holes = 0;
	var i;

	for (i = 0; i < x.length && parts.length < MAX_ITEMS && st.left > 0; i++) {
		if (!Object.prototype.hasOwnProperty.call(x, i)) {
			holes++;
			continue;
		}
		if (holes > 0)
			parts.push('<' + holes + ' empty item' + (holes > 1 ? 's' : '') + '>');
		holes = 0;
		parts.push(inspect(x[i], st, depth + 1));
	}
	if (holes > 0)
		parts.push('<' + holes + ' empty item' + (holes > 1 ? 's' : '') + '>');
	if (i < x.length)
		parts.push('... ' + (x.length - i) + ' more items');
	return parts.concat(propertyParts(x, st, depth, true));
}

function hex2(b) {
	return (b < 16 ? '0' : '') + b.toString(16);
}

function inspectObject(x, st, depth) {
	var name = constructorName(x);
	var tag = toStr.call(x).slice(8, -1);
	var parts, entries;

	if (x instanceof Error || x instanceof rt.DOMException)
		return depth === 0 ? formatError(x) : '[' + formatError(x).split('\n')[0] + ']';
	if (hasBrand(Date.prototype.getTime, x))
		return isNaN(x.getTime()) ? 'Invalid Date' : Date.prototype.toISOString.call(x);
	if (x instanceof RegExp)
		return String(x);
	if (hasBrand(Number.prototype.valueOf, x))
		return '[Number: ' + inspect(Number.prototype.valueOf.call(x), st, depth) + ']';
	if (hasBrand(String.prototype.valueOf, x))
		return '[String: ' + quote(String.prototype.valueOf.call(x)) + ']';
	if (hasBrand(Boolean.prototype.valueOf, x))
		return '[Boolean: ' + Boolean.prototype.valueOf.call(x) + ']';
	if (x instanceof ArrayBuffer) {
		var bytes = new Uint8Array(x);
		parts = listParts(Math.min(bytes.length, 50), function (i) { return hex2(bytes[i]); },
		    st, depth);
		return 'ArrayBuffer { [Uint8Contents]: <' + parts.join(' ') +
		    (bytes.length > 50 ? ' ... ' + (bytes.length - 50) + ' more bytes' : '') +
		    '>, byteLength: ' + x.byteLength + ' }';
	}
	if (x instanceof DataView)
		return 'DataView { byteLength: ' + x.byteLength + ', byteOffset: ' + x.byteOffset + ' }';
	if (ArrayBuffer.isView(x)) {
		parts = listParts(x.length, function (i) { return inspect(x[i], st, depth + 1); }, st,
		    depth);
		return braces((name || tag) + '(' + x.length + ')', '[', parts, ']');
	}
	if (depth > MAX_DEPTH)
		return Array.isArray(x) ? '[Array]' : '[' + (name || 'Object') + ']';
	if (st.seen.indexOf(x) !== -1)
		return '[Circular]';
	st.seen.push(x);
	try {
		if (Array.isArray(x)) {
			parts = inspectArray(x, st, depth);
			return braces(name !== 'Array' && name !== '' ? name + '(' + x.length + ')' : '',
			    '[', parts, ']');
		}
		if (isMap(x)) {
			entries = [];
			x.forEach(function (v, k) {
				if (entries.length < MAX_ITEMS && st.left > 0)
					entries.push(inspect(k, st, depth + 1) + ' => ' +
					    inspect(v, st, depth + 1));
			});
			return braces((name || 'Map') + '(' + x.size + ')', '{', entries, '}');
		}
		if (isSet(x)) {
			entries = [];
			x.forEach(function (v) {
				if (entries.length < MAX_ITEMS && st.left > 0)
					entries.push(inspect(v, st, depth + 1));
			});
			return braces((name || 'Set') + '(' + x.size + ')', '{', entries, '}');
		}
		parts = propertyParts(x, st, depth, false);
		if (name === null)
			return braces('[Object: null prototype]', '{', parts, '}');
		if (name === 'Object' || (name === '' && tag === 'Object'))
			return braces('', '{', parts, '}');
		return braces(name || tag, '{', parts, '}');
	} finally {
		st.seen.pop();
	}
}

/* Node-style inspection of one value; `st` bounds the work (chars left, the objects open). */
function inspect(x, st, depth) {
	var t = typeof x;
	var s;

	if (st.left <= 0)
		return '...';
	if (t === 'string')
		s = depth === 0 && st.top ? x : quote(x);
	else if (t === 'number')
		s = x === 0 && 1 / x < 0 ? '-0' : String(x);
	else if (t === 'function')
		s = '[Function: ' + (x.name || '(anonymous)') + ']';
	else if (t === 'symbol')
		s = x.toString();
	else if (x === null || t !== 'object')
		s = String(x);
	else
		s = inspectObject(x, st, depth);
	st.left -= s.length;
	return s;
}

function newState(top) {
	return { left: MAX_CHARS, seen: [], top: top };
}

function jsonOf(x) {
	try {
		return JSON.stringify(x);
	} catch (e) {
		return e instanceof TypeError ? '[Circular]' : '[unserializable]';
	}
}

/* util.format: %s %d %i %f %j %o %O %c %% in a leading string, the rest inspected. */
function format(args) {
	var out = '';
	var first = args[0];
	var next = 1;
	var i, s, c, a;

	if (typeof first !== 'string') {
		next = 0;
	} else if (args.length === 1) {
		out = first;
	} else {
		for (i = 0; i < first.length; i++) {
			c = first.charAt(i);
			if (c !== '%' || i + 1 >= first.length) {
				out += c;
				continue;
			}
			c = first.charAt(i + 1);
			if (c === '%') {
				out += '%';
				i++;
				continue;
			}
			if ('sdifjoOc'.indexOf(c) === -1 || next >= args.length) {
				out += '%';
				continue;
			}
			a = args[next++];
			i++;
			if (c === 's')
				s = typeof a === 'string' ? a : typeof a === 'symbol' ? a.toString() :
				    a !== null && typeof a === 'object' ? inspect(a, newState(false), 1) :
				    inspect(a, newState(false), 0);
			else if (c === 'd')
				s = typeof a === 'object' && a !== null ? 'NaN' : inspect(Number(a), newState(false), 0);
			else if (c === 'i')
				s = typeof a === 'object' && a !== null ? 'NaN' : String(parseInt(a, 10));
			else if (c === 'f')
				s = typeof a === 'symbol' ? 'NaN' : String(parseFloat(a));
			else if (c === 'j')
				s = jsonOf(a);
			else if (c === 'c')
				s = '';
			else
				s = inspect(a, newState(false), 0);
			out += s;
			if (out.length > MAX_CHARS)
				return out;
		}
	}
	for (; next < args.length && out.length < MAX_CHARS; next++) {
		if (out.length > 0 || (next > 0))
			out += ' ';
		try {
			out += inspect(args[next], newState(true), 0);
		} catch (e) {
			out += '[uninspectable]';
		}
	}
	return out;
}

/* One console line from a list of arguments. */
rt.format = function (args) {
	var s;

	try {
		s = format(args);
	} catch (e) {
		s = '[uninspectable]';
	}
	return s.length > MAX_CHARS ? s.slice(0, MAX_CHARS) : s;
};

rt.inspect = function (x) {
	return inspect(x, newState(false), 0);
};

rt.formatError = function (e) {
	return e instanceof Error ? formatError(e) : inspect(e, newState(false), 1);
};

rt.log = function (level, line) {
	native.log(level, rt.utf8(line));
};

/* Reports an error nobody handled (a rejection, a throwing timer) at error level. */
rt.reportError = function (e, prefix) {
	rt.log(LEVEL_ERROR, prefix + ' ' + rt.formatError(e));
};

/* ---- the console object --------------------------------------------------- */

var indent = '';
var counts = {};
var timers = {};

function emit(level, line) {
	if (indent !== '')
		line = indent + line.split('\n').join('\n' + indent);
	rt.log(level, line.length > MAX_CHARS ? line.slice(0, MAX_CHARS) : line);
}

function method(level) {
	return function () {
		emit(level, rt.format(arguments));
	};
}

function labelOf(label) {
	return label === undefined ? 'default' : String(label);
}

function pad(s, n) {
	while (s.length < n)
		s += ' ';
	return s;
}

function repeat(s, n) {
	return new Array(n + 1).join(s);
}

/* console.table: rows of an array or object as a box-drawn table. */
function table(data, columns) {
	var rowKeys, cols = [], hasValues = false;
	var rows = [];
	var i, j, row, v, widths, line, out;

	if (data === null || typeof data !== 'object')
		return null;
	rowKeys = Object.keys(data).slice(0, MAX_ITEMS);
	for (i = 0; i < rowKeys.length; i++) {
		row = data[rowKeys[i]];
		if (row !== null && typeof row === 'object' && !(row instanceof Date)) {
			Object.keys(row).forEach(function (k) {
				if (cols.indexOf(k) === -1)
					cols.push(k);
			});
		} else {
			hasValues = true;
		}
	}
	if (Array.isArray(columns))
		cols = columns.map(String);
	cols = cols.slice(0, 20);
	for (i = 0; i < rowKeys.length; i++) {
		row = data[rowKeys[i]];
		line = [rowKeys[i]];
		for (j = 0; j < cols.length; j++) {
			v = row !== null && typeof row === 'object' &&
			    Object.prototype.hasOwnProperty.call(row, cols[j]) ? row[cols[j]] : undefined;
			line.push(v === undefined && !(row !== null && typeof row === 'object' &&
			    cols[j] in row) ? '' : inspect(v, newState(false), 1));
		}
		if (hasValues)
			line.push(row !== null && typeof row === 'object' && !(row instanceof Date) ? '' :
			    inspect(row, newState(false), 1));
		rows.push(line);
	}
	var head = ['(index)'].concat(cols);
	if (hasValues)
		head.push('Values');
	widths = head.map(function (h, k) {
		var w = h.length;

		rows.forEach(function (r) { w = Math.max(w, r[k].length); });
		return Math.min(w, 200) + 2;
	});
	function rule(l, m, r) {
		return l + widths.map(function (w) { return repeat('\u2500', w); }).join(m) + r;
	}
	function cells(r) {
		return '\u2502' + r.map(function (c, k) {
			return ' ' + pad(c.slice(0, widths[k] - 2), widths[k] - 1);
		}).join('\u2502') + '\u2502';
	}
	out = [rule('\u250c', '\u252c', '\u2510'), cells(head), rule('\u251c', '\u253c', '\u2524')];
	rows.forEach(function (r) { out.push(cells(r)); });
	out.push(rule('\u2514', '\u2534', '\u2518'));
	return out.join('\n');
}

var console = {};
rt.methods(console, {
	log: method(LEVEL_INFO),
	info: method(LEVEL_INFO),
	debug: method(LEVEL_DEBUG),
	warn: method(LEVEL_WARN),
	error: method(LEVEL_ERROR),
	dir: function (x) {
		emit(LEVEL_INFO, inspect(x, newState(false), 0));
	},
	dirxml: method(LEVEL_INFO),
	trace: function () {
		var stack = new Error('trace').stack;
		var lines = typeof stack === 'string' ? stack.split('\n').slice(2) : [];
		var text = rt.format(arguments);

		emit(LEVEL_INFO, 'Trace' + (text !== '' ? ': ' + text : '') +
		    (lines.length > 0 ? '\n' + lines.join('\n') : ''));
	},
	assert: function (condition) {
		var rest;

		if (condition)
			return;
		rest = Array.prototype.slice.call(arguments, 1);
		emit(LEVEL_ERROR, 'Assertion failed' + (rest.length > 0 ? ': ' + rt.format(rest) : ''));
	},
	table: function (data, columns) {
		var text = null;

		try {
			text = table(data, columns);
		} catch (e) {
			text = null;
		}
		emit(LEVEL_INFO, text !== null ? text : rt.format([data]));
	},
	count: function (label) {
		label = labelOf(label);
		counts[label] = Object.prototype.hasOwnProperty.call(counts, label) ?
		    counts[label] + 1 : 1;
		emit(LEVEL_INFO, label + ': ' + counts[label]);
	},
	countReset: function (label) {
		label = labelOf(label);
		if (!Object.prototype.hasOwnProperty.call(counts, label))
			emit(LEVEL_WARN, "Count for '" + label + "' does not exist");
		else
			counts[label] = 0;
	},
	time: function (label) {
		label = labelOf(label);
		if (Object.prototype.hasOwnProperty.call(timers, label)) {
			emit(LEVEL_WARN, "Label '" + label + "' already exists for console.time()");
			return;
		}
		timers[label] = dateNow();
	},
	timeLog: function (label) {
		var extra;

		label = labelOf(label);
		if (!Object.prototype.hasOwnProperty.call(timers, label)) {
			emit(LEVEL_WARN, "No such label '" + label + "' for console.timeLog()");
			return;
		}
		extra = Array.prototype.slice.call(arguments, 1);
		emit(LEVEL_INFO, label + ': ' + (dateNow() - timers[label]) + 'ms' +
		    (extra.length > 0 ? ' ' + rt.format(extra) : ''));
	},
	timeEnd: function (label) {
		label = labelOf(label);
		if (!Object.prototype.hasOwnProperty.call(timers, label)) {
			emit(LEVEL_WARN, "No such label '" + label + "' for console.timeEnd()");
			return;
		}
		emit(LEVEL_INFO, label + ': ' + (dateNow() - timers[label]) + 'ms');
		delete timers[label];
	},
	group: function () {
		if (arguments.length > 0)
			emit(LEVEL_INFO, rt.format(arguments));
		if (indent.length < 64)
			indent += '  ';
	},
	groupCollapsed: function () {
		console.group.apply(console, arguments);
	},
	groupEnd: function () {
		indent = indent.slice(2);
	}
});
rt.define(globalThis, 'console', console);
rt.LEVEL_ERROR = LEVEL_ERROR;

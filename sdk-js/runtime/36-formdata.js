/*
 * FormData: an ordered list of name/value entries whose values are strings or
 * Files; the multipart/form-data encoding of it is in 40-body.js.
 */
'use strict';

var SLOT = native.hidden('formdata');
var SURROGATE = /[\ud800-\udfff]/;

/* A USVString: lone surrogates become U+FFFD. */
function usv(s) {
	var out = '';
	var i, c, d;

	s = String(s);
	if (!SURROGATE.test(s))
		return s;
	for (i = 0; i < s.length; i++) {
		c = s.charCodeAt(i);
		if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
			d = s.charCodeAt(i + 1);
			if (d >= 0xdc00 && d <= 0xdfff) {
				out += s.charAt(i) + s.charAt(i + 1);
				i++;
				continue;
			}
		}
		out += c >= 0xd800 && c <= 0xdfff ? '\ufffd' : s.charAt(i);
	}
	return out;
}
rt.usv = usv;

function state(f) {
	var st = f !== null && typeof f === 'object' ? f[SLOT] : undefined;

	if (st === undefined)
		throw new TypeError('Illegal invocation: not a FormData object');
	return st;
}

/* The entry for (name, value[, filename]) as FormData stores it: [name, string or File]. */
function makeEntry(args, method) {
	var name, value, filename;

	if (args.length < 2)
		throw new TypeError("Failed to execute '" + method + "' on 'FormData': 2 arguments required.");
	name = usv(args[0]);
	value = args[1];
	if (!rt.isBlob(value)) {
		if (args.length > 2)
			throw new TypeError("Failed to execute '" + method +
			    "' on 'FormData': parameter 2 is not of type 'Blob'.");
		return [name, usv(value)];
	}
	filename = args.length > 2 && args[2] !== undefined ? usv(args[2]) :
	    (rt.isFile(value) ? value.name : 'blob');
	if (rt.isFile(value) && (args.length < 3 || args[2] === undefined))
		return [name, value];
	return [name, rt.fileOf(rt.blobBytes(value), filename, value.type,
	    rt.isFile(value) ? value.lastModified : undefined)];
}

function FormData(form) {
	if (!(this instanceof FormData))
		throw new TypeError("Failed to construct 'FormData': use 'new'");
	if (form !== undefined)
		throw new TypeError("Failed to construct 'FormData': there are no HTML forms here");
	Object.defineProperty(this, SLOT, { value: { list: [] } });
}

function iterator(fd, pick) {
	var st = state(fd);

	return rt.makeIterator(function () { return st.list; }, pick, 'FormData Iterator');
}

rt.methods(FormData.prototype, {
	append: function (name, value, filename) {
		state(this).list.push(makeEntry(arguments, 'append'));
	},
	set: function (name, value, filename) {
		var st = state(this);
		var entry = makeEntry(arguments, 'set');
		var i, at = -1;

		for (i = 0; i < st.list.length; i++) {
			if (st.list[i][0] === entry[0]) {
				at = i;
				break;
			}
		}
		if (at === -1) {
			st.list.push(entry);
			return;
		}
		st.list = st.list.filter(function (e, j) { return j <= at || e[0] !== entry[0]; });
		st.list[at] = entry;
	},
	'delete': function (name) {
		var st = state(this);
		var key = usv(name);

		st.list = st.list.filter(function (e) { return e[0] !== key; });
	},
	get: function (name) {
		var st = state(this);
		var key = usv(name);
		var i;

		for (i = 0; i < st.list.length; i++)
			if (st.list[i][0] === key)
				return st.list[i][1];
		return null;
	},
	getAll: function (name) {
		var key = usv(name);

		return state(this).list.filter(function (e) { return e[0] === key; })
		    .map(function (e) { return e[1]; });
	},
	has: function (name) {
		var key = usv(name);

		return state(this).list.some(function (e) { return e[0] === key; });
	},
	forEach: function (callback, thisArg) {
		var st = state(this);
		var i;

		if (typeof callback !== 'function')
			throw new TypeError('FormData.forEach: callback is not a function');
		for (i = 0; i < st.list.length; i++)
			callback.call(thisArg, st.list[i][1], st.list[i][0], this);
	},
	entries: function () {
		return iterator(this, function (e) { return [e[0], e[1]]; });
	},
	keys: function () {
		return iterator(this, function (e) { return e[0]; });
	},
	values: function () {
		return iterator(this, function (e) { return e[1]; });
	}
});
rt.define(FormData.prototype, Symbol.iterator, FormData.prototype.entries);
Object.defineProperty(FormData.prototype, Symbol.toStringTag, { value: 'FormData', configurable: true });

rt.isFormData = function (x) {
	return x !== null && typeof x === 'object' && x[SLOT] !== undefined;
};

/* The entries of a FormData: [name, string or File] pairs (do not change them). */
rt.formDataEntries = function (fd) {
	return state(fd).list;
};

/* A new FormData holding the given entries. */
rt.formDataOf = function (entries) {
	var fd = new FormData();

	state(fd).list = entries;
	return fd;
};

rt.FormData = FormData;
rt.define(globalThis, 'FormData', FormData);

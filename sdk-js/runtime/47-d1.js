/*
 * D1Database, D1PreparedStatement and D1DatabaseSession: the env member of a
 * "d1" binding.  Statements run in the broker's D1 backend (sqlite) through
 * storage calls (rt.call, 44-calls.js): "query", "batch" and "exec" of
 * broker/store.h.  Its failures already read "D1_ERROR: ..." (or
 * "D1_EXEC_ERROR: ...") and reach the script as they are.
 */
'use strict';

var Promise = rt.Promise;
var DB = native.hidden('d1database');
var STMT = native.hidden('d1statement');
var SESSION = native.hidden('d1session');
var LATIN1_CHUNK = 8192;
var INTERNAL = {};

function attempt(fn) {
	try {
		return Promise.resolve(fn());
	} catch (e) {
		return Promise.reject(e);
	}
}

function call(binding, method, args) {
	if (typeof rt.call !== 'function')
		return Promise.reject(new Error('D1_ERROR: storage calls are not available'));
	return rt.call(binding, method, args).then(function (r) {
		return r.doc;
	});
}

function bindingOf(db) {
	var name = db !== null && typeof db === 'object' ? db[DB] : undefined;

	if (name === undefined)
		throw new TypeError('Illegal invocation');
	return name;
}

function statementOf(s) {
	var st = s !== null && typeof s === 'object' ? s[STMT] : undefined;

	if (st === undefined)
		throw new TypeError('Illegal invocation');
	return st;
}

/* base64 of bytes, for a BLOB parameter ({"blob": base64} in store.h). */
function base64(bytes) {
	var parts = [];
	var i;

	for (i = 0; i < bytes.length; i += LATIN1_CHUNK)
		parts.push(String.fromCharCode.apply(null, bytes.subarray(i, i + LATIN1_CHUNK)));
	return native.btoa(parts.join(''));
}

function isByteArray(x) {
	var i;

	if (!Array.isArray(x))
		return false;
	for (i = 0; i < x.length; i++)
		if (typeof x[i] !== 'number' || !(x[i] >= 0 && x[i] < 256) || x[i] % 1 !== 0)
			return false;
	return true;
}

/* A value for the message of D1_TYPE_ERROR, which must not throw itself. */
function shown(x) {
	try {
		return String(x);
	} catch (e) {
		return typeof x;
	}
}

/* A bound value as a parameter of the call document; Error D1_TYPE_ERROR for the rest. */
function parameter(v) {
	var bytes;

	if (v === null || typeof v === 'number' || typeof v === 'string')
		return v;
	if (typeof v === 'boolean')
		return v ? 1 : 0;
	if (typeof v === 'object') {
		bytes = rt.copyBytes(v);
		if (bytes === null && isByteArray(v))
			bytes = new Uint8Array(v);
		if (bytes !== null)
			return { blob: base64(bytes) };
	}
	throw new Error("D1_TYPE_ERROR: Type '" + typeof v + "' not supported for value '" +
	    shown(v) + "'");
}

/* Rows as objects keyed by column name; a later column of the same name wins, as in D1. */
function rowObjects(columns, rows) {
	var out = [];
	var i, j, row, obj;

	for (i = 0; i < rows.length; i++) {
		row = rows[i];
		obj = {};
		for (j = 0; j < columns.length; j++) {
			if (columns[j] === '__proto__')
				Object.defineProperty(obj, '__proto__', {
					value: row[j], enumerable: true, writable: true, configurable: true
				});
			else
				obj[columns[j]] = row[j];
		}
		out.push(obj);
	}
	return out;
}

/* The meta of a result: the backend's, plus what D1 also says about where it ran. */
function metaOf(meta) {
	var out = {};
	var names, i;

	if (meta !== null && typeof meta === 'object') {
		names = Object.keys(meta);
		for (i = 0; i < names.length; i++)
			out[names[i]] = meta[names[i]];
	}
	out.served_by_primary = true;
	out.timings = { sql_duration_ms: typeof out.duration === 'number' ? out.duration : 0 };
	return out;
}

function columnsOf(result) {
	return Array.isArray(result.columns) ? result.columns : [];
}

function rowsOf(result) {
	return Array.isArray(result.rows) ? result.rows : [];
}

/* A statement result of store.h as a D1Result. */
function d1Result(result) {
	return {
		success: true,
		meta: metaOf(result.meta),
		results: rowObjects(columnsOf(result), rowsOf(result))
	};
}

function D1PreparedStatement(token, binding, sql, params) {
	if (token !== INTERNAL)
		throw new TypeError('Illegal constructor');
	Object.defineProperty(this, STMT, { value: { binding: binding, sql: sql, params: params } });
}

function newStatement(binding, sql, params) {
	return new D1PreparedStatement(INTERNAL, binding, sql, params);
}

function query(st) {
	return call(st.binding, 'query', { sql: st.sql, params: st.params });
}

rt.methods(D1PreparedStatement.prototype, {
	bind: function () {
		var st = statementOf(this);
		var params = [];
		var i;

		for (i = 0; i < arguments.length; i++)
			params.push(parameter(arguments[i]));
		return newStatement(st.binding, st.sql, params);
	},
	first: function (column) {
		var st = statementOf(this);

		return attempt(function () {
			var name = column === undefined ? undefined : String(column);

			return query(st).then(function (result) {
				var rows = rowObjects(columnsOf(result), rowsOf(result).slice(0, 1));

				if (rows.length === 0)
					return null;
				if (name === undefined)
					return rows[0];
				if (!Object.prototype.hasOwnProperty.call(rows[0], name))
					throw new Error('D1_COLUMN_NOTFOUND: Column not found (' + name + ')');
				return rows[0][name];
			});
		});
	},
	all: function () {
		var st = statementOf(this);

		return attempt(function () {
			return query(st).then(d1Result);
		});
	},
	run: function () {
		var st = statementOf(this);

		return attempt(function () {
			return query(st).then(d1Result);
		});
	},
	raw: function (options) {
		var st = statementOf(this);

		return attempt(function () {
			var names = options !== undefined && options !== null && options.columnNames === true;

			return query(st).then(function (result) {
				var rows = rowsOf(result).slice();

				if (names)
					rows.unshift(columnsOf(result).slice());
				return rows;
			});
		});
	}
});
Object.defineProperty(D1PreparedStatement.prototype, Symbol.toStringTag, {
	value: 'D1PreparedStatement', configurable: true
});

function batch(binding, statements) {
	return attempt(function () {
		var list = [];
		var i, st;

		if (!Array.isArray(statements))
			throw new TypeError('D1 batch() takes an array of prepared statements');
		for (i = 0; i < statements.length; i++) {
			st = statements[i] !== null && typeof statements[i] === 'object' ?
			    statements[i][STMT] : undefined;
			if (st === undefined)
				throw new TypeError('D1 batch() takes an array of prepared statements: item ' + i +
				    ' is not one');
			if (st.binding !== binding)
				throw new TypeError('D1 batch(): statement ' + i + ' was prepared on another database');
			list.push({ sql: st.sql, params: st.params });
		}
		if (list.length === 0)
			return [];
		return call(binding, 'batch', { statements: list }).then(function (doc) {
			var results = Array.isArray(doc.results) ? doc.results : [];
			var out = [];
			var j;

			for (j = 0; j < results.length; j++)
				out.push(d1Result(results[j]));
			return out;
		});
	});
}

function D1Database() {
	throw new TypeError('Illegal constructor');
}

function D1DatabaseSession() {
	throw new TypeError('Illegal constructor');
}

rt.methods(D1Database.prototype, {
	prepare: function (sql) {
		return newStatement(bindingOf(this), String(sql), []);
	},
	batch: function (statements) {
		return batch(bindingOf(this), statements);
	},
	exec: function (sql) {
		var binding = bindingOf(this);

		return attempt(function () {
			return call(binding, 'exec', { sql: String(sql) }).then(function (doc) {
				return { count: doc.count, duration: doc.duration };
			});
		});
	},
	/* edged keeps no dump format: Cloudflare deprecated dump() too. */
	dump: function () {
		bindingOf(this);
		return Promise.reject(new Error('D1_DUMP_ERROR: not supported'));
	},
	/*
	 * One database, one copy: every session reads its own writes and the
	 * bookmark has nothing to say.  The constraint is accepted and ignored.
	 */
	withSession: function (constraintOrBookmark) {
		var session = Object.create(D1DatabaseSession.prototype);

		Object.defineProperty(session, SESSION, { value: bindingOf(this) });
		return session;
	}
});
Object.defineProperty(D1Database.prototype, Symbol.toStringTag, {
	value: 'D1Database', configurable: true
});

function sessionBinding(s) {
	var name = s !== null && typeof s === 'object' ? s[SESSION] : undefined;

	if (name === undefined)
		throw new TypeError('Illegal invocation');
	return name;
}

rt.methods(D1DatabaseSession.prototype, {
	prepare: function (sql) {
		return newStatement(sessionBinding(this), String(sql), []);
	},
	batch: function (statements) {
		return batch(sessionBinding(this), statements);
	},
	getBookmark: function () {
		sessionBinding(this);
		return null;
	}
});
Object.defineProperty(D1DatabaseSession.prototype, Symbol.toStringTag, {
	value: 'D1DatabaseSession', configurable: true
});

/* The D1Database of binding `name`. */
rt.makeD1Database = function (name) {
	var db = Object.create(D1Database.prototype);

	Object.defineProperty(db, DB, { value: name });
	return db;
};
rt.D1Database = D1Database;

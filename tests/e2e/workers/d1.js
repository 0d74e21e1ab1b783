/*
 * The Worker of tests/e2e/test_d1.c (ES5, uploaded as it is): env.DB is a
 * D1 database binding and env.KV a KV namespace.  GET /<scenario> runs one
 * scenario and answers JSON; /users and /users/:id are the guide's users
 * API with a KV cache in front of D1.  The harness loads common.js first.
 */
function typesOf(obj) {
	var out = {};
	var names = Object.keys(obj);
	var i;

	for (i = 0; i < names.length; i++)
		out[names[i]] = typeof obj[names[i]];
	return out;
}

var SCHEMA = [
	'CREATE TABLE things (id INTEGER PRIMARY KEY, n INTEGER, r REAL, s TEXT, b BLOB, flag INTEGER, note TEXT);',
	'CREATE TABLE users (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, email TEXT NOT NULL UNIQUE, created_at INTEGER NOT NULL DEFAULT 0);',
	'CREATE INDEX users_by_email ON users (email);'
].join('\n');

var scenarios = {
	setup: function (env) {
		return env.DB.exec(SCHEMA).then(function (r) {
			return { count: r.count, durationType: typeof r.duration, keys: Object.keys(r).sort() };
		});
	},
	types: function (env) {
		var buf = new ArrayBuffer(4);
		var insert = 'INSERT INTO things (n, r, s, b, flag, note) VALUES (?, ?, ?, ?, ?, ?)';

		new Uint8Array(buf).set([9, 8, 7, 6]);
		return inOrder({
			a: function () {
				return env.DB.prepare(insert).bind(42, 2.5, 'text \u00fc', new Uint8Array([1, 2, 3]),
				    true, null).run();
			},
			b: function () {
				return env.DB.prepare(insert).bind(-7, 0.125, '', buf, false, null).run();
			},
			c: function () {
				return env.DB.prepare(insert).bind(9007199254740991, -1e300, 'x',
				    new DataView(buf, 1, 2), 0, 'set').run();
			},
			d: function () {
				return env.DB.prepare('INSERT INTO things (n, b) VALUES (?1, ?2)').bind(3, [4, 5, 255]).run();
			},
			e: function () {
				return env.DB.prepare('INSERT INTO things (n, b) VALUES (?, ?)').bind(4, new Uint16Array([258])).run();
			}
		}).then(function () {
			return env.DB.prepare('SELECT * FROM things ORDER BY id').all();
		}).then(function (r) {
			return r.results;
		});
	},
	typeerror: function (env) {
		var stmt = env.DB.prepare('SELECT ?');

		return all({
			undef: settle(function () { return stmt.bind(undefined); }),
			object: settle(function () { return stmt.bind({ a: 1 }); }),
			nested: settle(function () { return stmt.bind(1, 'two', undefined); }),
			strings: settle(function () { return stmt.bind([1, 'x']); }),
			fine: stmt.bind(1).first()
		});
	},
	query: function (env) {
		var select = 'SELECT id, n, s FROM things WHERE n = ?';

		return all({
			first: env.DB.prepare(select).bind(42).first(),
			firstColumn: env.DB.prepare(select).bind(42).first('s'),
			missingColumn: settle(function () { return env.DB.prepare(select).bind(42).first('nope'); }),
			noRow: env.DB.prepare(select).bind(-1000).first(),
			noRowColumn: env.DB.prepare(select).bind(-1000).first('s'),
			all: env.DB.prepare('SELECT id, n FROM things WHERE n > ? ORDER BY n').bind(0).all(),
			raw: env.DB.prepare('SELECT id, n FROM things WHERE n > ? ORDER BY n').bind(0).raw(),
			rawNames: env.DB.prepare('SELECT id, n FROM things WHERE n > ? ORDER BY n').bind(0)
			    .raw({ columnNames: true }),
			rawEmpty: env.DB.prepare('SELECT id FROM things WHERE 0').raw({ columnNames: true }),
			dupAll: env.DB.prepare('SELECT 1 AS a, 2 AS a, 3 AS b').all(),
			dupRaw: env.DB.prepare('SELECT 1 AS a, 2 AS a, 3 AS b').raw({ columnNames: true }),
			proto: env.DB.prepare('SELECT 1 AS __proto__, 2 AS constructor').first(),
			reused: (function () {
				var stmt = env.DB.prepare('SELECT ? AS v');
				var one = stmt.bind(1);
				var two = stmt.bind(2);

				return Promise.all([one.first('v'), two.first('v'), one.first('v')]);
			})()
		}).then(function (r) {
			r.all = { success: r.all.success, results: r.all.results, hasMeta: typeof r.all.meta };
			r.dupAll = r.dupAll.results;
			r.proto = { own: Object.keys(r.proto), value: Object.getOwnPropertyDescriptor(r.proto,
			    '__proto__').value, plainPrototype: Object.getPrototypeOf(r.proto) === Object.prototype,
			    constructor: r.proto.constructor };
			return r;
		});
	},
	run: function (env) {
		return inOrder({
			insert: function () {
				return env.DB.prepare('INSERT INTO things (n, s) VALUES (?, ?)').bind(100, 'hundred').run();
			},
			update: function () {
				return env.DB.prepare('UPDATE things SET flag = 7 WHERE n >= ?').bind(0).run();
			},
			select: function () {
				return env.DB.prepare('SELECT count(*) AS c FROM things').run();
			}
		}).then(function (r) {
			function pick(x) {
				return {
					success: x.success, results: x.results, changes: x.meta.changes,
					last_row_id: x.meta.last_row_id, changed_db: x.meta.changed_db,
					wrote: x.meta.rows_written > 0
				};
			}
			return {
				insert: pick(r.insert),
				update: { success: r.update.success, results: r.update.results,
				    changes: r.update.meta.changes, changed_db: r.update.meta.changed_db },
				select: { success: r.select.success, results: r.select.results,
				    changed_db: r.select.meta.changed_db }
			};
		});
	},
	meta: function (env) {
		return env.DB.prepare('INSERT INTO things (n) VALUES (?)').bind(5).run().then(function (r) {
			return {
				types: typesOf(r.meta),
				timings: typesOf(r.meta.timings),
				servedByPrimary: r.meta.served_by_primary,
				sizeAfterPositive: r.meta.size_after > 0
			};
		});
	},
	'batch-ok': function (env) {
		return env.DB.batch([
			env.DB.prepare('INSERT INTO things (n, s) VALUES (?, ?)').bind(201, 'batch one'),
			env.DB.prepare('INSERT INTO things (n, s) VALUES (?, ?)').bind(202, 'batch two'),
			env.DB.prepare('SELECT s FROM things WHERE n > ? ORDER BY n').bind(200)
		]).then(function (results) {
			return {
				isArray: Array.isArray(results),
				length: results.length,
				changes: [results[0].meta.changes, results[1].meta.changes],
				success: results.map(function (x) { return x.success; }),
				last: results[2].results
			};
		});
	},
	'batch-fail': function (env) {
		function count() {
			return env.DB.prepare('SELECT count(*) AS c FROM things').first('c');
		}
		return count().then(function (before) {
			return settle(function () {
				return env.DB.batch([
					env.DB.prepare('INSERT INTO things (n, s) VALUES (?, ?)').bind(301, 'lost one'),
					env.DB.prepare('INSERT INTO things (n, s) VALUES (?, ?)').bind(302, 'lost two'),
					env.DB.prepare('INSERT INTO no_such_table (x) VALUES (?)').bind(1)
				]);
			}).then(function (failed) {
				return count().then(function (after) {
					return all({
						before: before,
						after: after,
						failed: failed,
						lost: env.DB.prepare('SELECT count(*) AS c FROM things WHERE n > 300').first('c'),
						notStatements: settle(function () { return env.DB.batch(['SELECT 1']); }),
						empty: env.DB.batch([])
					});
				});
			});
		});
	},
	errors: function (env) {
		return all({
			syntax: settle(function () { return env.DB.prepare('SELEC oops').all(); }),
			table: settle(function () { return env.DB.prepare('SELECT * FROM missing_table').first(); }),
			unique: settle(function () {
				return env.DB.prepare('INSERT INTO users (name, email) VALUES (?, ?), (?, ?)')
				    .bind('a', 'same@example.com', 'b', 'same@example.com').run();
			}),
			exec: settle(function () { return env.DB.exec('CREATE TABLE ok1 (x);\nNOT SQL AT ALL;'); })
		});
	},
	session: function (env) {
		var session = env.DB.withSession('first-primary');
		var other = env.DB.withSession();

		return all({
			first: session.prepare('SELECT 1 AS one').first(),
			batch: session.batch([session.prepare('SELECT ? AS v').bind('in session')]).then(function (r) {
				return r[0].results;
			}),
			bookmark: session.getBookmark(),
			otherBookmark: other.getBookmark(),
			methods: typesOf({ prepare: session.prepare, batch: session.batch, getBookmark: session.getBookmark }),
			tag: Object.prototype.toString.call(session)
		});
	},
	dump: function (env) {
		return settle(function () { return env.DB.dump(); });
	},
	illegal: function (env) {
		var db = env.DB;
		var stmt = db.prepare('SELECT 1');

		return all({
			prepare: settle(function () { return db.prepare.call({}, 'SELECT 1'); }),
			batch: settle(function () { return db.batch.call(null, []); }),
			all: settle(function () { return stmt.all.call({}); }),
			construct: settle(function () { return new db.constructor(); }),
			constructStatement: settle(function () { return new stmt.constructor(db, 'SELECT 1'); }),
			keys: Object.keys(db),
			statementKeys: Object.keys(stmt),
			json: JSON.stringify(db),
			tags: [Object.prototype.toString.call(db), Object.prototype.toString.call(stmt)]
		});
	},
	'persist-put': function (env) {
		return env.DB.exec('CREATE TABLE durable (k TEXT PRIMARY KEY, v BLOB)').then(function () {
			return env.DB.prepare('INSERT INTO durable VALUES (?, ?)').bind('kept', new Uint8Array([7, 7, 7])).run();
		}).then(function () {
			return { ok: true };
		});
	},
	'persist-get': function (env) {
		return env.DB.prepare('SELECT * FROM durable').all().then(function (r) {
			return r.results;
		});
	}
};

/* The guide's users API, with a KV cache in front of D1 (ES5 of what a user writes). */
function handleUsers(request, env, url) {
	var method = request.method;
	var id = url.pathname.split('/')[2];

	if (method === 'POST' && id === undefined) {
		return request.json().then(function (body) {
			return env.DB.prepare('INSERT INTO users (name, email, created_at) VALUES (?, ?, ?) RETURNING id, name, email')
			    .bind(body.name, body.email, Date.now()).first();
		}).then(function (user) {
			return env.KV['delete']('users:list').then(function () {
				return Response.json(user, { status: 201 });
			});
		});
	}
	if (method === 'GET' && id === undefined) {
		return env.KV.get('users:list', { type: 'json' }).then(function (cached) {
			if (cached)
				return Response.json(cached, { headers: { 'X-Cache': 'HIT' } });
			return env.DB.prepare('SELECT id, name, email FROM users ORDER BY id LIMIT 100').all().then(function (r) {
				return env.KV.put('users:list', JSON.stringify(r.results), { expirationTtl: 60 }).then(function () {
					return Response.json(r.results, { headers: { 'X-Cache': 'MISS' } });
				});
			});
		});
	}
	if (method === 'GET') {
		return env.KV.get('user:' + id, { type: 'json' }).then(function (cached) {
			if (cached)
				return Response.json(cached, { headers: { 'X-Cache': 'HIT' } });
			return env.DB.prepare('SELECT id, name, email FROM users WHERE id = ?').bind(Number(id)).first().then(function (user) {
				if (!user)
					return Response.json({ error: 'Not found' }, { status: 404 });
				return env.KV.put('user:' + id, JSON.stringify(user), { expirationTtl: 300 }).then(function () {
					return Response.json(user, { headers: { 'X-Cache': 'MISS' } });
				});
			});
		});
	}
	if (method === 'PUT') {
		return request.json().then(function (body) {
			return env.DB.prepare('UPDATE users SET name = ? WHERE id = ? RETURNING id, name, email')
			    .bind(body.name, Number(id)).first();
		}).then(function (user) {
			if (!user)
				return Response.json({ error: 'Not found' }, { status: 404 });
			return Promise.all([env.KV['delete']('user:' + id), env.KV['delete']('users:list')]).then(function () {
				return Response.json(user);
			});
		});
	}
	return new Response('Method Not Allowed', { status: 405 });
}

function handle(request, env) {
	var url = new URL(request.url);

	if (url.pathname === '/users' || url.pathname.indexOf('/users/') === 0)
		return handleUsers(request, env, url);
	return scenarioResponse(scenarios, env, url);
}

var __worker = workerOf(handle);

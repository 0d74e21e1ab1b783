/*
 * The Worker of tests/e2e/test_kv.c (ES5, uploaded as it is): env.KV is a
 * KV namespace binding.  GET /<scenario>?... runs one scenario and answers
 * JSON; /api/*, /flags/* and /upload, /download are the guide's patterns
 * and a large value streamed in and out.  The harness loads common.js first.
 */
var encoder = new TextEncoder();

function byteList(buffer) {
	var view = new Uint8Array(buffer);
	var out = [];
	var i;

	for (i = 0; i < view.length; i++)
		out.push(view[i]);
	return out;
}

function mapEntries(map) {
	var out = [];

	map.forEach(function (value, key) {
		out.push([key, value]);
	});
	return out;
}

function pad(n) {
	var s = String(n);

	while (s.length < 4)
		s = '0' + s;
	return s;
}

/* A stream of the given strings as UTF-8 chunks, each produced after a timer. */
function slowStream(parts) {
	var i = 0;

	return new ReadableStream({
		pull: function (controller) {
			return new Promise(function (resolve) {
				setTimeout(resolve, 1);
			}).then(function () {
				if (i < parts.length)
					controller.enqueue(encoder.encode(parts[i++]));
				else
					controller.close();
			});
		}
	});
}

/* A string of n bytes with every 1 KiB block different. */
function bigText(n) {
	var blocks = [];
	var size = 0;
	var i = 0;
	var block;

	while (size < n) {
		block = ('block ' + i + ' ').repeat(200).slice(0, 1024);
		blocks.push(block);
		size += block.length;
		i++;
	}
	return blocks.join('').slice(0, n);
}

var scenarios = {
	text: function (env) {
		return env.KV.put('greeting', 'hello, w\u00f6rld \u2603').then(function (r) {
			return all({
				putResult: r === undefined ? 'undefined' : r,
				plain: env.KV.get('greeting'),
				text: env.KV.get('greeting', 'text'),
				options: env.KV.get('greeting', { type: 'text' }),
				missing: env.KV.get('no-such-key'),
				coerced: env.KV.put(42, 'number key').then(function () {
					return env.KV.get('42');
				})
			});
		});
	},
	json: function (env) {
		return Promise.all([
			env.KV.put('conf', JSON.stringify({ a: 1, list: [true, null, 'x'] })),
			env.KV.put('notjson', '{oops')
		]).then(function () {
			return all({
				json: env.KV.get('conf', 'json'),
				options: env.KV.get('conf', { type: 'json', cacheTtl: 60 }),
				missing: env.KV.get('no-such-key', 'json'),
				bad: settle(function () { return env.KV.get('notjson', 'json'); })
			});
		});
	},
	binary: function (env) {
		var buf = new ArrayBuffer(6);
		var u8 = new Uint8Array(buf);

		u8.set([10, 20, 30, 40, 50, 60]);
		return Promise.all([
			env.KV.put('u8', new Uint8Array([0, 1, 2, 255, 128])),
			env.KV.put('ab', buf),
			env.KV.put('dv', new DataView(buf, 1, 2)),
			env.KV.put('sub', u8.subarray(3, 5)),
			env.KV.put('badutf8', new Uint8Array([0x61, 0xff, 0x62])),
			env.KV.put('num', 12.5)
		]).then(function () {
			u8[0] = 99; /* after put: the stored value is a copy */
			return all({
				u8: env.KV.get('u8', 'arrayBuffer'),
				ab: env.KV.get('ab', 'arrayBuffer'),
				dv: env.KV.get('dv', { type: 'arrayBuffer' }),
				sub: env.KV.get('sub', 'arrayBuffer'),
				badutf8: env.KV.get('badutf8'),
				num: env.KV.get('num')
			});
		}).then(function (r) {
			return {
				isArrayBuffer: r.u8 instanceof ArrayBuffer,
				u8: byteList(r.u8), ab: byteList(r.ab), dv: byteList(r.dv), sub: byteList(r.sub),
				badutf8: r.badutf8, num: r.num
			};
		});
	},
	stream: function (env) {
		var parts = ['part one, ', 'part two, ', 'part three: \u00e9'];

		return env.KV.put('streamed', slowStream(parts)).then(function () {
			return Promise.all([env.KV.get('streamed'), env.KV.get('streamed', 'stream'),
			    env.KV.get('no-such-key', 'stream')]);
		}).then(function (r) {
			var isStream = r[1] instanceof ReadableStream;

			return new Response(r[1]).text().then(function (t) {
				return { text: r[0], isStream: isStream, streamText: t, missing: r[2] };
			});
		});
	},
	arguments: function (env) {
		return all({
			badType: settle(function () { return env.KV.get('k', 'blob'); }),
			lowCacheTtl: settle(function () { return env.KV.get('k', { cacheTtl: 29 }); }),
			okCacheTtl: settle(function () { return env.KV.get('k', { cacheTtl: 30 }); }),
			objectValue: settle(function () { return env.KV.put('k', { a: 1 }); }),
			mapValue: settle(function () { return env.KV.put('k', new Map()); }),
			bulkArrayBuffer: settle(function () { return env.KV.get(['k'], 'arrayBuffer'); }),
			bulkStream: settle(function () { return env.KV.get(['k'], { type: 'stream' }); })
		});
	},
	bulk: function (env) {
		var many = [];
		var i;

		for (i = 0; i < 101; i++)
			many.push('k' + i);
		return Promise.all([
			env.KV.put('b1', 'one'),
			env.KV.put('b2', '{"n":2}', { metadata: { tag: 'two' } })
		]).then(function () {
			return all({
				text: env.KV.get(['b1', 'b2', 'nope']),
				json: env.KV.get(['b2', 'nope'], 'json'),
				withMetadata: env.KV.getWithMetadata(['b1', 'b2', 'nope']),
				jsonWithMetadata: env.KV.getWithMetadata(['b2'], { type: 'json' }),
				tooMany: settle(function () { return env.KV.get(many); })
			});
		}).then(function (r) {
			return {
				isMap: r.text instanceof Map,
				size: r.text.size,
				text: mapEntries(r.text),
				json: mapEntries(r.json),
				withMetadata: mapEntries(r.withMetadata),
				jsonWithMetadata: mapEntries(r.jsonWithMetadata),
				tooMany: r.tooMany
			};
		});
	},
	metadata: function (env) {
		return Promise.all([
			env.KV.put('m1', 'value one', { metadata: { owner: 'ann', n: 1, nested: { ok: true } } }),
			env.KV.put('m2', 'value two')
		]).then(function () {
			return all({
				withMetadata: env.KV.getWithMetadata('m1'),
				json: env.KV.getWithMetadata('m1', { type: 'text' }),
				none: env.KV.getWithMetadata('m2'),
				missing: env.KV.getWithMetadata('no-such-key'),
				listed: env.KV.list({ prefix: 'm' })
			});
		});
	},
	'delete': function (env) {
		return env.KV.put('doomed', 'x').then(function () {
			return env.KV.get('doomed');
		}).then(function (before) {
			return env.KV['delete']('doomed').then(function (r) {
				return all({
					before: before,
					deleteResult: r === undefined ? 'undefined' : r,
					after: env.KV.get('doomed'),
					again: settle(function () { return env.KV['delete']('doomed'); })
				});
			});
		});
	},
	expiry: function (env) {
		var now = Math.floor(Date.now() / 1000);

		return all({
			shortTtl: settle(function () { return env.KV.put('short', 'v', { expirationTtl: 30 }); }),
			past: settle(function () { return env.KV.put('past', 'v', { expiration: now - 10 }); }),
			ttl: settle(function () { return env.KV.put('ttl', 'v', { expirationTtl: 120 }); }),
			absolute: settle(function () { return env.KV.put('absolute', 'v', { expiration: now + 3600 }); })
		}).then(function (r) {
			return all({
				now: now,
				results: r,
				shortValue: env.KV.get('short'),
				ttlValue: env.KV.get('ttl'),
				listed: env.KV.list({ prefix: '' })
			});
		});
	},
	longkey: function (env) {
		var long = 'k'.repeat(513);
		var max = 'k'.repeat(512);

		return all({
			put: settle(function () { return env.KV.put(long, 'v'); }),
			get: settle(function () { return env.KV.get(long); }),
			putMax: settle(function () { return env.KV.put(max, 'max'); })
		}).then(function (r) {
			return env.KV.get(max).then(function (v) {
				r.maxValue = v;
				return env.KV.list();
			}).then(function (l) {
				r.listedLengths = l.keys.map(function (k) { return k.name.length; });
				return r;
			});
		});
	},
	seed: function (env, url) {
		var from = Number(url.searchParams.get('from'));
		var count = Number(url.searchParams.get('count'));
		var items = [];
		var i;

		for (i = from; i < from + count; i++)
			items.push(i);
		return sequence(items, function (n) {
			var options = n % 100 === 0 ? { metadata: { n: n } } : undefined;

			return env.KV.put('item:' + pad(n), String(n), options);
		}).then(function () {
			return { seeded: count };
		});
	},
	list: function (env) {
		function sorted(keys) {
			var i;

			for (i = 1; i < keys.length; i++)
				if (!(keys[i - 1].name < keys[i].name))
					return false;
			return true;
		}
		function summary(page) {
			return {
				count: page.keys.length,
				first: page.keys.length > 0 ? page.keys[0].name : null,
				last: page.keys.length > 0 ? page.keys[page.keys.length - 1].name : null,
				list_complete: page.list_complete,
				hasCursor: typeof page.cursor === 'string' && page.cursor.length > 0,
				cacheStatus: page.cacheStatus,
				sorted: sorted(page.keys)
			};
		}
		/* Every page of list({prefix, limit}), following the cursor. */
		function pages(limit) {
			var out = [];

			function next(cursor) {
				var options = { prefix: 'item:' };

				if (limit !== undefined)
					options.limit = limit;
				if (cursor !== undefined)
					options.cursor = cursor;
				return env.KV.list(options).then(function (page) {
					out.push(summary(page));
					if (page.list_complete || out.length > 10)
						return out;
					return next(page.cursor);
				});
			}
			return next(undefined);
		}
		return all({
			byDefault: pages(undefined),
			by500: pages(500),
			narrow: env.KV.list({ prefix: 'item:11' }).then(summary),
			withMetadata: env.KV.list({ prefix: 'item:02', limit: 1 }),
			none: env.KV.list({ prefix: 'zzz' })
		});
	},
	bigtext: function (env) {
		var text = bigText(1024 * 1024);

		return env.KV.put('bigtext', text).then(function () {
			return env.KV.get('bigtext');
		}).then(function (back) {
			return { length: back.length, same: back === text };
		});
	},
	illegal: function (env) {
		var kv = env.KV;
		var fake = Object.create(Object.getPrototypeOf(kv));

		return all({
			call: settle(function () { return kv.get.call({}, 'x'); }),
			fake: settle(function () { return fake.list(); }),
			construct: settle(function () { return new kv.constructor(); }),
			keys: Object.keys(kv),
			names: Object.getOwnPropertyNames(kv),
			symbols: Object.getOwnPropertySymbols(kv).length,
			json: JSON.stringify(kv),
			tag: Object.prototype.toString.call(kv),
			methods: ['get', 'getWithMetadata', 'put', 'delete', 'list'].map(function (m) {
				return typeof kv[m];
			})
		});
	},
	own: function (env, url) {
		var label = url.searchParams.get('label');

		return env.KV.put('secret', label).then(function () {
			return env.KV.get('secret');
		}).then(function (v) {
			return { stored: v };
		});
	},
	peek: function (env) {
		return all({
			secret: env.KV.get('secret'),
			keys: env.KV.list().then(function (l) {
				return l.keys.map(function (k) { return k.name; });
			})
		});
	},
	'persist-put': function (env) {
		return Promise.all([
			env.KV.put('durable', 'still here', { metadata: { v: 1 } }),
			env.KV.put('durable-bin', new Uint8Array([1, 2, 3]))
		]).then(function () {
			return { ok: true };
		});
	},
	'persist-get': function (env) {
		return all({
			value: env.KV.getWithMetadata('durable'),
			bin: env.KV.get('durable-bin', 'arrayBuffer').then(byteList)
		});
	}
};

/* The guide's withRateLimit middleware, as a user would paste it (lowered to ES5). */
function withRateLimit(limit, window) {
	return function (handler) {
		return function (request, env, ctx) {
			var ip = request.headers.get('CF-Connecting-IP') || 'unknown';
			var key = 'rate-limit:' + ip;

			return env.KV.get(key, { type: 'json' }).then(function (value) {
				var current = value || 0;

				if (current >= limit) {
					return Response.json({ error: 'Rate limit exceeded' },
					    { status: 429, headers: { 'Retry-After': String(window) } });
				}
				return env.KV.put(key, String(current + 1), { expirationTtl: window }).then(function () {
					return handler(request, env, ctx);
				});
			});
		};
	};
}

var limited = withRateLimit(3, 60)(function (request) {
	return Response.json({ ok: true, path: new URL(request.url).pathname });
});

/* The guide's feature flags. */
function isFeatureEnabled(env, featureName) {
	return env.KV.get('feature-flags', { type: 'json' }).then(function (flags) {
		return flags !== null && flags[featureName] !== undefined ? flags[featureName] : false;
	});
}

function handle(request, env, ctx) {
	var url = new URL(request.url);
	var path = url.pathname;

	if (path.indexOf('/api/') === 0)
		return limited(request, env, ctx);
	if (path === '/flags/set') {
		return request.text().then(function (body) {
			return env.KV.put('feature-flags', body);
		}).then(function () {
			return Response.json({ ok: true });
		});
	}
	if (path === '/flags/check') {
		return isFeatureEnabled(env, url.searchParams.get('name')).then(function (on) {
			return new Response(on ? 'new checkout' : 'old checkout');
		});
	}
	if (path === '/upload') {
		return env.KV.put(url.searchParams.get('key'), request.body).then(function () {
			return Response.json({ ok: true });
		});
	}
	if (path === '/download') {
		return env.KV.get(url.searchParams.get('key'), 'stream').then(function (stream) {
			if (stream === null)
				return new Response('not found', { status: 404 });
			return new Response(stream, { headers: { 'content-type': 'application/octet-stream' } });
		});
	}
	return scenarioResponse(scenarios, env, url);
}

var __worker = workerOf(handle);

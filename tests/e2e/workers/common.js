/*
 * The prelude of the e2e test Workers (ES5): the harness uploads it in
 * front of each Worker of this folder (worker_script() in harness.c).  What
 * settle() gives is what expect_settle_failed() in harness.c checks; a
 * Worker answers through scenarioResponse() and exports workerOf(handle).
 */
function errorOf(e) {
	return { name: e && e.name, message: e && e.message };
}

/*
 * {ok: true, value} or {ok: false, error: {name, message}}, for a promise or
 * a call that throws; `sync` when fn threw instead of rejecting.
 */
function settle(fn) {
	var p;

	try {
		p = Promise.resolve(fn());
	} catch (e) {
		return Promise.resolve({ ok: false, sync: true, error: errorOf(e) });
	}
	return p.then(function (v) {
		return { ok: true, value: v };
	}, function (e) {
		return { ok: false, error: errorOf(e) };
	});
}

/* Resolves once every named promise has, to an object of their values. */
function all(named) {
	var names = Object.keys(named);

	return Promise.all(names.map(function (n) { return named[n]; })).then(function (values) {
		var out = {};
		var i;

		for (i = 0; i < names.length; i++)
			out[names[i]] = values[i];
		return out;
	});
}

/* Runs fn(item) for each item, one after the other; resolves to the results. */
function sequence(items, fn) {
	var out = [];
	var i = 0;

	function next() {
		if (i >= items.length)
			return Promise.resolve(out);
		return Promise.resolve(fn(items[i++])).then(function (v) {
			out.push(v);
			return next();
		});
	}
	return next();
}

/* Runs the named thunks one after the other (calls that must not interleave): {name: value}. */
function inOrder(named) {
	var names = Object.keys(named);

	return sequence(names, function (name) {
		return named[name]();
	}).then(function (values) {
		var out = {};
		var i;

		for (i = 0; i < names.length; i++)
			out[names[i]] = values[i];
		return out;
	});
}

/* GET /<name> runs scenarios[name](env, url) and answers its result as JSON; 404 for no such name. */
function scenarioResponse(scenarios, env, url) {
	var name = url.pathname.slice(1);

	if (!Object.prototype.hasOwnProperty.call(scenarios, name))
		return new Response('no scenario ' + name, { status: 404 });
	return Promise.resolve(scenarios[name](env, url)).then(function (result) {
		return Response.json(result);
	});
}

/* The module's default export: fetch runs handle(); what it throws answers 500 {uncaught, stack}. */
function workerOf(handle) {
	return {
		default: {
			fetch: function (request, env, ctx) {
				return Promise.resolve().then(function () {
					return handle(request, env, ctx);
				}).then(undefined, function (e) {
					return Response.json({ uncaught: errorOf(e), stack: String(e && e.stack) },
					    { status: 500 });
				});
			}
		}
	};
}

// prelude.js: the in-edged JS test harness.  tests/e2e/test_js.c deploys
// this file followed by one tests/js/*.test.js file as a module worker and
// requests it; the worker runs every test in order (awaiting the ones that
// return promises) and answers with JSON: {passed, failed: [{name, message}]}.
// ES5 only: Duktape parses the file as it is.
var __tests = [];

function test(name, fn) {
	__tests.push({ name: name, fn: fn });
}

function AssertionError(message) {
	this.name = 'AssertionError';
	this.message = message;
}
AssertionError.prototype = Object.create(Error.prototype);

function __show(v) {
	try {
		return typeof v === 'string' ? JSON.stringify(v) : String(JSON.stringify(v));
	} catch (e) {
		return String(v);
	}
}

function assert(cond, message) {
	if (!cond)
		throw new AssertionError(message || 'assertion failed');
}

function assertEqual(actual, expected, message) {
	if (actual !== expected && !(actual !== actual && expected !== expected))
		throw new AssertionError((message ? message + ': ' : '') + 'expected ' +
		    __show(expected) + ', got ' + __show(actual));
}

function assertDeepEqual(actual, expected, message) {
	var a = __show(actual), b = __show(expected);
	if (a !== b)
		throw new AssertionError((message ? message + ': ' : '') + 'expected ' + b +
		    ', got ' + a);
}

// fn must throw; when `type` is given, the error must be an instance of it
// (or, for a string, have that name).
function assertThrows(fn, type, message) {
	try {
		fn();
	} catch (e) {
		if (type === undefined)
			return e;
		if (typeof type === 'string' ? e && e.name === type : e instanceof type)
			return e;
		throw new AssertionError((message ? message + ': ' : '') + 'threw the wrong error: ' +
		    (e && e.name) + ': ' + (e && e.message));
	}
	throw new AssertionError((message ? message + ': ' : '') + 'did not throw');
}

// The promise must reject (with `type`, as for assertThrows).
function assertRejects(promise, type, message) {
	return promise.then(function () {
		throw new AssertionError((message ? message + ': ' : '') + 'did not reject');
	}, function (e) {
		if (type !== undefined &&
		    !(typeof type === 'string' ? e && e.name === type : e instanceof type))
			throw new AssertionError((message ? message + ': ' : '') +
			    'rejected with the wrong error: ' + (e && e.name) + ': ' + (e && e.message));
		return e;
	});
}

function __run(request, env, ctx) {
	var passed = 0, failed = [], i = 0;

	function fail(t, e) {
		failed.push({ name: t.name, message: String(e && e.message !== undefined ? e.message : e) });
	}

	function next() {
		var t, r;

		if (i >= __tests.length)
			return Promise.resolve(Response.json({ passed: passed, failed: failed }));
		t = __tests[i++];
		try {
			r = t.fn(request, env, ctx);
		} catch (e) {
			fail(t, e);
			return next();
		}
		return Promise.resolve(r).then(function () {
			passed++;
			return next();
		}, function (e) {
			fail(t, e);
			return next();
		});
	}
	return next();
}

var __worker = { default: { fetch: __run } };

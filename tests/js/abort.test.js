// abort.test.js: AbortController and AbortSignal.
test('abort() sets aborted and a default AbortError reason, once', function () {
	var c = new AbortController(), s = c.signal, n = 0;
	assertEqual(s.aborted, false);
	assertEqual(s.reason, undefined);
	s.addEventListener('abort', function (e) { n++; assertEqual(e.type, 'abort'); });
	c.abort();
	assertEqual(s.aborted, true);
	assert(s.reason instanceof DOMException);
	assertEqual(s.reason.name, 'AbortError');
	assertEqual(s.reason.code, 20);
	var first = s.reason;
	c.abort('again');
	assertEqual(n, 1);
	assertEqual(s.reason, first);
	assertEqual(c.signal, s);
});

test('abort(reason) keeps any reason; throwIfAborted throws it', function () {
	var c = new AbortController();
	c.signal.throwIfAborted();
	var why = { why: 1 };
	c.abort(why);
	assertEqual(c.signal.reason, why);
	try {
		c.signal.throwIfAborted();
		assert(false, 'did not throw');
	} catch (e) {
		assertEqual(e, why);
	}
});

test('onabort runs, in order with the listeners', function () {
	var c = new AbortController(), log = [];
	c.signal.addEventListener('abort', function () { log.push('first'); });
	c.signal.onabort = function (e) { log.push('on:' + e.type + ':' + (this === c.signal)); };
	c.signal.addEventListener('abort', function () { log.push('last'); });
	assertEqual(typeof c.signal.onabort, 'function');
	c.abort();
	assertDeepEqual(log, ['first', 'on:abort:true', 'last']);
});

test('AbortSignal cannot be constructed; it is an EventTarget', function () {
	assertThrows(function () { new AbortSignal(); }, TypeError);
	assert(new AbortController().signal instanceof EventTarget);
	assertEqual(Object.prototype.toString.call(new AbortController().signal), '[object AbortSignal]');
});

test('AbortSignal.abort() is already aborted', function () {
	var s = AbortSignal.abort();
	assertEqual(s.aborted, true);
	assertEqual(s.reason.name, 'AbortError');
	assertEqual(AbortSignal.abort(42).reason, 42);
});

test('AbortSignal.timeout() aborts with a TimeoutError on the timers', function () {
	var s = AbortSignal.timeout(5);
	assertEqual(s.aborted, false);
	assertThrows(function () { AbortSignal.timeout(-1); }, TypeError);
	assertThrows(function () { AbortSignal.timeout(NaN); }, TypeError);
	return new Promise(function (resolve) {
		s.addEventListener('abort', function () { resolve(); });
	}).then(function () {
		assertEqual(s.aborted, true);
		assert(s.reason instanceof DOMException);
		assertEqual(s.reason.name, 'TimeoutError');
		assertEqual(s.reason.code, 23);
	});
});

test('AbortSignal.any() follows the first source to abort', function () {
	var a = new AbortController(), b = new AbortController();
	var any = AbortSignal.any([a.signal, b.signal]);
	var nested = AbortSignal.any([any]);
	var seen = [];
	b.signal.addEventListener('abort', function () { seen.push('b:' + any.aborted); });
	any.addEventListener('abort', function () { seen.push('any:' + any.reason); });
	assertEqual(any.aborted, false);
	b.abort('B');
	assertEqual(any.aborted, true);
	assertEqual(any.reason, 'B');
	assertEqual(nested.reason, 'B');
	assertDeepEqual(seen, ['b:true', 'any:B'], 'dependents are aborted before events fire');
	a.abort('A');
	assertEqual(any.reason, 'B');
});

test('AbortSignal.any() of an aborted signal is aborted at once; bad input throws', function () {
	var s = AbortSignal.any([new AbortController().signal, AbortSignal.abort('x')]);
	assertEqual(s.aborted, true);
	assertEqual(s.reason, 'x');
	assertEqual(AbortSignal.any([]).aborted, false);
	assertThrows(function () { AbortSignal.any([{}]); }, TypeError);
});

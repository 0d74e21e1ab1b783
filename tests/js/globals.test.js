// globals.test.js: the Workers clock, performance, navigator and DOMException.
function busy() {
	var x = 0;
	for (var i = 0; i < 300000; i++)
		x += i % 7;
	return x;
}

function sleep(ms) {
	return new Promise(function (resolve) { setTimeout(resolve, ms); });
}

test('Date.now() does not advance while JS runs', function () {
	var t0 = Date.now();
	busy();
	assertEqual(Date.now(), t0);
	assertEqual(new Date().getTime(), t0);
	assertEqual(performance.now(), t0);
});

test('Date.now() advances across I/O (a timer)', function () {
	var t0 = Date.now();
	return sleep(20).then(function () {
		var t1 = Date.now();
		assert(t1 > t0, 'the clock moved: ' + t0 + ' -> ' + t1);
		busy();
		assertEqual(Date.now(), t1);
	});
});

test('performance.timeOrigin is 0, so performance.now() is Date.now()', function () {
	assertEqual(performance.timeOrigin, 0);
	assertEqual(performance.now(), Date.now());
	assertEqual(typeof performance.now(), 'number');
	assertEqual(Object.prototype.toString.call(performance), '[object Performance]');
});

test('the clock is wall time', function () {
	assert(Date.now() > Date.UTC(2024, 0, 1), 'after 2024');
});

test('navigator says Cloudflare-Workers', function () {
	assertEqual(navigator.userAgent, 'Cloudflare-Workers');
	assertEqual(navigator.hardwareConcurrency, 1);
});

test('DOMException: names, codes, constants and Error-ness', function () {
	var table = { AbortError: 20, TimeoutError: 23, InvalidCharacterError: 5,
	    QuotaExceededError: 22, DataCloneError: 25, NotSupportedError: 9, InvalidAccessError: 15,
	    SyntaxError: 12, TypeMismatchError: 17, InvalidStateError: 11, DataError: 0,
	    OperationError: 0, NotAllowedError: 0 };
	for (var name in table) {
		var e = new DOMException('msg', name);
		assertEqual(e.name, name);
		assertEqual(e.code, table[name], name);
		assertEqual(e.message, 'msg');
	}
	var d = new DOMException();
	assertEqual(d.name, 'Error');
	assertEqual(d.message, '');
	assertEqual(d.code, 0);
	assert(d instanceof Error);
	assertEqual(String(new DOMException('m', 'AbortError')), 'AbortError: m');
	assertEqual(DOMException.ABORT_ERR, 20);
	assertEqual(DOMException.DATA_CLONE_ERR, 25);
	assertEqual(new DOMException('x').INVALID_STATE_ERR, 11);
	assertEqual(Object.prototype.toString.call(d), '[object DOMException]');
	assertThrows(function () { DOMException('x'); }, TypeError);
});

test('self is globalThis', function () {
	assertEqual(self, globalThis);
});

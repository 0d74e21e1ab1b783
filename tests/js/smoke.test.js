// smoke.test.js: the harness itself, and the runtime's basics.
test('assertions work', function () {
	assertEqual(1 + 1, 2);
	assertThrows(function () { assertEqual(1, 2); }, AssertionError);
});

test('promises and timers', function () {
	return new Promise(function (resolve) {
		setTimeout(function () { resolve(42); }, 1);
	}).then(function (v) {
		assertEqual(v, 42);
	});
});

test('the request reaches the handler', function (request, env) {
	assertEqual(request.method, 'GET');
	assertEqual(env.SUITE, 'smoke.test.js');
});

test('Response and Headers basics', function () {
	var r = new Response('hi', { status: 201, headers: { 'X-A': '1' } });
	assertEqual(r.status, 201);
	assertEqual(r.headers.get('x-a'), '1');
	return r.text().then(function (t) { assertEqual(t, 'hi'); });
});

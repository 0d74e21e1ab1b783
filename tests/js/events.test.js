// events.test.js: Event, CustomEvent and EventTarget as the DOM standard has them.
test('Event has its init fields and the Workers defaults', function () {
	var e = new Event('ping', { bubbles: true, cancelable: true });
	assertEqual(e.type, 'ping');
	assertEqual(e.bubbles, true);
	assertEqual(e.cancelable, true);
	assertEqual(e.defaultPrevented, false);
	assertEqual(e.isTrusted, false);
	assertEqual(e.eventPhase, Event.NONE);
	assertEqual(e.target, null);
	assertEqual(typeof e.timeStamp, 'number');
	var plain = new Event('x');
	assertEqual(plain.bubbles, false);
	assertEqual(plain.cancelable, false);
	assertThrows(function () { new Event(); }, TypeError);
	assertThrows(function () { Event('x'); }, TypeError);
});

test('CustomEvent carries detail and is an Event', function () {
	var e = new CustomEvent('c', { detail: { n: 1 } });
	assert(e instanceof Event);
	assertEqual(e.detail.n, 1);
	assertEqual(new CustomEvent('c').detail, null);
	assertEqual(Object.prototype.toString.call(e), '[object CustomEvent]');
});

test('listeners run in order with the target as this; duplicates are ignored', function () {
	var t = new EventTarget(), log = [];
	function a(e) { log.push('a'); assertEqual(this, t); assertEqual(e.currentTarget, t); }
	t.addEventListener('x', a);
	t.addEventListener('x', a);
	t.addEventListener('x', function () { log.push('b'); });
	t.addEventListener('y', function () { log.push('y'); });
	assertEqual(t.dispatchEvent(new Event('x')), true);
	assertDeepEqual(log, ['a', 'b']);
	t.removeEventListener('x', a);
	log = [];
	t.dispatchEvent(new Event('x'));
	assertDeepEqual(log, ['b']);
});

test('capture listeners run first; capture is part of a listener\'s identity', function () {
	var t = new EventTarget(), log = [];
	function f(e) { log.push(e.eventPhase); }
	t.addEventListener('x', function () { log.push('bubble'); });
	t.addEventListener('x', f, { capture: true });
	t.addEventListener('x', f, false);
	t.dispatchEvent(new Event('x'));
	assertDeepEqual(log, [2, 'bubble', 2]);
	t.removeEventListener('x', f, true);
	log = [];
	t.dispatchEvent(new Event('x'));
	assertDeepEqual(log, ['bubble', 2]);
});

test('once removes the listener after its first call', function () {
	var t = new EventTarget(), n = 0;
	t.addEventListener('x', function () { n++; }, { once: true });
	t.dispatchEvent(new Event('x'));
	t.dispatchEvent(new Event('x'));
	assertEqual(n, 1);
});

test('an aborted signal removes the listener', function () {
	var t = new EventTarget(), n = 0, c = new AbortController();
	t.addEventListener('x', function () { n++; }, { signal: c.signal });
	t.dispatchEvent(new Event('x'));
	c.abort();
	t.dispatchEvent(new Event('x'));
	assertEqual(n, 1);
	t.addEventListener('x', function () { n++; }, { signal: AbortSignal.abort() });
	t.dispatchEvent(new Event('x'));
	assertEqual(n, 1, 'not added when already aborted');
	assertThrows(function () { t.addEventListener('x', function () {}, { signal: {} }); },
	    TypeError);
});

test('listener objects: handleEvent is looked up at dispatch', function () {
	var t = new EventTarget(), seen = null;
	var obj = { handleEvent: function (e) { seen = this; } };
	t.addEventListener('x', obj);
	t.dispatchEvent(new Event('x'));
	assertEqual(seen, obj);
	obj.handleEvent = function () { seen = 'replaced'; };
	t.dispatchEvent(new Event('x'));
	assertEqual(seen, 'replaced');
	assertThrows(function () { t.addEventListener('x', 'nope'); }, TypeError);
	t.addEventListener('x', null);
});

test('preventDefault needs cancelable; dispatchEvent returns !defaultPrevented', function () {
	var t = new EventTarget();
	t.addEventListener('x', function (e) { e.preventDefault(); });
	var c = new Event('x', { cancelable: true });
	assertEqual(t.dispatchEvent(c), false);
	assertEqual(c.defaultPrevented, true);
	var n = new Event('x');
	assertEqual(t.dispatchEvent(n), true);
	assertEqual(n.defaultPrevented, false);
});

test('passive listeners cannot cancel', function () {
	var t = new EventTarget();
	t.addEventListener('x', function (e) { e.preventDefault(); }, { passive: true });
	var e = new Event('x', { cancelable: true });
	assertEqual(t.dispatchEvent(e), true);
	assertEqual(e.defaultPrevented, false);
});

test('stopImmediatePropagation skips the remaining listeners', function () {
	var t = new EventTarget(), log = [];
	t.addEventListener('x', function (e) { log.push(1); e.stopImmediatePropagation(); });
	t.addEventListener('x', function () { log.push(2); });
	t.dispatchEvent(new Event('x'));
	assertDeepEqual(log, [1]);
	log = [];
	t.dispatchEvent(new Event('x'));
	assertDeepEqual(log, [1], 'the flag is per event');
});

test('target and phase during and after dispatch; an event cannot be re-dispatched mid-flight',
    function () {
	var t = new EventTarget(), e = new Event('x'), inner;
	t.addEventListener('x', function (ev) {
		assertEqual(ev.target, t);
		assertEqual(ev.eventPhase, Event.AT_TARGET);
		inner = assertThrows(function () { t.dispatchEvent(ev); });
	});
	t.dispatchEvent(e);
	assertEqual(inner.name, 'InvalidStateError');
	assertEqual(e.target, t);
	assertEqual(e.currentTarget, null);
	assertEqual(e.eventPhase, Event.NONE);
	assertThrows(function () { t.dispatchEvent({ type: 'x' }); }, TypeError);
});

test('a throwing listener does not stop the others or the caller', function () {
	var t = new EventTarget(), ran = false;
	t.addEventListener('x', function () { throw new Error('listener failure (expected)'); });
	t.addEventListener('x', function () { ran = true; });
	assertEqual(t.dispatchEvent(new Event('x')), true);
	assert(ran);
});

test('removing a later listener during dispatch prevents its call', function () {
	var t = new EventTarget(), log = [];
	function second() { log.push(2); }
	t.addEventListener('x', function () { log.push(1); t.removeEventListener('x', second); });
	t.addEventListener('x', second);
	t.dispatchEvent(new Event('x'));
	assertDeepEqual(log, [1]);
});

test('EventTarget can be subclassed ES5-style', function () {
	function Emitter() { EventTarget.call(this); }
	Emitter.prototype = Object.create(EventTarget.prototype);
	var em = new Emitter(), got = 0;
	em.addEventListener('go', function (e) { got = e.detail; });
	em.dispatchEvent(new CustomEvent('go', { detail: 7 }));
	assertEqual(got, 7);
});

test('the global scope is an event target', function () {
	var got = null;
	function onPing(e) { got = e.type; }
	addEventListener('ping', onPing);
	assertEqual(dispatchEvent(new Event('ping')), true);
	assertEqual(got, 'ping');
	removeEventListener('ping', onPing);
	got = null;
	self.dispatchEvent(new Event('ping'));
	assertEqual(got, null);
});

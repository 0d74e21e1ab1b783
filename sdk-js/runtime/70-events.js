/*
 * Service-worker syntax: addEventListener('fetch', ...) on the global scope
 * and the FetchEvent a listener receives.
 */
'use strict';

var SLOT = native.hidden('event');
var listeners = { fetch: [] };

function addEventListener(type, listener) {
	type = String(type);
	if (listener === null || listener === undefined)
		return;
	if (typeof listener !== 'function' && typeof listener.handleEvent !== 'function')
		throw new TypeError('addEventListener: the listener must be a function or have handleEvent');
	if (listeners[type] === undefined)
		listeners[type] = [];
	if (listeners[type].indexOf(listener) === -1)
		listeners[type].push(listener);
}

function removeEventListener(type, listener) {
	var list = listeners[String(type)];
	var i = list ? list.indexOf(listener) : -1;

	if (i !== -1)
		list.splice(i, 1);
}

function FetchEvent(type, init) {
	if (!(this instanceof FetchEvent))
		throw new TypeError("Failed to construct 'FetchEvent': use 'new'");
	Object.defineProperty(this, SLOT, { value: {
		request: init ? init.request : undefined,
		response: undefined,
		responded: false,
		waitUntil: init && init.waitUntil ? init.waitUntil : function () {}
	} });
	this.type = String(type);
}

function state(e) {
	var st = e !== null && typeof e === 'object' ? e[SLOT] : undefined;

	if (st === undefined)
		throw new TypeError('Illegal invocation: not a FetchEvent');
	return st;
}

rt.getter(FetchEvent.prototype, 'request', function () { return state(this).request; });
rt.methods(FetchEvent.prototype, {
	respondWith: function (response) {
		var st = state(this);

		if (st.responded)
			throw new TypeError('FetchEvent.respondWith() has already been called');
		st.responded = true;
		st.response = response;
	},
	waitUntil: function (promise) {
		state(this).waitUntil(promise);
	},
	passThroughOnException: function () {
		state(this);
	}
});

rt.hasFetchListener = function () {
	return listeners.fetch.length > 0;
};

/*
 * Dispatches a fetch event; returns what the listeners passed to
 * respondWith.  A throwing listener, or none responding, throws.
 */
rt.dispatchFetch = function (request, waitUntil) {
	var event = new FetchEvent('fetch', { request: request, waitUntil: waitUntil });
	var list = listeners.fetch.slice();
	var i, st = state(event);

	for (i = 0; i < list.length; i++) {
		if (typeof list[i] === 'function')
			list[i].call(globalThis, event);
		else
			list[i].handleEvent(event);
	}
	if (!st.responded)
		throw new Error('no response: the fetch event listener did not call event.respondWith()');
	return st.response;
};

rt.define(globalThis, 'addEventListener', addEventListener);
rt.define(globalThis, 'removeEventListener', removeEventListener);
rt.define(globalThis, 'FetchEvent', FetchEvent);

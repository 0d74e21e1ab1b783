/*
 * DOM events: Event, CustomEvent, EventTarget (the global scope is one), and
 * the FetchEvent of service-worker syntax (addEventListener('fetch', ...)).
 */
'use strict';

var EVENT = native.hidden('eventstate');
var TARGET = native.hidden('eventtarget');
var SLOT = native.hidden('event');
var NONE = 0, CAPTURING_PHASE = 1, AT_TARGET = 2, BUBBLING_PHASE = 3;

function eventState(x) {
	var st = x !== null && typeof x === 'object' ? x[EVENT] : undefined;

	if (st === undefined)
		throw new TypeError('Illegal invocation: not an Event');
	return st;
}

function dictionary(init, what) {
	if (init === undefined || init === null)
		return {};
	if (typeof init !== 'object' && typeof init !== 'function')
		throw new TypeError(what + ': the options must be an object');
	return init;
}

function Event(type, init) {
	if (!(this instanceof Event))
		throw new TypeError("Failed to construct 'Event': use 'new'");
	if (arguments.length === 0)
		throw new TypeError("Failed to construct 'Event': 1 argument required, but only 0 present");
	init = dictionary(init, "Failed to construct 'Event'");
	Object.defineProperty(this, EVENT, { value: {
		type: String(type),
		bubbles: !!init.bubbles,
		cancelable: !!init.cancelable,
		composed: !!init.composed,
		timeStamp: Date.now(),
		target: null,
		currentTarget: null,
		phase: NONE,
		canceled: false,
		stopped: false,
		stoppedNow: false,
		inPassive: false,
		dispatching: false
	} });
}

function field(name) {
	return function () { return eventState(this)[name]; };
}

rt.getter(Event.prototype, 'type', field('type'));
rt.getter(Event.prototype, 'bubbles', field('bubbles'));
rt.getter(Event.prototype, 'cancelable', field('cancelable'));
rt.getter(Event.prototype, 'composed', field('composed'));
rt.getter(Event.prototype, 'timeStamp', field('timeStamp'));
rt.getter(Event.prototype, 'target', field('target'));
rt.getter(Event.prototype, 'srcElement', field('target'));
rt.getter(Event.prototype, 'currentTarget', field('currentTarget'));
rt.getter(Event.prototype, 'eventPhase', field('phase'));
rt.getter(Event.prototype, 'defaultPrevented', field('canceled'));
rt.getter(Event.prototype, 'isTrusted', function () {
	eventState(this);
	return false;
});
Object.defineProperty(Event.prototype, 'cancelBubble', {
	get: field('stopped'),
	set: function (v) {
		if (v)
			eventState(this).stopped = true;
	},
	enumerable: true, configurable: true
});
Object.defineProperty(Event.prototype, 'returnValue', {
	get: function () { return !eventState(this).canceled; },
	set: function (v) {
		if (!v)
			this.preventDefault();
	},
	enumerable: true, configurable: true
});
rt.methods(Event.prototype, {
	preventDefault: function () {
		var st = eventState(this);

		if (st.cancelable && !st.inPassive)
			st.canceled = true;
	},
	stopPropagation: function () {
		eventState(this).stopped = true;
	},
	stopImmediatePropagation: function () {
		var st = eventState(this);

		st.stopped = st.stoppedNow = true;
	},
	composedPath: function () {
		var st = eventState(this);

		return st.dispatching && st.currentTarget !== null ? [st.currentTarget] : [];
	}
});
[['NONE', NONE], ['CAPTURING_PHASE', CAPTURING_PHASE], ['AT_TARGET', AT_TARGET],
    ['BUBBLING_PHASE', BUBBLING_PHASE]].forEach(function (c) {
	Object.defineProperty(Event, c[0], { value: c[1], enumerable: true });
	Object.defineProperty(Event.prototype, c[0], { value: c[1], enumerable: true });
});

/* Makes `Sub` inherit from `Base` the way an ES2015 class would. */
rt.inherit = function (Sub, Base) {
	Sub.prototype = Object.create(Base.prototype);
	rt.define(Sub.prototype, 'constructor', Sub);
	Object.setPrototypeOf(Sub, Base);
};

function CustomEvent(type, init) {
	if (!(this instanceof CustomEvent))
		throw new TypeError("Failed to construct 'CustomEvent': use 'new'");
	if (arguments.length === 0)
		throw new TypeError("Failed to construct 'CustomEvent': 1 argument required");
	init = dictionary(init, "Failed to construct 'CustomEvent'");
	Event.call(this, type, init);
	eventState(this).detail = init.detail === undefined ? null : init.detail;
}
rt.inherit(CustomEvent, Event);
rt.getter(CustomEvent.prototype, 'detail', function () { return eventState(this).detail; });

/* ---- EventTarget ---------------------------------------------------------- */

function targetState(x) {
	var st = x !== null && (typeof x === 'object' || typeof x === 'function') ?
	    x[TARGET] : undefined;

	if (st === undefined)
		throw new TypeError('Illegal invocation: not an EventTarget');
	return st;
}

function EventTarget() {
	if (!(this instanceof EventTarget))
		throw new TypeError("Failed to construct 'EventTarget': use 'new'");
	Object.defineProperty(this, TARGET, { value: { listeners: {} } });
}

/* The options of add/removeEventListener as {capture, once, passive, signal}. */
function listenerOptions(options) {
	if (typeof options === 'boolean' || options === undefined || options === null ||
	    typeof options !== 'object')
		return { capture: !!options, once: false, passive: false, signal: undefined };
	return {
		capture: !!options.capture,
		once: !!options.once,
		passive: !!options.passive,
		signal: options.signal
	};
}

function checkCallback(callback, what) {
	if (callback !== null && typeof callback !== 'function' && typeof callback !== 'object')
		throw new TypeError("Failed to execute '" + what + "' on 'EventTarget': " +
		    'the listener must be a function or an object with handleEvent');
}

function findListener(list, callback, capture) {
	var i;

	for (i = 0; i < list.length; i++)
		if (list[i].callback === callback && list[i].capture === capture)
			return i;
	return -1;
}

function removeListener(st, type, entry) {
	var list = st.listeners[type];
	var i = list ? list.indexOf(entry) : -1;

	entry.removed = true;
	if (i !== -1)
		list.splice(i, 1);
}

function addEventListener(type, callback, options) {
	var st = targetState(this === undefined ? globalScope : this);
	var opts, entry, list;

	checkCallback(callback, 'addEventListener');
	opts = listenerOptions(options);
	if (opts.signal !== undefined && !rt.isAbortSignal(opts.signal))
		throw new TypeError("Failed to execute 'addEventListener' on 'EventTarget': " +
		    "the 'signal' option must be an AbortSignal");
	if (callback === null || (opts.signal !== undefined && opts.signal.aborted))
		return;
	type = String(type);
	if (!Object.prototype.hasOwnProperty.call(st.listeners, type))
		st.listeners[type] = [];
	list = st.listeners[type];
	if (findListener(list, callback, opts.capture) !== -1)
		return;
	entry = { callback: callback, capture: opts.capture, once: opts.once,
	    passive: opts.passive, removed: false };
	list.push(entry);
	if (opts.signal !== undefined)
		rt.abortSignalFollow(opts.signal, function () {
			removeListener(st, type, entry);
		});
}

function removeEventListener(type, callback, options) {
	var st = targetState(this === undefined ? globalScope : this);
	var list, i;

	checkCallback(callback, 'removeEventListener');
	type = String(type);
	list = Object.prototype.hasOwnProperty.call(st.listeners, type) ? st.listeners[type] : null;
	if (list === null || callback === null)
		return;
	i = findListener(list, callback, listenerOptions(options).capture);
	if (i !== -1)
		removeListener(st, type, list[i]);
}

/* Runs the listeners of one phase; listener errors are reported, or rethrown when `rethrow`. */
function invoke(target, st, event, es, capture, rethrow) {
	var list = Object.prototype.hasOwnProperty.call(st.listeners, es.type) ?
	    st.listeners[es.type].slice() : [];
	var i, entry, fn;

	for (i = 0; i < list.length && !es.stoppedNow; i++) {
		entry = list[i];
		if (entry.removed || entry.capture !== capture)
			continue;
		if (entry.once)
			removeListener(st, es.type, entry);
		es.inPassive = entry.passive;
		try {
			if (typeof entry.callback === 'function') {
				entry.callback.call(target, event);
			} else {
				fn = entry.callback.handleEvent;
				if (typeof fn !== 'function')
					throw new TypeError("the listener's handleEvent is not a function");
				fn.call(entry.callback, event);
			}
		} catch (e) {
			if (rethrow)
				throw e;
			rt.reportError(e, 'Uncaught (in event listener)');
		} finally {
			es.inPassive = false;
		}
	}
}

/* Dispatches `event` at `target` (no tree: the target is the whole path). */
function dispatch(target, event, rethrow) {
	var st = targetState(target);
	var es;

	if (!(event instanceof Event) || event[EVENT] === undefined)
		throw new TypeError("Failed to execute 'dispatchEvent' on 'EventTarget': " +
		    "parameter 1 is not of type 'Event'");
	es = eventState(event);
	if (es.dispatching)
		throw rt.domException('The event is already being dispatched.', 'InvalidStateError');
	es.dispatching = true;
	es.target = target;
	es.currentTarget = target;
	es.phase = AT_TARGET;
	try {
		if (!es.stopped)
			invoke(target, st, event, es, true, rethrow);
		if (!es.stopped)
			invoke(target, st, event, es, false, rethrow);
	} finally {
		es.phase = NONE;
		es.currentTarget = null;
		es.dispatching = false;
		es.stopped = es.stoppedNow = false;
	}
	return !es.canceled;
}

rt.methods(EventTarget.prototype, {
	addEventListener: addEventListener,
	removeEventListener: removeEventListener,
	dispatchEvent: function (event) {
		return dispatch(this === undefined ? globalScope : this, event, false);
	}
});
Object.defineProperty(EventTarget.prototype, Symbol.toStringTag,
    { value: 'EventTarget', configurable: true });
Object.defineProperty(Event.prototype, Symbol.toStringTag,
    { value: 'Event', configurable: true });
Object.defineProperty(CustomEvent.prototype, Symbol.toStringTag,
    { value: 'CustomEvent', configurable: true });

rt.Event = Event;
rt.EventTarget = EventTarget;
rt.dispatchEvent = dispatch;
rt.eventState = eventState;

/* The global scope is an EventTarget (Workers' ServiceWorkerGlobalScope). */
var globalScope = globalThis;
Object.defineProperty(globalThis, TARGET, { value: { listeners: {} } });

/* ---- FetchEvent ------------------------------------------------------------ */

function FetchEvent(type, init) {
	if (!(this instanceof FetchEvent))
		throw new TypeError("Failed to construct 'FetchEvent': use 'new'");
	Event.call(this, type, init);
	Object.defineProperty(this, SLOT, { value: {
		request: init ? init.request : undefined,
		response: undefined,
		responded: false,
		waitUntil: init && init.waitUntil ? init.waitUntil : function () {}
	} });
}
rt.inherit(FetchEvent, Event);

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
	var list = targetState(globalScope).listeners.fetch;

	return list !== undefined && list.length > 0;
};

/*
 * Dispatches a fetch event; returns what the listeners passed to
 * respondWith.  A throwing listener, or none responding, throws.
 */
rt.dispatchFetch = function (request, waitUntil) {
	var event = new FetchEvent('fetch', { request: request, waitUntil: waitUntil });

	dispatch(globalScope, event, true);
	if (!state(event).responded)
		throw new Error('no response: the fetch event listener did not call event.respondWith()');
	return state(event).response;
};

rt.define(globalThis, 'addEventListener', addEventListener);
rt.define(globalThis, 'removeEventListener', removeEventListener);
rt.define(globalThis, 'dispatchEvent', function (event) {
	return dispatch(globalScope, event, false);
});
rt.define(globalThis, 'Event', Event);
rt.define(globalThis, 'CustomEvent', CustomEvent);
rt.define(globalThis, 'EventTarget', EventTarget);
rt.define(globalThis, 'FetchEvent', FetchEvent);

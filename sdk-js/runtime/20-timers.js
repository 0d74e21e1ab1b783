/*
 * setTimeout/setInterval: the callbacks live here, their due times in the
 * host's event loop (native.timerSet), which calls rt.fireTimer when due.
 */
'use strict';

var timers = {};
var nextId = 1;
var MAX_DELAY = 2147483647;

function delayOf(ms) {
	ms = Number(ms);
	if (!(ms > 0))
		return 0;
	return ms > MAX_DELAY ? MAX_DELAY : Math.floor(ms);
}

function schedule(callback, ms, args, repeat) {
	var id;

	if (typeof callback !== 'function')
		throw new TypeError('the callback must be a function');
	id = nextId++;
	if (nextId > 0x7fffffff)
		nextId = 1;
	timers[id] = { callback: callback, args: args, delay: delayOf(ms), repeat: repeat };
	native.timerSet(id, timers[id].delay);
	return id;
}

function clear(id) {
	id = Number(id);
	if (timers[id] === undefined)
		return;
	delete timers[id];
	native.timerClear(id);
}

/* Called by the host when timer `id` is due. */
rt.fireTimer = function (id) {
	var t = timers[id];

	if (t === undefined)
		return;
	if (t.repeat)
		native.timerSet(id, t.delay);
	else
		delete timers[id];
	try {
		t.callback.apply(globalThis, t.args);
	} catch (e) {
		/* The CPU budget cannot be swallowed here: once expired, it throws again at once. */
		rt.reportError(e, 'Uncaught');
	}
};

/* Forgets timers the host has dropped (their request ended). */
rt.dropTimers = function (ids) {
	var i;

	for (i = 0; i < ids.length; i++)
		delete timers[ids[i]];
};

rt.define(globalThis, 'setTimeout', function (callback, ms) {
	return schedule(callback, ms, Array.prototype.slice.call(arguments, 2), false);
});
rt.define(globalThis, 'setInterval', function (callback, ms) {
	return schedule(callback, ms, Array.prototype.slice.call(arguments, 2), true);
});
rt.define(globalThis, 'clearTimeout', clear);
rt.define(globalThis, 'clearInterval', clear);

/*
 * scheduler.wait(ms, {signal}): a promise resolved after ms, like setTimeout;
 * an abort of the signal clears the timer and rejects with its reason.
 */
var scheduler = {};
rt.methods(scheduler, {
	wait: function wait(ms, options) {
		var signal = options !== undefined && options !== null ? options.signal : undefined;

		return new rt.Promise(function (resolve, reject) {
			var id;

			if (signal !== undefined && signal !== null && signal.aborted) {
				reject(signal.reason);
				return;
			}
			id = schedule(function () { resolve(); }, ms, [], false);
			if (signal !== undefined && signal !== null &&
			    typeof signal.addEventListener === 'function') {
				signal.addEventListener('abort', function () {
					clear(id);
					reject(signal.reason);
				}, { once: true });
			}
		});
	}
});
if (globalThis.scheduler === undefined)
	rt.define(globalThis, 'scheduler', scheduler);

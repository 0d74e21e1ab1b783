/*
 * performance and navigator as Workers has them.  performance.timeOrigin is
 * 0, so performance.now() is Date.now(): both stand still while JS runs and
 * move only across I/O (sandbox/clock.h).
 */
'use strict';

var dateNow = Date.now;
var INTERNAL = {};

function Performance(token) {
	if (token !== INTERNAL)
		throw new TypeError("Failed to construct 'Performance': Illegal constructor");
}
rt.getter(Performance.prototype, 'timeOrigin', function () { return 0; });
rt.methods(Performance.prototype, {
	now: function () {
		return dateNow();
	},
	toJSON: function () {
		return { timeOrigin: 0 };
	}
});
Object.defineProperty(Performance.prototype, Symbol.toStringTag,
    { value: 'Performance', configurable: true });

function Navigator(token) {
	if (token !== INTERNAL)
		throw new TypeError("Failed to construct 'Navigator': Illegal constructor");
}
rt.getter(Navigator.prototype, 'userAgent', function () { return 'Cloudflare-Workers'; });
rt.getter(Navigator.prototype, 'hardwareConcurrency', function () { return 1; });
rt.getter(Navigator.prototype, 'language', function () { return 'en'; });
rt.getter(Navigator.prototype, 'languages', function () { return ['en']; });
Object.defineProperty(Navigator.prototype, Symbol.toStringTag,
    { value: 'Navigator', configurable: true });

rt.define(globalThis, 'Performance', Performance);
rt.define(globalThis, 'Navigator', Navigator);
rt.define(globalThis, 'performance', new Performance(INTERNAL));
rt.define(globalThis, 'navigator', new Navigator(INTERNAL));

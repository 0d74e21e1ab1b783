/*
 * atob and btoa: forgiving base64 over native.atob / native.btoa
 * (sandbox/base64.c); bad input is an InvalidCharacterError DOMException.
 */
'use strict';

function invalidCharacter(message) {
	var e;

	if (typeof rt.domException === 'function')
		return rt.domException(message, 'InvalidCharacterError');
	e = new Error(message);
	e.name = 'InvalidCharacterError';
	return e;
}

function toDOMString(x, what) {
	if (typeof x === 'symbol')
		throw new TypeError("Failed to execute '" + what + "': cannot convert a Symbol to a string");
	return String(x);
}

rt.define(globalThis, 'atob', function atob(data) {
	var out;

	if (arguments.length < 1)
		throw new TypeError("Failed to execute 'atob': 1 argument required, but only 0 present.");
	out = native.atob(toDOMString(data, 'atob'));
	if (out === null)
		throw invalidCharacter("Failed to execute 'atob': The string to be decoded is not correctly encoded.");
	return out;
});

rt.define(globalThis, 'btoa', function btoa(data) {
	var out;

	if (arguments.length < 1)
		throw new TypeError("Failed to execute 'btoa': 1 argument required, but only 0 present.");
	out = native.btoa(toDOMString(data, 'btoa'));
	if (out === null)
		throw invalidCharacter("Failed to execute 'btoa': The string to be encoded contains characters outside of the Latin1 range.");
	return out;
});

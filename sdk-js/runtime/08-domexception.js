/*
 * DOMException: the Web IDL exception with its legacy code table, an Error
 * by prototype (instanceof Error holds).  rt.domException() builds one.
 */
'use strict';

var SLOT = native.hidden('domexception');

/* The names that keep a legacy numeric code; every other name has code 0. */
var CODES = {
	IndexSizeError: 1, HierarchyRequestError: 3, WrongDocumentError: 4,
	InvalidCharacterError: 5, NoModificationAllowedError: 7, NotFoundError: 8,
	NotSupportedError: 9, InUseAttributeError: 10, InvalidStateError: 11, SyntaxError: 12,
	InvalidModificationError: 13, NamespaceError: 14, InvalidAccessError: 15,
	TypeMismatchError: 17, SecurityError: 18, NetworkError: 19, AbortError: 20,
	URLMismatchError: 21, QuotaExceededError: 22, TimeoutError: 23, InvalidNodeTypeError: 24,
	DataCloneError: 25
};

var CONSTANTS = [
	'INDEX_SIZE_ERR', 'DOMSTRING_SIZE_ERR', 'HIERARCHY_REQUEST_ERR', 'WRONG_DOCUMENT_ERR',
	'INVALID_CHARACTER_ERR', 'NO_DATA_ALLOWED_ERR', 'NO_MODIFICATION_ALLOWED_ERR',
	'NOT_FOUND_ERR', 'NOT_SUPPORTED_ERR', 'INUSE_ATTRIBUTE_ERR', 'INVALID_STATE_ERR',
	'SYNTAX_ERR', 'INVALID_MODIFICATION_ERR', 'NAMESPACE_ERR', 'INVALID_ACCESS_ERR',
	'VALIDATION_ERR', 'TYPE_MISMATCH_ERR', 'SECURITY_ERR', 'NETWORK_ERR', 'ABORT_ERR',
	'URL_MISMATCH_ERR', 'QUOTA_EXCEEDED_ERR', 'TIMEOUT_ERR', 'INVALID_NODE_TYPE_ERR',
	'DATA_CLONE_ERR'
];

function slot(x) {
	var st = x !== null && typeof x === 'object' ? x[SLOT] : undefined;

	if (st === undefined)
		throw new TypeError('Illegal invocation: not a DOMException');
	return st;
}

function DOMException(message, name) {
	var st, trace, at;

	if (!(this instanceof DOMException))
		throw new TypeError("Failed to construct 'DOMException': use 'new'");
	st = {
		message: message === undefined ? '' : String(message),
		name: name === undefined ? 'Error' : String(name)
	};
	Object.defineProperty(this, SLOT, { value: st });
	/* Borrow a stack trace from a real Error made here; the first line names us. */
	trace = new Error(st.message).stack;
	if (typeof trace === 'string') {
		/* Skip the message line and this constructor's own frame. */
		at = trace.indexOf('\n', trace.indexOf('\n') + 1);
		trace = (st.message === '' ? st.name : st.name + ': ' + st.message) +
		    (at === -1 ? '' : trace.slice(at));
		Object.defineProperty(this, 'stack', { value: trace, writable: true,
		    configurable: true });
	}
}

DOMException.prototype = Object.create(Error.prototype);
rt.define(DOMException.prototype, 'constructor', DOMException);
rt.getter(DOMException.prototype, 'name', function () { return slot(this).name; });
rt.getter(DOMException.prototype, 'message', function () { return slot(this).message; });
rt.getter(DOMException.prototype, 'code', function () {
	var code = CODES[slot(this).name];

	return Object.prototype.hasOwnProperty.call(CODES, slot(this).name) ? code : 0;
});
Object.defineProperty(DOMException.prototype, Symbol.toStringTag,
    { value: 'DOMException', configurable: true });
(function () {
	var i;

	for (i = 0; i < CONSTANTS.length; i++) {
		Object.defineProperty(DOMException, CONSTANTS[i], { value: i + 1, enumerable: true });
		Object.defineProperty(DOMException.prototype, CONSTANTS[i],
		    { value: i + 1, enumerable: true });
	}
})();

rt.DOMException = DOMException;
rt.domException = function (message, name) {
	return new DOMException(message, name);
};
rt.define(globalThis, 'DOMException', DOMException);

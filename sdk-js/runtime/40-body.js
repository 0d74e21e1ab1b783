/*
 * The Body mixin shared by Request and Response: the bytes of a body (known
 * at once, or arriving from the host in chunks) and text/json/arrayBuffer.
 */
'use strict';

/* The runtime's own Promise, whatever tenant code does to the global. */
var Promise = rt.Promise;
var BODY = native.hidden('body');

function bodyState(bytes, done) {
	return { bytes: bytes, done: done, chunks: [], size: 0, waiters: [], used: false };
}

/* The body of `init` as in new Response(init): { state, contentType }. */
rt.bodyFromInit = function (init) {
	var bytes;

	if (init === undefined || init === null)
		return { state: bodyState(null, true), contentType: null };
	if (typeof init === 'string')
		return { state: bodyState(rt.utf8(init), true), contentType: 'text/plain;charset=UTF-8' };
	bytes = rt.copyBytes(init);
	if (bytes !== null)
		return { state: bodyState(bytes, true), contentType: null };
	if (init[BODY] !== undefined)
		throw new TypeError('a Request or Response body cannot be used as a body yet');
	return { state: bodyState(rt.utf8(String(init)), true), contentType: 'text/plain;charset=UTF-8' };
};

/* A body the host will deliver with rt.bodyPush; `hasBody` false means empty and done. */
rt.incomingBody = function (hasBody) {
	return hasBody ? bodyState(new Uint8Array(0), false) : bodyState(null, true);
};

function finish(st) {
	var all = new Uint8Array(st.size);
	var at = 0;
	var i, waiters;

	for (i = 0; i < st.chunks.length; i++) {
		all.set(st.chunks[i], at);
		at += st.chunks[i].length;
	}
	st.bytes = all;
	st.chunks = [];
	st.done = true;
	waiters = st.waiters;
	st.waiters = [];
	for (i = 0; i < waiters.length; i++)
		waiters[i](all);
}

rt.bodyPush = function (st, chunk, last) {
	if (st.done)
		return;
	if (chunk.length > 0) {
		st.chunks.push(chunk);
		st.size += chunk.length;
	}
	if (last)
		finish(st);
};

/* Marks the body used and resolves with all its bytes once they have arrived. */
function consume(obj) {
	var st = obj[BODY];

	if (st.used)
		return Promise.reject(new TypeError('Body has already been used. It can only be used once.'));
	st.used = true;
	if (st.done)
		return Promise.resolve(st.bytes === null ? new Uint8Array(0) : st.bytes);
	return new Promise(function (resolve) {
		st.waiters.push(resolve);
	});
}

/* The bytes of a body that is complete and unused, for sending; null for no body. */
rt.bodyBytes = function (obj) {
	var st = obj[BODY];

	if (st.used)
		throw new TypeError('the response body has already been used');
	if (!st.done)
		throw new TypeError('a streaming body cannot be returned yet');
	return st.bytes;
};

rt.bodyIsNull = function (obj) {
	return obj[BODY].bytes === null && obj[BODY].done;
};

rt.bodyClone = function (obj) {
	var st = obj[BODY];

	if (st.used)
		throw new TypeError('a used body cannot be cloned');
	if (!st.done)
		throw new TypeError('a streaming body cannot be cloned yet');
	return bodyState(st.bytes === null ? null : new Uint8Array(st.bytes), true);
};

rt.BODY = BODY;

/* Adds text/json/arrayBuffer/bytes and bodyUsed to a prototype. */
rt.bodyMixin = function (proto) {
	rt.methods(proto, {
		arrayBuffer: function () {
			return consume(this).then(rt.toArrayBuffer);
		},
		bytes: function () {
			return consume(this);
		},
		text: function () {
			return consume(this).then(rt.fromUtf8);
		},
		json: function () {
			return consume(this).then(function (bytes) {
				return JSON.parse(rt.fromUtf8(bytes));
			});
		}
	});
	rt.getter(proto, 'bodyUsed', function () {
		return this[BODY].used;
	});
};

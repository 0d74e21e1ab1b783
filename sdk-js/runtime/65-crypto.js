/*
 * Web Crypto: crypto.getRandomValues/randomUUID, crypto.subtle (SubtleCrypto)
 * and CryptoKey, a JS facade over the OpenSSL natives of sandbox/native_crypto.c.
 * Key material lives under a hidden key that tenant code cannot reach.
 */
'use strict';

var SLOT = native.hidden('cryptoKey');
var P = Promise;
var DOMExc = typeof DOMException === 'function' ? DOMException : null;
var MAX_RANDOM = 65536;

/* A DOMException named `name` (an Error with that name until DOMException exists). */
function fail(name, message) {
	var e;

	if (DOMExc !== null)
		return new DOMExc(message, name);
	e = new Error(message);
	Object.defineProperty(e, 'name', { value: name, writable: true, configurable: true });
	return e;
}

/* --- bytes ------------------------------------------------------------------ */

function isBufferSource(x) {
	return x instanceof ArrayBuffer || ArrayBuffer.isView(x);
}

/* A private copy of a BufferSource argument; TypeError for anything else. */
function bytes(x, what) {
	var b = rt.copyBytes(x);

	if (b === null)
		throw new TypeError(what + ' must be an ArrayBuffer or an ArrayBuffer view');
	return b;
}

function copyBuffer(b) {
	return rt.toArrayBuffer(new Uint8Array(b));
}

var B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

function b64urlEncode(buf) {
	var b = new Uint8Array(buf), out = '', i, n;

	for (i = 0; i + 2 < b.length; i += 3) {
		n = b[i] << 16 | b[i + 1] << 8 | b[i + 2];
		out += B64URL.charAt(n >> 18) + B64URL.charAt(n >> 12 & 63) +
		    B64URL.charAt(n >> 6 & 63) + B64URL.charAt(n & 63);
	}
	if (b.length - i === 1) {
		n = b[i] << 16;
		out += B64URL.charAt(n >> 18) + B64URL.charAt(n >> 12 & 63);
	} else if (b.length - i === 2) {
		n = b[i] << 16 | b[i + 1] << 8;
		out += B64URL.charAt(n >> 18) + B64URL.charAt(n >> 12 & 63) + B64URL.charAt(n >> 6 & 63);
	}
	return out;
}

/* Bytes of a base64url JWK member (padding tolerated); DataError when malformed. */
function b64urlDecode(s, member) {
	var out, i, j = 0, acc = 0, bits = 0, c;

	if (typeof s !== 'string')
		throw fail('DataError', 'JWK member "' + member + '" must be a string');
	s = s.replace(/=+$/, '');
	if (s.length % 4 === 1)
		throw fail('DataError', 'JWK member "' + member + '" is not valid base64url');
	out = new Uint8Array(Math.floor(s.length * 3 / 4));
	for (i = 0; i < s.length; i++) {
		c = B64URL.indexOf(s.charAt(i));
		if (c < 0)
			throw fail('DataError', 'JWK member "' + member + '" is not valid base64url');
		acc = (acc << 6 | c) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[j++] = acc >> bits & 0xff;
		}
	}
	return out;
}

function concat(list) {
	var len = 0, out, at = 0, i;

	for (i = 0; i < list.length; i++)
		len += list[i].byteLength;
	out = new Uint8Array(len);
	for (i = 0; i < list.length; i++) {
		out.set(new Uint8Array(list[i]), at);
		at += list[i].byteLength;
	}
	return out;
}

/* --- algorithms ------------------------------------------------------------- */

var ALGORITHMS = ['AES-CBC', 'AES-CTR', 'AES-GCM', 'AES-KW', 'ECDH', 'ECDSA', 'Ed25519', 'HKDF',
    'HMAC', 'MD5', 'NODE-ED25519', 'PBKDF2', 'RSA-OAEP', 'RSA-PSS', 'RSASSA-PKCS1-v1_5',
    'SHA-1', 'SHA-256', 'SHA-384', 'SHA-512', 'X25519'];
var AES = ['AES-CBC', 'AES-CTR', 'AES-GCM'];
var SUPPORTED = {
	digest: ['SHA-1', 'SHA-256', 'SHA-384', 'SHA-512', 'MD5'],
	sign: ['HMAC', 'ECDSA', 'RSASSA-PKCS1-v1_5'],
	encrypt: AES,
	key: ['HMAC', 'ECDSA', 'RSASSA-PKCS1-v1_5'].concat(AES),
};
var HASH_BITS = { 'SHA-1': 1, 'SHA-256': 256, 'SHA-384': 384, 'SHA-512': 512 };
var HASH_BLOCK = { 'SHA-1': 512, 'SHA-256': 512, 'SHA-384': 1024, 'SHA-512': 1024 };
var CURVES = { 'P-256': 32, 'P-384': 48, 'P-521': 66 };
var CURVE_JWK_ALG = { 'P-256': 'ES256', 'P-384': 'ES384', 'P-521': 'ES512' };

/* The normalized { name, raw } of an AlgorithmIdentifier for one group of operations. */
function normalize(alg, group) {
	var name, i;

	if (typeof alg === 'string')
		alg = { name: alg };
	else if (alg === null || typeof alg !== 'object')
		throw new TypeError('Algorithm must be a string or an object with a name');
	if (alg.name === undefined)
		throw new TypeError('Algorithm: the member "name" is required');
	name = String(alg.name).toUpperCase();
	for (i = 0; i < ALGORITHMS.length; i++) {
		if (ALGORITHMS[i].toUpperCase() === name) {
			name = ALGORITHMS[i];
			break;
		}
	}
	if (SUPPORTED[group].indexOf(name) < 0)
		throw fail('NotSupportedError', 'Unrecognized or unimplemented algorithm: ' +
		    String(alg.name));
	return { name: name, raw: alg };
}

/* The SHA hash named by alg.hash (required). */
function hashOf(raw) {
	var h;

	if (raw.hash === undefined)
		throw new TypeError('Algorithm: the member "hash" is required');
	h = normalize(raw.hash, 'digest').name;
	if (h === 'MD5')
		throw fail('NotSupportedError', 'MD5 can only be used with digest()');
	return h;
}

function curveOf(raw) {
	var c;

	if (raw.namedCurve === undefined)
		throw new TypeError('Algorithm: the member "namedCurve" is required');
	c = String(raw.namedCurve);
	if (!CURVES.hasOwnProperty(c))
		throw fail('NotSupportedError', 'Unrecognized or unimplemented EC curve: ' + c);
	return c;
}

/* --- CryptoKey -------------------------------------------------------------- */

var USAGES = ['encrypt', 'decrypt', 'sign', 'verify', 'deriveKey', 'deriveBits', 'wrapKey',
    'unwrapKey'];

/* The usages list, de-duplicated; TypeError for a non-usage, SyntaxError outside `allowed`. */
function checkUsages(usages, allowed) {
	var out = [], u, i, n;

	if (usages === null || typeof usages !== 'object')
		throw new TypeError('keyUsages must be an array');
	n = usages.length >>> 0;
	for (i = 0; i < n; i++) {
		u = String(usages[i]);
		if (USAGES.indexOf(u) < 0)
			throw new TypeError('Invalid key usage: ' + JSON.stringify(u));
		if (allowed.indexOf(u) < 0)
			throw fail('SyntaxError', 'Unsupported key usage for this algorithm: ' + u);
		if (out.indexOf(u) < 0)
			out.push(u);
	}
	return out;
}

function intersect(usages, allowed) {
	return usages.filter(function (u) { return allowed.indexOf(u) >= 0; });
}

function publicAlgorithm(alg) {
	var out = { name: alg.name };

	if (alg.hash !== undefined)
		out.hash = { name: alg.hash };
	if (alg.length !== undefined)
		out.length = alg.length;
	if (alg.namedCurve !== undefined)
		out.namedCurve = alg.namedCurve;
	if (alg.modulusLength !== undefined) {
		out.modulusLength = alg.modulusLength;
		out.publicExponent = new Uint8Array(alg.publicExponent);
	}
	return out;
}

function CryptoKey() {
	throw new TypeError('Illegal constructor');
}

/*
 * alg: the internal algorithm { name, hash?, length?, namedCurve?, kind?,
 * modulusLength?, publicExponent? }; data: the raw secret, or DER (PKCS#8 for
 * private keys, SPKI for public ones).
 */
function makeKey(type, extractable, alg, usages, data) {
	var key = Object.create(CryptoKey.prototype);

	if (usages.length === 0 && type !== 'public')
		throw fail('SyntaxError', 'A ' + type + ' key needs at least one usage');
	Object.defineProperty(key, SLOT, { value: {
		type: type,
		extractable: extractable,
		alg: alg,
		usages: usages.slice(),
		data: data,
		shownAlgorithm: publicAlgorithm(alg),
		shownUsages: usages.slice(),
	} });
	return key;
}

function keyState(key) {
	var st = key !== null && typeof key === 'object' ? key[SLOT] : undefined;

	if (st === undefined)
		throw new TypeError('Expected a CryptoKey');
	return st;
}

rt.getter(CryptoKey.prototype, 'type', function () { return keyState(this).type; });
rt.getter(CryptoKey.prototype, 'extractable', function () { return keyState(this).extractable; });
rt.getter(CryptoKey.prototype, 'algorithm', function () { return keyState(this).shownAlgorithm; });
rt.getter(CryptoKey.prototype, 'usages', function () { return keyState(this).shownUsages; });
Object.defineProperty(CryptoKey.prototype, Symbol.toStringTag, { value: 'CryptoKey', configurable: true });

/* The key's state when it may be used for `usage` with algorithm `name`. */
function usableKey(key, name, usage) {
	var st = keyState(key);

	if (st.alg.name !== name)
		throw fail('InvalidAccessError', 'The key is for ' + st.alg.name + ', not ' + name);
	if (st.usages.indexOf(usage) < 0)
		throw fail('InvalidAccessError', 'The key does not allow ' + usage);
	return st;
}

/* --- JWK -------------------------------------------------------------------- */

function checkJwk(jwk, kty, usages, extractable, use) {
	var i;

	if (jwk === null || typeof jwk !== 'object')
		throw new TypeError('A JWK must be an object');
	if (jwk.kty !== kty)
		throw fail('DataError', 'JWK "kty" must be "' + kty + '"');
	if (jwk.use !== undefined && usages.length > 0 && jwk.use !== use)
		throw fail('DataError', 'JWK "use" does not allow these usages');
	if (jwk.key_ops !== undefined) {
		if (!Array.isArray(jwk.key_ops))
			throw fail('DataError', 'JWK "key_ops" must be an array');
		for (i = 0; i < usages.length; i++)
			if (jwk.key_ops.indexOf(usages[i]) < 0)
				throw fail('DataError', 'JWK "key_ops" does not allow ' + usages[i]);
	}
	if (jwk.ext === false && extractable)
		throw fail('DataError', 'JWK "ext" is false but the key would be extractable');
}

function jwkBase(st, kty) {
	return { kty: kty, key_ops: st.usages.slice(), ext: true };
}

/* --- secret keys (HMAC, AES) -------------------------------------------------- */

function aesJwkAlg(name, bits) {
	return 'A' + bits + name.slice(4);
}

function importSecret(format, keyData, a, extractable, usages) {
	var hmac = a.name === 'HMAC';
	var hash = hmac ? hashOf(a.raw) : undefined;
	var data, jwk, bits, alg;

	usages = checkUsages(usages, hmac ? ['sign', 'verify'] :
	    ['encrypt', 'decrypt', 'wrapKey', 'unwrapKey']);
	if (format === 'raw') {
		data = bytes(keyData, 'keyData');
	} else if (format === 'jwk') {
		jwk = keyData;
		checkJwk(jwk, 'oct', usages, extractable, hmac ? 'sig' : 'enc');
		data = b64urlDecode(jwk.k, 'k');
		if (jwk.alg !== undefined && jwk.alg !== (hmac ? 'HS' + HASH_BITS[hash] :
		    aesJwkAlg(a.name, data.length * 8)))
			throw fail('DataError', 'JWK "alg" does not match the algorithm');
	} else {
		throw fail('NotSupportedError', 'Unsupported key format for ' + a.name + ': ' + format);
	}
	if (hmac) {
		if (data.length === 0)
			throw fail('DataError', 'HMAC key data must not be empty');
		bits = data.length * 8;
		if (a.raw.length !== undefined) {
			bits = Number(a.raw.length);
			if (!(bits > (data.length - 1) * 8 && bits <= data.length * 8))
				throw fail('DataError', 'HMAC key length does not match the key data');
		}
		alg = { name: 'HMAC', hash: hash, length: bits };
	} else {
		if (data.length !== 16 && data.length !== 24 && data.length !== 32)
			throw fail('DataError', 'AES key data must be 128, 192 or 256 bits long');
		alg = { name: a.name, length: data.length * 8 };
	}
	return makeKey('secret', extractable, alg, usages, data);
}

function exportSecret(format, st) {
	var jwk;

	if (format === 'raw')
		return copyBuffer(st.data);
	if (format !== 'jwk')
		throw fail('NotSupportedError', 'Unsupported export format for a secret key: ' + format);
	jwk = jwkBase(st, 'oct');
	jwk.k = b64urlEncode(st.data);
	jwk.alg = st.alg.name === 'HMAC' ? 'HS' + HASH_BITS[st.alg.hash] :
	    aesJwkAlg(st.alg.name, st.alg.length);
	return jwk;
}

function generateSecret(a, extractable, usages) {
	var hmac = a.name === 'HMAC';
	var hash, bits, data;

	if (hmac) {
		hash = hashOf(a.raw);
		usages = checkUsages(usages, ['sign', 'verify']);
		bits = a.raw.length === undefined ? HASH_BLOCK[hash] : Number(a.raw.length);
		if (!(bits > 0 && bits <= 8 * MAX_RANDOM && bits === Math.floor(bits)))
			throw fail('OperationError', 'Invalid HMAC key length');
	} else {
		usages = checkUsages(usages, ['encrypt', 'decrypt', 'wrapKey', 'unwrapKey']);
		if (a.raw.length === undefined)
			throw new TypeError('Algorithm: the member "length" is required');
		bits = Number(a.raw.length);
		if (bits !== 128 && bits !== 192 && bits !== 256)
			throw fail('OperationError', 'AES key length must be 128, 192 or 256 bits');
	}
	data = new Uint8Array(Math.ceil(bits / 8));
	if (!native.cryptoRandom(data))
		throw fail('OperationError', 'No random bytes');
	if (bits % 8 !== 0)
		data[data.length - 1] &= 0xff << (8 - bits % 8);
	return makeKey('secret', extractable, hmac ? { name: 'HMAC', hash: hash, length: bits } :
	    { name: a.name, length: bits }, usages, data);
}

/* --- asymmetric keys (ECDSA, RSASSA-PKCS1-v1_5) --------------------------------- */

function bitLength(buf) {
	var b = new Uint8Array(buf), i = 0, top;

	while (i < b.length && b[i] === 0)
		i++;
	if (i === b.length)
		return 0;
	top = b[i];
	var n = 0;
	while (top > 0) {
		n++;
		top >>= 1;
	}
	return (b.length - i - 1) * 8 + n;
}

/* The internal algorithm of an asymmetric key, completed from its DER. */
function asymAlgorithm(a, kind, hash, isPrivate, der) {
	var parts;

	if (a.name === 'ECDSA')
		return { name: 'ECDSA', namedCurve: kind, kind: kind };
	parts = native.cryptoKeyParts('RSA', isPrivate, der);
	if (parts === null)
		throw fail('DataError', 'Invalid RSA key');
	return { name: a.name, hash: hash, kind: 'RSA', modulusLength: bitLength(parts[0]),
	    publicExponent: new Uint8Array(parts[1]) };
}

var RSA_JWK = ['n', 'e', 'd', 'p', 'q', 'dp', 'dq', 'qi'];

function importAsym(format, keyData, a, extractable, usages) {
	var ec = a.name === 'ECDSA';
	var kind = ec ? curveOf(a.raw) : 'RSA';
	var hash = ec ? undefined : hashOf(a.raw);
	var isPrivate, der, data, parts, names, jwk, i, field;

	usages = checkUsages(usages, ['sign', 'verify']);
	if (format === 'spki' || format === 'pkcs8') {
		isPrivate = format === 'pkcs8';
		der = native.cryptoKeyNormalize(kind, isPrivate, bytes(keyData, 'keyData'));
	} else if (format === 'raw' && ec) {
		isPrivate = false;
		data = bytes(keyData, 'keyData');
		field = CURVES[kind];
		if (data.length !== 1 + 2 * field || data[0] !== 4)
			throw fail('DataError', 'Raw EC public keys must be uncompressed points');
		der = native.cryptoKeyFromParts(kind, false,
		    [data.subarray(1, 1 + field), data.subarray(1 + field)]);
	} else if (format === 'jwk') {
		jwk = keyData;
		if (jwk === null || typeof jwk !== 'object')
			throw new TypeError('A JWK must be an object');
		isPrivate = jwk.d !== undefined;
		checkJwk(jwk, ec ? 'EC' : 'RSA', usages, extractable, 'sig');
		if (ec) {
			if (jwk.crv !== kind)
				throw fail('DataError', 'JWK "crv" does not match namedCurve');
			if (jwk.alg !== undefined && jwk.alg !== CURVE_JWK_ALG[kind])
				throw fail('DataError', 'JWK "alg" does not match the curve');
			names = isPrivate ? ['x', 'y', 'd'] : ['x', 'y'];
		} else {
			if (jwk.alg !== undefined && jwk.alg !== 'RS' + HASH_BITS[hash])
				throw fail('DataError', 'JWK "alg" does not match the hash');
			names = isPrivate ? RSA_JWK : RSA_JWK.slice(0, 2);
		}
		parts = [];
		for (i = 0; i < names.length; i++)
			parts.push(b64urlDecode(jwk[names[i]], names[i]));
		der = native.cryptoKeyFromParts(kind, isPrivate, parts);
	} else {
		throw fail('NotSupportedError', 'Unsupported key format for ' + a.name + ': ' + format);
	}
	if (der === null)
		throw fail('DataError', 'Invalid key data for ' + a.name);
	if (usages.length > 0 && intersect(usages, [isPrivate ? 'sign' : 'verify']).length !==
	    usages.length)
		throw fail('SyntaxError', 'Unsupported key usage for a ' +
		    (isPrivate ? 'private' : 'public') + ' key');
	return makeKey(isPrivate ? 'private' : 'public', extractable,
	    asymAlgorithm(a, kind, hash, isPrivate, der), usages, der);
}

function exportAsym(format, st) {
	var isPrivate = st.type === 'private';
	var parts, jwk, names, i;

	if (format === 'spki' || format === 'pkcs8') {
		if (isPrivate !== (format === 'pkcs8'))
			throw fail('InvalidAccessError', 'A ' + st.type + ' key cannot be exported as ' + format);
		return copyBuffer(st.data);
	}
	if (format !== 'jwk' && !(format === 'raw' && st.alg.name === 'ECDSA'))
		throw fail('NotSupportedError', 'Unsupported export format for ' + st.alg.name + ': ' + format);
	if (format === 'raw' && isPrivate)
		throw fail('InvalidAccessError', 'Only public EC keys can be exported raw');
	parts = native.cryptoKeyParts(st.alg.kind, isPrivate, st.data);
	if (parts === null)
		throw fail('OperationError', 'Cannot export the key');
	if (format === 'raw')
		return rt.toArrayBuffer(concat([new Uint8Array([4]).buffer, parts[0], parts[1]]));
	if (st.alg.name === 'ECDSA') {
		jwk = jwkBase(st, 'EC');
		jwk.crv = st.alg.namedCurve;
		names = ['x', 'y', 'd'];
	} else {
		jwk = jwkBase(st, 'RSA');
		jwk.alg = 'RS' + HASH_BITS[st.alg.hash];
		names = RSA_JWK;
	}
	for (i = 0; i < parts.length; i++)
		jwk[names[i]] = b64urlEncode(parts[i]);
	return jwk;
}

function generateAsym(a, extractable, usages) {
	var ec = a.name === 'ECDSA';
	var kind = ec ? curveOf(a.raw) : 'RSA';
	var hash = ec ? undefined : hashOf(a.raw);
	var bits = 0, exponent = 0, e, pair, alg, i;

	usages = checkUsages(usages, ['sign', 'verify']);
	if (!ec) {
		bits = Number(a.raw.modulusLength);
		if (a.raw.publicExponent === undefined || !ArrayBuffer.isView(a.raw.publicExponent))
			throw new TypeError('Algorithm: "publicExponent" must be a Uint8Array');
		e = bytes(a.raw.publicExponent, 'publicExponent');
		for (i = 0; i < e.length; i++)
			exponent = exponent * 256 + e[i];
		if (exponent !== 3 && exponent !== 65537)
			throw fail('OperationError', 'The public exponent must be 3 or 65537');
		if (!(bits >= 1024 && bits <= 4096 && bits % 8 === 0))
			throw fail('OperationError', 'modulusLength must be a multiple of 8 in 1024..4096');
	}
	if (intersect(usages, ['sign']).length === 0)
		throw fail('SyntaxError', 'A private key needs at least one usage');
	pair = native.cryptoGenerate(kind, bits, exponent);
	if (pair === null)
		throw fail('OperationError', 'Key generation failed');
	alg = asymAlgorithm(a, kind, hash, false, pair[1]);
	return {
		publicKey: makeKey('public', true, alg, intersect(usages, ['verify']), pair[1]),
		privateKey: makeKey('private', extractable, alg, intersect(usages, ['sign']), pair[0]),
	};
}

/* --- SubtleCrypto --------------------------------------------------------------- */

var FORMATS = ['raw', 'pkcs8', 'spki', 'jwk'];

function checkFormat(format) {
	format = String(format);
	if (FORMATS.indexOf(format) < 0)
		throw new TypeError('Invalid key format: ' + JSON.stringify(format));
	return format;
}

/* Runs fn now and answers a promise of its result (a throw becomes a rejection). */
function later(fn) {
	return new P(function (resolve) { resolve(fn()); });
}

var TAG_LENGTHS = [32, 64, 96, 104, 112, 120, 128];

function aes(encrypt, a, st, data) {
	var raw = a.raw, out, iv, tag, bits;

	if (a.name === 'AES-GCM') {
		if (raw.iv === undefined)
			throw new TypeError('AES-GCM: the member "iv" is required');
		iv = bytes(raw.iv, 'iv');
		tag = raw.tagLength === undefined ? 128 : Number(raw.tagLength);
		if (TAG_LENGTHS.indexOf(tag) < 0)
			throw fail('OperationError', 'Invalid AES-GCM tag length: ' + raw.tagLength);
		if (iv.length === 0)
			throw fail('OperationError', 'AES-GCM needs a non-empty iv');
		if (!encrypt && data.length < tag / 8)
			throw fail('OperationError', 'The ciphertext is shorter than the tag');
		out = native.cryptoAesGcm(encrypt, st.data, iv, raw.additionalData === undefined ?
		    null : bytes(raw.additionalData, 'additionalData'), tag / 8, data);
	} else if (a.name === 'AES-CBC') {
		if (raw.iv === undefined)
			throw new TypeError('AES-CBC: the member "iv" is required');
		iv = bytes(raw.iv, 'iv');
		if (iv.length !== 16)
			throw fail('OperationError', 'AES-CBC needs a 16-byte iv');
		out = native.cryptoAesCbc(encrypt, st.data, iv, data);
	} else {
		if (raw.counter === undefined || raw.length === undefined)
			throw new TypeError('AES-CTR: the members "counter" and "length" are required');
		iv = bytes(raw.counter, 'counter');
		bits = Number(raw.length);
		if (iv.length !== 16 || !(bits >= 1 && bits <= 128 && bits === Math.floor(bits)))
			throw fail('OperationError', 'AES-CTR needs a 16-byte counter and a length of 1..128');
		out = native.cryptoAesCtr(st.data, iv, bits, data);
	}
	if (out === null)
		throw fail('OperationError', encrypt ? 'Encryption failed' :
		    'Decryption failed: the data is not authentic or not well padded');
	return out;
}

function signatureHash(a, st) {
	return a.name === 'ECDSA' ? hashOf(a.raw) : st.alg.hash;
}

function SubtleCrypto() {
	throw new TypeError('Illegal constructor');
}

rt.methods(SubtleCrypto.prototype, {
	digest: function (algorithm, data) {
		return later(function () {
			var a = normalize(algorithm, 'digest');
			var out = native.cryptoDigest(a.name, bytes(data, 'data'));

			if (out === null)
				throw fail('OperationError', 'Digest failed');
			return out;
		});
	},
	importKey: function (format, keyData, algorithm, extractable, usages) {
		return later(function () {
			var f = checkFormat(format);
			var a = normalize(algorithm, 'key');

			if (f !== 'jwk' && !isBufferSource(keyData))
				throw new TypeError('keyData must be an ArrayBuffer or an ArrayBuffer view');
			if (f === 'jwk' && (keyData === null || typeof keyData !== 'object' ||
			    isBufferSource(keyData)))
				throw new TypeError('keyData must be a JsonWebKey object');
			if (a.name === 'ECDSA' || a.name === 'RSASSA-PKCS1-v1_5')
				return importAsym(f, keyData, a, !!extractable, usages);
			return importSecret(f, keyData, a, !!extractable, usages);
		});
	},
	exportKey: function (format, key) {
		return later(function () {
			var f = checkFormat(format);
			var st = keyState(key);

			if (!st.extractable)
				throw fail('InvalidAccessError', 'The key is not extractable');
			return st.type === 'secret' ? exportSecret(f, st) : exportAsym(f, st);
		});
	},
	generateKey: function (algorithm, extractable, usages) {
		return later(function () {
			var a = normalize(algorithm, 'key');

			if (a.name === 'ECDSA' || a.name === 'RSASSA-PKCS1-v1_5')
				return generateAsym(a, !!extractable, usages);
			return generateSecret(a, !!extractable, usages);
		});
	},
	sign: function (algorithm, key, data) {
		return later(function () {
			var a = normalize(algorithm, 'sign');
			var st = usableKey(key, a.name, 'sign');
			var d = bytes(data, 'data'), out;

			if (a.name === 'HMAC')
				out = native.cryptoHmac(st.alg.hash, st.data, d);
			else
				out = native.cryptoSign(st.alg.kind, signatureHash(a, st), st.data, d);
			if (out === null)
				throw fail('OperationError', 'Signing failed');
			return out;
		});
	},
	verify: function (algorithm, key, signature, data) {
		return later(function () {
			var a = normalize(algorithm, 'sign');
			var st = usableKey(key, a.name, 'verify');
			var sig = bytes(signature, 'signature'), d = bytes(data, 'data'), mac, ok;

			if (a.name === 'HMAC') {
				mac = native.cryptoHmac(st.alg.hash, st.data, d);
				if (mac === null)
					throw fail('OperationError', 'Verification failed');
				return mac.byteLength === sig.length && native.cryptoEqual(mac, sig);
			}
			ok = native.cryptoVerify(st.alg.kind, signatureHash(a, st), st.data, sig, d);
			if (ok === null)
				throw fail('OperationError', 'Verification failed');
			return ok;
		});
	},
	encrypt: function (algorithm, key, data) {
		return later(function () {
			var a = normalize(algorithm, 'encrypt');

			return aes(true, a, usableKey(key, a.name, 'encrypt'), bytes(data, 'data'));
		});
	},
	decrypt: function (algorithm, key, data) {
		return later(function () {
			var a = normalize(algorithm, 'encrypt');

			return aes(false, a, usableKey(key, a.name, 'decrypt'), bytes(data, 'data'));
		});
	},
	deriveBits: function () {
		return later(function () {
			throw fail('NotSupportedError', 'deriveBits is not supported yet');
		});
	},
	deriveKey: function () {
		return later(function () {
			throw fail('NotSupportedError', 'deriveKey is not supported yet');
		});
	},
	wrapKey: function () {
		return later(function () {
			throw fail('NotSupportedError', 'wrapKey is not supported yet');
		});
	},
	unwrapKey: function () {
		return later(function () {
			throw fail('NotSupportedError', 'unwrapKey is not supported yet');
		});
	},
	/* Workers extension: synchronous, constant time for equal lengths. */
	timingSafeEqual: function (a, b) {
		if (!isBufferSource(a) || !isBufferSource(b))
			throw new TypeError('timingSafeEqual: arguments must be ArrayBuffers or views');
		return native.cryptoEqual(a, b);
	},
});
Object.defineProperty(SubtleCrypto.prototype, Symbol.toStringTag, { value: 'SubtleCrypto', configurable: true });

/* --- Crypto ------------------------------------------------------------------- */

var INTEGER_ARRAYS = [Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array,
    Int32Array, Uint32Array];

function Crypto() {
	throw new TypeError('Illegal constructor');
}

var subtle = Object.create(SubtleCrypto.prototype);
var HEX = '0123456789abcdef';

rt.methods(Crypto.prototype, {
	getRandomValues: function (array) {
		var i, ok = false;

		if (!ArrayBuffer.isView(array))
			throw new TypeError('getRandomValues: the argument must be an integer typed array');
		for (i = 0; i < INTEGER_ARRAYS.length; i++)
			ok = ok || array instanceof INTEGER_ARRAYS[i];
		if (!ok)
			throw fail('TypeMismatchError', 'getRandomValues: the argument must be an ' +
			    'integer typed array');
		if (array.byteLength > MAX_RANDOM)
			throw fail('QuotaExceededError', 'getRandomValues: the ArrayBufferView\'s byte ' +
			    'length (' + array.byteLength + ') exceeds the number of bytes of entropy ' +
			    'available via this API (' + MAX_RANDOM + ')');
		if (!native.cryptoRandom(array))
			throw fail('OperationError', 'getRandomValues: no random bytes');
		return array;
	},
	randomUUID: function () {
		var b = new Uint8Array(16), s = '', i;

		if (!native.cryptoRandom(b))
			throw fail('OperationError', 'randomUUID: no random bytes');
		b[6] = b[6] & 0x0f | 0x40;
		b[8] = b[8] & 0x3f | 0x80;
		for (i = 0; i < 16; i++) {
			if (i === 4 || i === 6 || i === 8 || i === 10)
				s += '-';
			s += HEX.charAt(b[i] >> 4) + HEX.charAt(b[i] & 15);
		}
		return s;
	},
});
rt.getter(Crypto.prototype, 'subtle', function () { return subtle; });
Object.defineProperty(Crypto.prototype, Symbol.toStringTag, { value: 'Crypto', configurable: true });

rt.define(globalThis, 'crypto', Object.create(Crypto.prototype));
rt.define(globalThis, 'Crypto', Crypto);
rt.define(globalThis, 'SubtleCrypto', SubtleCrypto);
rt.define(globalThis, 'CryptoKey', CryptoKey);

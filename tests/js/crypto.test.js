// crypto.test.js: Web Crypto (crypto.getRandomValues, randomUUID, crypto.subtle,
// CryptoKey) against published known-answer vectors (FIPS 180, RFC 1321,
// RFC 4231, NIST GCM spec, SP 800-38A) and JWTs made with the openssl CLI.

function hex(buf) {
	var b = new Uint8Array(buf), s = '', i;
	for (i = 0; i < b.length; i++)
		s += (b[i] < 16 ? '0' : '') + b[i].toString(16);
	return s;
}

function unhex(s) {
	var out = new Uint8Array(s.length / 2), i;
	for (i = 0; i < out.length; i++)
		out[i] = parseInt(s.substr(i * 2, 2), 16);
	return out;
}

var B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

// base64 or base64url to bytes.
function unb64(s) {
	var out = [], acc = 0, bits = 0, i, c;
	s = s.replace(/-/g, '+').replace(/_/g, '/').replace(/=+$/, '');
	for (i = 0; i < s.length; i++) {
		c = B64.indexOf(s.charAt(i));
		acc = (acc << 6 | c) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out.push(acc >> bits & 0xff);
		}
	}
	return new Uint8Array(out);
}

function utf8(s) {
	return new TextEncoder().encode(s);
}

// Test keys and tokens made with `openssl ecparam -name prime256v1 -genkey`,
// `openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048`, signed with
// `openssl dgst -sha256 -sign` (the ECDSA signature converted to r || s).
var EC_SPKI = 'MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE1koWPbB1PdXaoSSiLB/4FxyR1uruaVRBfGMkKUZ2FMG+14NB4VKEsH3WQBbOEOXeYtG4dEFJUWcqYubm+oQgPQ==';
var EC_JWK = { kty: 'EC', crv: 'P-256', x: '1koWPbB1PdXaoSSiLB_4FxyR1uruaVRBfGMkKUZ2FME',
    y: 'vteDQeFShLB91kAWzhDl3mLRuHRBSVFnKmLm5vqEID0' };
var ES256_JWT = 'eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJlZGdlZCIsImlhdCI6MTcwMDAwMDAwMH0.yJ7X9XugoDzCA-pAUMNqdVRsnPzzVbDYVSWFrHaSHfqvrWCanebX3whmtT5TpDUctS1Oc3XyqJcLQpfrBz0lQw';
var RSA_SPKI = 'MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAvvpXnwSuiW7Qir1fiCb/Hw4v+W0yooyQN4qnqwo3OZPg5cJNnQbBo0JrE9cqo2W2SbaioIHLtdETnfQkM4qP0AM+VHkbzn24HnUDwpYorXe90ssqvjygQmbZuZ2hWnspRv+KvVitnrwoaiz17PB4rXLUvSXNHDCchcpy3HcO1DHq47oz5R2CcXo9GEFKrZblHKjLu8/YpXYuNJjdCE2wePapqYTsHxxkK92BxuAxLZxlXZ/kjLbKqwSJOAMbq5RYQ3pfN/MBxGRqHsL0T2mk9x6iiFl12duK/L4Om2iVe1Qv1JvYdBw7+JXS5I+SFMX2dNnfG/uY1kBaEnoCTXKLcQIDAQAB';
var RSA_JWK = { kty: 'RSA', e: 'AQAB', n: 'vvpXnwSuiW7Qir1fiCb_Hw4v-W0yooyQN4qnqwo3OZPg5cJNnQbBo0JrE9cqo2W2SbaioIHLtdETnfQkM4qP0AM-VHkbzn24HnUDwpYorXe90ssqvjygQmbZuZ2hWnspRv-KvVitnrwoaiz17PB4rXLUvSXNHDCchcpy3HcO1DHq47oz5R2CcXo9GEFKrZblHKjLu8_YpXYuNJjdCE2wePapqYTsHxxkK92BxuAxLZxlXZ_kjLbKqwSJOAMbq5RYQ3pfN_MBxGRqHsL0T2mk9x6iiFl12duK_L4Om2iVe1Qv1JvYdBw7-JXS5I-SFMX2dNnfG_uY1kBaEnoCTXKLcQ' };
var RS256_JWT = 'eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJlZGdlZCIsImlhdCI6MTcwMDAwMDAwMH0.oYLksnn1ZucgnyNWRIcs5Q7kcGI-S95EPph-AoSDNpYqg8khanpkO-Np7uWKRIexjphoDWkOulHBMor0VAPRze9AIwS2mtgTIKyh66n5EhT39SZ3DjF4DHp82X7Qo3gBv3zVCtjmP9U08Fmp-K_myR6dfimbxoBimK_iQ4D6UGN1TilgFdTM7sIznqoegNn1mL0cod8qB_Dj0d80HpS8hBp184RUruweuEziuArkyFtk9YR1Rsg_zh51hjfxv7YTcRuV5X-P7t4vFWy5d8xKlPUlgvnq0VNUFTjAL43enf_j9X9DL2s2H66FraNidf34SFmloMqOkpvWiun_TDnO3w';

// Verifies a compact JWT with `key` the way a Worker does; resolves to a boolean.
function verifyJwt(jwt, key, algorithm) {
	var parts = jwt.split('.');
	return crypto.subtle.verify(algorithm, key, unb64(parts[2]), utf8(parts[0] + '.' + parts[1]));
}

function tamper(jwt) {
	var parts = jwt.split('.');
	var sig = unb64(parts[2]);
	sig[5] ^= 1;
	return { header: parts[0] + '.' + parts[1], sig: sig };
}

var subtle = crypto.subtle;

test('the Web Crypto globals exist and cannot be constructed', function () {
	assertEqual(typeof crypto.getRandomValues, 'function');
	assertEqual(typeof crypto.randomUUID, 'function');
	assert(subtle instanceof SubtleCrypto, 'crypto.subtle is a SubtleCrypto');
	assertThrows(function () { return new CryptoKey(); }, TypeError);
	assertThrows(function () { return new SubtleCrypto(); }, TypeError);
	assertEqual(Object.prototype.toString.call(subtle), '[object SubtleCrypto]');
});

test('getRandomValues fills integer typed arrays in place', function () {
	var a = new Uint8Array(64), b = new Uint32Array(16), nonzero = 0, i;
	assert(crypto.getRandomValues(a) === a, 'returns its argument');
	for (i = 0; i < a.length; i++)
		nonzero += a[i] !== 0 ? 1 : 0;
	assert(nonzero > 32, 'mostly non-zero bytes');
	crypto.getRandomValues(b);
	assert(hex(b.buffer) !== hex(new Uint32Array(16).buffer), 'Uint32Array filled');
	var big = new Uint8Array(65536);
	crypto.getRandomValues(big);
	var view = new Uint8Array(new ArrayBuffer(32), 8, 8);
	crypto.getRandomValues(view);
	assertEqual(hex(new Uint8Array(view.buffer, 0, 8)), '0000000000000000', 'only the view is written');
	[Int8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array].forEach(function (T) {
		crypto.getRandomValues(new T(4));
	});
});

test('getRandomValues refuses floats, DataView and more than 65,536 bytes', function () {
	assertThrows(function () { crypto.getRandomValues(new Uint8Array(65537)); }, 'QuotaExceededError');
	assertThrows(function () { crypto.getRandomValues(new Uint32Array(16385)); }, 'QuotaExceededError');
	assertThrows(function () { crypto.getRandomValues(new Float32Array(4)); }, 'TypeMismatchError');
	assertThrows(function () { crypto.getRandomValues(new Float64Array(4)); }, 'TypeMismatchError');
	assertThrows(function () { crypto.getRandomValues(new DataView(new ArrayBuffer(4))); }, 'TypeMismatchError');
	assertThrows(function () { crypto.getRandomValues([1, 2, 3]); }, TypeError);
	assertThrows(function () { crypto.getRandomValues(new ArrayBuffer(4)); }, TypeError);
});

test('randomUUID returns distinct version 4 UUIDs', function () {
	var seen = {}, i, u;
	for (i = 0; i < 200; i++) {
		u = crypto.randomUUID();
		assert(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(u), u);
		assert(!seen[u], 'duplicate ' + u);
		seen[u] = true;
	}
});

test('digest: SHA-1, SHA-256, SHA-384, SHA-512 and MD5 of "abc"', function () {
	var want = {
		'SHA-1': 'a9993e364706816aba3e25717850c26c9cd0d89d',
		'SHA-256': 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
		'SHA-384': 'cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7',
		'SHA-512': 'ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f',
		'MD5': '900150983cd24fb0d6963f7d28e17f72',
	};
	return Promise.all(Object.keys(want).map(function (name) {
		return subtle.digest(name, utf8('abc')).then(function (d) {
			assert(d instanceof ArrayBuffer, name + ' gives an ArrayBuffer');
			assertEqual(hex(d), want[name], name);
		});
	}));
});

test('digest accepts algorithm objects, any case and any BufferSource', function () {
	var data = utf8('xabcx');
	return Promise.all([
		subtle.digest({ name: 'sha-256' }, new Uint8Array(data.buffer, 1, 3)),
		subtle.digest('SHA-256', new ArrayBuffer(0)),
		subtle.digest('Sha-256', new DataView(data.buffer, 1, 3)),
	]).then(function (r) {
		assertEqual(hex(r[0]), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
		assertEqual(hex(r[1]), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
		assertEqual(hex(r[2]), hex(r[0]));
	});
});

test('digest rejects unknown algorithms and non-buffers', function () {
	return Promise.all([
		assertRejects(subtle.digest('SHA-3', utf8('a')), 'NotSupportedError'),
		assertRejects(subtle.digest('SHA-256', 'abc'), TypeError),
		assertRejects(subtle.digest({}, utf8('a')), TypeError),
	]);
});

test('HMAC-SHA256: RFC 4231 test cases 1 and 2', function () {
	var key1 = new Uint8Array(20), i;
	for (i = 0; i < 20; i++)
		key1[i] = 0x0b;
	return Promise.all([
		subtle.importKey('raw', key1, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']),
		subtle.importKey('raw', utf8('Jefe'), { name: 'HMAC', hash: { name: 'SHA-256' } }, false,
		    ['verify']),
	]).then(function (keys) {
		assertEqual(keys[0].type, 'secret');
		assertEqual(keys[0].algorithm.name, 'HMAC');
		assertEqual(keys[0].algorithm.hash.name, 'SHA-256');
		assertEqual(keys[0].algorithm.length, 160);
		return Promise.all([
			subtle.sign('HMAC', keys[0], utf8('Hi There')),
			subtle.verify('HMAC', keys[1],
			    unhex('5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843'),
			    utf8('what do ya want for nothing?')),
			subtle.verify('HMAC', keys[1],
			    unhex('5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3842'),
			    utf8('what do ya want for nothing?')),
			subtle.verify('HMAC', keys[1], unhex('5bdcc146'), utf8('what do ya want for nothing?')),
		]);
	}).then(function (r) {
		assertEqual(hex(r[0]), 'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7');
		assertEqual(r[1], true, 'the RFC MAC verifies');
		assertEqual(r[2], false, 'a changed MAC does not');
		assertEqual(r[3], false, 'a truncated MAC does not');
	});
});

test('HS256 JWT: generateKey, sign, export as JWK, re-import and verify', function () {
	var key, jwk;
	return subtle.generateKey({ name: 'HMAC', hash: 'SHA-256' }, true, ['sign', 'verify']).then(function (k) {
		key = k;
		assertEqual(k.algorithm.length, 512, 'default length is the block size');
		assertDeepEqual(k.usages, ['sign', 'verify']);
		return subtle.exportKey('jwk', k);
	}).then(function (j) {
		jwk = j;
		assertEqual(j.kty, 'oct');
		assertEqual(j.alg, 'HS256');
		assertEqual(j.ext, true);
		assertEqual(unb64(j.k).length, 64);
		return Promise.all([
			subtle.sign('HMAC', key, utf8('header.payload')),
			subtle.importKey('jwk', jwk, { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']),
			subtle.exportKey('raw', key),
		]);
	}).then(function (r) {
		assertEqual(hex(r[2]), hex(unb64(jwk.k)), 'raw and jwk export agree');
		return subtle.verify('HMAC', r[1], r[0], utf8('header.payload'));
	}).then(function (ok) {
		assertEqual(ok, true);
	});
});

test('AES-GCM: NIST test case 4 (AES-128, 60 bytes, AAD)', function () {
	var p = unhex('d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39');
	var c = '42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091' +
	    '5bc94fbc3221a5db94fae95ae7121a47';
	var alg = { name: 'AES-GCM', iv: unhex('cafebabefacedbaddecaf888'),
	    additionalData: unhex('feedfacedeadbeeffeedfacedeadbeefabaddad2') };
	var key;
	return subtle.importKey('raw', unhex('feffe9928665731c6d6a8f9467308308'), 'AES-GCM', false,
	    ['encrypt', 'decrypt']).then(function (k) {
		key = k;
		assertEqual(k.algorithm.length, 128);
		return subtle.encrypt(alg, key, p);
	}).then(function (out) {
		assertEqual(hex(out), c);
		return subtle.decrypt(alg, key, unhex(c));
	}).then(function (plain) {
		assertEqual(hex(plain), hex(p));
		var bad = unhex(c);
		bad[3] ^= 0x80;
		return Promise.all([
			assertRejects(subtle.decrypt(alg, key, bad), 'OperationError'),
			assertRejects(subtle.decrypt({ name: 'AES-GCM', iv: alg.iv }, key, unhex(c)),
			    'OperationError'),
			assertRejects(subtle.encrypt({ name: 'AES-GCM', iv: alg.iv, tagLength: 100 }, key, p),
			    'OperationError'),
			assertRejects(subtle.encrypt({ name: 'AES-GCM', iv: new Uint8Array(0) }, key, p),
			    'OperationError'),
		]);
	});
});

test('AES-GCM: generated keys, tagLength 96 and empty plaintext round trip', function () {
	var key, iv = crypto.getRandomValues(new Uint8Array(12));
	var alg = { name: 'AES-GCM', iv: iv, tagLength: 96 };
	return subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']).then(function (k) {
		key = k;
		assertEqual(k.algorithm.length, 256);
		assertEqual(k.extractable, false);
		return Promise.all([subtle.encrypt(alg, key, utf8('hello')), subtle.encrypt(alg, key, new Uint8Array(0))]);
	}).then(function (r) {
		assertEqual(r[0].byteLength, 5 + 12);
		assertEqual(r[1].byteLength, 12);
		return Promise.all([subtle.decrypt(alg, key, r[0]), subtle.decrypt(alg, key, r[1])]);
	}).then(function (r) {
		assertEqual(new TextDecoder().decode(r[0]), 'hello');
		assertEqual(r[1].byteLength, 0);
		return assertRejects(subtle.exportKey('raw', key), 'InvalidAccessError');
	});
});

test('AES-CBC: SP 800-38A F.2.1 block with PKCS#7 padding', function () {
	var iv = unhex('000102030405060708090a0b0c0d0e0f'), key;
	return subtle.importKey('raw', unhex('2b7e151628aed2a6abf7158809cf4f3c'), { name: 'AES-CBC' },
	    true, ['encrypt', 'decrypt']).then(function (k) {
		key = k;
		return subtle.encrypt({ name: 'AES-CBC', iv: iv }, key, unhex('6bc1bee22e409f96e93d7e117393172a'));
	}).then(function (c) {
		assertEqual(hex(c), '7649abac8119b246cee98e9b12e9197d8964e0b149c10b7b682e6e39aaeb731c');
		return subtle.decrypt({ name: 'AES-CBC', iv: iv }, key, c);
	}).then(function (p) {
		assertEqual(hex(p), '6bc1bee22e409f96e93d7e117393172a');
		return Promise.all([
			// The second block decrypts under a changed iv to garbage padding.
			assertRejects(subtle.decrypt({ name: 'AES-CBC', iv: iv }, key,
			    unhex('7649abac8119b246cee98e9b12e9197d')), 'OperationError'),
			assertRejects(subtle.decrypt({ name: 'AES-CBC', iv: iv }, key, unhex('7649ab')),
			    'OperationError'),
			assertRejects(subtle.encrypt({ name: 'AES-CBC', iv: new Uint8Array(8) }, key,
			    utf8('x')), 'OperationError'),
			subtle.exportKey('jwk', key).then(function (j) {
				assertEqual(j.alg, 'A128CBC');
				assertEqual(hex(unb64(j.k)), '2b7e151628aed2a6abf7158809cf4f3c');
			}),
		]);
	});
});

test('AES-CTR: SP 800-38A F.5.1 and counter wrap-around within length bits', function () {
	var p = unhex('6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51');
	var key;
	return subtle.importKey('raw', unhex('2b7e151628aed2a6abf7158809cf4f3c'), 'AES-CTR', false,
	    ['encrypt', 'decrypt']).then(function (k) {
		key = k;
		return Promise.all([
			subtle.encrypt({ name: 'AES-CTR', counter: unhex('f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff'), length: 64 }, key, p),
			// 8 counter bits at 0xff: the second block's counter is ...00, not the next byte up.
			subtle.encrypt({ name: 'AES-CTR', counter: unhex('000000000000000000000000000001ff'), length: 8 }, key, p),
			subtle.encrypt({ name: 'AES-CTR', counter: unhex('00000000000000000000000000000100'), length: 8 }, key, p.subarray(16)),
		]);
	}).then(function (r) {
		assertEqual(hex(r[0]), '874d6191b620e3261bef6864990db6ce9806f66b7970fdff8617187bb9fffdff');
		assertEqual(hex(new Uint8Array(r[1], 16)), hex(r[2]), 'the counter wrapped within its 8 bits');
		return assertRejects(subtle.encrypt({ name: 'AES-CTR', counter: new Uint8Array(16), length: 1 },
		    key, new Uint8Array(48)), 'OperationError');
	});
});

test('ES256 JWT made by openssl verifies with the SPKI and the JWK public key', function () {
	var alg = { name: 'ECDSA', namedCurve: 'P-256' };
	return Promise.all([
		subtle.importKey('spki', unb64(EC_SPKI), alg, true, ['verify']),
		subtle.importKey('jwk', EC_JWK, alg, true, ['verify']),
	]).then(function (keys) {
		var t = tamper(ES256_JWT);
		assertEqual(keys[0].type, 'public');
		assertEqual(keys[0].algorithm.namedCurve, 'P-256');
		return Promise.all([
			verifyJwt(ES256_JWT, keys[0], { name: 'ECDSA', hash: 'SHA-256' }),
			verifyJwt(ES256_JWT, keys[1], { name: 'ECDSA', hash: { name: 'SHA-256' } }),
			subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, keys[0], t.sig, utf8(t.header)),
			subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, keys[0], unb64(ES256_JWT.split('.')[2]),
			    utf8(t.header + 'x')),
			subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, keys[0], new Uint8Array(63), utf8(t.header)),
			subtle.exportKey('jwk', keys[0]),
			subtle.exportKey('spki', keys[1]),
		]);
	}).then(function (r) {
		assertEqual(r[0], true, 'spki key verifies');
		assertEqual(r[1], true, 'jwk key verifies');
		assertEqual(r[2], false, 'tampered signature');
		assertEqual(r[3], false, 'tampered payload');
		assertEqual(r[4], false, 'short signature');
		assertEqual(r[5].x, EC_JWK.x);
		assertEqual(r[5].y, EC_JWK.y);
		assertEqual(r[5].crv, 'P-256');
		assertEqual(hex(r[6]), hex(unb64(EC_SPKI)), 'JWK import exports the same SPKI');
	});
});

test('RS256 JWT made by openssl verifies with the SPKI and the JWK public key', function () {
	var alg = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
	return Promise.all([
		subtle.importKey('spki', unb64(RSA_SPKI), alg, false, ['verify']),
		subtle.importKey('jwk', RSA_JWK, alg, true, ['verify']),
	]).then(function (keys) {
		var t = tamper(RS256_JWT);
		assertEqual(keys[0].algorithm.modulusLength, 2048);
		assertEqual(hex(keys[0].algorithm.publicExponent), '010001');
		assertEqual(keys[0].algorithm.hash.name, 'SHA-256');
		return Promise.all([
			verifyJwt(RS256_JWT, keys[0], 'RSASSA-PKCS1-v1_5'),
			verifyJwt(RS256_JWT, keys[1], { name: 'RSASSA-PKCS1-v1_5' }),
			subtle.verify(alg, keys[0], t.sig, utf8(t.header)),
			subtle.exportKey('jwk', keys[1]),
		]);
	}).then(function (r) {
		assertEqual(r[0], true, 'spki key verifies');
		assertEqual(r[1], true, 'jwk key verifies');
		assertEqual(r[2], false, 'tampered signature');
		assertEqual(r[3].n, RSA_JWK.n);
		assertEqual(r[3].e, 'AQAB');
		assertEqual(r[3].alg, 'RS256');
	});
});

test('ECDSA P-256: generateKey, sign, verify, and every export format round trips', function () {
	var pair, sig, data = utf8('sign me');
	var sha = { name: 'ECDSA', hash: 'SHA-256' };
	return subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']).then(function (p) {
		pair = p;
		assertEqual(p.privateKey.type, 'private');
		assertEqual(p.publicKey.type, 'public');
		assertDeepEqual(p.privateKey.usages, ['sign']);
		assertDeepEqual(p.publicKey.usages, ['verify']);
		assertEqual(p.publicKey.extractable, true);
		return subtle.sign(sha, p.privateKey, data);
	}).then(function (s) {
		sig = s;
		assertEqual(s.byteLength, 64, 'P1363 r || s');
		return Promise.all([
			subtle.verify(sha, pair.publicKey, sig, data),
			subtle.exportKey('raw', pair.publicKey),
			subtle.exportKey('jwk', pair.privateKey),
			subtle.exportKey('pkcs8', pair.privateKey),
		]);
	}).then(function (r) {
		assertEqual(r[0], true);
		assertEqual(r[1].byteLength, 65);
		assertEqual(new Uint8Array(r[1])[0], 4);
		assertEqual(r[2].kty, 'EC');
		assertEqual(unb64(r[2].d).length, 32);
		var alg = { name: 'ECDSA', namedCurve: 'P-256' };
		return Promise.all([
			subtle.importKey('raw', r[1], alg, true, ['verify']),
			subtle.importKey('jwk', r[2], alg, false, ['sign']),
			subtle.importKey('pkcs8', r[3], alg, false, ['sign']),
		]);
	}).then(function (k) {
		return Promise.all([
			subtle.verify(sha, k[0], sig, data),
			subtle.sign(sha, k[1], data).then(function (s) { return subtle.verify(sha, pair.publicKey, s, data); }),
			subtle.sign(sha, k[2], data).then(function (s) { return subtle.verify(sha, k[0], s, data); }),
		]);
	}).then(function (r) {
		assertDeepEqual(r, [true, true, true]);
	});
});

test('RSASSA-PKCS1-v1_5: generateKey, sign, verify, JWK round trip', function () {
	var pair, sig, data = utf8('rsa');
	var alg = { name: 'RSASSA-PKCS1-v1_5', modulusLength: 1024, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' };
	return subtle.generateKey(alg, true, ['sign', 'verify']).then(function (p) {
		pair = p;
		assertEqual(p.publicKey.algorithm.modulusLength, 1024);
		return subtle.sign('RSASSA-PKCS1-v1_5', p.privateKey, data);
	}).then(function (s) {
		sig = s;
		assertEqual(s.byteLength, 128);
		return subtle.exportKey('jwk', pair.privateKey);
	}).then(function (jwk) {
		assertEqual(jwk.alg, 'RS256');
		assert(jwk.d && jwk.p && jwk.q && jwk.dp && jwk.dq && jwk.qi, 'private members present');
		return subtle.importKey('jwk', jwk, alg, false, ['sign']);
	}).then(function (k) {
		return subtle.sign('RSASSA-PKCS1-v1_5', k, data);
	}).then(function (s2) {
		assertEqual(hex(s2), hex(sig), 'PKCS#1 v1.5 signatures are deterministic');
		return subtle.verify('RSASSA-PKCS1-v1_5', pair.publicKey, sig, data);
	}).then(function (ok) {
		assertEqual(ok, true);
	});
});

test('keys are used only as their usages and algorithm allow', function () {
	var alg = { name: 'ECDSA', namedCurve: 'P-256' };
	return Promise.all([
		subtle.importKey('spki', unb64(EC_SPKI), alg, true, ['verify']),
		subtle.importKey('raw', utf8('secret'), { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']),
		subtle.importKey('raw', new Uint8Array(16), 'AES-GCM', false, ['encrypt']),
	]).then(function (k) {
		return Promise.all([
			assertRejects(subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, k[0], utf8('x')), 'InvalidAccessError'),
			assertRejects(subtle.sign('HMAC', k[1], utf8('x')), 'InvalidAccessError'),
			assertRejects(subtle.verify('RSASSA-PKCS1-v1_5', k[0], new Uint8Array(64), utf8('x')), 'InvalidAccessError'),
			assertRejects(subtle.decrypt({ name: 'AES-GCM', iv: new Uint8Array(12) }, k[2], new Uint8Array(32)), 'InvalidAccessError'),
			assertRejects(subtle.encrypt({ name: 'AES-CBC', iv: new Uint8Array(16) }, k[2], new Uint8Array(32)), 'InvalidAccessError'),
			assertRejects(subtle.exportKey('raw', k[1]), 'InvalidAccessError'),
			assertRejects(subtle.exportKey('pkcs8', k[0]), 'InvalidAccessError'),
			assertRejects(subtle.sign('HMAC', {}, utf8('x')), TypeError),
			assertRejects(subtle.importKey('spki', unb64(EC_SPKI), alg, true, ['sign']), 'SyntaxError'),
			assertRejects(subtle.importKey('raw', new Uint8Array(16), 'AES-GCM', false, ['sign']), 'SyntaxError'),
			assertRejects(subtle.importKey('raw', new Uint8Array(16), 'AES-GCM', false, []), 'SyntaxError'),
			assertRejects(subtle.importKey('raw', new Uint8Array(16), 'AES-GCM', false, ['fly']), TypeError),
			assertRejects(subtle.generateKey({ name: 'AES-GCM', length: 100 }, false, ['encrypt']), 'OperationError'),
			assertRejects(subtle.generateKey({ name: 'RSA-OAEP' }, false, ['encrypt']), 'NotSupportedError'),
			assertRejects(subtle.importKey('raw', new Uint8Array(16), { name: 'HMAC' }, false, ['sign']), TypeError),
		]);
	});
});

test('bad key material is a DataError', function () {
	var alg = { name: 'ECDSA', namedCurve: 'P-256' };
	var spki = unb64(EC_SPKI), offCurve = unb64(EC_SPKI);
	offCurve[offCurve.length - 1] ^= 1;
	return Promise.all([
		assertRejects(subtle.importKey('spki', utf8('not a key at all'), alg, true, ['verify']), 'DataError'),
		assertRejects(subtle.importKey('spki', spki.subarray(0, 60), alg, true, ['verify']), 'DataError'),
		assertRejects(subtle.importKey('spki', offCurve, alg, true, ['verify']), 'DataError'),
		assertRejects(subtle.importKey('spki', spki, { name: 'ECDSA', namedCurve: 'P-384' }, true, ['verify']), 'DataError'),
		assertRejects(subtle.importKey('spki', spki, { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, true, ['verify']), 'DataError'),
		assertRejects(subtle.importKey('pkcs8', spki, alg, true, ['sign']), 'DataError'),
		assertRejects(subtle.importKey('jwk', { kty: 'EC', crv: 'P-384', x: EC_JWK.x, y: EC_JWK.y }, alg, true, ['verify']), 'DataError'),
		assertRejects(subtle.importKey('jwk', { kty: 'EC', crv: 'P-256', x: EC_JWK.x, y: EC_JWK.x }, alg, true, ['verify']), 'DataError'),
		assertRejects(subtle.importKey('jwk', { kty: 'EC', crv: 'P-256', x: '!!', y: EC_JWK.y }, alg, true, ['verify']), 'DataError'),
		assertRejects(subtle.importKey('raw', new Uint8Array(65), alg, true, ['verify']), 'DataError'),
		assertRejects(subtle.importKey('raw', new Uint8Array(20), 'AES-CBC', true, ['encrypt']), 'DataError'),
		assertRejects(subtle.importKey('raw', new Uint8Array(0), { name: 'HMAC', hash: 'SHA-1' }, true, ['sign']), 'DataError'),
		assertRejects(subtle.importKey('jwk', { kty: 'oct', k: 'AAAAAAAAAAAAAAAAAAAAAA', alg: 'A256GCM' }, 'AES-GCM', true, ['encrypt']), 'DataError'),
		assertRejects(subtle.importKey('jwk', { kty: 'RSA', n: RSA_JWK.n, e: 'AQAB', alg: 'RS512' },
		    { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, true, ['verify']), 'DataError'),
	]);
});

test('CryptoKey exposes its description but never its material', function () {
	return subtle.importKey('raw', utf8('top secret'), { name: 'HMAC', hash: 'SHA-512' }, false, ['sign']).then(function (k) {
		assertEqual(k.type, 'secret');
		assertEqual(k.extractable, false);
		assertEqual(k.algorithm.hash.name, 'SHA-512');
		assertDeepEqual(Object.getOwnPropertyNames(k), []);
		assertEqual(Object.getOwnPropertySymbols(k).length, 0);
		assertEqual(JSON.stringify(k), '{}');
		assert(k instanceof CryptoKey);
		// Changing what the getters return does not change the key.
		k.algorithm.hash.name = 'SHA-1';
		k.usages.push('verify');
		return subtle.sign('HMAC', k, utf8('x'));
	}).then(function (mac) {
		assertEqual(mac.byteLength, 64);
	});
});

test('timingSafeEqual compares equal-length buffers and throws on a length mismatch', function () {
	assertEqual(subtle.timingSafeEqual(utf8('abc'), utf8('abc')), true);
	assertEqual(subtle.timingSafeEqual(utf8('abc').buffer, new Uint8Array([97, 98, 100])), false);
	assertEqual(subtle.timingSafeEqual(new ArrayBuffer(0), new ArrayBuffer(0)), true);
	assertThrows(function () { subtle.timingSafeEqual(utf8('abc'), utf8('abcd')); }, TypeError);
	assertThrows(function () { subtle.timingSafeEqual('abc', 'abc'); }, TypeError);
});

test('unsupported operations reject with NotSupportedError', function () {
	return Promise.all([
		assertRejects(subtle.deriveBits({ name: 'HKDF' }, null, 128), 'NotSupportedError'),
		assertRejects(subtle.wrapKey('raw', null, null, 'AES-KW'), 'NotSupportedError'),
	]);
});

test('errors are DOMExceptions with their Web IDL names and codes', function () {
	var e = assertThrows(function () { crypto.getRandomValues(new Uint8Array(65537)); }, 'QuotaExceededError');
	assert(e instanceof DOMException, 'a DOMException');
	assertEqual(e.code, 22);
	e = assertThrows(function () { crypto.getRandomValues(new Float32Array(1)); }, 'TypeMismatchError');
	assertEqual(e.code, 17);
	return subtle.importKey('raw', new Uint8Array(16), 'AES-CBC', false, ['encrypt']).then(function (k) {
		return assertRejects(subtle.exportKey('raw', k), 'InvalidAccessError');
	}).then(function (err) {
		assert(err instanceof DOMException, 'a DOMException');
		assertEqual(err.code, 15);
		return assertRejects(subtle.digest('SHA-999', new Uint8Array(1)), 'NotSupportedError');
	}).then(function (err) {
		assertEqual(err.code, 9);
	});
});

/*
 * Tests of sandbox/crypto.c, the OpenSSL layer of Web Crypto: known answers,
 * ECDSA signature conversions (DER <-> IEEE P1363) and clean rejection of bad
 * key material and malformed inputs.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include "sandbox/crypto.h"

static unsigned char priv[CRYPTO_MAX_KEY_DER], pub[CRYPTO_MAX_KEY_DER];
static size_t priv_len, pub_len;

static void
setup(void)
{
	cr_assert_eq(crypto_init(), 0, "crypto_init");
}

TestSuite(crypto, .init = setup);

static void
unhex(const char *s, unsigned char *out, size_t len)
{
	for (size_t i = 0; i < len; i++)
		cr_assert_eq(sscanf(s + 2 * i, "%2hhx", &out[i]), 1);
}

Test(crypto, init_is_idempotent_and_names_resolve)
{
	cr_assert_eq(crypto_init(), 0);
	cr_assert_eq(crypto_hash_from_name("sha-256"), CRYPTO_SHA256);
	cr_assert_eq(crypto_hash_from_name("MD5"), CRYPTO_MD5);
	cr_assert_eq(crypto_hash_from_name("SHA-3"), -1);
	cr_assert_eq(crypto_kind_from_name("P-521"), CRYPTO_P521);
	cr_assert_eq(crypto_kind_from_name("p-256"), -1);
	cr_assert_eq(crypto_kind_field_size(CRYPTO_P521), 66);
	cr_assert_eq(crypto_hash_size(CRYPTO_SHA384), 48);
	cr_assert_eq(crypto_hash_size(99), 0);
}

Test(crypto, digest_and_hmac_known_answers)
{
	unsigned char out[CRYPTO_MAX_DIGEST], want[32], key[20];

	unhex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", want, 32);
	cr_assert_eq(crypto_digest(CRYPTO_SHA256, "abc", 3, out, sizeof(out)), 32);
	cr_assert_arr_eq(out, want, 32);
	/* RFC 4231 test case 1. */
	memset(key, 0x0b, sizeof(key));
	unhex("b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7", want, 32);
	cr_assert_eq(
	    crypto_hmac(CRYPTO_SHA256, key, sizeof(key), "Hi There", 8, out, sizeof(out)), 32);
	cr_assert_arr_eq(out, want, 32);
	/* Too small an output buffer, an empty key, a bad hash: refused, not truncated. */
	cr_assert_eq(crypto_digest(CRYPTO_SHA512, "abc", 3, out, 32), -1);
	cr_assert_eq(crypto_hmac(CRYPTO_SHA256, key, 0, "a", 1, out, sizeof(out)), -1);
	cr_assert_eq(crypto_digest(-1, "abc", 3, out, sizeof(out)), -1);
}

Test(crypto, equal_compares_contents)
{
	cr_assert(crypto_equal("abc", "abc", 3));
	cr_assert(!crypto_equal("abc", "abd", 3));
	cr_assert(crypto_equal(NULL, NULL, 0));
}

Test(crypto, aes_gcm_rejects_forgeries_and_bad_parameters)
{
	unsigned char key[16] = { 1 }, iv[12] = { 2 }, ct[64], pt[64];
	ssize_t n;

	n = crypto_aes_gcm(true, key, 16, iv, 12, "aad", 3, 16, "hello", 5, ct, sizeof(ct));
	cr_assert_eq(n, 21);
	cr_assert_eq(
	    crypto_aes_gcm(false, key, 16, iv, 12, "aad", 3, 16, ct, 21, pt, sizeof(pt)), 5);
	cr_assert_arr_eq(pt, "hello", 5);
	cr_assert_eq(crypto_aes_gcm(false, key, 16, iv, 12, "aaD", 3, 16, ct, 21, pt, sizeof(pt)),
	    -1, "wrong AAD");
	ct[0] ^= 1;
	cr_assert_eq(crypto_aes_gcm(false, key, 16, iv, 12, "aad", 3, 16, ct, 21, pt, sizeof(pt)),
	    -1, "changed ciphertext");
	cr_assert_eq(crypto_aes_gcm(false, key, 16, iv, 12, NULL, 0, 16, ct, 10, pt, sizeof(pt)),
	    -1, "shorter than the tag");
	cr_assert_eq(
	    crypto_aes_gcm(true, key, 15, iv, 12, NULL, 0, 16, "x", 1, ct, sizeof(ct)), -1);
	cr_assert_eq(crypto_aes_gcm(true, key, 16, iv, 0, NULL, 0, 16, "x", 1, ct, sizeof(ct)), -1);
	cr_assert_eq(
	    crypto_aes_gcm(true, key, 16, iv, 12, NULL, 0, 10, "x", 1, ct, sizeof(ct)), -1);
	cr_assert_eq(crypto_aes_gcm(true, key, 16, iv, 12, NULL, 0, 16, "hello", 5, ct, 20), -1,
	    "output too small");
}

Test(crypto, aes_cbc_and_ctr)
{
	unsigned char key[16], iv[16], pt[32], ct[48], want[32], ctr[16] = { 0 };

	/* SP 800-38A F.2.1, first block (then a padding block). */
	unhex("2b7e151628aed2a6abf7158809cf4f3c", key, 16);
	unhex("000102030405060708090a0b0c0d0e0f", iv, 16);
	unhex("6bc1bee22e409f96e93d7e117393172a", pt, 16);
	unhex("7649abac8119b246cee98e9b12e9197d", want, 16);
	cr_assert_eq(crypto_aes_cbc(true, key, 16, iv, pt, 16, ct, sizeof(ct)), 32);
	cr_assert_arr_eq(ct, want, 16);
	cr_assert_eq(crypto_aes_cbc(false, key, 16, iv, ct, 16, pt, sizeof(pt)), -1, "bad padding");
	cr_assert_eq(
	    crypto_aes_cbc(false, key, 16, iv, ct, 15, pt, sizeof(pt)), -1, "partial block");
	/* CTR with 4 counter bits: 16 blocks, then refusal. */
	cr_assert_eq(crypto_aes_ctr(key, 16, ctr, 4, pt, 32, ct, sizeof(ct)), 32);
	memset(ct, 0, sizeof(ct));
	cr_assert_eq(crypto_aes_ctr(key, 16, ctr, 4, ct, 16 * 17, ct, 16 * 17), -1);
	cr_assert_eq(crypto_aes_ctr(key, 16, ctr, 0, pt, 16, ct, sizeof(ct)), -1);
	cr_assert_eq(crypto_aes_ctr(key, 16, ctr, 129, pt, 16, ct, sizeof(ct)), -1);
}

Test(crypto, aes_ctr_wraps_within_the_counter_bits)
{
	unsigned char key[16] = { 7 }, zeros[32] = { 0 }, a[32], b[16];
	unsigned char c1[16] = { [14] = 0x01, [15] = 0xff }, c2[16] = { [14] = 0x01, [15] = 0x00 };

	cr_assert_eq(crypto_aes_ctr(key, 16, c1, 8, zeros, 32, a, sizeof(a)), 32);
	cr_assert_eq(crypto_aes_ctr(key, 16, c2, 8, zeros, 16, b, sizeof(b)), 16);
	cr_assert_arr_eq(a + 16, b, 16, "the second block used counter ..0100");
}

/* r = 1, s = 0x80 00 .. 00: DER pads s with a zero byte, P1363 pads r to 32 bytes. */
Test(crypto, ecdsa_der_p1363_round_trip)
{
	unsigned char p1363[64] = { 0 }, der[80], back[64], want[72];
	size_t want_len = 0;
	ssize_t n;

	p1363[31] = 1;
	p1363[32] = 0x80;
	want[want_len++] = 0x30;
	want[want_len++] = 3 + 35;
	want[want_len++] = 0x02;
	want[want_len++] = 1;
	want[want_len++] = 1;
	want[want_len++] = 0x02;
	want[want_len++] = 33;
	want[want_len++] = 0;
	want[want_len++] = 0x80;
	memset(want + want_len, 0, 31);
	want_len += 31;

	n = crypto_ecdsa_p1363_to_der(p1363, 64, der, sizeof(der));
	cr_assert_eq(n, (ssize_t)want_len);
	cr_assert_arr_eq(der, want, want_len);
	cr_assert_eq(crypto_ecdsa_der_to_p1363(der, (size_t)n, 32, back, sizeof(back)), 64);
	cr_assert_arr_eq(back, p1363, 64);
}

Test(crypto, ecdsa_conversions_reject_malformed_input)
{
	unsigned char sig[64], der[80], out[132], big[70];
	ssize_t n;

	memset(sig, 0x11, sizeof(sig));
	n = crypto_ecdsa_p1363_to_der(sig, 64, der, sizeof(der));
	cr_assert_gt(n, 0);
	der[n] = 0;
	cr_assert_eq(crypto_ecdsa_der_to_p1363(der, (size_t)n + 1, 32, out, sizeof(out)), -1,
	    "trailing byte");
	cr_assert_eq(
	    crypto_ecdsa_der_to_p1363(der, (size_t)n - 1, 32, out, sizeof(out)), -1, "truncated");
	cr_assert_eq(crypto_ecdsa_der_to_p1363(der, (size_t)n, 32, out, 63), -1, "small output");
	cr_assert_eq(crypto_ecdsa_der_to_p1363(der, (size_t)n, 16, out, sizeof(out)), -1,
	    "integers longer than the field");
	cr_assert_eq(
	    crypto_ecdsa_der_to_p1363((const unsigned char *)"\x30\x00", 2, 32, out, sizeof(out)),
	    -1, "empty sequence");
	cr_assert_eq(crypto_ecdsa_der_to_p1363(der, 0, 32, out, sizeof(out)), -1);
	cr_assert_eq(crypto_ecdsa_p1363_to_der(sig, 63, der, sizeof(der)), -1, "odd length");
	cr_assert_eq(crypto_ecdsa_p1363_to_der(sig, 0, der, sizeof(der)), -1, "empty");
	cr_assert_eq(crypto_ecdsa_p1363_to_der(sig, 64, der, 10), -1, "small output");
	memset(big, 1, sizeof(big));
	cr_assert_eq(crypto_ecdsa_p1363_to_der(big, 140, der, sizeof(der)), -1, "over P-521");
}

Test(crypto, ec_keys_sign_verify_and_round_trip_through_parts)
{
	unsigned char sig[CRYPTO_MAX_SIG], buf[CRYPTO_MAX_PARTS_BYTES], der[CRYPTO_MAX_KEY_DER];
	struct crypto_parts parts;
	ssize_t n;

	cr_assert_eq(crypto_generate(CRYPTO_P256, 0, 0, priv, sizeof(priv), &priv_len, pub,
			 sizeof(pub), &pub_len),
	    0);
	n = crypto_sign(CRYPTO_P256, CRYPTO_SHA256, priv, priv_len, "msg", 3, sig, sizeof(sig));
	cr_assert_eq(n, 64);
	cr_assert_eq(crypto_verify(CRYPTO_P256, CRYPTO_SHA256, pub, pub_len, sig, 64, "msg", 3), 1);
	cr_assert_eq(crypto_verify(CRYPTO_P256, CRYPTO_SHA256, pub, pub_len, sig, 64, "msG", 3), 0);
	cr_assert_eq(crypto_verify(CRYPTO_P256, CRYPTO_SHA256, pub, pub_len, sig, 63, "msg", 3), 0);
	cr_assert_eq(crypto_verify(CRYPTO_P256, CRYPTO_SHA384, pub, pub_len, sig, 64, "msg", 3), 0);
	sig[10] ^= 4;
	cr_assert_eq(crypto_verify(CRYPTO_P256, CRYPTO_SHA256, pub, pub_len, sig, 64, "msg", 3), 0);
	/* The wrong curve or key type is refused, not misused. */
	cr_assert_eq(
	    crypto_verify(CRYPTO_P384, CRYPTO_SHA256, pub, pub_len, sig, 96, "msg", 3), -1);
	cr_assert_eq(
	    crypto_sign(CRYPTO_RSA, CRYPTO_SHA256, priv, priv_len, "m", 1, sig, sizeof(sig)), -1);

	cr_assert_eq(
	    crypto_key_parts(CRYPTO_P256, false, pub, pub_len, buf, sizeof(buf), &parts), 0);
	cr_assert_eq(parts.count, 2);
	cr_assert_eq(parts.len[0], 32);
	n = crypto_key_from_parts(CRYPTO_P256, false, &parts, der, sizeof(der));
	cr_assert_eq(n, (ssize_t)pub_len);
	cr_assert_arr_eq(der, pub, pub_len);
	cr_assert_eq(
	    crypto_key_parts(CRYPTO_P256, true, priv, priv_len, buf, sizeof(buf), &parts), 0);
	cr_assert_eq(parts.count, 3);
	cr_assert_gt(crypto_key_from_parts(CRYPTO_P256, true, &parts, der, sizeof(der)), 0);
}

Test(crypto, bad_ec_key_material_is_rejected)
{
	unsigned char buf[CRYPTO_MAX_PARTS_BYTES], der[CRYPTO_MAX_KEY_DER], x[32], d[32];
	struct crypto_parts parts, bad;

	cr_assert_eq(crypto_generate(CRYPTO_P256, 0, 0, priv, sizeof(priv), &priv_len, pub,
			 sizeof(pub), &pub_len),
	    0);
	cr_assert_eq(crypto_key_normalize(
			 CRYPTO_P256, false, (const unsigned char *)"junk", 4, der, sizeof(der)),
	    -1);
	cr_assert_eq(crypto_key_normalize(CRYPTO_P256, false, pub, pub_len - 1, der, sizeof(der)),
	    -1, "truncated");
	memcpy(der, pub, pub_len);
	der[pub_len] = 0;
	cr_assert_eq(crypto_key_normalize(CRYPTO_P256, false, der, pub_len + 1, der, sizeof(der)),
	    -1, "trailing byte");
	cr_assert_eq(crypto_key_normalize(CRYPTO_P384, false, pub, pub_len, der, sizeof(der)), -1,
	    "wrong curve");
	cr_assert_eq(crypto_key_normalize(CRYPTO_RSA, false, pub, pub_len, der, sizeof(der)), -1,
	    "wrong type");
	cr_assert_eq(crypto_key_normalize(CRYPTO_P256, true, pub, pub_len, der, sizeof(der)), -1,
	    "SPKI as PKCS#8");
	cr_assert_eq(crypto_key_normalize(CRYPTO_P256, false, pub, pub_len, der, 10), -1,
	    "output too small");
	cr_assert_eq(crypto_key_normalize(CRYPTO_P256, false, pub, 0, der, sizeof(der)), -1);

	cr_assert_eq(
	    crypto_key_parts(CRYPTO_P256, true, priv, priv_len, buf, sizeof(buf), &parts), 0);
	/* A point off the curve. */
	bad = parts;
	memcpy(x, parts.ptr[0], 32);
	x[31] ^= 1;
	bad.ptr[0] = x;
	bad.count = 2;
	cr_assert_eq(crypto_key_from_parts(CRYPTO_P256, false, &bad, der, sizeof(der)), -1);
	/* A private scalar that does not match the public point. */
	bad = parts;
	memcpy(d, parts.ptr[2], 32);
	d[31] ^= 1;
	bad.ptr[2] = d;
	cr_assert_eq(crypto_key_from_parts(CRYPTO_P256, true, &bad, der, sizeof(der)), -1);
	/* Short coordinates, too few parts. */
	bad = parts;
	bad.len[0] = 31;
	cr_assert_eq(crypto_key_from_parts(CRYPTO_P256, true, &bad, der, sizeof(der)), -1);
	bad = parts;
	bad.count = 1;
	cr_assert_eq(crypto_key_from_parts(CRYPTO_P256, false, &bad, der, sizeof(der)), -1);
}

Test(crypto, rsa_keys_sign_verify_and_reject_bad_material)
{
	unsigned char sig[CRYPTO_MAX_SIG], buf[CRYPTO_MAX_PARTS_BYTES], der[CRYPTO_MAX_KEY_DER];
	unsigned char n_bad[128];
	struct crypto_parts parts, bad;
	ssize_t n;

	cr_assert_eq(crypto_generate(CRYPTO_RSA, 1024, 65537, priv, sizeof(priv), &priv_len, pub,
			 sizeof(pub), &pub_len),
	    0);
	cr_assert_eq(crypto_generate(CRYPTO_RSA, 1000, 65537, der, sizeof(der), &priv_len, der,
			 sizeof(der), &pub_len),
	    -1, "bits not a multiple of 8");
	cr_assert_eq(crypto_generate(CRYPTO_RSA, 1024, 17, der, sizeof(der), &priv_len, der,
			 sizeof(der), &pub_len),
	    -1, "exponent");
	cr_assert_eq(crypto_generate(CRYPTO_RSA, 1024, 65537, priv, sizeof(priv), &priv_len, pub,
			 sizeof(pub), &pub_len),
	    0);
	n = crypto_sign(CRYPTO_RSA, CRYPTO_SHA256, priv, priv_len, "msg", 3, sig, sizeof(sig));
	cr_assert_eq(n, 128);
	cr_assert_eq(crypto_verify(CRYPTO_RSA, CRYPTO_SHA256, pub, pub_len, sig, 128, "msg", 3), 1);
	cr_assert_eq(crypto_verify(CRYPTO_RSA, CRYPTO_SHA256, pub, pub_len, sig, 127, "msg", 3), 0);
	sig[0] ^= 1;
	cr_assert_eq(crypto_verify(CRYPTO_RSA, CRYPTO_SHA256, pub, pub_len, sig, 128, "msg", 3), 0);

	cr_assert_eq(
	    crypto_key_parts(CRYPTO_RSA, true, priv, priv_len, buf, sizeof(buf), &parts), 0);
	cr_assert_eq(parts.count, 8);
	cr_assert_eq(parts.len[0], 128);
	cr_assert_gt(crypto_key_from_parts(CRYPTO_RSA, true, &parts, der, sizeof(der)), 0);
	bad = parts;
	bad.count = 2;
	n = crypto_key_from_parts(CRYPTO_RSA, false, &bad, der, sizeof(der));
	cr_assert_eq(n, (ssize_t)pub_len);
	cr_assert_arr_eq(der, pub, pub_len);
	/* A 64-bit modulus is below the minimum; an empty part is refused. */
	bad.len[0] = 8;
	cr_assert_eq(crypto_key_from_parts(CRYPTO_RSA, false, &bad, der, sizeof(der)), -1);
	memset(n_bad, 0, sizeof(n_bad));
	bad.ptr[0] = n_bad;
	bad.len[0] = 0;
	cr_assert_eq(crypto_key_from_parts(CRYPTO_RSA, false, &bad, der, sizeof(der)), -1);
	bad = parts;
	bad.count = 5;
	cr_assert_eq(crypto_key_from_parts(CRYPTO_RSA, true, &bad, der, sizeof(der)), -1);
}

Test(crypto, random_bytes_differ)
{
	unsigned char a[32] = { 0 }, b[32] = { 0 };

	cr_assert_eq(crypto_random(a, sizeof(a)), 0);
	cr_assert_eq(crypto_random(b, sizeof(b)), 0);
	cr_assert(memcmp(a, b, sizeof(a)) != 0);
	cr_assert_eq(crypto_random(a, 0), 0);
}

/*
 * End to end: R2 buckets from a Worker (the r2_bucket binding: R2Bucket,
 * R2Object, R2ObjectBody and R2MultipartUpload of sdk-js/runtime/48-r2.js and
 * 49-r2-objects.js) over the broker's R2 backend on real files: objects and
 * their fields, value types, listing, ranges, conditions, checksums,
 * multipart uploads, a 64 MiB object streamed in and out, the platform
 * guide's upload/serve and edge-side rendering patterns, restarts, and
 * tenants that use the same bucket name.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"

/*
 * Streams cost CPU per chunk and the 64 MiB object passes through the
 * sandbox twice: the limits leave room for that (tests check behaviour,
 * not cost).
 */
#define CONFIG "cpu_ms = 60000\nwall_ms = 240000\n"
#define HTTP_TIMEOUT_MS 240000L
#define MIB (1024 * 1024)
#define BIG_SIZE (64ull * MIB)

static struct edged *e;

static void
setup(void)
{
	e = edged_start(CONFIG);
}

static void
teardown(void)
{
	edged_free(e);
}

/*
 * The 64 MiB object goes through a sandbox whose heap is capped at a quarter
 * of it: it can only pass as a stream, never whole in memory.
 */
static void
setup_small_heap(void)
{
	e = edged_start(CONFIG "memory_mb = 16\n");
}

TestSuite(r2, .init = setup, .fini = teardown, .timeout = 240);
TestSuite(r2_stream, .init = setup_small_heap, .fini = teardown, .timeout = 240);

/* --- MD5, from OpenSSL: R2 etags are MD5 digests -------------------------------- */

static EVP_MD_CTX *
md5_begin(void)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	cr_assert_not_null(ctx);
	cr_assert_eq(EVP_DigestInit_ex(ctx, EVP_md5(), NULL), 1);
	return ctx;
}

static void
md5_update(EVP_MD_CTX *ctx, const void *data, size_t len)
{
	cr_assert_eq(EVP_DigestUpdate(ctx, data, len), 1);
}

/* Ends and frees ctx: the digest as 32 lower-case hex digits, and its 16 bytes when bin is not
 * NULL. */
static void
md5_end(EVP_MD_CTX *ctx, char hex[33], uint8_t *bin)
{
	uint8_t out[EVP_MAX_MD_SIZE];
	unsigned n = 0;

	cr_assert_eq(EVP_DigestFinal_ex(ctx, out, &n), 1);
	cr_assert_eq(n, 16);
	EVP_MD_CTX_free(ctx);
	for (unsigned i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", out[i]);
	if (bin != NULL)
		memcpy(bin, out, 16);
}

static void
md5_hex(const void *data, size_t len, char hex[33])
{
	EVP_MD_CTX *ctx = md5_begin();

	md5_update(ctx, data, len);
	md5_end(ctx, hex, NULL);
}

/* The bytes of the 64 MiB object: not periodic within a part or a chunk. */
static uint8_t
big_byte(uint64_t i)
{
	return (uint8_t)((i * 131) ^ (i >> 9) ^ (i >> 17));
}

/*
 * The test worker: scenarios by path, answering JSON.  ES5, as the runtime
 * runs uploaded modules; clang-format would split its lines mid-statement.
 */
/* clang-format off */
static const char WORKER[] =
    "var B;\n"
    "var enc = new TextEncoder();\n"
    "var MiB = 1048576;\n"
    "var DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];\n"
    "var MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov',\n"
    "  'Dec'];\n"
    "\n"
    "function two(n) { return n < 10 ? '0' + n : String(n); }\n"
    "function httpDate(ms) {\n"
    "  var d = new Date(ms);\n"
    "  return DAYS[d.getUTCDay()] + ', ' + two(d.getUTCDate()) + ' ' +\n"
    "    MONTHS[d.getUTCMonth()] + ' ' + d.getUTCFullYear() + ' ' + two(d.getUTCHours()) +\n"
    "    ':' + two(d.getUTCMinutes()) + ':' + two(d.getUTCSeconds()) + ' GMT';\n"
    "}\n"
    "function errorOf(e) {\n"
    "  return { name: e && e.name, message: String(e && e.message),\n"
    "    code: e && typeof e.code === 'number' ? e.code : null };\n"
    "}\n"
    "function settle(p) {\n"
    "  return p.then(function (v) { return { ok: v === undefined ? 'undefined' : v }; },\n"
    "    function (e) { return { err: errorOf(e) }; });\n"
    "}\n"
    "function seq(steps) {\n"
    "  var out = [], i = 0;\n"
    "  function next() {\n"
    "    if (i >= steps.length) return Promise.resolve(out);\n"
    "    return Promise.resolve(steps[i++]()).then(function (v) {\n"
    "      out.push(v);\n"
    "      return next();\n"
    "    });\n"
    "  }\n"
    "  return next();\n"
    "}\n"
    "function slice(bytes) { return Array.prototype.slice.call(bytes); }\n"
    "function meta(m) {\n"
    "  var out = {}, k;\n"
    "  if (m === undefined) return 'undefined';\n"
    "  for (k in m) out[k] = m[k] instanceof Date ? 'Date:' + m[k].getTime() : m[k];\n"
    "  return out;\n"
    "}\n"
    "function describe(o) {\n"
    "  if (o === null) return null;\n"
    "  return {\n"
    "    cls: Object.prototype.toString.call(o), key: o.key, version: o.version, size: o.size,\n"
    "    etag: o.etag, httpEtag: o.httpEtag,\n"
    "    uploaded: o.uploaded instanceof Date ? o.uploaded.getTime() : 'not a Date',\n"
    "    checksums: o.checksums.toJSON(),\n"
    "    md5Bytes: o.checksums.md5 instanceof ArrayBuffer ? o.checksums.md5.byteLength : null,\n"
    "    httpMetadata: meta(o.httpMetadata),\n"
    "    customMetadata: o.customMetadata === undefined ? 'undefined' : o.customMetadata,\n"
    "    range: o.range === undefined ? 'undefined' : o.range,\n"
    "    storageClass: o.storageClass, hasBody: 'body' in o\n"
    "  };\n"
    "}\n"
    "function headerList(h) {\n"
    "  var out = {};\n"
    "  h.forEach(function (v, k) { out[k] = v; });\n"
    "  return out;\n"
    "}\n"
    "function bytesOf(hex) {\n"
    "  var a = new Uint8Array(hex.length / 2), i;\n"
    "  for (i = 0; i < a.length; i++) a[i] = parseInt(hex.substr(2 * i, 2), 16);\n"
    "  return a.buffer;\n"
    "}\n"
    "function filled(n, v) {\n"
    "  var a = new Uint8Array(n), len;\n"
    "  a[0] = v;\n"
    "  for (len = 1; len < n; len *= 2) a.set(a.subarray(0, Math.min(len, n - len)), len);\n"
    "  return a;\n"
    "}\n"
    "function pad4(n) { return ('000' + n).slice(-4); }\n"
    "function listed(l) {\n"
    "  return {\n"
    "    keys: l.objects.map(function (o) { return o.key; }), prefixes: l.delimitedPrefixes,\n"
    "    truncated: l.truncated, cursor: 'cursor' in l ? l.cursor : null\n"
    "  };\n"
    "}\n"
    "/* What a get gives: the body's text, an object without a body, null or an error. */\n"
    "function outcome(p) {\n"
    "  return p.then(function (o) {\n"
    "    if (o === null) return 'null';\n"
    "    if ('body' in o) return o.text().then(function (t) { return 'body:' + t; });\n"
    "    return 'nobody:' + Object.prototype.toString.call(o);\n"
    "  }, function (e) { return 'error:' + e.name + ':' + e.message; });\n"
    "}\n"
    "/* Runs named steps one after the other: {name: result}. */\n"
    "function named(cases) {\n"
    "  var r = {};\n"
    "  return seq(cases.map(function (c) {\n"
    "    return function () {\n"
    "      return Promise.resolve(c[1]()).then(function (v) { r[c[0]] = v; });\n"
    "    };\n"
    "  })).then(function () { return r; });\n"
    "}\n"
    "\n"
    "var routes = {\n"
    "  basic: function () {\n"
    "    var r = { bucket: Object.prototype.toString.call(B) };\n"
    "    var m = { contentType: 'text/plain', contentLanguage: 'en',\n"
    "      contentDisposition: 'inline', contentEncoding: 'identity',\n"
    "      cacheControl: 'max-age=60', cacheExpiry: new Date(1900000000000) };\n"
    "    var custom = { owner: 'alice', n: 1 };\n"
    "    return B.put('hello.txt', 'Hello, R2!', { httpMetadata: m, customMetadata: custom })\n"
    "    .then(function (o) {\n"
    "      r.put = describe(o);\n"
    "      return B.get('hello.txt');\n"
    "    }).then(function (o) {\n"
    "      var h = new Headers({ 'x-keep': '1' });\n"
    "      r.get = describe(o);\n"
    "      r.bodyIsStream = o.body instanceof ReadableStream;\n"
    "      r.usedBefore = o.bodyUsed;\n"
    "      o.writeHttpMetadata(h);\n"
    "      r.headers = headerList(h);\n"
    "      r.json = JSON.parse(JSON.stringify(o));\n"
    "      return o.text().then(function (t) {\n"
    "        r.text = t;\n"
    "        r.usedAfter = o.bodyUsed;\n"
    "        return settle(o.text());\n"
    "      });\n"
    "    }).then(function (again) {\n"
    "      r.textAgain = again;\n"
    "      return B.head('hello.txt');\n"
    "    }).then(function (o) {\n"
    "      r.head = describe(o);\n"
    "      return Promise.all([B.get('missing.txt'), B.head('missing.txt')]);\n"
    "    }).then(function (m) {\n"
    "      r.missing = m;\n"
    "      return B.delete('hello.txt');\n"
    "    }).then(function (d) {\n"
    "      r.deleted = d === undefined ? 'undefined' : d;\n"
    "      return Promise.all([B.head('hello.txt'), B.get('hello.txt'),\n"
    "        settle(B.delete('hello.txt'))]);\n"
    "    }).then(function (a) {\n"
    "      r.afterDelete = [a[0], a[1]];\n"
    "      r.deleteAgain = a[2];\n"
    "      return r;\n"
    "    });\n"
    "  },\n"
    "\n"
    "  types: function () {\n"
    "    var dv = new DataView(new ArrayBuffer(4));\n"
    "    var n = 0, r = {}, values, keys;\n"
    "    function read(key, how) {\n"
    "      return function () { return B.get('t/' + key).then(how); };\n"
    "    }\n"
    "    dv.setUint32(0, 0x01020304);\n"
    "    values = {\n"
    "      ab: new Uint8Array([1, 2, 3]).buffer,\n"
    "      view: new Uint8Array([0, 9, 8, 7, 6]).subarray(1, 4),\n"
    "      dv: dv,\n"
    "      blob: new Blob(['blob ', 'text'], { type: 'text/x-blob' }),\n"
    "      nul: null,\n"
    "      empty: '',\n"
    "      stream: new ReadableStream({ pull: function (c) {\n"
    "        if (n === 0) c.enqueue(enc.encode('str'));\n"
    "        else if (n === 1) c.enqueue(new Uint8Array([101, 97, 109]).buffer);\n"
    "        else if (n === 2) c.enqueue(new DataView(enc.encode('!!').buffer));\n"
    "        else c.close();\n"
    "        n++;\n"
    "      } }),\n"
    "      utf8: 'h\\u00e9llo \\u2603',\n"
    "      json: '{\"a\":[1,2]}'\n"
    "    };\n"
    "    keys = Object.keys(values);\n"
    "    return seq(keys.map(function (k) {\n"
    "      return function () {\n"
    "        return B.put('t/' + k, values[k]).then(function (o) { return [k, o.size]; });\n"
    "      };\n"
    "    })).then(function (sizes) {\n"
    "      r.sizes = sizes;\n"
    "      return seq([\n"
    "        read('ab', function (o) {\n"
    "          return o.arrayBuffer().then(function (b) {\n"
    "            return [b instanceof ArrayBuffer, slice(new Uint8Array(b))];\n"
    "          });\n"
    "        }),\n"
    "        read('view', function (o) {\n"
    "          return o.bytes().then(function (b) {\n"
    "            return [b instanceof Uint8Array, slice(b)];\n"
    "          });\n"
    "        }),\n"
    "        read('dv', function (o) { return o.bytes().then(slice); }),\n"
    "        read('blob', function (o) {\n"
    "          return o.blob().then(function (b) {\n"
    "            return b.text().then(function (t) { return [b instanceof Blob, b.size, t]; });\n"
    "          });\n"
    "        }),\n"
    "        read('nul', function (o) {\n"
    "          return o.text().then(function (t) { return [o.size, t]; });\n"
    "        }),\n"
    "        read('empty', function (o) {\n"
    "          return o.body.getReader().read().then(function (c) { return c.done; });\n"
    "        }),\n"
    "        read('stream', function (o) { return o.text(); }),\n"
    "        read('utf8', function (o) { return o.text(); }),\n"
    "        read('json', function (o) { return o.json(); })\n"
    "      ]);\n"
    "    }).then(function (reads) {\n"
    "      r.reads = reads;\n"
    "      return B.delete(keys.map(function (k) { return 't/' + k; }));\n"
    "    }).then(function () {\n"
    "      return B.list({ prefix: 't/' });\n"
    "    }).then(function (l) {\n"
    "      r.left = l.objects.length;\n"
    "      return r;\n"
    "    });\n"
    "  },\n"
    "\n"
    "  errors: function () {\n"
    "    var md5 = '9dd4e461268c8034f5c8564e155c67a6';\n"
    "    var sha1 = '11f6ad8ec52a2984abaafd7c3b516503785c2072';\n"
    "    var upload = B.resumeMultipartUpload('e/m', 'id');\n"
    "    var numbers = new ReadableStream({ pull: function (c) { c.enqueue(42); } });\n"
    "    /* [name, method, arguments...] or [name, function] */\n"
    "    var cases = [\n"
    "      ['put a number', 'put', 'e/num', 42],\n"
    "      ['put an object', 'put', 'e/obj', { a: 1 }],\n"
    "      ['put two hashes', 'put', 'e/h', 'x', { md5: md5, sha1: sha1 }],\n"
    "      ['put a short md5', 'put', 'e/h', 'x', { md5: 'abcd' }],\n"
    "      ['put a bad hex sha1', 'put', 'e/h', 'x', { sha1: 'zz' + sha1.slice(2) }],\n"
    "      ['put 15 md5 bytes', 'put', 'e/h', 'x', { md5: new Uint8Array(15) }],\n"
    "      ['put an invalid cacheExpiry', 'put', 'e/c', 'x',\n"
    "        { httpMetadata: { cacheExpiry: new Date(NaN) } }],\n"
    "      ['put with an ssecKey', 'put', 'e/s', 'x', { ssecKey: 'ab' }],\n"
    "      ['put a bad storageClass', 'put', 'e/s', 'x', { storageClass: 'Cold' }],\n"
    "      ['put a stream of numbers', 'put', 'e/n', numbers],\n"
    "      ['get a quoted etag', 'get', 'e/x', { onlyIf: { etagMatches: '\"abc\"' } }],\n"
    "      ['get a bad date', 'get', 'e/x', { onlyIf: { uploadedBefore: 'yesterday' } }],\n"
    "      ['get a negative offset', 'get', 'e/x', { range: { offset: -1 } }],\n"
    "      ['get a fractional length', 'get', 'e/x', { range: { offset: 0, length: 1.5 } }],\n"
    "      ['get suffix with offset', 'get', 'e/x', { range: { offset: 1, suffix: 2 } }],\n"
    "      ['get without a key', 'get'],\n"
    "      ['list an unknown include', 'list', { include: ['bogus'] }],\n"
    "      ['uploadPart 0', function () { return upload.uploadPart(0, 'x'); }],\n"
    "      ['uploadPart 10001', function () { return upload.uploadPart(10001, 'x'); }],\n"
    "      ['a foreign this', function () { return B.get.call({}, 'x'); }]\n"
    "    ];\n"
    "    var r = {};\n"
    "    try {\n"
    "      B.resumeMultipartUpload('e/m');\n"
    "      r.resumeWithoutId = 'no error';\n"
    "    } catch (e) {\n"
    "      r.resumeWithoutId = e.name;\n"
    "    }\n"
    "    return seq(cases.map(function (c) {\n"
    "      return function () {\n"
    "        var p;\n"
    "        try {\n"
    "          p = typeof c[1] === 'function' ? c[1]() : B[c[1]].apply(B, c.slice(2));\n"
    "        } catch (e) {\n"
    "          return [c[0], 'threw ' + e.name];\n"
    "        }\n"
    "        return p.then(function () { return [c[0], 'resolved']; },\n"
    "          function (e) { return [c[0], e.name, e.message]; });\n"
    "      };\n"
    "    })).then(function (results) {\n"
    "      r.results = results;\n"
    "      return B.list({ prefix: 'e/' });\n"
    "    }).then(function (l) {\n"
    "      r.stored = l.objects.length;\n"
    "      return r;\n"
    "    });\n"
    "  },\n"
    "\n"
    "  fill: function (req, url) {\n"
    "    var start = Number(url.searchParams.get('start'));\n"
    "    var count = Number(url.searchParams.get('count'));\n"
    "    var next = start, end = start + count, lanes = [], i;\n"
    "    function lane() {\n"
    "      var k;\n"
    "      if (next >= end) return Promise.resolve();\n"
    "      k = next++;\n"
    "      return B.put('many/k' + pad4(k), 'v' + k).then(lane);\n"
    "    }\n"
    "    for (i = 0; i < 8; i++) lanes.push(lane());\n"
    "    return Promise.all(lanes).then(function () { return { stored: count }; });\n"
    "  },\n"
    "\n"
    "  listpage: function (req, url) {\n"
    "    var q = url.searchParams, o = {};\n"
    "    ['prefix', 'cursor', 'delimiter', 'startAfter'].forEach(function (k) {\n"
    "      if (q.has(k)) o[k] = q.get(k);\n"
    "    });\n"
    "    if (q.has('limit')) o.limit = Number(q.get('limit'));\n"
    "    return B.list(o).then(listed);\n"
    "  },\n"
    "\n"
    "  tree: function () {\n"
    "    var keys = ['dir/a.txt', 'dir/b.txt', 'dir/sub/c.txt', 'dir/sub/d.txt',\n"
    "      'dir/other/e.txt', 'top.txt'];\n"
    "    var meta = { httpMetadata: { contentType: 'text/one' },\n"
    "      customMetadata: { tag: 'x' } };\n"
    "    var r = {};\n"
    "    function list(o) { return function () { return B.list(o).then(listed); }; }\n"
    "    return seq(keys.map(function (k) {\n"
    "      return function () { return B.put(k, k); };\n"
    "    })).then(function () {\n"
    "      return B.put('inc/one', '1', meta);\n"
    "    }).then(function () {\n"
    "      return seq([\n"
    "        list({ prefix: 'dir/', delimiter: '/' }),\n"
    "        list({ prefix: 'dir/sub/' }),\n"
    "        list({ prefix: 'dir/', startAfter: 'dir/b.txt' }),\n"
    "        list({ delimiter: '/' }),\n"
    "        list({ prefix: 'dir/', limit: 2 }),\n"
    "        list({ prefix: 'nothing/' })\n"
    "      ]);\n"
    "    }).then(function (lists) {\n"
    "      r.lists = lists;\n"
    "      return Promise.all([\n"
    "        B.list({ prefix: 'inc/' }),\n"
    "        B.list({ prefix: 'inc/', include: ['httpMetadata', 'customMetadata'] }),\n"
    "        B.list({ prefix: 'inc/', include: ['customMetadata'] })\n"
    "      ]);\n"
    "    }).then(function (inc) {\n"
    "      r.plain = describe(inc[0].objects[0]);\n"
    "      r.both = describe(inc[1].objects[0]);\n"
    "      r.custom = describe(inc[2].objects[0]);\n"
    "      try {\n"
    "        inc[0].objects[0].writeHttpMetadata(new Headers());\n"
    "        r.writeWithoutInclude = 'no error';\n"
    "      } catch (e) {\n"
    "        r.writeWithoutInclude = e.name;\n"
    "      }\n"
    "      return r;\n"
    "    });\n"
    "  },\n"
    "\n"
    "  range: function () {\n"
    "    var opts = [{ offset: 2, length: 3 }, { offset: 7 }, { length: 4 }, { suffix: 3 }];\n"
    "    var heads = ['bytes=1-4', 'bytes=6-', 'bytes=-2', 'items=1-2'];\n"
    "    var r = {};\n"
    "    function show(o) {\n"
    "      return o.text().then(function (t) {\n"
    "        return { text: t, range: o.range === undefined ? 'undefined' : o.range,\n"
    "          size: o.size };\n"
    "      });\n"
    "    }\n"
    "    function get(range) {\n"
    "      return function () { return B.get('digits', { range: range }).then(show); };\n"
    "    }\n"
    "    return B.put('digits', '0123456789').then(function () {\n"
    "      return seq(opts.map(get));\n"
    "    }).then(function (a) {\n"
    "      r.options = a;\n"
    "      return seq(heads.map(function (h) { return get(new Headers({ range: h })); }));\n"
    "    }).then(function (a) {\n"
    "      r.headers = a;\n"
    "      return B.get('digits').then(show);\n"
    "    }).then(function (whole) {\n"
    "      r.whole = whole;\n"
    "      return settle(B.get('digits', { range: { offset: 20 } }));\n"
    "    }).then(function (past) {\n"
    "      r.pastTheEnd = past;\n"
    "      return r;\n"
    "    });\n"
    "  },\n"
    "\n"
    "  'get-conditions': function () {\n"
    "    return B.put('cond', 'v1').then(function (o) {\n"
    "      var E = o.etag, U = o.uploaded.getTime();\n"
    "      var past = new Date(U - 3600000), future = new Date(U + 3600000);\n"
    "      function g(onlyIf) {\n"
    "        return function () { return outcome(B.get('cond', { onlyIf: onlyIf })); };\n"
    "      }\n"
    "      function H(h) { return g(new Headers(h)); }\n"
    "      return named([\n"
    "        ['etagMatches=etag', g({ etagMatches: E })],\n"
    "        ['etagMatches=other', g({ etagMatches: 'nope' })],\n"
    "        ['etagMatches=*', g({ etagMatches: '*' })],\n"
    "        ['etagDoesNotMatch=etag', g({ etagDoesNotMatch: E })],\n"
    "        ['etagDoesNotMatch=other', g({ etagDoesNotMatch: 'nope' })],\n"
    "        ['etagDoesNotMatch=*', g({ etagDoesNotMatch: '*' })],\n"
    "        ['uploadedBefore=future', g({ uploadedBefore: future })],\n"
    "        ['uploadedBefore=past', g({ uploadedBefore: past })],\n"
    "        ['uploadedAfter=past', g({ uploadedAfter: past })],\n"
    "        ['uploadedAfter=future', g({ uploadedAfter: future })],\n"
    "        ['uploadedAfter=uploaded-1ms', g({ uploadedAfter: new Date(U - 1) })],\n"
    "        ['uploadedAfter=uploaded,seconds',\n"
    "          g({ uploadedAfter: new Date(U), secondsGranularity: true })],\n"
    "        ['etagMatches=etag,uploadedBefore=past',\n"
    "          g({ etagMatches: E, uploadedBefore: past })],\n"
    "        ['If-Match=etag', H({ 'If-Match': '\"' + E + '\"' })],\n"
    "        ['If-Match=list', H({ 'If-Match': '\"x\", \"' + E + '\"' })],\n"
    "        ['If-Match=other', H({ 'If-Match': '\"nope\"' })],\n"
    "        ['If-None-Match=etag', H({ 'If-None-Match': '\"' + E + '\"' })],\n"
    "        ['If-None-Match=weak', H({ 'If-None-Match': 'W/\"' + E + '\"' })],\n"
    "        ['If-None-Match=other', H({ 'If-None-Match': '\"nope\"' })],\n"
    "        ['If-None-Match=*', H({ 'If-None-Match': '*' })],\n"
    "        ['If-Modified-Since=uploaded', H({ 'If-Modified-Since': httpDate(U) })],\n"
    "        ['If-Modified-Since=past', H({ 'If-Modified-Since': httpDate(U - 3600000) })],\n"
    "        ['If-Modified-Since=future', H({ 'If-Modified-Since': httpDate(U + 3600000) })],\n"
    "        ['If-Unmodified-Since=future',\n"
    "          H({ 'If-Unmodified-Since': httpDate(U + 3600000) })],\n"
    "        ['If-Unmodified-Since=past', H({ 'If-Unmodified-Since': httpDate(U - 3600000) })],\n"
    "        ['missing key', function () {\n"
    "          return outcome(B.get('no-such-key', { onlyIf: { etagMatches: E } }));\n"
    "        }]\n"
    "      ]);\n"
    "    });\n"
    "  },\n"
    "\n"
    "  'put-conditions': function () {\n"
    "    var E, past, future, current;\n"
    "    /* Puts with the conditions `cond()` makes, then reads the key: [outcome, text]. */\n"
    "    function p(key, value, cond) {\n"
    "      return function () {\n"
    "        return B.head('cond').then(function (h) {\n"
    "          current = h.etag;\n"
    "          return B.put(key, value, { onlyIf: cond() });\n"
    "        }).then(function (o) {\n"
    "          return o === null ? 'null' : 'object';\n"
    "        }, function (e) {\n"
    "          return 'error:' + e.name + ':' + e.message;\n"
    "        }).then(function (res) {\n"
    "          return B.get(key).then(function (o) {\n"
    "            if (o === null) return [res, null];\n"
    "            return o.text().then(function (t) { return [res, t]; });\n"
    "          });\n"
    "        });\n"
    "      };\n"
    "    }\n"
    "    function headers(h) { return function () { return new Headers(h); }; }\n"
    "    return B.put('cond', 'v1').then(function (o) {\n"
    "      E = o.etag;\n"
    "      past = new Date(o.uploaded.getTime() - 3600000);\n"
    "      future = new Date(o.uploaded.getTime() + 3600000);\n"
    "      return named([\n"
    "        ['etagMatches=other',\n"
    "          p('cond', 'v2', function () { return { etagMatches: 'nope' }; })],\n"
    "        ['etagMatches=etag',\n"
    "          p('cond', 'v2', function () { return { etagMatches: E }; })],\n"
    "        ['etagDoesNotMatch=old etag',\n"
    "          p('cond', 'v3', function () { return { etagDoesNotMatch: E }; })],\n"
    "        ['etagDoesNotMatch=*',\n"
    "          p('cond', 'v4', function () { return { etagDoesNotMatch: '*' }; })],\n"
    "        ['etagDoesNotMatch=* on a new key',\n"
    "          p('cond-new', 'n1', function () { return { etagDoesNotMatch: '*' }; })],\n"
    "        ['etagMatches on a missing key',\n"
    "          p('cond-missing', 'm', function () { return { etagMatches: 'nope' }; })],\n"
    "        ['uploadedBefore=past',\n"
    "          p('cond', 'v5', function () { return { uploadedBefore: past }; })],\n"
    "        ['uploadedAfter=future',\n"
    "          p('cond', 'v5', function () { return { uploadedAfter: future }; })],\n"
    "        ['uploadedAfter=past',\n"
    "          p('cond', 'v5', function () { return { uploadedAfter: past }; })],\n"
    "        ['uploadedBefore=future',\n"
    "          p('cond', 'v6', function () { return { uploadedBefore: future }; })],\n"
    "        ['If-Match=current', p('cond', 'v7', function () {\n"
    "          return new Headers({ 'If-Match': '\"' + current + '\"' });\n"
    "        })],\n"
    "        ['If-Match=other', p('cond', 'v8', headers({ 'If-Match': '\"nope\"' }))],\n"
    "        ['If-None-Match=*', p('cond', 'v8', headers({ 'If-None-Match': '*' }))],\n"
    "        ['If-None-Match=* on a new key',\n"
    "          p('cond-h', 'h1', headers({ 'If-None-Match': '*' }))]\n"
    "      ]);\n"
    "    });\n"
    "  },\n"
    "\n"
    "  checksums: function () {\n"
    "    var md5 = '5d41402abc4b2a76b9719d911017c592';\n"
    "    var sha1 = 'aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d';\n"
    "    var sha256 = '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824';\n"
    "    var sha384 = '59e1748777448c69de6b800d7a33bbfb9ff1b463e44354c3553bcdb9c666fa90' +\n"
    "      '125a3c79f90397bdf5f6a13de828684f';\n"
    "    var sha512 = '9b71d224bd62f3785d96d46ad3ea3d73319bfbc2890caadae2dff72519673ca7' +\n"
    "      '2323c3d99ba5c11d7c7acc6e14b8c5da0c4663475c2e5c3adef46f73bcdec043';\n"
    "    var zeros = '00000000000000000000000000000000';\n"
    "    var r = {};\n"
    "    function sums(o) { return [o.checksums.toJSON(), o.etag]; }\n"
    "    function put(key, options) {\n"
    "      return function () { return B.put(key, 'hello', options).then(sums); };\n"
    "    }\n"
    "    return seq([\n"
    "      put('ck/plain'),\n"
    "      put('ck/md5', { md5: md5 }),\n"
    "      put('ck/md5-upper', { md5: md5.toUpperCase() }),\n"
    "      put('ck/md5-buffer', { md5: bytesOf(md5) }),\n"
    "      function () {\n"
    "        return B.put('ck/sha1', 'hello', { sha1: sha1 }).then(function (o) {\n"
    "          return [o.checksums.toJSON(), o.checksums.sha1.byteLength];\n"
    "        });\n"
    "      },\n"
    "      put('ck/sha256', { sha256: new Uint8Array(bytesOf(sha256)) }),\n"
    "      put('ck/sha384', { sha384: sha384 }),\n"
    "      put('ck/sha512', { sha512: sha512 })\n"
    "    ]).then(function (good) {\n"
    "      r.good = good;\n"
    "      return seq([\n"
    "        function () { return settle(B.put('ck/bad-md5', 'hello', { md5: zeros })); },\n"
    "        function () {\n"
    "          return settle(B.put('ck/bad-sha256', 'hello', { sha256: zeros + zeros }));\n"
    "        },\n"
    "        function () { return B.head('ck/bad-md5'); },\n"
    "        function () { return settle(B.put('ck/plain', 'changed', { md5: md5 })); },\n"
    "        function () { return B.get('ck/plain').then(function (o) { return o.text(); }); }\n"
    "      ]);\n"
    "    }).then(function (bad) {\n"
    "      r.bad = bad;\n"
    "      return r;\n"
    "    });\n"
    "  },\n"
    "\n"
    "  multipart: function () {\n"
    "    var r = {}, up;\n"
    "    var options = { httpMetadata: { contentType: 'application/x-big' },\n"
    "      customMetadata: { parts: '3' } };\n"
    "    return B.createMultipartUpload('mp/big.bin', options).then(function (u) {\n"
    "      up = u;\n"
    "      r.cls = Object.prototype.toString.call(u);\n"
    "      r.key = u.key;\n"
    "      r.idType = typeof u.uploadId;\n"
    "      return up.uploadPart(1, filled(5 * MiB, 1));\n"
    "    }).then(function (p1) {\n"
    "      var resumed = B.resumeMultipartUpload('mp/big.bin', up.uploadId);\n"
    "      r.p1 = p1;\n"
    "      r.resumedSameId = resumed.uploadId === up.uploadId;\n"
    "      return resumed.uploadPart(2, filled(5 * MiB, 2));\n"
    "    }).then(function (p2) {\n"
    "      r.p2 = p2;\n"
    "      return up.uploadPart(3, 'tail');\n"
    "    }).then(function (p3) {\n"
    "      r.p3 = p3;\n"
    "      return B.head('mp/big.bin');\n"
    "    }).then(function (h) {\n"
    "      r.beforeComplete = h;\n"
    "      return up.complete([r.p1, r.p2, r.p3]);\n"
    "    }).then(function (o) {\n"
    "      r.object = describe(o);\n"
    "      return B.get('mp/big.bin', { range: { suffix: 4 } });\n"
    "    }).then(function (o) {\n"
    "      return o.text();\n"
    "    }).then(function (t) {\n"
    "      r.tail = t;\n"
    "      return B.get('mp/big.bin', { range: { offset: 5 * MiB - 1, length: 2 } });\n"
    "    }).then(function (o) {\n"
    "      return o.bytes();\n"
    "    }).then(function (b) {\n"
    "      r.seam = [b[0], b[1]];\n"
    "      return B.head('mp/big.bin');\n"
    "    }).then(function (h) {\n"
    "      r.head = describe(h);\n"
    "      return settle(up.complete([r.p1, r.p2, r.p3]));\n"
    "    }).then(function (again) {\n"
    "      r.completeAgain = again;\n"
    "      return r;\n"
    "    });\n"
    "  },\n"
    "\n"
    "  abort: function () {\n"
    "    var r = {}, up;\n"
    "    var unknown = '0123456789abcdef0123456789abcdef';\n"
    "    return B.createMultipartUpload('mp/gone.bin').then(function (u) {\n"
    "      up = u;\n"
    "      return up.uploadPart(1, 'only part');\n"
    "    }).then(function (p) {\n"
    "      r.part = p;\n"
    "      return up.abort();\n"
    "    }).then(function (v) {\n"
    "      r.aborted = v === undefined;\n"
    "      return settle(up.complete([r.part]));\n"
    "    }).then(function (c) {\n"
    "      r.completeAfterAbort = c;\n"
    "      return settle(up.uploadPart(2, 'x'));\n"
    "    }).then(function (c) {\n"
    "      r.partAfterAbort = c;\n"
    "      return B.head('mp/gone.bin');\n"
    "    }).then(function (h) {\n"
    "      r.head = h;\n"
    "      return settle(B.resumeMultipartUpload('mp/x', unknown).uploadPart(1, 'x'));\n"
    "    }).then(function (c) {\n"
    "      r.unknownUpload = c;\n"
    "      return B.createMultipartUpload('mp/small.bin');\n"
    "    }).then(function (u) {\n"
    "      var parts = [u.uploadPart(1, 'a'), u.uploadPart(2, 'b')];\n"
    "      return Promise.all(parts).then(function (ps) { return settle(u.complete(ps)); });\n"
    "    }).then(function (c) {\n"
    "      r.tooSmall = c;\n"
    "      return B.list({ prefix: 'mp/' });\n"
    "    }).then(function (l) {\n"
    "      r.left = listed(l).keys;\n"
    "      return r;\n"
    "    });\n"
    "  },\n"
    "\n"
    "  'big-put': function (req) {\n"
    "    var options = { httpMetadata: { contentType: 'application/octet-stream' } };\n"
    "    return B.put('big/64', req.body, options).then(function (o) {\n"
    "      return { size: o.size, etag: o.etag };\n"
    "    });\n"
    "  },\n"
    "\n"
    "  'big-get': function () {\n"
    "    return B.get('big/64').then(function (o) {\n"
    "      var headers = { etag: o.httpEtag, 'x-size': String(o.size) };\n"
    "      return new Response(o.body, { headers: headers });\n"
    "    });\n"
    "  },\n"
    "\n"
    "  upload: function (req) {\n"
    "    return req.formData().then(function (formData) {\n"
    "      var file = formData.get('file');\n"
    "      var key = 'uploads/' + Date.now() + '-' + file.name;\n"
    "      return B.put(key, file.stream(), {\n"
    "        httpMetadata: { contentType: file.type, cacheControl: 'public, max-age=31536000' }\n"
    "      }).then(function () {\n"
    "        return Response.json({ url: '/assets/' + key });\n"
    "      });\n"
    "    });\n"
    "  },\n"
    "\n"
    "  assets: function (req, url) {\n"
    "    var key = decodeURIComponent(url.pathname.replace('/assets/', ''));\n"
    "    var options = { onlyIf: req.headers, range: req.headers };\n"
    "    return B.get(key, options).then(function (object) {\n"
    "      var headers, range;\n"
    "      if (object === null) return new Response('Not Found', { status: 404 });\n"
    "      headers = new Headers();\n"
    "      object.writeHttpMetadata(headers);\n"
    "      headers.set('etag', object.httpEtag);\n"
    "      if (!('body' in object)) {\n"
    "        return new Response(null, { headers: headers,\n"
    "          status: req.headers.has('if-none-match') ? 304 : 412 });\n"
    "      }\n"
    "      range = object.range;\n"
    "      if (req.headers.has('range') && range !== undefined) {\n"
    "        headers.set('content-range', 'bytes ' + range.offset + '-' +\n"
    "          (range.offset + range.length - 1) + '/' + object.size);\n"
    "        return new Response(object.body, { status: 206, headers: headers });\n"
    "      }\n"
    "      return new Response(object.body, { headers: headers });\n"
    "    });\n"
    "  },\n"
    "\n"
    "  'template-setup': function () {\n"
    "    return B.put('templates/home.html', '<h1>{{title}}</h1><p>{{body}}</p>',\n"
    "      { httpMetadata: { contentType: 'text/html' } }).then(function () {\n"
    "      return { ok: true };\n"
    "    });\n"
    "  },\n"
    "\n"
    "  page: function (req, url) {\n"
    "    var slug = url.pathname.slice('/page/'.length) || 'home';\n"
    "    var pages = { home: { title: 'Home', body: 'Rendered at the edge & served' } };\n"
    "    return Promise.all([\n"
    "      B.get('templates/' + slug + '.html'),\n"
    "      Promise.resolve(pages[slug] || null)\n"
    "    ]).then(function (a) {\n"
    "      var template = a[0], data = a[1];\n"
    "      if (template === null) return new Response('Not Found', { status: 404 });\n"
    "      return template.text().then(function (t) {\n"
    "        var html = t.replace(/\\{\\{(\\w+)\\}\\}/g, function (m, k) {\n"
    "          var v = data !== null && data[k] !== undefined ? String(data[k]) : '';\n"
    "          return v.replace(/&/g, '&amp;').replace(/</g, '&lt;');\n"
    "        });\n"
    "        return new Response(html, { headers: { 'content-type': 'text/html',\n"
    "          'cache-control': 'public, max-age=60' } });\n"
    "      });\n"
    "    });\n"
    "  },\n"
    "\n"
    "  put: function (req, url) {\n"
    "    return B.put(url.searchParams.get('key'), req.body).then(function (o) {\n"
    "      return { etag: o.etag, size: o.size };\n"
    "    });\n"
    "  },\n"
    "\n"
    "  get: function (req, url) {\n"
    "    return B.get(url.searchParams.get('key')).then(function (o) {\n"
    "      if (o === null) return new Response('not found', { status: 404 });\n"
    "      return new Response(o.body);\n"
    "    });\n"
    "  },\n"
    "\n"
    "  keys: function () {\n"
    "    return B.list().then(listed);\n"
    "  },\n"
    "\n"
    "  'mp-begin': function (req, url) {\n"
    "    return B.createMultipartUpload(url.searchParams.get('key')).then(function (u) {\n"
    "      return { uploadId: u.uploadId };\n"
    "    });\n"
    "  },\n"
    "\n"
    "  'mp-finish': function (req, url) {\n"
    "    var q = url.searchParams;\n"
    "    var u = B.resumeMultipartUpload(q.get('key'), q.get('id'));\n"
    "    return u.uploadPart(1, 'written after the restart').then(function (p) {\n"
    "      return u.complete([p]);\n"
    "    }).then(function (o) {\n"
    "      return { size: o.size, etag: o.etag };\n"
    "    });\n"
    "  }\n"
    "};\n"
    "\n"
    "var __worker = { default: { fetch: function (req, env) {\n"
    "  var url = new URL(req.url);\n"
    "  var path = url.pathname;\n"
    "  var name = path.slice(1);\n"
    "  var fn;\n"
    "  if (path.indexOf('/assets/') === 0) name = 'assets';\n"
    "  if (path.indexOf('/page/') === 0) name = 'page';\n"
    "  fn = routes[name];\n"
    "  B = env.BUCKET;\n"
    "  if (fn === undefined) return new Response('no route ' + path, { status: 404 });\n"
    "  return Promise.resolve().then(function () { return fn(req, url); }).then(function (v) {\n"
    "    return v instanceof Response ? v : Response.json(v);\n"
    "  }, function (e) {\n"
    "    return Response.json(errorOf(e), { status: 500 });\n"
    "  });\n"
    "} } };\n";
/* clang-format on */

/* --- HTTP with extra headers, and streamed bodies ------------------------------------ */

/* The generated 64 MiB request body, hashed as curl reads it. */
struct big_source {
	uint64_t at;
	EVP_MD_CTX *md5;
};

static size_t
big_read(char *buf, size_t size, size_t n, void *arg)
{
	struct big_source *src = arg;
	size_t len = size * n;

	if (len > BIG_SIZE - src->at)
		len = (size_t)(BIG_SIZE - src->at);
	for (size_t i = 0; i < len; i++)
		buf[i] = (char)big_byte(src->at + i);
	md5_update(src->md5, buf, len);
	src->at += len;
	return len;
}

/* A response body hashed and counted as it arrives, never kept. */
struct big_sink {
	uint64_t len;
	EVP_MD_CTX *md5;
};

static size_t
big_write(char *ptr, size_t size, size_t n, void *arg)
{
	struct big_sink *s = arg;

	md5_update(s->md5, ptr, size * n);
	s->len += size * n;
	return size * n;
}

/*
 * One request to the public port for `host`, with extra header lines (a
 * NULL-terminated list, or NULL) and len bytes of `body` (may be NULL).
 */
static struct response
request(const char *method, const char *host, const char *path, const char *const *headers,
    const void *body, size_t len)
{
	return http_request(&(struct http_request) {
	    .method = method,
	    .addr = e->public_addr,
	    .path = path,
	    .host = host,
	    .headers = headers,
	    .body = body,
	    .body_len = len,
	    .timeout_ms = HTTP_TIMEOUT_MS,
	});
}

static struct response
get(const char *host, const char *path)
{
	return request("GET", host, path, NULL, NULL, 0);
}

/* --- reading the scenarios' JSON --------------------------------------------------- */

/* The value at a dotted path ("a.b.0.c": array indexes are numbers), or NULL. */
static json_t *
at(json_t *root, const char *path)
{
	char buf[256], *save = NULL;
	json_t *j = root;

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *part = strtok_r(buf, ".", &save); part != NULL && j != NULL;
	     part = strtok_r(NULL, ".", &save))
		j = json_is_array(j) ? json_array_get(j, strtoul(part, NULL, 10))
				     : json_object_get(j, part);
	return j;
}

/* A short text of a value for failure messages (one static buffer: one per message). */
static const char *
show(json_t *v)
{
	static char text[1024];
	size_t n;

	if (v == NULL)
		return "(nothing)";
	n = json_dumpb(v, text, sizeof(text) - 1, JSON_COMPACT | JSON_ENCODE_ANY);
	text[n < sizeof(text) - 1 ? n : sizeof(text) - 1] = '\0';
	return text;
}

static void
expect_str(json_t *root, const char *path, const char *want)
{
	json_t *v = at(root, path);

	cr_expect(json_is_string(v) && strcmp(json_string_value(v), want) == 0,
	    "%s: want \"%s\", got %s", path, want, show(v));
}

static void
expect_int(json_t *root, const char *path, long long want)
{
	json_t *v = at(root, path);

	cr_expect(json_is_integer(v) && json_integer_value(v) == want, "%s: want %lld, got %s",
	    path, want, show(v));
}

/* The value at path equals the JSON text `want` (objects compare without order). */
static void
expect_json_at(json_t *root, const char *path, const char *want)
{
	json_t *v = at(root, path);
	json_t *w = json_loads(want, JSON_DECODE_ANY, NULL);

	cr_assert_not_null(w, "bad expected JSON %s", want);
	cr_expect(v != NULL && json_equal(v, w), "%s: want %s, got %s", path, want, show(v));
	json_decref(w);
}

/*
 * A rejection as the worker reports it ({err: {name, message, code}}): an
 * Error whose message is "<action>: ... (<code>)" and whose code is that
 * number.  Returns the code.
 */
static long long
expect_r2_error(json_t *root, const char *path, const char *action)
{
	char p[256], suffix[32], prefix[64];
	json_t *err;
	const char *message;
	long long code;

	snprintf(p, sizeof(p), "%s.err", path);
	err = at(root, p);
	cr_expect(json_is_object(err), "%s: want an error, got %s", path, show(at(root, path)));
	if (!json_is_object(err))
		return -1;
	snprintf(p, sizeof(p), "%s.err.name", path);
	expect_str(root, p, "Error");
	message = json_string_value(json_object_get(err, "message"));
	code = json_integer_value(json_object_get(err, "code"));
	cr_expect(code >= 10000, "%s: the error has no R2 code: %s", path, show(err));
	snprintf(suffix, sizeof(suffix), "(%lld)", code);
	snprintf(prefix, sizeof(prefix), "%s: ", action);
	cr_expect(message != NULL && strlen(message) > strlen(suffix) &&
		strcmp(message + strlen(message) - strlen(suffix), suffix) == 0 &&
		strncmp(message, prefix, strlen(prefix)) == 0,
	    "%s: want \"%s... %s\", got %s", path, prefix, suffix, show(err));
	return code;
}

/* --- deploying ---------------------------------------------------------------------- */

static void
bindings_for(char *out, size_t size, const char *bucket)
{
	snprintf(out, size, "[{\"type\":\"r2_bucket\",\"name\":\"BUCKET\",\"bucket_name\":\"%s\"}]",
	    bucket);
}

/* The tenant, its bucket and the test worker bound to it as BUCKET, served on host. */
static void
deploy_r2(const char *tenant, const char *bucket, const char *worker, const char *host)
{
	char bindings[256];

	admin_create_tenant(e, tenant);
	admin_r2_bucket_create(e, tenant, bucket);
	bindings_for(bindings, sizeof(bindings), bucket);
	deploy(e, tenant, worker, host, WORKER, bindings);
}

static void
expect_reply(struct response *r, long status, const char *body)
{
	cr_expect_eq(r->status, status, "want %ld, got %ld %s", status, r->status, r->body);
	if (body != NULL)
		cr_expect_str_eq(r->body, body);
	response_free(r);
}

static char *
header(struct response *r, const char *name)
{
	char *v = response_header(r, name);

	return v != NULL ? v : strdup("(none)");
}

/* --- the tests ---------------------------------------------------------------------- */

Test(r2, put_get_head_delete_and_the_object_fields)
{
	char etag[33], quoted[40];
	long long uploaded, now = (long long)time(NULL) * 1000;
	json_t *j;

	deploy_r2("alice", "photos", "files", "r2.test");
	j = get_json(e, "r2.test", "/basic");
	md5_hex("Hello, R2!", 10, etag);
	snprintf(quoted, sizeof(quoted), "\"%s\"", etag);

	expect_str(j, "bucket", "[object R2Bucket]");
	expect_str(j, "put.cls", "[object R2Object]");
	expect_str(j, "put.key", "hello.txt");
	expect_int(j, "put.size", 10);
	expect_str(j, "put.etag", etag);
	expect_str(j, "put.httpEtag", quoted);
	uploaded = json_integer_value(at(j, "put.uploaded"));
	cr_expect(llabs(uploaded - now) < 120000, "uploaded %lld, now %lld", uploaded, now);
	expect_str(j, "put.checksums.md5", etag);
	expect_int(j, "put.md5Bytes", 16);
	expect_json_at(j, "put.httpMetadata",
	    "{\"contentType\":\"text/plain\",\"contentLanguage\":\"en\","
	    "\"contentDisposition\":\"inline\",\"contentEncoding\":\"identity\","
	    "\"cacheControl\":\"max-age=60\",\"cacheExpiry\":\"Date:1900000000000\"}");
	expect_json_at(j, "put.customMetadata", "{\"owner\":\"alice\",\"n\":\"1\"}");
	expect_str(j, "put.range", "undefined");
	expect_str(j, "put.storageClass", "Standard");
	expect_json_at(j, "put.hasBody", "false");
	cr_expect(json_string_length(at(j, "put.version")) > 0, "no version: %s", show(j));

	/* get: the same object, with a body read once. */
	expect_str(j, "get.cls", "[object R2ObjectBody]");
	expect_json_at(j, "get.hasBody", "true");
	expect_str(j, "get.etag", etag);
	expect_int(j, "get.size", 10);
	cr_expect(json_equal(at(j, "get.version"), at(j, "put.version")));
	cr_expect(json_equal(at(j, "get.uploaded"), at(j, "put.uploaded")));
	expect_json_at(j, "get.customMetadata", "{\"owner\":\"alice\",\"n\":\"1\"}");
	expect_json_at(j, "bodyIsStream", "true");
	expect_json_at(j, "usedBefore", "false");
	expect_str(j, "text", "Hello, R2!");
	expect_json_at(j, "usedAfter", "true");
	expect_str(j, "textAgain.err.name", "TypeError");

	/* writeHttpMetadata sets the six headers and leaves the others. */
	expect_json_at(j, "headers",
	    "{\"content-type\":\"text/plain\",\"content-language\":\"en\","
	    "\"content-disposition\":\"inline\",\"content-encoding\":\"identity\","
	    "\"cache-control\":\"max-age=60\",\"expires\":\"Sun, 17 Mar 2030 17:46:40 GMT\","
	    "\"x-keep\":\"1\"}");

	/* JSON.stringify: the fields, checksums as hex, uploaded as an ISO date. */
	expect_str(j, "json.key", "hello.txt");
	expect_str(j, "json.checksums.md5", etag);
	cr_expect(json_is_string(at(j, "json.uploaded")) &&
		strchr(json_string_value(at(j, "json.uploaded")), 'T') != NULL,
	    "%s", show(at(j, "json")));

	expect_str(j, "head.cls", "[object R2Object]");
	expect_json_at(j, "head.hasBody", "false");
	expect_str(j, "head.etag", etag);
	expect_str(j, "head.httpMetadata.cacheControl", "max-age=60");
	expect_str(j, "head.customMetadata.owner", "alice");

	expect_json_at(j, "missing", "[null, null]");
	expect_str(j, "deleted", "undefined");
	expect_json_at(j, "afterDelete", "[null, null]");
	expect_str(j, "deleteAgain.ok", "undefined");
	json_decref(j);
}

Test(r2, put_takes_every_value_type_and_get_reads_every_way)
{
	json_t *j;

	deploy_r2("alice", "photos", "files", "r2.test");
	j = get_json(e, "r2.test", "/types");
	expect_json_at(j, "sizes",
	    "[[\"ab\",3],[\"view\",3],[\"dv\",4],[\"blob\",9],[\"nul\",0],[\"empty\",0],"
	    "[\"stream\",8],[\"utf8\",10],[\"json\",11]]");
	expect_json_at(j, "reads",
	    "[[true,[1,2,3]],[true,[9,8,7]],[1,2,3,4],[true,9,\"blob text\"],[0,\"\"],true,"
	    "\"stream!!\",\"h\\u00e9llo \\u2603\",{\"a\":[1,2]}]");
	expect_int(j, "left", 0);
	json_decref(j);
}

Test(r2, argument_errors_reject_with_type_errors_before_any_call)
{
	static const char *const range_errors[] = { "get a negative offset",
		"get a fractional length", "list an unknown include", NULL };
	json_t *j, *results, *it;
	size_t i;

	deploy_r2("alice", "photos", "files", "r2.test");
	j = get_json(e, "r2.test", "/errors");
	expect_str(j, "resumeWithoutId", "TypeError");
	results = at(j, "results");
	cr_expect_eq(json_array_size(results), 20, "%s", show(results));
	json_array_foreach (results, i, it) {
		const char *name = json_string_value(json_array_get(it, 0));
		const char *want = "TypeError";

		for (size_t k = 0; range_errors[k] != NULL; k++)
			if (strcmp(name, range_errors[k]) == 0)
				want = "RangeError";
		cr_expect_str_eq(
		    json_string_value(json_array_get(it, 1)), want, "%s: %s", name, show(it));
	}
	/* Nothing reached the bucket. */
	expect_int(j, "stored", 0);
	json_decref(j);
}

Test(r2, list_with_prefix_delimiter_start_after_limit_and_include)
{
	json_t *j;

	deploy_r2("alice", "photos", "files", "r2.test");
	j = get_json(e, "r2.test", "/tree");
	expect_json_at(j, "lists.0",
	    "{\"keys\":[\"dir/a.txt\",\"dir/b.txt\"],\"prefixes\":[\"dir/other/\",\"dir/sub/\"],"
	    "\"truncated\":false,\"cursor\":null}");
	expect_json_at(j, "lists.1",
	    "{\"keys\":[\"dir/sub/c.txt\",\"dir/sub/d.txt\"],\"prefixes\":[],"
	    "\"truncated\":false,\"cursor\":null}");
	expect_json_at(
	    j, "lists.2.keys", "[\"dir/other/e.txt\",\"dir/sub/c.txt\",\"dir/sub/d.txt\"]");
	expect_json_at(j, "lists.3.keys", "[\"top.txt\"]");
	expect_json_at(j, "lists.3.prefixes", "[\"dir/\",\"inc/\"]");
	expect_json_at(j, "lists.4.keys", "[\"dir/a.txt\",\"dir/b.txt\"]");
	expect_json_at(j, "lists.4.truncated", "true");
	cr_expect(json_is_string(at(j, "lists.4.cursor")), "%s", show(at(j, "lists.4")));
	expect_json_at(
	    j, "lists.5", "{\"keys\":[],\"prefixes\":[],\"truncated\":false,\"cursor\":null}");

	/* Metadata only when include asks for it. */
	expect_str(j, "plain.key", "inc/one");
	expect_int(j, "plain.size", 1);
	expect_str(j, "plain.httpMetadata", "undefined");
	expect_str(j, "plain.customMetadata", "undefined");
	expect_json_at(j, "both.httpMetadata", "{\"contentType\":\"text/one\"}");
	expect_json_at(j, "both.customMetadata", "{\"tag\":\"x\"}");
	expect_str(j, "custom.httpMetadata", "undefined");
	expect_json_at(j, "custom.customMetadata", "{\"tag\":\"x\"}");
	expect_str(j, "writeWithoutInclude", "TypeError");
	json_decref(j);
}

/* Lists all keys under "many/" page by page with `limit` (0: the default); returns the pages. */
static int
list_all(const char *host, int limit, json_t *keys)
{
	char path[1024], *cursor = NULL;
	int pages = 0;

	for (;;) {
		json_t *page, *it;
		size_t i;
		int n = snprintf(path, sizeof(path), "/listpage?prefix=many/");

		if (limit > 0)
			n += snprintf(path + n, sizeof(path) - (size_t)n, "&limit=%d", limit);
		if (cursor != NULL) {
			char *escaped = curl_easy_escape(NULL, cursor, 0);

			snprintf(path + n, sizeof(path) - (size_t)n, "&cursor=%s", escaped);
			curl_free(escaped);
			free(cursor);
			cursor = NULL;
		}
		page = get_json(e, host, path);
		pages++;
		json_array_foreach (json_object_get(page, "keys"), i, it)
			json_array_append(keys, it);
		if (json_is_true(json_object_get(page, "truncated"))) {
			cr_assert(json_is_string(json_object_get(page, "cursor")),
			    "truncated without a "
			    "cursor: %s",
			    show(page));
			cursor = strdup(json_string_value(json_object_get(page, "cursor")));
		} else {
			cr_expect(json_is_null(json_object_get(page, "cursor")),
			    "a cursor on the last page");
		}
		json_decref(page);
		if (cursor == NULL || pages > 20)
			break;
	}
	free(cursor);
	return pages;
}

static void
expect_many_keys(json_t *keys, int count)
{
	char want[32];

	cr_expect_eq(json_array_size(keys), (size_t)count, "%zu keys", json_array_size(keys));
	for (int i = 0; i < count && (size_t)i < json_array_size(keys); i++) {
		snprintf(want, sizeof(want), "many/k%04d", i);
		if (strcmp(json_string_value(json_array_get(keys, (size_t)i)), want) != 0) {
			cr_expect(false, "key %d is %s, not %s", i,
			    json_string_value(json_array_get(keys, (size_t)i)), want);
			break;
		}
	}
}

Test(r2, list_pages_through_1100_keys_with_cursors)
{
	char path[128];
	json_t *keys, *j;

	deploy_r2("alice", "photos", "files", "r2.test");
	for (int start = 0; start < 1100; start += 100) {
		snprintf(path, sizeof(path), "/fill?start=%d&count=100", start);
		j = get_json(e, "r2.test", path);
		json_decref(j);
	}

	/* The default limit is 1000: two pages. */
	keys = json_array();
	cr_expect_eq(list_all("r2.test", 0, keys), 2);
	expect_many_keys(keys, 1100);
	json_decref(keys);

	keys = json_array();
	cr_expect_eq(list_all("r2.test", 300, keys), 4);
	expect_many_keys(keys, 1100);
	json_decref(keys);

	j = get_json(e, "r2.test", "/listpage?delimiter=/");
	expect_json_at(
	    j, "", "{\"keys\":[],\"prefixes\":[\"many/\"],\"truncated\":false,\"cursor\":null}");
	json_decref(j);
	j = get_json(e, "r2.test", "/listpage?prefix=many/&startAfter=many/k1097");
	expect_json_at(j, "keys", "[\"many/k1098\",\"many/k1099\"]");
	json_decref(j);
}

Test(r2, ranges_from_options_and_from_a_range_header)
{
	json_t *j;

	deploy_r2("alice", "photos", "files", "r2.test");
	j = get_json(e, "r2.test", "/range");
	expect_json_at(j, "options",
	    "[{\"text\":\"234\",\"range\":{\"offset\":2,\"length\":3},\"size\":10},"
	    "{\"text\":\"789\",\"range\":{\"offset\":7,\"length\":3},\"size\":10},"
	    "{\"text\":\"0123\",\"range\":{\"offset\":0,\"length\":4},\"size\":10},"
	    "{\"text\":\"789\",\"range\":{\"offset\":7,\"length\":3},\"size\":10}]");
	expect_json_at(j, "headers.0",
	    "{\"text\":\"1234\",\"range\":{\"offset\":1,\"length\":4},"
	    "\"size\":10}");
	expect_json_at(j, "headers.1",
	    "{\"text\":\"6789\",\"range\":{\"offset\":6,\"length\":4},"
	    "\"size\":10}");
	expect_json_at(j, "headers.2",
	    "{\"text\":\"89\",\"range\":{\"offset\":8,\"length\":2},"
	    "\"size\":10}");
	/* Not a byte range: ignored, the whole object. */
	expect_str(j, "headers.3.text", "0123456789");
	expect_str(j, "whole.text", "0123456789");
	cr_expect_eq(expect_r2_error(j, "pastTheEnd", "get"), 10039);
	json_decref(j);
}

/*
 * Runs a scenario that answers {case: outcome} on a fresh bucket: it must
 * have exactly the n cases, each checked with expect(answer, case, want).
 */
static void
expect_cases(const char *path, const char *const (*cases)[2], size_t n,
    void (*expect)(json_t *root, const char *path, const char *want))
{
	json_t *j;

	deploy_r2("alice", "photos", "files", "r2.test");
	j = get_json(e, "r2.test", path);
	cr_expect_eq(json_object_size(j), n, "%s", show(j));
	for (size_t i = 0; i < n; i++)
		expect(j, cases[i][0], cases[i][1]);
	json_decref(j);
}

Test(r2, get_with_every_condition)
{
	static const char *const cases[][2] = {
		{ "etagMatches=etag", "body:v1" },
		{ "etagMatches=other", "nobody:[object R2Object]" },
		{ "etagMatches=*", "body:v1" },
		{ "etagDoesNotMatch=etag", "nobody:[object R2Object]" },
		{ "etagDoesNotMatch=other", "body:v1" },
		{ "etagDoesNotMatch=*", "nobody:[object R2Object]" },
		{ "uploadedBefore=future", "body:v1" },
		{ "uploadedBefore=past", "nobody:[object R2Object]" },
		{ "uploadedAfter=past", "body:v1" },
		{ "uploadedAfter=future", "nobody:[object R2Object]" },
		{ "uploadedAfter=uploaded-1ms", "body:v1" },
		/* secondsGranularity: the upload's second is not after itself. */
		{ "uploadedAfter=uploaded,seconds", "nobody:[object R2Object]" },
		/* RFC 9110: a matching If-Match makes If-Unmodified-Since moot. */
		{ "etagMatches=etag,uploadedBefore=past", "body:v1" },
		{ "If-Match=etag", "body:v1" },
		{ "If-Match=list", "body:v1" },
		{ "If-Match=other", "nobody:[object R2Object]" },
		{ "If-None-Match=etag", "nobody:[object R2Object]" },
		{ "If-None-Match=weak", "nobody:[object R2Object]" },
		{ "If-None-Match=other", "body:v1" },
		{ "If-None-Match=*", "nobody:[object R2Object]" },
		/* HTTP dates have whole seconds: "not modified since the upload" holds. */
		{ "If-Modified-Since=uploaded", "nobody:[object R2Object]" },
		{ "If-Modified-Since=past", "body:v1" },
		{ "If-Modified-Since=future", "nobody:[object R2Object]" },
		{ "If-Unmodified-Since=future", "body:v1" },
		{ "If-Unmodified-Since=past", "nobody:[object R2Object]" },
		{ "missing key", "null" },
	};

	expect_cases("/get-conditions", cases, sizeof(cases) / sizeof(cases[0]), expect_str);
}

Test(r2, put_with_every_condition)
{
	static const char *const cases[][2] = {
		{ "etagMatches=other", "[\"null\",\"v1\"]" },
		{ "etagMatches=etag", "[\"object\",\"v2\"]" },
		{ "etagDoesNotMatch=old etag", "[\"object\",\"v3\"]" },
		{ "etagDoesNotMatch=*", "[\"null\",\"v3\"]" },
		{ "etagDoesNotMatch=* on a new key", "[\"object\",\"n1\"]" },
		{ "etagMatches on a missing key", "[\"null\",null]" },
		{ "uploadedBefore=past", "[\"null\",\"v3\"]" },
		{ "uploadedAfter=future", "[\"null\",\"v3\"]" },
		{ "uploadedAfter=past", "[\"object\",\"v5\"]" },
		{ "uploadedBefore=future", "[\"object\",\"v6\"]" },
		{ "If-Match=current", "[\"object\",\"v7\"]" },
		{ "If-Match=other", "[\"null\",\"v7\"]" },
		{ "If-None-Match=*", "[\"null\",\"v7\"]" },
		{ "If-None-Match=* on a new key", "[\"object\",\"h1\"]" },
	};

	expect_cases("/put-conditions", cases, sizeof(cases) / sizeof(cases[0]), expect_json_at);
}

Test(r2, checksums_are_checked_and_reported)
{
	static const char md5[] = "5d41402abc4b2a76b9719d911017c592";
	static const char *const others[][2] = {
		{ "4", "sha1" },
		{ "5", "sha256" },
		{ "6", "sha384" },
		{ "7", "sha512" },
	};
	static const char *const sums[] = { "", "aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d",
		"2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824",
		"59e1748777448c69de6b800d7a33bbfb9ff1b463e44354c3553bcdb9c666fa90125a3c79f90397bd"
		"f5f6a13de828684f",
		"9b71d224bd62f3785d96d46ad3ea3d73319bfbc2890caadae2dff72519673ca72323c3d99ba5c11d"
		"7c7acc6e14b8c5da0c4663475c2e5c3adef46f73bcdec043" };
	char path[64];
	json_t *j;

	deploy_r2("alice", "photos", "files", "r2.test");
	j = get_json(e, "r2.test", "/checksums");
	/* MD5 always; an MD5 given as hex (any case) or bytes is checked and kept. */
	for (int i = 0; i < 4; i++) {
		snprintf(path, sizeof(path), "good.%d.0.md5", i);
		expect_str(j, path, md5);
		snprintf(path, sizeof(path), "good.%d.1", i);
		expect_str(j, path, md5);
	}
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		snprintf(path, sizeof(path), "good.%s.0.%s", others[i][0], others[i][1]);
		expect_str(j, path, sums[i + 1]);
	}
	expect_int(j, "good.4.1", 20);

	/* A digest that does not match the bytes: nothing is stored or changed. */
	expect_r2_error(j, "bad.0", "put");
	expect_r2_error(j, "bad.1", "put");
	expect_json_at(j, "bad.2", "null");
	expect_r2_error(j, "bad.3", "put");
	expect_str(j, "bad.4", "hello");
	json_decref(j);
}

/* The MD5 of n bytes of value v, as hex and binary. */
static void
md5_of_filled(size_t n, uint8_t v, char hex[33], uint8_t bin[16])
{
	uint8_t block[4096];
	EVP_MD_CTX *ctx = md5_begin();

	memset(block, v, sizeof(block));
	for (size_t done = 0; done < n; done += sizeof(block))
		md5_update(ctx, block, n - done < sizeof(block) ? n - done : sizeof(block));
	md5_end(ctx, hex, bin);
}

Test(r2, multipart_upload_of_three_parts)
{
	char hex1[33], hex2[33], hex3[33], whole[33], etag[40];
	uint8_t bins[48];
	EVP_MD_CTX *tail;
	json_t *j;

	deploy_r2("alice", "photos", "files", "r2.test");
	j = get_json(e, "r2.test", "/multipart");
	md5_of_filled(5 * MIB, 1, hex1, bins);
	md5_of_filled(5 * MIB, 2, hex2, bins + 16);
	tail = md5_begin();
	md5_update(tail, "tail", 4);
	md5_end(tail, hex3, bins + 32);
	/* A multipart etag: the MD5 of the parts' MD5s, then "-<parts>". */
	md5_hex(bins, sizeof(bins), whole);
	snprintf(etag, sizeof(etag), "%s-3", whole);

	expect_str(j, "cls", "[object R2MultipartUpload]");
	expect_str(j, "key", "mp/big.bin");
	expect_str(j, "idType", "string");
	expect_json_at(j, "resumedSameId", "true");
	expect_int(j, "p1.partNumber", 1);
	expect_str(j, "p1.etag", hex1);
	expect_int(j, "p2.partNumber", 2);
	expect_str(j, "p2.etag", hex2);
	expect_int(j, "p3.partNumber", 3);
	expect_str(j, "p3.etag", hex3);
	expect_json_at(j, "beforeComplete", "null");
	expect_str(j, "object.key", "mp/big.bin");
	expect_int(j, "object.size", 10 * MIB + 4);
	expect_str(j, "object.etag", etag);
	expect_str(j, "object.httpMetadata.contentType", "application/x-big");
	expect_str(j, "object.customMetadata.parts", "3");
	expect_str(j, "tail", "tail");
	expect_json_at(j, "seam", "[1, 2]");
	expect_str(j, "head.etag", etag);
	expect_int(j, "head.size", 10 * MIB + 4);
	expect_r2_error(j, "completeAgain", "completeMultipartUpload");
	json_decref(j);
}

Test(r2, multipart_abort_and_its_errors)
{
	json_t *j;

	deploy_r2("alice", "photos", "files", "r2.test");
	j = get_json(e, "r2.test", "/abort");
	expect_int(j, "part.partNumber", 1);
	expect_json_at(j, "aborted", "true");
	expect_r2_error(j, "completeAfterAbort", "completeMultipartUpload");
	expect_r2_error(j, "partAfterAbort", "uploadPart");
	expect_json_at(j, "head", "null");
	expect_r2_error(j, "unknownUpload", "uploadPart");
	/* All parts but the last must be 5 MiB at least. */
	expect_r2_error(j, "tooSmall", "completeMultipartUpload");
	expect_json_at(j, "left", "[]");
	json_decref(j);
}

Test(r2_stream, a_64mib_object_streams_in_from_a_request_and_out_as_a_response)
{
	struct big_source src = { 0 };
	struct big_sink sink = { 0 };
	char sent[33], got[33], quoted[40], *v;
	struct response r;
	json_t *j;

	deploy_r2("alice", "photos", "files", "r2.test");
	src.md5 = md5_begin();
	r = http_request(&(struct http_request) {
	    .method = "POST",
	    .addr = e->public_addr,
	    .path = "/big-put",
	    .host = "r2.test",
	    .body_len = BIG_SIZE,
	    .body_read = big_read,
	    .arg = &src,
	    .timeout_ms = HTTP_TIMEOUT_MS,
	});
	cr_assert_eq(r.status, 200, "%ld %s", r.status, r.body);
	cr_assert_eq(src.at, BIG_SIZE);
	md5_end(src.md5, sent, NULL);
	j = json_loads(r.body, 0, NULL);
	cr_assert_not_null(j, "%s", r.body);
	expect_int(j, "size", (long long)BIG_SIZE);
	expect_str(j, "etag", sent);
	json_decref(j);
	response_free(&r);

	sink.md5 = md5_begin();
	r = http_request(&(struct http_request) {
	    .method = "GET",
	    .addr = e->public_addr,
	    .path = "/big-get",
	    .host = "r2.test",
	    .body_write = big_write,
	    .arg = &sink,
	    .timeout_ms = HTTP_TIMEOUT_MS,
	});
	cr_assert_eq(r.status, 200, "%ld %s", r.status, r.headers);
	md5_end(sink.md5, got, NULL);
	cr_expect_eq(sink.len, BIG_SIZE, "%llu bytes came back", (unsigned long long)sink.len);
	cr_expect_str_eq(got, sent, "the bytes that came back differ");
	snprintf(quoted, sizeof(quoted), "\"%s\"", sent);
	v = header(&r, "etag");
	cr_expect_str_eq(v, quoted);
	free(v);
	v = header(&r, "x-size");
	cr_expect_str_eq(v, "67108864");
	free(v);
	response_free(&r);
}

Test(r2, upload_from_form_data_then_serve_with_etag_cache_control_and_304)
{
	static const char boundary[] = "r2testboundary41";
	char ctype[96], etag[33], quoted[40], ifnone[64], *body, *v, *url;
	const char *headers[2] = { NULL, NULL };
	uint8_t file[3000];
	struct response r;
	size_t len;
	FILE *fp;
	json_t *j;

	for (size_t i = 0; i < sizeof(file); i++)
		file[i] = (uint8_t)(i * 7 + (i >> 8)); /* NULs, CRs and LFs included */
	md5_hex(file, sizeof(file), etag);
	snprintf(quoted, sizeof(quoted), "\"%s\"", etag);
	fp = open_memstream(&body, &len);
	fprintf(fp,
	    "--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"photo.png\"\r\n"
	    "Content-Type: image/png\r\n\r\n",
	    boundary);
	fwrite(file, 1, sizeof(file), fp);
	fprintf(fp, "\r\n--%s--\r\n", boundary);
	fclose(fp);
	snprintf(ctype, sizeof(ctype), "Content-Type: multipart/form-data; boundary=%s", boundary);
	headers[0] = ctype;

	deploy_r2("alice", "photos", "files", "r2.test");
	r = request("POST", "r2.test", "/upload", headers, body, len);
	free(body);
	cr_assert_eq(r.status, 200, "%ld %s", r.status, r.body);
	j = json_loads(r.body, 0, NULL);
	cr_assert(json_is_string(json_object_get(j, "url")), "%s", r.body);
	url = strdup(json_string_value(json_object_get(j, "url")));
	cr_expect(strncmp(url, "/assets/uploads/", 16) == 0 && strstr(url, "-photo.png") != NULL,
	    "%s", url);
	json_decref(j);
	response_free(&r);

	r = get("r2.test", url);
	cr_expect_eq(r.status, 200, "%ld %s", r.status, r.body);
	cr_expect(r.body_len == sizeof(file) && memcmp(r.body, file, sizeof(file)) == 0,
	    "the served bytes differ (%zu bytes)", r.body_len);
	v = header(&r, "content-type");
	cr_expect_str_eq(v, "image/png");
	free(v);
	v = header(&r, "cache-control");
	cr_expect_str_eq(v, "public, max-age=31536000");
	free(v);
	v = header(&r, "etag");
	cr_expect_str_eq(v, quoted);
	free(v);
	response_free(&r);

	/* The client's copy is current: 304, no body. */
	snprintf(ifnone, sizeof(ifnone), "If-None-Match: %s", quoted);
	headers[0] = ifnone;
	r = request("GET", "r2.test", url, headers, NULL, 0);
	cr_expect_eq(r.status, 304, "%ld %s", r.status, r.body);
	cr_expect_eq(r.body_len, 0);
	v = header(&r, "etag");
	cr_expect_str_eq(v, quoted);
	free(v);
	response_free(&r);

	headers[0] = "If-None-Match: \"someone-elses\"";
	r = request("GET", "r2.test", url, headers, NULL, 0);
	cr_expect_eq(r.status, 200);
	cr_expect_eq(r.body_len, sizeof(file));
	response_free(&r);

	headers[0] = "Range: bytes=0-3";
	r = request("GET", "r2.test", url, headers, NULL, 0);
	cr_expect_eq(r.status, 206, "%ld %s", r.status, r.body);
	cr_expect(r.body_len == 4 && memcmp(r.body, file, 4) == 0);
	v = header(&r, "content-range");
	cr_expect_str_eq(v, "bytes 0-3/3000");
	free(v);
	response_free(&r);

	r = get("r2.test", "/assets/uploads/nothing-here.png");
	expect_reply(&r, 404, "Not Found");
	free(url);
}

Test(r2, edge_side_rendering_with_a_template_from_r2)
{
	struct response r;
	json_t *j;
	char *v;

	deploy_r2("alice", "site", "render", "site.test");
	j = get_json(e, "site.test", "/template-setup");
	json_decref(j);
	r = get("site.test", "/page/home");
	cr_expect_eq(r.status, 200, "%ld %s", r.status, r.body);
	cr_expect_str_eq(r.body, "<h1>Home</h1><p>Rendered at the edge &amp; served</p>");
	v = header(&r, "content-type");
	cr_expect_str_eq(v, "text/html");
	free(v);
	response_free(&r);
	r = get("site.test", "/page/nowhere");
	expect_reply(&r, 404, "Not Found");
}

Test(r2, objects_and_pending_uploads_survive_a_restart)
{
	char path[160];
	struct response r;
	json_t *j;
	char *id;

	deploy_r2("alice", "photos", "files", "r2.test");
	r = request("POST", "r2.test", "/put?key=persist/a", NULL, "durable bytes", 13);
	cr_assert_eq(r.status, 200, "%ld %s", r.status, r.body);
	response_free(&r);
	j = get_json(e, "r2.test", "/mp-begin?key=persist/mp");
	id = strdup(json_string_value(json_object_get(j, "uploadId")));
	json_decref(j);

	cr_assert_eq(edged_stop(e), 0);
	edged_restart(e);

	r = get("r2.test", "/get?key=persist/a");
	expect_reply(&r, 200, "durable bytes");
	snprintf(path, sizeof(path), "/mp-finish?key=persist/mp&id=%s", id);
	j = get_json(e, "r2.test", path);
	expect_int(j, "size", 25);
	json_decref(j);
	r = get("r2.test", "/get?key=persist/mp");
	expect_reply(&r, 200, "written after the restart");
	j = get_json(e, "r2.test", "/keys");
	expect_json_at(j, "keys", "[\"persist/a\",\"persist/mp\"]");
	json_decref(j);
	free(id);
}

Test(r2, two_tenants_with_the_same_bucket_name_are_apart)
{
	char bindings[256];
	struct response r;
	json_t *j;

	deploy_r2("ta", "shared", "files", "ta.test");
	deploy_r2("tb", "shared", "files", "tb.test");
	r = request("POST", "ta.test", "/put?key=secret", NULL, "from a", 6);
	cr_assert_eq(r.status, 200, "%ld %s", r.status, r.body);
	response_free(&r);

	r = get("tb.test", "/get?key=secret");
	expect_reply(&r, 404, "not found");
	r = request("POST", "tb.test", "/put?key=secret", NULL, "from b", 6);
	cr_assert_eq(r.status, 200, "%ld %s", r.status, r.body);
	response_free(&r);
	r = get("ta.test", "/get?key=secret");
	expect_reply(&r, 200, "from a");
	r = get("tb.test", "/get?key=secret");
	expect_reply(&r, 200, "from b");
	j = get_json(e, "ta.test", "/keys");
	expect_json_at(j, "keys", "[\"secret\"]");
	json_decref(j);

	/* A bucket only ta has: tb cannot bind to it, or its calls find nothing. */
	admin_r2_bucket_create(e, "ta", "only-a");
	bindings_for(bindings, sizeof(bindings), "only-a");
	deploy(e, "ta", "files2", "ta2.test", WORKER, bindings);
	r = request("POST", "ta2.test", "/put?key=secret", NULL, "a only", 6);
	cr_assert_eq(r.status, 200, "%ld %s", r.status, r.body);
	response_free(&r);
	r = admin_upload_module(e, "tb", "thief", WORKER, bindings);
	if (r.status == 200) {
		response_free(&r);
		r = admin_add_route(e, "tb", "tb2.test/*", "thief");
		cr_assert_eq(r.status, 200, "%ld %s", r.status, r.body);
		response_free(&r);
		r = get("tb2.test", "/get?key=secret");
		cr_expect_neq(r.status, 200, "tb read ta's bucket: %s", r.body);
		cr_expect(strstr(r.body, "a only") == NULL);
	}
	response_free(&r);
}

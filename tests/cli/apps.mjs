// Real apps built with edgectl and served by a real edged: the patterns of the
// Workers platform guide (tests/cli/fixtures/guide), a Hono app and an
// itty-router app from npm (fixtures/hono, fixtures/itty), each deployed to its
// own hostname and checked over HTTP as a client would see it.
// Usage: node tests/cli/apps.mjs EDGED_BIN EDGED_JSC   (ctest: cli_apps)
import { CLI_DIR, EDGECTL, FIXTURES, cliArgs, scratchDir, testConfig } from './common.mjs';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';

const [EDGED_BIN, EDGED_JSC] = cliArgs('apps.mjs');

// The npm apps install their pinned dependencies from their lockfiles.
for (const app of ['hono', 'itty']) {
  const dir = path.join(FIXTURES, app);
  if (fs.existsSync(path.join(dir, 'node_modules'))) continue;
  const npm = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: dir, stdio: 'inherit' });
  if (npm.status !== 0) {
    console.error(`npm ci failed in ${dir}`);
    process.exit(1);
  }
}

const { startEdged } = await import(path.join(CLI_DIR, 'lib/edged.js'));

let edged;
const log = [];
const scratch = scratchDir('edgectl-apps-');

before(async () => {
  edged = await startEdged({
    bin: EDGED_BIN,
    dir: scratch,
    config: testConfig(scratch),
    onLog: (line) => { log.push(line); if (log.length > 200) log.shift(); },
  });
});

after(async () => {
  if (edged) await edged.stop();
  fs.rmSync(scratch, { recursive: true, force: true });
});

// Runs `edgectl deploy` in a fixture directory (a name under fixtures/, or
// an absolute path): { code, stdout, stderr }.
function deploy(fixture) {
  const env = { ...process.env, EDGED_BIN, EDGED_JSC, EDGED_API: edged.admin, EDGED_TOKEN: edged.token };
  delete env.EDGED_ACCOUNT;
  const child = spawn(process.execPath, [EDGECTL, 'deploy'], {
    cwd: path.isAbsolute(fixture) ? fixture : path.join(FIXTURES, fixture), env, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c) => { stdout += c; });
  child.stderr.on('data', (c) => { stderr += c; });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function deployOk(fixture, name) {
  const r = await deploy(fixture);
  assert.equal(r.code, 0, `edgectl deploy (${fixture}) failed:\n${r.stdout}${r.stderr}`);
  assert.match(r.stdout, new RegExp(`deployed ${name} version \\d+`));
  return r;
}

// One HTTP exchange with edged's public listener for `host`:
// { status, headers, body, json() }.  `body` is an object (sent as JSON) or a
// string (sent as is).
function request(host, method, urlPath, { headers = {}, body } = {}) {
  const u = new URL(edged.public);
  let payload;
  const sent = { host, ...headers };
  if (body !== undefined) {
    payload = typeof body === 'string' ? body : JSON.stringify(body);
    if (!Object.keys(sent).some((h) => h.toLowerCase() === 'content-type')) sent['content-type'] = 'application/json';
  }
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, method, path: urlPath, headers: sent }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { text += c; });
      res.on('end', () => resolve({
        status: res.statusCode,
        headers: res.headers,
        body: text,
        json() {
          assert.match(res.headers['content-type'] || '', /^application\/json/,
            `${method} ${urlPath}: content-type ${res.headers['content-type']}`);
          assert.notEqual(text, '', `${method} ${urlPath}: ${res.statusCode} ${res.headers['content-type']} with an empty body`);
          return JSON.parse(text);
        },
      }));
    });
    req.on('error', reject);
    req.end(payload);
  });
}

// Asserts the status; a failure shows the body and the end of edged's log
// (where the Worker's console output and uncaught errors go).
function expectStatus(r, status, what) {
  if (r.status !== status) {
    assert.fail(`${what}: status ${r.status}, expected ${status}\nbody: ${r.body}\n` +
      `edged log (last lines):\n${log.slice(-15).join('\n')}`);
  }
}

function assertIncludes(body, fragment) {
  assert.ok(body.includes(fragment), `missing ${JSON.stringify(fragment)} in:\n${body || '(an empty body)'}`);
}

async function expectJson(r, status, value, what) {
  expectStatus(r, status, what);
  assert.deepEqual(r.json(), value, what);
}

/* --- the guide's patterns ------------------------------------------------------ */

const GUIDE = 'guide.apps.test';
const guideToml = fs.readFileSync(path.join(FIXTURES, 'guide/wrangler.toml'), 'utf8');
const JWT_SECRET = /^JWT_SECRET = "(.*)"$/m.exec(guideToml)[1];
const JWT_ISSUER = /^JWT_ISSUER = "(.*)"$/m.exec(guideToml)[1];

const b64url = (data) => Buffer.from(data).toString('base64url');

// A JWT minted the way any HS256 library does it.
function mintJwt(claims, { secret = JWT_SECRET, alg = 'HS256' } = {}) {
  const signed = `${b64url(JSON.stringify({ alg, typ: 'JWT' }))}.${b64url(JSON.stringify(claims))}`;
  const mac = crypto.createHmac('sha256', secret).update(signed).digest('base64url');
  return `${signed}.${mac}`;
}

describe('guide: CORS, JWT auth, a JSON API and HTML rendering in one TypeScript Worker', () => {
  const guide = (method, urlPath, options) => request(GUIDE, method, urlPath, options);
  before(async () => { await deployOk('guide', 'guide'); });

  describe('CORS middleware', () => {
    test('a preflight is answered 204 with the Access-Control-* headers', async () => {
      const r = await guide('OPTIONS', '/api/users', {
        headers: {
          origin: 'https://app.example', 'access-control-request-method': 'PUT',
          'access-control-request-headers': 'content-type, authorization',
        },
      });
      expectStatus(r, 204, 'OPTIONS /api/users');
      assert.equal(r.body, '');
      assert.equal(r.headers['access-control-allow-origin'], '*');
      assert.equal(r.headers['access-control-allow-methods'], 'GET, POST, PUT, DELETE');
      assert.equal(r.headers['access-control-allow-headers'], 'Content-Type, Authorization');
      assert.equal(r.headers['access-control-max-age'], '86400');
    });

    test('every other response, errors included, allows the origin', async () => {
      for (const [urlPath, status] of [['/api/users', 200], ['/nowhere', 404], ['/me', 401], ['/hello', 200]]) {
        const r = await guide('GET', urlPath, { headers: { origin: 'https://app.example' } });
        expectStatus(r, status, `GET ${urlPath}`);
        assert.equal(r.headers['access-control-allow-origin'], '*', `GET ${urlPath}`);
        assert.equal(r.headers.vary, 'Origin', `GET ${urlPath}`);
      }
    });
  });

  describe('JWT (HS256) auth middleware', () => {
    const now = () => Math.floor(Date.now() / 1000);
    const claims = () => ({ sub: 'user-42', name: 'Ada', roles: ['admin'], iss: JWT_ISSUER, iat: now(), exp: now() + 600 });
    const me = (authorization) => guide('GET', '/me', { headers: authorization ? { authorization } : {} });

    async function refused(authorization, reason) {
      const r = await me(authorization);
      await expectJson(r, 401, { error: reason }, `GET /me with ${JSON.stringify(authorization)}`);
      assert.equal(r.headers['www-authenticate'], 'Bearer realm="guide"');
    }

    test('a valid token gets 200 with its claims', async () => {
      const c = claims();
      await expectJson(await me(`Bearer ${mintJwt(c)}`), 200, { claims: c }, 'GET /me with a valid token');
    });

    test('no token, or not a bearer token, is 401', async () => {
      await refused(undefined, 'missing bearer token');
      await refused(`Basic ${b64url('ada:secret')}`, 'missing bearer token');
    });

    test('a garbled token is 401', async () => {
      await refused('Bearer not-a-jwt', 'malformed token');
      await refused('Bearer a.b.c', 'malformed token');
      const [h, , s] = mintJwt(claims()).split('.');
      await refused(`Bearer ${h}.${b64url('{"sub": ')}.${s}`, 'malformed token');
      await refused(`Bearer ${h}.!!!.${s}`, 'malformed token');
    });

    test('an expired token is 401', async () => {
      await refused(`Bearer ${mintJwt({ ...claims(), iat: now() - 7200, exp: now() - 3600 })}`, 'token expired');
      const { exp, ...noExpiry } = claims();
      assert.ok(exp);
      await refused(`Bearer ${mintJwt(noExpiry)}`, 'token expired');
    });

    test('a badly signed or tampered token is 401', async () => {
      await refused(`Bearer ${mintJwt(claims(), { secret: 'someone else' })}`, 'bad signature');
      const [h, , s] = mintJwt(claims()).split('.');
      const forged = b64url(JSON.stringify({ ...claims(), sub: 'root' }));
      await refused(`Bearer ${h}.${forged}.${s}`, 'bad signature');
      await refused(`Bearer ${mintJwt(claims(), { alg: 'none' }).replace(/[^.]+$/, '')}`, 'unsupported algorithm');
      await refused(`Bearer ${mintJwt({ ...claims(), iss: 'elsewhere' })}`, 'wrong issuer');
    });
  });

  describe('JSON API over an in-memory Map', () => {
    const ada = { name: 'Ada', email: 'ada@example.com' };
    const alan = { name: 'Alan', email: 'alan@example.com' };

    test('POST creates users, GET lists and reads them', async () => {
      await expectJson(await guide('GET', '/api/users'), 200, [], 'GET /api/users before any POST');
      let r = await guide('POST', '/api/users', { body: ada });
      await expectJson(r, 201, { id: 1, ...ada }, 'POST /api/users');
      assert.equal(r.headers.location, '/api/users/1');
      r = await guide('POST', '/api/users', { body: { ...alan, name: '  Alan  ' } });
      await expectJson(r, 201, { id: 2, ...alan }, 'POST /api/users (second)');
      await expectJson(await guide('GET', '/api/users'), 200, [{ id: 1, ...ada }, { id: 2, ...alan }], 'GET /api/users');
      await expectJson(await guide('GET', '/api/users/2'), 200, { id: 2, ...alan }, 'GET /api/users/2');
    });

    test('PUT replaces a user, DELETE removes it', async () => {
      const lovelace = { name: 'Ada Lovelace', email: 'ada@analytical.engine' };
      await expectJson(await guide('PUT', '/api/users/1', { body: lovelace }), 200, { id: 1, ...lovelace }, 'PUT /api/users/1');
      await expectJson(await guide('GET', '/api/users/1'), 200, { id: 1, ...lovelace }, 'GET /api/users/1 after PUT');
      const r = await guide('DELETE', '/api/users/2');
      expectStatus(r, 204, 'DELETE /api/users/2');
      assert.equal(r.body, '');
      await expectJson(await guide('GET', '/api/users/2'), 404, { error: 'user 2 not found' }, 'GET /api/users/2 after DELETE');
      await expectJson(await guide('PUT', '/api/users/2', { body: alan }), 404, { error: 'user 2 not found' }, 'PUT a deleted user');
      await expectJson(await guide('GET', '/api/users'), 200, [{ id: 1, ...lovelace }], 'GET /api/users after DELETE');
    });

    test('a bad body is 400 JSON', async () => {
      await expectJson(await guide('POST', '/api/users', { body: '{"name": "Eve",' }), 400,
        { error: 'body is not valid JSON' }, 'POST truncated JSON');
      await expectJson(await guide('POST', '/api/users', { body: '' }), 400,
        { error: 'body is not valid JSON' }, 'POST an empty body');
      await expectJson(await guide('POST', '/api/users', { body: { name: '', email: 'e@example.com' } }), 400,
        { error: "'name' must be a non-empty string" }, 'POST an empty name');
      await expectJson(await guide('PUT', '/api/users/1', { body: { name: 'Eve', email: 'not an address' } }), 400,
        { error: "'email' must be an email address" }, 'PUT a bad email');
    });

    test('a wrong method is 405 with Allow', async () => {
      let r = await guide('PATCH', '/api/users/1', { body: { name: 'x' } });
      await expectJson(r, 405, { error: 'method not allowed' }, 'PATCH /api/users/1');
      assert.equal(r.headers.allow, 'GET, PUT, DELETE');
      r = await guide('DELETE', '/api/users');
      await expectJson(r, 405, { error: 'method not allowed' }, 'DELETE /api/users');
      assert.equal(r.headers.allow, 'GET, POST');
    });

    test('an unknown route is 404 JSON', async () => {
      await expectJson(await guide('GET', '/api/users/ada'), 404, { error: 'no route for GET /api/users/ada' }, 'GET /api/users/ada');
      await expectJson(await guide('GET', '/api/teams'), 404, { error: 'no route for GET /api/teams' }, 'GET /api/teams');
      await expectJson(await guide('POST', '/nothing/here'), 404, { error: 'no route for POST /nothing/here' }, 'POST /nothing/here');
    });
  });

  describe('edge-side HTML rendering', () => {
    test('query parameters are escaped into the template', async () => {
      const name = '<script>alert("x")</script>';
      const q = "Tom & Jerry's";
      const r = await guide('GET', `/hello?name=${encodeURIComponent(name)}&q=${encodeURIComponent(q)}`);
      expectStatus(r, 200, 'GET /hello');
      assert.equal(r.headers['content-type'], 'text/html; charset=utf-8');
      assert.match(r.body, /^<!doctype html>\n/);
      assertIncludes(r.body, '<h1>Hello, &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;!</h1>');
      assertIncludes(r.body, '<q>Tom &amp; Jerry&#39;s</q>');
      assertIncludes(r.body, '<title>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; | Guide &amp; Co</title>');
      assertIncludes(r.body, `<a href="/hello?name=${encodeURIComponent(name)}">`);
      assert.doesNotMatch(r.body, /<script|alert\("x"\)/);
    });

    test('non-ASCII input comes back as UTF-8, a missing name has a default', async () => {
      let r = await guide('GET', `/hello?name=${encodeURIComponent('Zoë 日本')}&q=a+b`);
      expectStatus(r, 200, 'GET /hello?name=Zoë');
      assertIncludes(r.body, '<h1>Hello, Zoë 日本!</h1>');
      assertIncludes(r.body, '<q>a b</q>');
      assertIncludes(r.body, '<a href="/hello?name=Zo%C3%AB%20%E6%97%A5%E6%9C%AC">');
      r = await guide('GET', '/hello');
      expectStatus(r, 200, 'GET /hello');
      assertIncludes(r.body, '<h1>Hello, stranger!</h1>');
      assertIncludes(r.body, '<q></q>');
    });
  });
});

/* --- the guide's storage patterns (KV, D1, R2) ----------------------------------- */

const STORAGE = 'storage.apps.test';
const STORAGE_ACCOUNT = 'apps-storage';

// One admin API call with the operator token; returns the v4 envelope's result.
async function admin(method, urlPath, body) {
  const r = await fetch(`${edged.admin}${urlPath}`, {
    method,
    headers: { authorization: `Bearer ${edged.token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  assert.ok(r.ok, `${method} ${urlPath}: ${r.status} ${text}`);
  return JSON.parse(text).result;
}

// The fixture copied to a scratch directory with the ids of a namespace, a
// database (its schema applied through the admin API, as a migration script
// would) and a bucket created for it.
async function storageFixture() {
  const dir = path.join(scratch, 'guide-storage');
  fs.cpSync(path.join(FIXTURES, 'guide-storage'), dir, { recursive: true });
  const v4 = `/client/v4/accounts/${STORAGE_ACCOUNT}`;
  await admin('PUT', `/edged/v1/tenants/${STORAGE_ACCOUNT}`, {});
  const kv = await admin('POST', `${v4}/storage/kv/namespaces`, { title: 'guide-cache' });
  const db = await admin('POST', `${v4}/d1/database`, { name: 'guide' });
  await admin('POST', `${v4}/r2/buckets`, { name: 'guide-files' });
  await admin('POST', `${v4}/d1/database/${db.uuid}/query`, { sql: fs.readFileSync(path.join(dir, 'schema.sql'), 'utf8') });
  const toml = path.join(dir, 'wrangler.toml');
  fs.writeFileSync(toml, fs.readFileSync(toml, 'utf8')
    .replace('@KV_ID@', kv.id).replace('@D1_ID@', db.uuid).replace('@R2_BUCKET@', 'guide-files'));
  return { dir, v4, kv: kv.id };
}

// A multipart/form-data body with one file field.
function formWithFile(name, type, content) {
  const boundary = `----edged${crypto.randomBytes(8).toString('hex')}`;
  const body = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${name}"\r\n` +
    `Content-Type: ${type}\r\n\r\n${content}\r\n--${boundary}--\r\n`;
  return { body, headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } };
}

describe('guide storage: KV cache over D1, R2 files, rate limits, flags and rendering', () => {
  const app = (method, urlPath, options) => request(STORAGE, method, urlPath, options);
  let fixture;
  before(async () => {
    fixture = await storageFixture();
    await deployOk(fixture.dir, 'guide-storage');
  });

  test('users API: D1 rows behind a KV cache that writes invalidate', async () => {
    let r = await app('POST', '/api/users', { body: { name: 'Ada', email: 'ada@example.com' } });
    await expectJson(r, 201, { id: 1, name: 'Ada', email: 'ada@example.com' }, 'POST /api/users');
    r = await app('GET', '/api/users');
    await expectJson(r, 200, [{ id: 1, name: 'Ada', email: 'ada@example.com' }], 'GET /api/users');
    assert.equal(r.headers['x-cache'], 'MISS');
    r = await app('GET', '/api/users');
    assert.equal(r.headers['x-cache'], 'HIT');
    await expectJson(await app('PUT', '/api/users/1', { body: { name: 'Ada L.' } }), 200, { updated: 1 }, 'PUT');
    r = await app('GET', '/api/users');
    assert.equal(r.headers['x-cache'], 'MISS', 'the write invalidated the cached list');
    assert.deepEqual(r.json(), [{ id: 1, name: 'Ada L.', email: 'ada@example.com' }]);
    await expectJson(await app('GET', '/api/users/1'), 200, { id: 1, name: 'Ada L.', email: 'ada@example.com' }, 'GET one');
    await expectJson(await app('GET', '/api/users/9'), 404, { error: 'Not found' }, 'GET a missing user');
    r = await app('POST', '/api/users', { body: { name: 'Twin', email: 'ada@example.com' } });
    expectStatus(r, 409, 'a duplicate email');
    assert.match(r.json().error, /^D1_ERROR: .*UNIQUE constraint failed: users\.email/);
  });

  test('R2: a form upload is served back with ETag and Cache-Control, and 304 on If-None-Match', async () => {
    const content = 'hello from R2 '.repeat(100);
    const form = formWithFile('notes.txt', 'text/plain', content);
    let r = await app('POST', '/upload', form);
    expectStatus(r, 201, 'POST /upload');
    const uploaded = r.json();
    const md5 = crypto.createHash('md5').update(content).digest('hex');
    assert.deepEqual(uploaded, { url: '/assets/uploads/notes.txt', etag: md5, size: content.length });
    r = await app('GET', uploaded.url);
    expectStatus(r, 200, `GET ${uploaded.url}`);
    assert.equal(r.body, content);
    assert.equal(r.headers['content-type'], 'text/plain');
    assert.equal(r.headers['cache-control'], 'public, max-age=31536000');
    assert.equal(r.headers.etag, `"${md5}"`);
    r = await app('GET', uploaded.url, { headers: { 'if-none-match': `"${md5}"` } });
    expectStatus(r, 304, 'GET with a matching If-None-Match');
    assert.equal(r.body, '');
    r = await app('GET', uploaded.url, { headers: { 'if-none-match': '"0123"' } });
    expectStatus(r, 200, 'GET with another ETag');
    expectStatus(await app('GET', '/assets/uploads/none.txt'), 404, 'a missing object');
  });

  test('KV rate limiter: 429 with Retry-After past the limit, per client', async () => {
    for (let i = 0; i < 3; i++) {
      await expectJson(await app('GET', '/limited', { headers: { 'x-client': 'c1' } }), 200, { ok: true }, `request ${i + 1}`);
    }
    const r = await app('GET', '/limited', { headers: { 'x-client': 'c1' } });
    await expectJson(r, 429, { error: 'Rate limit exceeded' }, 'request 4');
    assert.equal(r.headers['retry-after'], '60');
    await expectJson(await app('GET', '/limited', { headers: { 'x-client': 'c2' } }), 200, { ok: true }, 'another client');
  });

  test('feature flags come from KV', async () => {
    await expectJson(await app('GET', '/flags/beta'), 200, { beta: false }, 'no flags yet');
    const r = await fetch(`${edged.admin}${fixture.v4}/storage/kv/namespaces/${fixture.kv}/values/feature-flags`, {
      method: 'PUT', headers: { authorization: `Bearer ${edged.token}` }, body: JSON.stringify({ beta: true }),
    });
    assert.equal(r.status, 200, await r.text());
    await expectJson(await app('GET', '/flags/beta'), 200, { beta: true }, 'after the operator set the flag');
    await expectJson(await app('GET', '/flags/gamma'), 200, { gamma: false }, 'an unset flag');
  });

  test('edge-side rendering: an R2 template, D1 data and a KV page cache', async () => {
    const template = '<!doctype html><title>{{title}}</title><p>{{body}}</p>';
    const put = await fetch(`${edged.admin}${fixture.v4}/r2/buckets/guide-files/objects/templates/home.html`, {
      method: 'PUT', headers: { authorization: `Bearer ${edged.token}`, 'content-type': 'text/html' }, body: template,
    });
    assert.equal(put.status, 200, await put.text());
    let r = await app('GET', '/pages/home');
    expectStatus(r, 200, 'GET /pages/home');
    assert.equal(r.body, '<!doctype html><title>Welcome</title><p>Rendered at the edge.</p>');
    assert.equal(r.headers['x-cache'], 'MISS');
    r = await app('GET', '/pages/home');
    assert.equal(r.headers['x-cache'], 'HIT');
    assert.equal(r.headers['cache-control'], 'public, max-age=60');
    assert.equal(r.body, '<!doctype html><title>Welcome</title><p>Rendered at the edge.</p>');
    expectStatus(await app('GET', '/pages/missing'), 404, 'a page with no template');
  });
});

/* --- Hono -------------------------------------------------------------------------- */

describe('Hono app from npm', () => {
  const hono = (method, urlPath, options) => request('hono.apps.test', method, urlPath, options);
  before(async () => { await deployOk('hono', 'hono-books'); });

  test('a text route, with the middleware header from vars', async () => {
    const r = await hono('GET', '/');
    expectStatus(r, 200, 'GET /');
    assert.equal(r.body, 'welcome to Hono Books');
    assert.equal(r.headers['content-type'], 'text/plain;charset=UTF-8');
    assert.equal(r.headers['x-shop'], 'Hono Books');
  });

  test('query strings filter and limit', async () => {
    await expectJson(await hono('GET', '/api/books'), 200,
      { count: 3, books: ['Dune', 'Emma', 'Neuromancer'] }, 'GET /api/books');
    await expectJson(await hono('GET', '/api/books?tag=sf&limit=1'), 200,
      { count: 2, books: ['Dune'] }, 'GET /api/books?tag=sf&limit=1');
  });

  test('path params, with a pattern, and decoded', async () => {
    await expectJson(await hono('GET', '/api/books/2'), 200,
      { id: 2, title: 'Emma', author: 'Jane Austen', tags: ['classic'] }, 'GET /api/books/2');
    await expectJson(await hono('GET', '/api/books/99'), 404, { error: 'no such book' }, 'GET /api/books/99');
    await expectJson(await hono('GET', '/api/authors/Ursula%20K.%20Le%20Guin/books/Earthsea?tag=a&tag=b%26c'), 200,
      { author: 'Ursula K. Le Guin', title: 'Earthsea', tags: ['a', 'b&c'] }, 'GET /api/authors/…/books/…');
  });

  test('a JSON body creates a book; a bad one is 400', async () => {
    const r = await hono('POST', '/api/books', { body: { title: 'Kindred', author: 'Octavia E. Butler', tags: ['sf'] } });
    const kindred = { id: 4, title: 'Kindred', author: 'Octavia E. Butler', tags: ['sf'] };
    await expectJson(r, 201, kindred, 'POST /api/books');
    assert.equal(r.headers.location, '/api/books/4');
    await expectJson(await hono('GET', '/api/books/4'), 200, kindred, 'GET /api/books/4');
    await expectJson(await hono('POST', '/api/books', { body: '{"title": ' }), 400,
      { error: 'body is not valid JSON' }, 'POST truncated JSON');
    await expectJson(await hono('POST', '/api/books', { body: { title: 'Untitled' } }), 400,
      { error: 'title and author are required' }, 'POST without an author');
  });

  test('unknown paths and methods get the app\'s 404', async () => {
    await expectJson(await hono('GET', '/api/books/dune'), 404, { error: 'not found', path: '/api/books/dune' }, 'GET /api/books/dune');
    await expectJson(await hono('GET', '/nowhere'), 404, { error: 'not found', path: '/nowhere' }, 'GET /nowhere');
    await expectJson(await hono('DELETE', '/api/books/1'), 404, { error: 'not found', path: '/api/books/1' }, 'DELETE /api/books/1');
  });

  test("hono/cors answers preflights and marks API responses", async () => {
    const origin = { origin: 'https://shop.example' };
    let r = await hono('OPTIONS', '/api/books', { headers: { ...origin, 'access-control-request-method': 'POST' } });
    expectStatus(r, 204, 'OPTIONS /api/books');
    assert.equal(r.headers['access-control-allow-origin'], 'https://shop.example');
    assert.equal(r.headers['access-control-allow-methods'], 'GET,POST');
    r = await hono('GET', '/api/books', { headers: origin });
    expectStatus(r, 200, 'GET /api/books with Origin');
    assert.equal(r.headers['access-control-allow-origin'], 'https://shop.example');
  });
});

/* --- itty-router ----------------------------------------------------------------- */

describe('itty-router app from npm', () => {
  const itty = (method, urlPath, options) => request('itty.apps.test', method, urlPath, options);
  before(async () => { await deployOk('itty', 'itty-todos'); });

  test('AutoRouter formats what handlers return as JSON', async () => {
    await expectJson(await itty('GET', '/'), 200, "itty tester's to-do list", 'GET /');
  });

  test('query strings filter', async () => {
    const all = [{ id: 1, title: 'write the worker', done: true }, { id: 2, title: 'deploy it with edgectl', done: false }];
    await expectJson(await itty('GET', '/todos'), 200, { owner: 'itty', todos: all }, 'GET /todos');
    await expectJson(await itty('GET', '/todos?done=false'), 200, { owner: 'itty', todos: [all[1]] }, 'GET /todos?done=false');
  });

  test('path params, including a greedy one, and repeated query keys', async () => {
    await expectJson(await itty('GET', '/todos/2'), 200, { id: 2, title: 'deploy it with edgectl', done: false }, 'GET /todos/2');
    await expectJson(await itty('GET', '/todos/9'), 404, { status: 404, error: 'todo 9 not found' }, 'GET /todos/9');
    await expectJson(await itty('GET', '/files/docs/2025/notes.txt?tag=x&tag=y'), 200,
      { path: 'docs/2025/notes.txt', tags: ['x', 'y'] }, 'GET /files/…');
  });

  test('JSON bodies create and update; a bad one is 400', async () => {
    const r = await itty('POST', '/todos', { body: { title: 'assert over HTTP' } });
    await expectJson(r, 201, { id: 3, title: 'assert over HTTP', done: false }, 'POST /todos');
    assert.equal(r.headers.location, '/todos/3');
    await expectJson(await itty('PATCH', '/todos/3', { body: { done: true } }), 200,
      { id: 3, title: 'assert over HTTP', done: true }, 'PATCH /todos/3');
    await expectJson(await itty('GET', '/todos/3'), 200, { id: 3, title: 'assert over HTTP', done: true }, 'GET /todos/3');
    await expectJson(await itty('POST', '/todos', { body: 'title=x' }), 400,
      { status: 400, error: 'body is not valid JSON' }, 'POST a form body');
    await expectJson(await itty('PATCH', '/todos/3', { body: { done: 'yes' } }), 400,
      { status: 400, error: 'done must be a boolean' }, 'PATCH a string');
  });

  test('unknown paths and methods are 404', async () => {
    await expectJson(await itty('GET', '/nowhere'), 404, { status: 404, error: 'Not Found' }, 'GET /nowhere');
    await expectJson(await itty('DELETE', '/todos/1'), 404, { status: 404, error: 'Not Found' }, 'DELETE /todos/1');
  });
});

// End-to-end tests of edgectl (sdk-js/cli) against a real edged.
// Usage: node tests/cli/run.mjs EDGED_BIN EDGED_JSC   (ctest: cli_edgectl)
import { CLI_DIR, EDGECTL, FIXTURES, cliArgs, scratchDir, testConfig } from './common.mjs';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';

const [EDGED_BIN, EDGED_JSC] = cliArgs('run.mjs');

const { startEdged } = await import(path.join(CLI_DIR, 'lib/edged.js'));
const { hasLookbehind, regexpProblems } = await import(path.join(CLI_DIR, 'lib/checks.js'));
// The build-time rewrites' own suite (lib/transforms.js) runs as part of this one.
await import('./transforms.test.mjs');

let edged;
// edged's stderr (its log), line by line.
const edgedLog = [];
const scratch = scratchDir('edgectl-test-');

before(async () => {
  const dir = fs.mkdtempSync(path.join(scratch, 'edged-'));
  edged = await startEdged({
    bin: EDGED_BIN, dir, config: testConfig(dir), onLog: (line) => edgedLog.push(line),
  });
});

after(async () => {
  if (edged) await edged.stop();
  fs.rmSync(scratch, { recursive: true, force: true });
});

function baseEnv(extra = {}) {
  const env = { ...process.env };
  delete env.EDGED_ACCOUNT;
  return { ...env, EDGED_BIN, EDGED_JSC, ...extra };
}

// Runs edgectl to completion: { code, stdout, stderr }.
function edgectl(args, { cwd, env = {} } = {}) {
  const child = spawn(process.execPath, [EDGECTL, ...args], {
    cwd,
    env: baseEnv({ EDGED_API: edged.admin, EDGED_TOKEN: edged.token, ...env }),
    stdio: ['ignore', 'pipe', 'pipe'],
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

function assertOk(r) {
  assert.equal(r.code, 0, `edgectl failed:\n${r.stdout}${r.stderr}`);
}

// GET http://HOST/PATH through edged's public listener.
function get(host, urlPath = '/', base = edged.public) {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    http.get({ host: u.hostname, port: u.port, path: urlPath, headers: { host } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode, body }));
    }).on('error', reject);
  });
}

async function getJson(host, urlPath) {
  const r = await get(host, urlPath);
  assert.equal(r.status, 200, `GET ${host}${urlPath}: ${r.status} ${r.body}`);
  return JSON.parse(r.body);
}

// A copy of a fixture project in the scratch dir, with files replaced or added.
function project(fixture, files = {}) {
  const dir = fs.mkdtempSync(path.join(scratch, `${fixture || 'inline'}-`));
  if (fixture) fs.cpSync(path.join(FIXTURES, fixture), dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
  return dir;
}

async function adminGet(urlPath) {
  const res = await fetch(edged.admin + urlPath, { headers: { authorization: `Bearer ${edged.token}` } });
  return (await res.json()).result;
}

describe('edgectl deploy: a modern TypeScript Worker lowered to ES5', () => {
  let answer;
  before(async () => {
    assertOk(await edgectl(['deploy'], { cwd: path.join(FIXTURES, 'modern') }));
    answer = await getJson('modern.cli.test', '/');
  });

  // Each feature's result as Node computes it from the same source.
  const expected = {
    classSuper: 'a square of side 2',
    classPrivate: { area: 25, history: [2, 3], isShape: true },
    asyncAwait: 42,
    asyncGenerator: [3, 2, 1],
    spread: { array: [0, 1, 2, 3], object: { x: 1, y: 5, z: 6 }, max: 2 },
    destructuring: { a: 1, first: 2, rest: [3, 4], others: { c: 5, d: 6 }, x: 10, z: 'z' },
    optionalChaining: ['fallback', 'none', null, 0],
    templateLiteral: ['3 x 3 = 9', 'a|b|c1,2'],
    mapForOf: ['a=1', 'b=2', 'c=3'],
    setForOf: { size: 3, order: [3, 1, 2], spread: 'helo' },
    objectEntries: [['x', 1], ['y', 'two']],
    arrayIncludes: [true, false],
    vars: { greeting: 'hello from wrangler.toml', max: 3, names: ['a', 'b'] },
  };
  for (const [feature, value] of Object.entries(expected)) {
    test(feature, () => assert.deepEqual(answer[feature], value));
  }

  test('every route of wrangler.toml serves it, once', async () => {
    assert.deepEqual((await getJson('modern.cli.test', '/v2/x')).classSuper, expected.classSuper);
    const routes = await adminGet('/client/v4/accounts/cli-modern/workers/routes');
    assert.deepEqual(routes.map((r) => [r.pattern, r.script]).sort(),
      [['modern.cli.test/*', 'modern'], ['modern.cli.test/v2/*', 'modern']]);
  });
});

describe('edgectl deploy: vars, redeploys and routes', () => {
  test('the worker sees vars; a second deploy changes the answer; routes stay single', async () => {
    const dir = project('vars');
    const env = { EDGED_ACCOUNT: 'cli-vars' };
    const first = await edgectl(['deploy'], { cwd: dir, env });
    assertOk(first);
    const v1 = /deployed vars version (\d+)/.exec(first.stdout);
    assert.ok(v1, first.stdout);
    assert.deepEqual(await getJson('vars.cli.test', '/'),
      { greeting: 'hello', limits: { max: 3, names: ['a', 'b'] }, revision: 1 });

    const toml = fs.readFileSync(path.join(dir, 'wrangler.toml'), 'utf8');
    fs.writeFileSync(path.join(dir, 'wrangler.toml'), toml.replace('GREETING = "hello"', 'GREETING = "bonjour"'));
    const source = fs.readFileSync(path.join(dir, 'src/index.ts'), 'utf8');
    fs.writeFileSync(path.join(dir, 'src/index.ts'), source.replace('REVISION = 1', 'REVISION = 2'));
    const second = await edgectl(['deploy', '--config', path.join(dir, 'wrangler.toml')], { env });
    assertOk(second);
    const v2 = /deployed vars version (\d+)/.exec(second.stdout);
    assert.ok(v2 && Number(v2[1]) > Number(v1[1]), second.stdout);
    assert.deepEqual(await getJson('vars.cli.test', '/'),
      { greeting: 'bonjour', limits: { max: 3, names: ['a', 'b'] }, revision: 2 });
    const routes = await adminGet('/client/v4/accounts/cli-vars/workers/routes');
    assert.deepEqual(routes.map((r) => r.pattern), ['vars.cli.test/*']);
  });

  test('wrangler.json works like wrangler.toml', async () => {
    const dir = project('vars', {
      'wrangler.json': JSON.stringify({
        name: 'json-vars', main: 'src/index.ts', account_id: 'cli-json',
        routes: [{ pattern: 'json.cli.test/*' }], vars: { GREETING: 'from json', LIMITS: { max: 1, names: [] } },
      }),
    });
    fs.rmSync(path.join(dir, 'wrangler.toml'));
    assertOk(await edgectl(['deploy'], { cwd: dir }));
    assert.deepEqual(await getJson('json.cli.test', '/'),
      { greeting: 'from json', limits: { max: 1, names: [] }, revision: 1 });
  });

  test('an unsupported config key is refused by name', async () => {
    const dir = project('vars');
    fs.appendFileSync(path.join(dir, 'wrangler.toml'),
      '\n[[durable_objects.bindings]]\nname = "ROOM"\nclass_name = "Room"\n');
    const r = await edgectl(['deploy'], { cwd: dir, env: { EDGED_ACCOUNT: 'cli-vars' } });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /wrangler\.toml: 'durable_objects' is not supported by edged/);
  });

  test("the API's error is told at the original file and line", async () => {
    const dir = project(null, {
      'wrangler.toml': 'name = "throws"\nmain = "src/index.ts"\naccount_id = "cli-throws"\n',
      'src/index.ts': [
        '// The global scope throws: the upload is refused.',
        'const config: { port?: number } = {};',
        'if (config.port === undefined) {',
        "  throw new Error('port is not configured');",
        '}',
        'export default { fetch: () => new Response(String(config.port)) };',
        '',
      ].join('\n'),
    });
    const r = await edgectl(['deploy'], { cwd: dir });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^src\/index\.ts:4: edged rejected the script: Error: port is not configured$/m);
  });

  test('a wrong token is reported with the API message', async () => {
    const r = await edgectl(['deploy'], { cwd: path.join(FIXTURES, 'vars'), env: { EDGED_TOKEN: 'wrong', EDGED_ACCOUNT: 'cli-vars' } });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /auth/i);
  });
});

// A stand-in for edged's admin API that records what edgectl deploy sends:
// { url, close, uploads: [{ account, name, metadata, files }] }.
async function recordingApi() {
  const uploads = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const reply = (result) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ success: true, errors: [], messages: [], result }));
      };
      const script = /^\/client\/v4\/accounts\/([^/]+)\/workers\/scripts\/([^/]+)$/.exec(req.url);
      if (req.method === 'PUT' && script) {
        const form = await new Response(Buffer.concat(chunks), {
          headers: { 'content-type': req.headers['content-type'] },
        }).formData();
        const metadata = JSON.parse(await form.get('metadata').text());
        const files = [...form.keys()].filter((k) => k !== 'metadata');
        uploads.push({ account: decodeURIComponent(script[1]), name: decodeURIComponent(script[2]), metadata, files });
        reply({ id: script[2], version_id: uploads.length });
      } else if (req.method === 'GET' && /\/workers\/routes$/.test(req.url)) {
        reply([]);
      } else if (req.method === 'POST' && /\/workers\/routes$/.test(req.url)) {
        reply({ id: 'route-1' });
      } else {
        reply({});
      }
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    uploads,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

// POST to edged's admin API; resolves to the envelope's result (fails the test otherwise).
async function adminPost(urlPath, json) {
  const res = await fetch(edged.admin + urlPath, {
    method: 'POST',
    headers: { authorization: `Bearer ${edged.token}`, 'content-type': 'application/json' },
    body: JSON.stringify(json),
  });
  const text = await res.text();
  assert.equal(res.status, 200, `POST ${urlPath}: ${res.status} ${text}`);
  return JSON.parse(text).result;
}

describe('edgectl deploy: KV, D1 and R2 bindings from wrangler.toml', () => {
  test('the upload metadata carries each storage binding; preview resources are left out', async () => {
    const api = await recordingApi();
    try {
      const r = await edgectl(['deploy'], {
        cwd: path.join(FIXTURES, 'storage'), env: { EDGED_API: api.url, EDGED_TOKEN: 'recorder' },
      });
      assertOk(r);
      assert.equal(api.uploads.length, 1);
      const [upload] = api.uploads;
      assert.equal(upload.account, 'cli-storage-meta');
      assert.equal(upload.name, 'storage');
      assert.deepEqual(upload.files, ['worker.js']);
      assert.deepEqual(upload.metadata.bindings, [
        { type: 'plain_text', name: 'GREETING', text: 'hello from storage' },
        { type: 'kv_namespace', name: 'KV', namespace_id: '0f2ac74b498b48028cb68387c421e279' },
        { type: 'd1', name: 'DB', id: '4f4b3b9e-3c3b-4b7e-9d83-2f1e0c7a5d11' },
        { type: 'r2_bucket', name: 'BUCKET', bucket_name: 'storage-files' },
      ]);
      assert.equal(upload.metadata.main_module, 'worker.js');
    } finally {
      await api.close();
    }
  });

  test('wrangler.json storage arrays give the same bindings', async () => {
    const dir = project('storage', {
      'wrangler.json': JSON.stringify({
        name: 'storage-json', main: 'src/index.ts', account_id: 'cli-storage-json',
        kv_namespaces: [{ binding: 'CACHE', id: 'aa', preview_id: 'bb' }],
        d1_databases: [{ binding: 'SQL', database_name: 'main', database_id: 'cc' }],
        r2_buckets: [{ binding: 'FILES', bucket_name: 'dd' }],
      }),
    });
    fs.rmSync(path.join(dir, 'wrangler.toml'));
    const api = await recordingApi();
    try {
      assertOk(await edgectl(['deploy'], { cwd: dir, env: { EDGED_API: api.url, EDGED_TOKEN: 'recorder' } }));
      assert.deepEqual(api.uploads[0].metadata.bindings, [
        { type: 'kv_namespace', name: 'CACHE', namespace_id: 'aa' },
        { type: 'd1', name: 'SQL', id: 'cc' },
        { type: 'r2_bucket', name: 'FILES', bucket_name: 'dd' },
      ]);
    } finally {
      await api.close();
    }
  });

  const refusals = [
    ['a KV namespace without id', '[[kv_namespaces]]\nbinding = "KV2"\n', /kv_namespaces\[1\] needs 'id' \(a string\)/],
    ['a D1 database without database_id', '[[d1_databases]]\nbinding = "DB2"\ndatabase_name = "x"\n',
      /d1_databases\[1\] needs 'database_id' \(a string\)/],
    ['an R2 bucket without binding', '[[r2_buckets]]\nbucket_name = "x"\n', /r2_buckets\[1\] needs 'binding' \(a string\)/],
    ['an unknown member', '[[r2_buckets]]\nbinding = "B2"\nbucket_name = "x"\njurisdiction = "eu"\n',
      /'jurisdiction' in r2_buckets\[1\] is not supported by edged/],
    ['a name used twice', '[[kv_namespaces]]\nbinding = "GREETING"\nid = "x"\n', /binding 'GREETING' is defined twice/],
  ];
  for (const [what, toml, message] of refusals) {
    test(`${what} is refused with the table and member named`, async () => {
      const dir = project('storage');
      fs.appendFileSync(path.join(dir, 'wrangler.toml'), `\n${toml}`);
      const r = await edgectl(['deploy'], { cwd: dir, env: { EDGED_API: 'http://127.0.0.1:9', EDGED_TOKEN: 'x' } });
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stderr, message);
    });
  }

  test('a Worker deployed with KV, D1 and R2 bindings counts and logs visits on edged', async () => {
    const account = 'cli-storage';
    const res = await fetch(`${edged.admin}/edged/v1/tenants/${account}`, {
      method: 'PUT', headers: { authorization: `Bearer ${edged.token}`, 'content-type': 'application/json' }, body: '{}',
    });
    assert.equal(res.status, 200, await res.text());
    const ns = await adminPost(`/client/v4/accounts/${account}/storage/kv/namespaces`, { title: 'cli-visits' });
    const db = await adminPost(`/client/v4/accounts/${account}/d1/database`, { name: 'cli-visits' });
    await adminPost(`/client/v4/accounts/${account}/r2/buckets`, { name: 'cli-visits' });
    assert.match(ns.id, /^[0-9a-f]{32}$/);
    assert.match(db.uuid, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    const dir = project('storage', {
      'wrangler.toml': [
        'name = "storage"', 'main = "src/index.ts"', `account_id = "${account}"`, 'route = "storage.cli.test/*"',
        '[vars]', 'GREETING = "hello from storage"',
        '[[kv_namespaces]]', 'binding = "KV"', `id = "${ns.id}"`,
        '[[d1_databases]]', 'binding = "DB"', 'database_name = "cli-visits"', `database_id = "${db.uuid}"`,
        '[[r2_buckets]]', 'binding = "BUCKET"', 'bucket_name = "cli-visits"', '',
      ].join('\n'),
    });
    assertOk(await edgectl(['deploy'], { cwd: dir }));
    assert.deepEqual(await getJson('storage.cli.test', '/?who=ann'), {
      greeting: 'hello from storage', visits: 1, logged: [1], metadata: { by: 'storage' },
      bucket: ['visits/ann/1'],
    });
    assert.deepEqual(await getJson('storage.cli.test', '/?who=ann'), {
      greeting: 'hello from storage', visits: 2, logged: [1, 2], metadata: { by: 'storage' },
      bucket: ['visits/ann/1', 'visits/ann/2'],
    });
    assert.deepEqual(await getJson('storage.cli.test', '/?who=bob'), {
      greeting: 'hello from storage', visits: 1, logged: [1], metadata: { by: 'storage' },
      bucket: ['visits/bob/1'],
    });
  });
});

// Resolves with the lines of edged's log from `from` on once one matches `re`.
async function waitLog(re, from = 0, timeoutMs = 10000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const lines = edgedLog.slice(from);
    if (lines.some((l) => re.test(l))) return lines;
    if (Date.now() > deadline) assert.fail(`no log line matches ${re}:\n${lines.join('\n')}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('uncaught exceptions are logged at their original place', () => {
  // The throw in tests/cli/fixtures/throws/src/handler.ts.
  const THROW_LINE = 12;

  test('the stack names src/handler.ts and the line of the throw', async () => {
    const dir = path.join(FIXTURES, 'throws');
    const source = fs.readFileSync(path.join(dir, 'src/handler.ts'), 'utf8').split('\n');
    assert.match(source[THROW_LINE - 1], /throw new Error/);
    assertOk(await edgectl(['deploy'], { cwd: dir }));
    const from = edgedLog.length;
    const r = await get('throws.cli.test', '/?id=42');
    assert.equal(r.status, 500);
    assert.match(r.body, /error code: 1101/);
    const lines = await waitLog(new RegExp(`src/handler\\.ts:${THROW_LINE} \\(worker\\.js:\\d+\\)`), from);
    const log = lines.join('\n');
    assert.match(log, /tenant 'cli-throws-log' worker 'throws'.*Uncaught Error: order 42 has no items/);
  });

  test('the line table is appended last and can be left out', async () => {
    const dir = path.join(FIXTURES, 'throws');
    const out = path.join(scratch, 'throws.js');
    const { build } = await import(path.join(CLI_DIR, 'lib/build.js'));
    const cwd = process.cwd();
    process.chdir(dir);
    let withTable;
    let without;
    try {
      withTable = await build('src/index.ts', { outfile: out, check: false });
      without = await build('src/index.ts', { check: false, lineTable: false });
    } finally {
      process.chdir(cwd);
    }
    const lines = withTable.code.split('\n');
    assert.match(lines[lines.length - 2], /^var __edged_lines = \{"sources":\["src\/index\.ts","src\/handler\.ts"\],"lines":"[-0-9:*,]*"\};$/);
    assert.equal(withTable.code.slice(0, without.code.length), without.code);
    assert.doesNotMatch(without.code, /__edged_lines/);
  });
});

describe('edgectl build: what edged cannot run is refused at its source', () => {
  test('a RegExp lookbehind names the original file and line', async () => {
    const r = await edgectl(['build', 'src/index.ts', '-o', path.join(scratch, 'lookbehind.js')],
      { cwd: path.join(FIXTURES, 'lookbehind') });
    assert.notEqual(r.code, 0);
    assert.equal(r.stderr.trim(), "src/index.ts:7: RegExp lookbehind is not supported by edged's JavaScript engine");
    assert.equal(fs.existsSync(path.join(scratch, 'lookbehind.js')), false);
  });

  test('BigInt literals, u flags and top-level await name their line', async () => {
    const dir = project(null, {
      'big.ts': 'export const a = 1;\nexport const b = 2n ** 64n;\n',
      'uflag.ts': "import { x } from './lib/x';\nexport default { x };\n",
      'lib/x.ts': '// a dependency\nexport const x = /\\p{L}+/u;\n',
      'tla.ts': 'const c = await Promise.resolve(1);\nexport default { c };\n',
    });
    const big = await edgectl(['build', 'big.ts', '-o', 'out.js'], { cwd: dir });
    assert.equal(big.code, 1);
    assert.equal(big.stderr.trim(), "big.ts:2: BigInt literals are not supported by edged's JavaScript engine");
    const uflag = await edgectl(['build', 'uflag.ts', '-o', 'out.js'], { cwd: dir });
    assert.equal(uflag.code, 1);
    assert.equal(uflag.stderr.trim(), "lib/x.ts:2: RegExp flag 'u' is not supported by edged's JavaScript engine");
    const tla = await edgectl(['build', 'tla.ts', '-o', 'out.js'], { cwd: dir });
    assert.equal(tla.code, 1);
    assert.match(tla.stderr, /^tla\.ts:1: top-level await is not supported by edged/);
  });

  test('look-alikes in strings, comments, templates and classes pass', async () => {
    const dir = project(null, {
      'ok.ts': [
        '// a comment: /(?<=a)b/u and 10n',
        '/* block: 2n ** 64n, /x/v */',
        'const s = "/(?<=\\\\$)\\\\d+/u 5n";',
        'const t = `${s} /(?<!a)/u ${1 + 2}n`;',
        'const escaped = /\\(?<=x\\)/g;',
        'const inClass = /[(?<=]+/;',
        'const named = /(?<year>\\d{4})/;',
        'export default { fetch: () => new Response(s + t + escaped.source + inClass.source + named.source) };',
        '',
      ].join('\n'),
    });
    const r = await edgectl(['build', 'ok.ts', '-o', 'out.js', '--sourcemap'], { cwd: dir });
    assertOk(r);
    assert.equal(r.stderr, '');
    const out = fs.readFileSync(path.join(dir, 'out.js'), 'utf8');
    assert.match(out, /var __worker =/);
    assert.doesNotMatch(out, /=>|\bconst\b|`/);
    assert.match(out, /\/\/# sourceMappingURL=out\.js\.map\n$/);
    const map = JSON.parse(fs.readFileSync(path.join(dir, 'out.js.map'), 'utf8'));
    assert.deepEqual(map.sources, ['ok.ts']);
  });

  test('the pre-check reads RegExp patterns, not text', () => {
    assert.equal(hasLookbehind('(?<=a)b'), true);
    assert.equal(hasLookbehind('(?<!a)b'), true);
    assert.equal(hasLookbehind('\\(?<=a'), false);
    assert.equal(hasLookbehind('[(?<=]'), false);
    assert.equal(hasLookbehind('(?<name>a)'), false);
    assert.deepEqual(regexpProblems('a', 'gi'), []);
    assert.equal(regexpProblems('a', 'v')[0].fatal, true);
    assert.equal(regexpProblems('a', 's')[0].fatal, false);
  });

  test("what only Duktape refuses is found by edged-jsc and mapped back", async () => {
    const dir = project(null, {
      'src/index.ts': "import { matches } from './match';\nexport default { fetch: () => new Response(String(matches('b'))) };\n",
      'src/match.ts': [
        '// Quantified lookahead: Annex B JavaScript, but not for Duktape.',
        'export function matches(s: string): boolean {',
        '  const ok = s.length > 0;',
        '  return ok && /(?=a)*b/.test(s);',
        '}',
        '',
      ].join('\n'),
    });
    const r = await edgectl(['build', 'src/index.ts', '-o', 'out.js'], { cwd: dir });
    assert.equal(r.code, 1);
    assert.equal(r.stderr.trim(),
      "src/match.ts:4: edged's JavaScript engine cannot compile this: SyntaxError: quantifier without preceding atom");
    assert.deepEqual(fs.readdirSync(dir).filter((f) => f.startsWith('out.js')), []);
  });

  test('cloudflare:workers resolves to base classes, node:* to the runtime', async () => {
    const dir = project(null, {
      'do.ts': [
        "import { DurableObject, WorkerEntrypoint } from 'cloudflare:workers';",
        "import { Buffer } from 'node:buffer';",
        'export class Room extends DurableObject { hello() { return (this as any).env; } }',
        'export class Api extends WorkerEntrypoint {}',
        'export default { fetch: () => new Response(typeof Buffer) };',
        '',
      ].join('\n'),
    });
    assertOk(await edgectl(['build', 'do.ts', '-o', 'out.js'], { cwd: dir }));
    const out = fs.readFileSync(path.join(dir, 'out.js'), 'utf8');
    assert.match(out, /__edged_builtin\("cloudflare:workers"\)/);
    assert.match(out, /load\("node:buffer"\)/);
  });
});

describe('edged-jsc --check', () => {
  test('prints LINE: MESSAGE and exits 1 on what Duktape rejects', async () => {
    const bad = path.join(scratch, 'bad.js');
    const good = path.join(scratch, 'good.js');
    fs.writeFileSync(bad, 'var a = 1;\nvar b = 2;\nvar r = /(?<=a)b/;\n');
    fs.writeFileSync(good, 'var __worker = { default: { fetch: function () { return 1; } } };\n');
    const run = (file) => new Promise((resolve) => {
      const child = spawn(EDGED_JSC, ['--check', file]);
      let out = '';
      child.stdout.on('data', (c) => { out += c; });
      child.on('close', (code) => resolve({ code, out }));
    });
    assert.deepEqual(await run(bad), { code: 1, out: '3: SyntaxError: invalid regexp group\n' });
    assert.deepEqual(await run(good), { code: 0, out: '' });
    assert.equal((await run(path.join(scratch, 'missing.js'))).code, 2);
  });
});

describe('edgectl dev', () => {
  test('serves on localhost, redeploys on change, stops edged on Ctrl-C', { timeout: 120000 }, async () => {
    const dir = project('vars');
    const child = spawn(process.execPath, [EDGECTL, 'dev'], {
      cwd: dir, env: baseEnv(), stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (c) => { stderr += c; });
    const lines = [];
    const waiters = [];
    let pending = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      pending += chunk;
      let nl;
      while ((nl = pending.indexOf('\n')) !== -1) {
        lines.push(pending.slice(0, nl));
        pending = pending.slice(nl + 1);
        for (const w of [...waiters]) w();
      }
    });
    const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    // Resolves with the first stdout line matching `re`; rejects if edgectl exits first.
    const waitLine = (re) => new Promise((resolve, reject) => {
      const check = () => {
        const hit = lines.find((l) => re.test(l));
        if (!hit) return;
        waiters.splice(waiters.indexOf(check), 1);
        resolve(hit);
      };
      waiters.push(check);
      check();
      // A failed deploy does not end dev (it waits for a fix); here it ends the wait.
      const failed = () => {
        if (lines.some((l) => /^deploy failed/.test(l))) reject(new Error(`edgectl dev:\n${lines.join('\n')}\n${stderr}`));
      };
      waiters.push(failed);
      failed();
      exited.then(() => reject(new Error(`edgectl dev exited:\n${lines.join('\n')}\n${stderr}`)));
    });
    try {
      const serving = await waitLine(/curl http:\/\/localhost:\d+\//);
      const base = `http://127.0.0.1:${/localhost:(\d+)/.exec(serving)[1]}`;
      await waitLine(/^deployed vars version \d+$/);
      let r = await get('localhost', '/', base);
      assert.equal(r.status, 200, r.body);
      assert.equal(JSON.parse(r.body).revision, 1);

      const file = path.join(dir, 'src/index.ts');
      fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('REVISION = 1', 'REVISION = 2'));
      await waitLine(/^redeployed vars version \d+$/);
      r = await get('localhost', '/', base);
      assert.equal(JSON.parse(r.body).revision, 2);

      child.kill('SIGINT');
      assert.deepEqual(await exited, { code: 0, signal: null });
      await assert.rejects(get('localhost', '/', base), /ECONNREFUSED/);
    } finally {
      // SIGTERM, not SIGKILL: edgectl dev then stops its edged too.
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
    }
  });
});

// edgectl's build-time rewrites (sdk-js/cli/lib/transforms.js): RegExp `s`
// flags and `__proto__` in object literals.  The rewritten code must behave
// in Node exactly as the original does, and the build must still report
// problems at the original lines.  Run by tests/cli/run.mjs (ctest
// cli_edgectl), or alone: node tests/cli/transforms.test.mjs [EDGED_BIN EDGED_JSC].
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import vm from 'node:vm';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const CLI_DIR = path.resolve(HERE, '../../sdk-js/cli');
const EDGED_JSC = process.argv[3] ? path.resolve(process.argv[3]) : null;

const { dotAllPattern, rewritesDotAll, isProtoSetter, transformBundle, mapThrough, applyEdits } =
  await import(path.join(CLI_DIR, 'lib/transforms.js'));
const { parseBundle, scanBundle } = await import(path.join(CLI_DIR, 'lib/checks.js'));
const { SourceMap } = await import(path.join(CLI_DIR, 'lib/sourcemap.js'));

function rewrite(code) {
  return transformBundle(parseBundle(code), { version: 3, sources: [], names: [], mappings: '' }).code;
}

// Runs `code` (a script whose completion value is the result) in a fresh context.
function run(code) {
  return vm.runInNewContext(code, { result: undefined });
}

// The original and the rewritten script give the same JSON result.
function sameResult(code) {
  const rewritten = rewrite(code);
  assert.notEqual(rewritten, code, 'nothing was rewritten');
  assert.equal(JSON.stringify(run(rewritten)), JSON.stringify(run(code)), rewritten);
  return rewritten;
}

describe('RegExp s flag', () => {
  test('a dot outside classes and escapes matches any character', () => {
    assert.equal(dotAllPattern('a.b'), 'a[^]b');
    assert.equal(dotAllPattern('.*'), '[^]*');
    assert.equal(dotAllPattern('\\.'), '\\.');
    assert.equal(dotAllPattern('\\\\.'), '\\\\[^]');
    assert.equal(dotAllPattern('[.]'), '[.]');
    assert.equal(dotAllPattern('[^.].'), '[^.][^]');
    assert.equal(dotAllPattern('[\\].]+.'), '[\\].]+[^]');
    assert.equal(dotAllPattern('[\\]]'), '[\\]]');
    assert.equal(dotAllPattern('[]..'), '[][^][^]');
    assert.equal(dotAllPattern('(?:.)|\\x2e|[a-z.]'), '(?:[^])|\\x2e|[a-z.]');
    assert.equal(dotAllPattern('\\d+'), '\\d+');
  });

  test('only s is dropped; u and v are left for the checks to refuse', () => {
    assert.equal(rewritesDotAll('s'), true);
    assert.equal(rewritesDotAll('gimsy'), true);
    assert.equal(rewritesDotAll('gi'), false);
    assert.equal(rewritesDotAll('su'), false);
    assert.equal(rewritesDotAll('sv'), false);
    assert.equal(rewrite('x = /a.b/gims;'), 'x = /a[^]b/gim;');
    assert.equal(rewrite('x = /a.b/sy;'), 'x = /a[^]b/y;');
  });

  test('the rewritten literals match what the originals matched', () => {
    const rewritten = sameResult([
      'var inputs = ["a\\nb", "a.b", "a]b", "ab", "\\u2028x\\r"];',
      'var res = [/a.b/s, /a\\.b/s, /a[.]b/s, /a[\\]]b/s, /^.+$/s, /(?::[^\\/]+)|(?:\\/\\*$)|./gs, /[^]/s];',
      'res.map(function (re) { return inputs.map(function (s) { return [re.test(s), s.match(re)]; }); });',
    ].join('\n'));
    assert.doesNotMatch(rewritten, /\/[a-z]*s[a-z]*[,\]]/);
    // What does differ: the flags no longer say `s` (`dotAll` is false).
    assert.equal(run(rewrite('/a.b/gs.flags')), 'g');
  });

  test('text that only looks like a literal is left alone', () => {
    const code = 'var s = "/a.b/s", t = `/a.b/s ${1}`; // /a.b/s\n/* /a.b/s */ var n = 4 /a.b/ 2;';
    assert.equal(rewrite(code), code);
  });

  test("the s warning is gone where the rewrite applies; y's stays", () => {
    const scan = (code) => scanBundle(parseBundle(code)).map((p) => `${p.fatal ? 'error' : 'warning'}: ${p.message}`);
    assert.deepEqual(scan('var a = /a.b/s, b = /x/y;'), [
      "warning: RegExp flag 'y' is not supported by edged's JavaScript engine: the expression throws when it is evaluated",
    ]);
    assert.ok(scan('var c = /./su;').includes("error: RegExp flag 'u' is not supported by edged's JavaScript engine"));
  });
});

describe('__proto__ in object literals', () => {
  const prop = (code) => parseBundle(`x = ${code};`).ast.body[0].expression.right.properties[0];

  test('only the Annex B forms set the prototype', () => {
    assert.equal(isProtoSetter(prop('{ __proto__: p }')), true);
    assert.equal(isProtoSetter(prop('{ "__proto__": p }')), true);
    assert.equal(isProtoSetter(prop("{ '__pr\\u006fto__': p }")), true);
    assert.equal(isProtoSetter(prop('{ ["__proto__"]: p }')), false);
    assert.equal(isProtoSetter(prop('{ __proto__ }')), false);
    assert.equal(isProtoSetter(prop('{ __proto__() {} }')), false);
    assert.equal(isProtoSetter(prop('{ get __proto__() {} }')), false);
  });

  test('the prototype is set, and no helper key is left behind', () => {
    sameResult([
      'var base = { greet: function () { return "hi " + this.name; } };',
      'var o = { __proto__: base, name: "ada" }, s = { "__proto__": base, name: "bob" };',
      'var nul = { __proto__: null, a: 1 }, num = { __proto__: 5, b: 2 }, str = { a: 1, __proto__: "x" };',
      'var nested = { __proto__: { __proto__: base, name: "inner" } };',
      '[o.greet(), s.greet(), Object.keys(o), Object.getOwnPropertyNames(s), Object.getPrototypeOf(o) === base,',
      ' Object.getPrototypeOf(nul) === null, Object.keys(nul), Object.getPrototypeOf(num) === Object.prototype,',
      ' Object.keys(num), Object.getPrototypeOf(str) === Object.prototype, nested.greet(), Object.keys(nested)];',
    ].join('\n'));
  });

  test('computed, shorthand and method __proto__ are ordinary properties', () => {
    const code = [
      'var __proto__ = { p: 1 };',
      'var a = { ["__proto__"]: __proto__ }, b = { __proto__ }, c = { __proto__() { return 3; } };',
      '[Object.getOwnPropertyNames(a), Object.getPrototypeOf(a) === Object.prototype,',
      ' Object.getOwnPropertyNames(b), Object.getPrototypeOf(b) === Object.prototype, Object.getOwnPropertyNames(c)];',
    ].join('\n');
    assert.equal(rewrite(code), code);
    assert.equal(JSON.stringify(run(code)), '[["__proto__"],true,["__proto__"],true,["__proto__"]]');
  });

  test('values are evaluated in source order', () => {
    sameResult([
      'var log = [];',
      'function f(name, v) { log.push(name); return v; }',
      'var o = { a: f("a", 1), __proto__: f("proto", { inherited: true }), b: f("b", 2), ...f("spread", { c: 3 }) };',
      '[log, o.inherited, Object.keys(o)];',
    ].join('\n'));
  });

  test('a Proxy prototype answers inherited lookups, as itty-router needs', () => {
    const rewritten = sameResult([
      'var routes = [];',
      'function Router() {',
      '  return { __proto__: new Proxy({}, {',
      '    get: function (t, method, receiver) {',
      '      return function (path) { routes.push(method + " " + path); return receiver; };',
      '    },',
      '    has: function (t, k) { return k === "magic"; },',
      '  }), routes: routes, fetch: function () { return routes.length; } };',
      '}',
      'var r = Router();',
      'var same = r.get("/a").post("/b") === r;',
      'r.extra = 1;',
      '[same, routes, r.fetch(), "magic" in r, "other" in r, "routes" in r, Object.keys(r), r.extra, Object.keys({ ...r })];',
    ].join('\n'));
    assert.match(rewritten, /__edged_proxy_parts\(Proxy, \{\}/);
  });

  test('strings, comments and patterns mentioning __proto__ are left alone', () => {
    const code = 'var s = "{ __proto__: p }"; // { __proto__: p }\nvar { __proto__: q } = { a: 1 };';
    assert.equal(rewrite(code), code);
  });

  test('the helpers go after a directive prologue', () => {
    const out = rewrite('"use strict";\nvar o = { __proto__: null };');
    assert.match(out, /^"use strict";\nfunction __edged_proxy_parts/);
    assert.equal(run(out.replace(/var o = /, 'var o = ') + '\nObject.getPrototypeOf(o);'), null);
  });
});

describe('source positions survive the rewrites', () => {
  test('columns after an edit move with it; inside a replaced span they go to its start', () => {
    // Line 1: "x = /a.b/s, y = 1;" (columns 0, 4 and 12 mapped); line 2 untouched.
    // An insertion moves what was at its column; a replacement keeps it.
    const map = { version: 3, sources: ['in.js'], names: [], mappings: 'AAAA,IAAI,QAAQ;AACR' };
    const code = 'x = /a.b/s, y = 1;\nz = 2;';
    const edits = [{ start: 4, end: 10, text: '/a[^]b/' }, { start: 12, end: 12, text: 'ab' }];
    assert.equal(applyEdits(code, edits), 'x = /a[^]b/, aby = 1;\nz = 2;');
    const moved = new SourceMap(mapThrough(map, code, edits));
    assert.deepEqual(moved.lines[0].map((s) => s.column), [0, 4, 15]);
    assert.deepEqual(moved.lines[0].map((s) => s.originalColumn), [0, 4, 12]);
    assert.deepEqual(moved.lines[1].map((s) => [s.column, s.line]), [[0, 1]]);
  });

  test('a build reports Duktape errors at the original line, after rewritten lines', async (t) => {
    if (!EDGED_JSC) {
      t.skip('no EDGED_JSC argument');
      return;
    }
    const { build, BuildError } = await import(path.join(CLI_DIR, 'lib/build.js'));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgectl-transforms-'));
    const saved = process.env.EDGED_JSC;
    process.env.EDGED_JSC = EDGED_JSC;
    try {
      fs.writeFileSync(path.join(dir, 'index.ts'), [
        "import { check } from './check';",
        'export default { fetch: (r: Request) => new Response(String(check(r.url))) };',
        '',
      ].join('\n'));
      fs.writeFileSync(path.join(dir, 'check.ts'), [
        '// Rewritten lines come first, then what Duktape refuses.',
        'const proto = { __proto__: null, dot: /a.b/s }; const other = { "__proto__": proto };',
        'export function check(s: string): boolean {',
        '  return proto.dot.test(s) && s in other && /(?=a)*b/.test(s);',
        '}',
        '',
      ].join('\n'));
      const cwd = process.cwd();
      process.chdir(dir);
      let err;
      try {
        await build('index.ts', { outfile: path.join(dir, 'out.js') });
      } catch (e) {
        err = e;
      } finally {
        process.chdir(cwd);
      }
      assert.ok(err instanceof BuildError, String(err));
      assert.equal(err.message,
        "check.ts:4: edged's JavaScript engine cannot compile this: SyntaxError: quantifier without preceding atom");

      // Without the bad literal it builds, checked by Duktape, with no warning about `s`.
      fs.writeFileSync(path.join(dir, 'check.ts'),
        fs.readFileSync(path.join(dir, 'check.ts'), 'utf8').replace('/(?=a)*b/', '/b/'));
      process.chdir(dir);
      let built;
      try {
        built = await build('index.ts', { outfile: path.join(dir, 'out.js'), sourcemap: true });
      } finally {
        process.chdir(cwd);
      }
      assert.equal(built.checked, true);
      assert.deepEqual(built.warnings, []);
      assert.doesNotMatch(built.code, /RegExp\("a\.b", "s"\)|__proto__/);
      // The line holding the `s` literal still maps to check.ts:2.
      const lines = built.code.split('\n');
      const at = lines.findIndex((l) => l.includes('/a[^]b/'));
      assert.notEqual(at, -1);
      const origin = new SourceMap(JSON.parse(built.map)).lookup(at + 1);
      assert.deepEqual([origin.source, origin.line], ['check.ts', 2]);
    } finally {
      if (saved === undefined) delete process.env.EDGED_JSC;
      else process.env.EDGED_JSC = saved;
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

// common.mjs: what the CLI test scripts (run.mjs, apps.mjs) share: their
// paths and arguments, and the config they give edged.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const HERE = path.dirname(fileURLToPath(import.meta.url));
export const SOURCE = path.resolve(HERE, '../..');
export const CLI_DIR = path.join(SOURCE, 'sdk-js/cli');
export const EDGECTL = path.join(CLI_DIR, 'bin/edgectl.js');
export const FIXTURES = path.join(HERE, 'fixtures');

// EDGED_BIN and EDGED_JSC from the command line; exits with usage when missing,
// or when edgectl's npm dependencies are not installed.
export function cliArgs(script) {
  const [bin, jsc] = process.argv.slice(2).map((p) => path.resolve(p));
  if (!bin || !jsc) {
    console.error(`usage: node tests/cli/${script} EDGED_BIN EDGED_JSC`);
    process.exit(2);
  }
  if (!fs.existsSync(path.join(CLI_DIR, 'node_modules/esbuild'))) {
    console.error("sdk-js/cli/node_modules is missing: run 'npm ci' in sdk-js/cli (scripts/test does)");
    process.exit(1);
  }
  return [bin, jsc];
}

// A scratch directory (under the system temp dir) that edged's service user
// can search: started as root, edged --dev drops to that user when it exists,
// and its broker must reach the data dir below.
export function scratchDir(prefix) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  fs.chmodSync(dir, 0o711);
  return dir;
}

// A sanitizer build (scripts/test with EDGED_SANITIZE=1) runs JavaScript
// several times slower, so its CPU limits are raised; the tests check
// behaviour, not cost.
export function testConfig(dir) {
  if (process.env.EDGED_SANITIZE !== '1') return undefined;
  const file = path.join(dir, 'edged-test.conf');
  fs.writeFileSync(file, 'cpu_ms = 1000\nstartup_cpu_ms = 10000\nwall_ms = 60000\n');
  return file;
}

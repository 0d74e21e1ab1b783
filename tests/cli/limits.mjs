// limits.mjs: the config the CLI tests give edged.  A sanitizer build
// (scripts/test with EDGED_SANITIZE=1) runs JavaScript several times slower,
// so its CPU limits are raised; the tests check behaviour, not cost.
import fs from 'node:fs';
import path from 'node:path';

export function testConfig(dir) {
  if (process.env.EDGED_SANITIZE !== '1') return undefined;
  const file = path.join(dir, 'edged-test.conf');
  fs.writeFileSync(file, 'cpu_ms = 1000\nstartup_cpu_ms = 10000\nwall_ms = 60000\n');
  return file;
}

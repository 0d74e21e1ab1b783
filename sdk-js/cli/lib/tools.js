// Finding edged's binaries (edged, edged-jsc) and running the Duktape check.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// The repository's default build directory, for a CLI run from a checkout.
const REPO_BUILD = fileURLToPath(new URL('../../../build/', import.meta.url));

function isExecutable(file) {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

function onPath(name) {
  for (const dir of (process.env.PATH || '').split(path.delimiter)) {
    if (dir && isExecutable(path.join(dir, name))) return path.join(dir, name);
  }
  return null;
}

// The edged binary: $EDGED_BIN, `edged` on PATH, or the checkout's build/.
export function findEdged() {
  if (process.env.EDGED_BIN) return process.env.EDGED_BIN;
  const found = onPath('edged');
  if (found) return found;
  if (isExecutable(path.join(REPO_BUILD, 'edged'))) return path.join(REPO_BUILD, 'edged');
  return null;
}

// edged-jsc: $EDGED_JSC, next to the edged binary, on PATH, or the checkout's build/.
export function findJsc() {
  if (process.env.EDGED_JSC) return process.env.EDGED_JSC;
  const edged = findEdged();
  if (edged && isExecutable(path.join(path.dirname(edged), 'edged-jsc'))) {
    return path.join(path.dirname(edged), 'edged-jsc');
  }
  const found = onPath('edged-jsc');
  if (found) return found;
  if (isExecutable(path.join(REPO_BUILD, 'edged-jsc'))) return path.join(REPO_BUILD, 'edged-jsc');
  return null;
}

// Compiles `file` with Duktape as edged does: null when it compiles, else
// { line, message }.  Throws when the tool itself fails.
export function duktapeCheck(jsc, file) {
  const r = spawnSync(jsc, ['--check', file], { encoding: 'utf8' });
  if (r.error) throw new Error(`cannot run '${jsc}': ${r.error.message}`);
  if (r.status === 0) return null;
  const m = /^(\d+): (.*)$/m.exec(r.stdout);
  if (r.status !== 1 || !m) {
    throw new Error(`'${jsc} --check' failed: ${(r.stderr || r.stdout).trim() || `exit ${r.status}`}`);
  }
  return { line: Number(m[1]), message: m[2] };
}

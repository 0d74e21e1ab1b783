// Running a local edged: `edged --dev` on free loopback ports in a
// directory of its own, ready once it logs its "ready:" line.
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { findEdged } from './tools.js';

const READY = /ready: public (http:\/\/\S+) admin (http:\/\/\S+)/;

// Starts edged.  Options: bin (default findEdged()), dir (its working
// directory; default a new temporary one, removed by stop()), onLog (each
// stderr line).  Resolves to { public, admin, token, dir, child, stop() }
// once edged is ready; rejects when it exits first.
export function startEdged({ bin = findEdged(), dir, config, onLog = () => {} } = {}) {
  if (!bin) {
    return Promise.reject(new Error('edged not found: build it, put it on PATH or set EDGED_BIN'));
  }
  const ownDir = !dir;
  const cwd = dir || fs.mkdtempSync(path.join(os.tmpdir(), 'edgectl-dev-'));
  // Started as root, edged drops to its service user (when that user exists)
  // and its broker must reach the data dir in here: let it search this dir.
  if (process.getuid && process.getuid() === 0) fs.chmodSync(cwd, 0o711);
  const token = crypto.randomBytes(32).toString('hex');
  const args = ['--dev', '--listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0'];
  if (config) args.push('--config', config);
  const child = spawn(bin, args, {
    cwd,
    env: { ...process.env, EDGED_ADMIN_TOKEN: token },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const cleanup = () => {
    if (ownDir) fs.rmSync(cwd, { recursive: true, force: true });
  };
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    cleanup();
  };
  return new Promise((resolve, reject) => {
    let pending = '';
    let ready = false;
    const tail = [];
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk) => {
      pending += chunk;
      let nl;
      while ((nl = pending.indexOf('\n')) !== -1) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        onLog(line);
        if (ready) continue;
        tail.push(line);
        if (tail.length > 20) tail.shift();
        const m = READY.exec(line);
        if (m) {
          ready = true;
          resolve({ public: m[1], admin: m[2], token, dir: cwd, child, exited, stop });
        }
      }
    });
    child.once('error', (err) => {
      cleanup();
      reject(new Error(`cannot start '${bin}': ${err.message}`));
    });
    exited.then(({ code, signal }) => {
      if (ready) return;
      cleanup();
      reject(new Error(`edged exited (${signal || code}) before it was ready:\n${tail.join('\n')}`));
    });
  });
}

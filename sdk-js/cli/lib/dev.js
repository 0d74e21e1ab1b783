// `edgectl dev`: a local edged (--dev, free ports, a temporary data dir) that
// serves the project on localhost, redeployed whenever one of its source
// files changes.  Ctrl-C stops edged.
import fs from 'node:fs';
import path from 'node:path';

import { Api } from './api.js';
import { formatDiagnostic } from './build.js';
import { findConfig, readConfig } from './config.js';
import { deployProject } from './deploy.js';
import { startEdged } from './edged.js';

const DEV_ACCOUNT = 'dev';
const DEV_ROUTE = 'localhost/*';
// Editors write a file in several steps: one rebuild for a burst of events.
const SETTLE_MS = 100;

function loadProject(entry, configFile) {
  if (entry) {
    const main = path.resolve(entry);
    return { file: null, name: 'dev', main, bindings: [], routes: [DEV_ROUTE] };
  }
  const project = readConfig(configFile);
  return { ...project, routes: [DEV_ROUTE] };
}

// Options: entry, config (a path), out/err (line printers).
export async function dev({ entry, config, out = console.log, err = console.error } = {}) {
  const configFile = entry ? null : findConfig(config);
  let project = loadProject(entry, configFile);

  let ready = false;
  let stopping = false;
  const edged = await startEdged({
    onLog: (line) => {
      if (ready) err(`[edged] ${line}`);
    },
  });
  const api = new Api(edged.admin, edged.token);
  const port = new URL(edged.public).port;
  const watchers = new Map();
  let timer = null;
  let running = false;
  let again = false;

  const watch = (files) => {
    for (const w of watchers.values()) w.close();
    watchers.clear();
    for (const file of files) {
      try {
        // A new watcher each time: an editor that replaces the file ends the old one.
        watchers.set(file, fs.watch(file, () => schedule()));
      } catch (e) {
        err(`cannot watch '${file}': ${e.message}`);
      }
    }
  };

  const deployOnce = async (first) => {
    let inputs = [project.main];
    try {
      if (configFile && !first) project = loadProject(null, configFile);
      const result = await deployProject(project, { api, account: DEV_ACCOUNT });
      inputs = result.built.inputs;
      for (const w of result.warnings) err(`warning: ${formatDiagnostic(w)}`);
      out(`${first ? 'deployed' : 'redeployed'} ${project.name} version ${result.versionId}`);
    } catch (e) {
      err(e.message);
      out('deploy failed; waiting for changes');
      // Keep watching what was watched, so that a fix redeploys.
      if (watchers.size > 0) inputs = [...watchers.keys()];
    }
    watch(configFile ? [...new Set([...inputs, configFile])] : inputs);
  };

  const rebuild = async () => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    do {
      again = false;
      await deployOnce(false);
    } while (again);
    running = false;
  };

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(rebuild, SETTLE_MS);
  }

  await deployOnce(true);
  ready = true;
  out(`serving on ${edged.public} -- try: curl http://localhost:${port}/`);
  out('watching for changes; Ctrl-C stops');

  await new Promise((resolve) => {
    const stop = () => {
      stopping = true;
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    edged.exited.then(({ code, signal }) => {
      if (stopping) return;
      err(`edged exited (${signal || code})`);
      process.exitCode = 1;
      stop();
    });
  });
  clearTimeout(timer);
  for (const w of watchers.values()) w.close();
  await edged.stop();
}

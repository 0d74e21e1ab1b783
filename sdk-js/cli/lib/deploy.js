// `edgectl deploy`: build the project, create its account (tenant), upload
// the script as a module worker and add the routes it lacks.
import path from 'node:path';

import { Api, ApiError } from './api.js';
import { build } from './build.js';
import { findConfig, readConfig } from './config.js';
import { SourceMap } from './sourcemap.js';

const ADMIN_E_SCRIPT_INVALID = 10021;
const ADMIN_E_DUPLICATE_ROUTE = 10026;
const MAIN_MODULE = 'worker.js';

function displayPath(file) {
  const rel = path.relative(process.cwd(), file);
  return rel.startsWith('..') || path.isAbsolute(rel) ? file : rel;
}

// The API's "<message> (line N[, column C])" about the built script, told at
// the original file and line through the build's source map.
function locateScriptError(err, built) {
  const e = err.errors.find((x) => x.code === ADMIN_E_SCRIPT_INVALID);
  const m = e && /^(.*?)(?: \(line \d+\))* \(line (\d+)(?:, column (\d+))?\)$/s.exec(e.message);
  if (!m) return err;
  const line = Number(m[2]);
  const column = m[3] === undefined ? undefined : Number(m[3]) - 1;
  const at = new SourceMap(JSON.parse(built.map)).lookup(line, column);
  const message = at
    ? `${displayPath(path.resolve(built.outDir, at.source))}:${at.line}: edged rejected the script: ${m[1]}`
    : `edged rejected the script: ${m[1]} (line ${line} of the built script, in code the bundler added)`;
  return new ApiError(message, err.status, err.errors);
}

// The admin API from the environment (EDGED_API, EDGED_TOKEN).
export function apiFromEnv() {
  const token = process.env.EDGED_TOKEN;
  if (!token) throw new ApiError('EDGED_TOKEN is not set (the admin token of edged)', 0);
  return new Api(process.env.EDGED_API || 'http://127.0.0.1:8081', token);
}

// Makes the account's routes to `name` hold `patterns`: adds the missing
// ones and moves the account's routes that point at another script.
async function syncRoutes(api, account, name, patterns, log) {
  if (patterns.length === 0) return;
  const existing = await api.listRoutes(account);
  for (const pattern of patterns) {
    const same = existing.find((r) => r.pattern === pattern);
    if (same && same.script === name) continue;
    if (same) {
      log(`moving route ${pattern} from ${same.script} to ${name}`);
      await api.request('DELETE', `/client/v4/accounts/${encodeURIComponent(account)}/workers/routes/${encodeURIComponent(same.id)}`);
    }
    const r = await api.addRoute(account, pattern, name);
    if (r.status === 409) {
      const errors = r.errors || [];
      // Added meanwhile by someone else for this account: already there.
      if (errors.some((e) => e.code === ADMIN_E_DUPLICATE_ROUTE)) continue;
      throw new ApiError(`route ${pattern}: ${errors.map((e) => e.message).join('; ')}`, 409, errors);
    }
    log(`added route ${pattern}`);
  }
}

// Deploys a project: { name, main, compatibility_date, account_id, bindings,
// routes } as readConfig returns it.  `api` defaults to the environment's;
// `account` overrides.  Resolves to { name, account, versionId, built, warnings }.
export async function deployProject(project, { api = apiFromEnv(), account, log = () => {} } = {}) {
  account = account || project.account_id || process.env.EDGED_ACCOUNT;
  if (!account) throw new ApiError("no account: set 'account_id' in the config or EDGED_ACCOUNT", 0);
  const built = await build(project.main);
  await api.putTenant(account);
  let result;
  try {
    result = await api.uploadScript(account, project.name, {
      code: built.code,
      mainModule: MAIN_MODULE,
      bindings: project.bindings,
      compatibilityDate: project.compatibility_date,
    });
  } catch (err) {
    if (err instanceof ApiError && err.errors.length > 0) throw locateScriptError(err, built);
    throw err;
  }
  await syncRoutes(api, account, project.name, project.routes, log);
  return { name: project.name, account, versionId: result.version_id, built, warnings: built.warnings };
}

// `edgectl deploy [--config FILE]`.
export async function deploy({ config, log } = {}) {
  const project = readConfig(findConfig(config));
  return deployProject(project, { log });
}

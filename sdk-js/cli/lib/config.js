// Reading a wrangler.toml / wrangler.json project config: the subset edged
// supports, and a clear error for every key it does not.
import fs from 'node:fs';
import path from 'node:path';
import { parse as parseToml } from 'smol-toml';

export class ConfigError extends Error {}

const DEFAULT_FILES = ['wrangler.toml', 'wrangler.json'];

// Keys read, and keys accepted but without effect on edged.
const SUPPORTED = new Set(['name', 'main', 'compatibility_date', 'vars', 'routes', 'route', 'account_id']);
const IGNORED = new Set(['$schema', 'workers_dev']);
const ROUTE_KEYS = new Set(['pattern', 'zone_name', 'zone_id']);

function fail(file, message) {
  throw new ConfigError(`${file}: ${message}`);
}

function routePattern(file, route, where) {
  if (typeof route === 'string') return route;
  if (route === null || typeof route !== 'object' || Array.isArray(route)) {
    fail(file, `${where} must be a string or a table with 'pattern'`);
  }
  for (const key of Object.keys(route)) {
    if (!ROUTE_KEYS.has(key)) fail(file, `'${key}' in ${where} is not supported by edged`);
  }
  if (typeof route.pattern !== 'string') fail(file, `${where} needs a string 'pattern'`);
  return route.pattern;
}

// The bindings of `vars`: strings are plain_text, anything else json.
function varBindings(file, vars) {
  if (vars === null || typeof vars !== 'object' || Array.isArray(vars)) {
    fail(file, "'vars' must be a table of names to values");
  }
  return Object.entries(vars).map(([name, value]) =>
    typeof value === 'string'
      ? { type: 'plain_text', name, text: value }
      : { type: 'json', name, json: value });
}

// Finds the config: `file` when given, else wrangler.toml or wrangler.json in `dir`.
export function findConfig(file, dir = process.cwd()) {
  if (file) return path.resolve(file);
  for (const name of DEFAULT_FILES) {
    const candidate = path.join(dir, name);
    if (fs.existsSync(candidate)) return candidate;
  }
  throw new ConfigError(`no wrangler.toml or wrangler.json in ${dir} (use --config FILE)`);
}

// Reads the config at `file`: { file, dir, name, main (absolute),
// compatibility_date, account_id, bindings, routes }.
export function readConfig(file) {
  const shown = path.relative(process.cwd(), file) || file;
  let text;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read '${shown}': ${err.message}`);
  }
  let raw;
  try {
    raw = file.endsWith('.json') ? JSON.parse(text) : parseToml(text);
  } catch (err) {
    fail(shown, err.message.split('\n')[0]);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) fail(shown, 'not a table');
  for (const key of Object.keys(raw)) {
    if (!SUPPORTED.has(key) && !IGNORED.has(key)) fail(shown, `'${key}' is not supported by edged`);
  }
  for (const key of ['name', 'main']) {
    if (typeof raw[key] !== 'string' || raw[key] === '') fail(shown, `'${key}' is required (a string)`);
  }
  if (raw.compatibility_date instanceof Date) {
    // An unquoted TOML date.
    raw.compatibility_date = raw.compatibility_date.toISOString().slice(0, 10);
  }
  for (const key of ['compatibility_date', 'account_id']) {
    if (raw[key] !== undefined && typeof raw[key] !== 'string') fail(shown, `'${key}' must be a string`);
  }
  if (raw.route !== undefined && raw.routes !== undefined) fail(shown, "use either 'route' or 'routes'");
  let routes = [];
  if (raw.route !== undefined) routes = [routePattern(shown, raw.route, "'route'")];
  if (raw.routes !== undefined) {
    if (!Array.isArray(raw.routes)) fail(shown, "'routes' must be an array");
    routes = raw.routes.map((r, i) => routePattern(shown, r, `routes[${i}]`));
  }
  const dir = path.dirname(file);
  return {
    file,
    dir,
    name: raw.name,
    main: path.resolve(dir, raw.main),
    compatibility_date: raw.compatibility_date,
    account_id: raw.account_id,
    bindings: raw.vars === undefined ? [] : varBindings(shown, raw.vars),
    routes,
  };
}

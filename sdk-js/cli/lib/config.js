// Reading a wrangler.toml / wrangler.json project config: the subset edged
// supports, and a clear error for every key it does not.
import fs from 'node:fs';
import path from 'node:path';
import { parse as parseToml } from 'smol-toml';

export class ConfigError extends Error {}

const DEFAULT_FILES = ['wrangler.toml', 'wrangler.json'];

// Keys read, and keys accepted but without effect on edged.
const SUPPORTED = new Set([
  'name', 'main', 'compatibility_date', 'vars', 'routes', 'route', 'account_id',
  'kv_namespaces', 'd1_databases', 'r2_buckets',
]);
const IGNORED = new Set(['$schema', 'workers_dev']);
const ROUTE_KEYS = new Set(['pattern', 'zone_name', 'zone_id']);

// The storage binding tables: the upload binding each entry becomes, the
// members it needs (config member -> upload member), the members it may
// have, and those accepted without effect (wrangler's local preview
// resources and D1 migration settings, which edgectl does not use).
const STORAGE = {
  kv_namespaces: {
    type: 'kv_namespace',
    required: { id: 'namespace_id' },
    optional: {},
    ignored: ['preview_id'],
  },
  d1_databases: {
    type: 'd1',
    required: { database_id: 'id' },
    optional: { database_name: null },
    ignored: ['preview_database_id', 'migrations_dir', 'migrations_table'],
  },
  r2_buckets: {
    type: 'r2_bucket',
    required: { bucket_name: 'bucket_name' },
    optional: {},
    ignored: ['preview_bucket_name'],
  },
};

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

// The upload bindings of one storage table (`key` of STORAGE), e.g.
// [[kv_namespaces]] binding = "KV" id = "..." -> {type: 'kv_namespace', name: 'KV', namespace_id: '...'}.
function storageBindings(file, key, list) {
  const kind = STORAGE[key];
  if (!Array.isArray(list)) fail(file, `'${key}' must be an array of tables`);
  return list.map((entry, i) => {
    const where = `${key}[${i}]`;
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
      fail(file, `${where} must be a table`);
    }
    for (const member of Object.keys(entry)) {
      if (member !== 'binding' && !(member in kind.required) && !(member in kind.optional) &&
          !kind.ignored.includes(member)) {
        fail(file, `'${member}' in ${where} is not supported by edged`);
      }
    }
    for (const member of ['binding', ...Object.keys(kind.required)]) {
      if (typeof entry[member] !== 'string' || entry[member] === '') {
        fail(file, `${where} needs '${member}' (a string)`);
      }
    }
    for (const member of Object.keys(kind.optional)) {
      if (entry[member] !== undefined && typeof entry[member] !== 'string') {
        fail(file, `'${member}' in ${where} must be a string`);
      }
    }
    const binding = { type: kind.type, name: entry.binding };
    for (const [member, field] of Object.entries(kind.required)) binding[field] = entry[member];
    return binding;
  });
}

// Every binding of the config: vars, then KV namespaces, D1 databases and R2 buckets.
function allBindings(file, raw) {
  const bindings = raw.vars === undefined ? [] : varBindings(file, raw.vars);
  for (const key of Object.keys(STORAGE)) {
    if (raw[key] !== undefined) bindings.push(...storageBindings(file, key, raw[key]));
  }
  const seen = new Set();
  for (const b of bindings) {
    if (seen.has(b.name)) fail(file, `binding '${b.name}' is defined twice`);
    seen.add(b.name);
  }
  return bindings;
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
    bindings: allBindings(shown, raw),
    routes,
  };
}

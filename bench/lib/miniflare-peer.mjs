// bench/lib/miniflare-peer.mjs: runs the bench's Workers in Miniflare, for the
// KV and D1 workloads that standalone workerd cannot serve (its kvNamespace
// and D1 bindings need a storage service, which Miniflare provides as Workers
// of its own inside the same workerd).
// Usage: node miniflare-peer.mjs CONFIG.json
//   CONFIG: { peers: DIR holding node_modules/miniflare, port, compatibilityDate,
//             d1Rows, workers: [{ name, script, routes: [..], kv: bool, d1: bool }] }
// Seeds KV "greeting" and the D1 table items, prints "ready", and runs until
// SIGTERM.  Storage is Miniflare's default (not persisted).
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const config = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const require = createRequire(path.join(config.peers, 'package.json'));
const { Miniflare } = await import(pathToFileURL(require.resolve('miniflare')));

const mf = new Miniflare({
  host: '127.0.0.1',
  port: config.port,
  workers: config.workers.map((w) => ({
    name: w.name,
    modules: true,
    scriptPath: w.script,
    compatibilityDate: config.compatibilityDate,
    routes: w.routes,
    ...(w.kv ? { kvNamespaces: ['KV'] } : {}),
    ...(w.d1 ? { d1Databases: ['DB'] } : {}),
  })),
});
await mf.ready;
for (const w of config.workers) {
  if (w.kv) {
    const kv = await mf.getKVNamespace('KV', w.name);
    await kv.put('greeting', 'Hello, world!');
  }
  if (w.d1) {
    const db = await mf.getD1Database('DB', w.name);
    await db.prepare('CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL)').run();
    await db.prepare('WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1) ' +
      "INSERT INTO items SELECT i, 'item-' || i FROM n").bind(config.d1Rows).run();
  }
}
console.log('ready');
const stop = () => mf.dispose().then(() => process.exit(0), () => process.exit(1));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

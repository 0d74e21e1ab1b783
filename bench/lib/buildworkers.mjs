// bench/lib/buildworkers.mjs: lowers the bench's ES-module Workers for edged
// with edgectl's own build (sdk-js/cli/lib/build.js: esbuild, swc to ES5, the
// Duktape check), all in one Node process.
// Usage: node buildworkers.mjs OUTDIR SOURCE.js...   (EDGED_JSC: the checker)
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const { build } = await import(pathToFileURL(path.join(here, '../../sdk-js/cli/lib/build.js')));
const [outDir, ...sources] = process.argv.slice(2);
for (const src of sources) {
  const out = path.join(outDir, path.basename(src));
  const r = await build(src, { outfile: out });
  if (!r.checked) {
    console.error(`bench: ${src} was not checked with Duktape (${r.warnings.map((w) => w.message).join('; ')})`);
    process.exit(1);
  }
  console.log(`${path.basename(src)}: ${r.code.length} bytes of ES5`);
}

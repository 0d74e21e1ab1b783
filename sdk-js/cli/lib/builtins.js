// The esbuild plugin that resolves the platform's modules -- `cloudflare:*`
// and `node:*` -- to what the runtime provides.
//
// Convention with the runtime: `globalThis.__edged_builtin(specifier)` returns
// the module's namespace object (its named exports as properties) or throws a
// TypeError naming a module it does not provide.  `cloudflare:workers` is
// bundled from shim/cloudflare-workers.js, which falls back to placeholder
// base classes while the runtime has no such function.
import { fileURLToPath } from 'node:url';

const SHIM_DIR = fileURLToPath(new URL('./shim/', import.meta.url));
const SHIMS = new Map([['cloudflare:workers', `${SHIM_DIR}cloudflare-workers.js`]]);
const NAMESPACE = 'edged-builtin';

// A CommonJS module that forwards to the runtime, so named imports work.
function forwarder(specifier) {
  const name = JSON.stringify(specifier);
  return `var load = globalThis.__edged_builtin;
if (typeof load !== 'function') {
  throw new TypeError(${name} + " is not provided by edged's runtime");
}
module.exports = load(${name});
`;
}

export const builtinsPlugin = {
  name: 'edged-builtins',
  setup(build) {
    build.onResolve({ filter: /^(cloudflare|node):/ }, (args) => {
      const shim = SHIMS.get(args.path);
      if (shim) return { path: shim };
      return { path: args.path, namespace: NAMESPACE };
    });
    build.onLoad({ filter: /.*/, namespace: NAMESPACE }, (args) => ({
      contents: forwarder(args.path),
      loader: 'js',
    }));
  },
};

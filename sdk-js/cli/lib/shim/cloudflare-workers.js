// edgectl's stand-in for `cloudflare:workers`, bundled into a Worker that
// imports it.  When the runtime provides the module (through
// globalThis.__edged_builtin, see ../builtins.js) its classes are used;
// until then these placeholder base classes keep `extends DurableObject` and
// `extends WorkerEntrypoint` working: they only keep ctx and env.
const runtime =
  typeof globalThis.__edged_builtin === 'function'
    ? globalThis.__edged_builtin('cloudflare:workers')
    : null;

// Base classes keep what the runtime passes to their constructor.
class DurableObjectBase {
  constructor(ctx, env) {
    this.ctx = ctx;
    this.env = env;
  }
}
class WorkerEntrypointBase {
  constructor(ctx, env) {
    this.ctx = ctx;
    this.env = env;
  }
}
class WorkflowEntrypointBase {
  constructor(ctx, env) {
    this.ctx = ctx;
    this.env = env;
  }
}
class RpcTargetBase {}

export const DurableObject = (runtime && runtime.DurableObject) || DurableObjectBase;
export const WorkerEntrypoint = (runtime && runtime.WorkerEntrypoint) || WorkerEntrypointBase;
export const WorkflowEntrypoint = (runtime && runtime.WorkflowEntrypoint) || WorkflowEntrypointBase;
export const RpcTarget = (runtime && runtime.RpcTarget) || RpcTargetBase;
export const env = runtime ? runtime.env : undefined;

/*
 * sandbox: the Duktape host that runs one tenant script version.  The
 * launcher builds the runtime (a heap with the sdk-js prelude loaded) once,
 * before forking; each forked, locked-down child then serves one channel
 * with sandbox_serve().  Runs in the launcher (set-up) and the sandboxes.
 */
#ifndef EDGED_SANDBOX_H
#define EDGED_SANDBOX_H

#include <stdint.h>

struct sandbox_runtime;

struct sandbox_limits {
	uint64_t memory_bytes; /* cap of the Duktape allocator; over it JS gets a RangeError */
};

/*
 * Creates a Duktape heap with the capped allocator, the exec-timeout hook and
 * the sdk-js runtime (embedded bytecode) loaded.  NULL on failure (logged).
 * Called in the launcher before any fork, so children share its pages.
 */
struct sandbox_runtime *sandbox_runtime_new(const struct sandbox_limits *limits);
void sandbox_runtime_free(struct sandbox_runtime *rt);

/*
 * LOAD conventions (the script and bindings fields of IPC_LOAD):
 *   bindings  a JSON array of binding objects, as in Cloudflare's upload
 *             metadata: {"type":"plain_text","name":"N","text":"..."},
 *             {"type":"secret_text","name":"N","text":"..."} (both strings in
 *             env), {"type":"json","name":"N","json":<any>}.  Another type
 *             fails the LOAD ("unknown binding type 't' for 'N'").
 *   module    IPC_FORMAT_MODULE: the script defines a global __worker
 *             (esbuild --format=iife --global-name=__worker) whose .default
 *             has fetch(request, env, ctx).  Errors are reported against the
 *             file name "worker.js".
 *   service   IPC_FORMAT_SERVICE_WORKER: bindings are globals; the script
 *             calls addEventListener('fetch', ...).
 */

/*
 * The life of a sandbox, called in the forked child after lock-down: sends
 * HELLO on sup_fd, checks the supervisor's HELLO, waits for LOAD, compiles
 * and runs the script's global scope under the startup CPU budget and
 * answers LOADED; then serves REQ_* messages (several requests may
 * interleave) until the supervisor closes the channel.  broker_fd is the
 * channel for binding calls (unused until bindings need it).  Never returns:
 * exits 0 on EOF, 2 on a protocol violation by the peer.
 */
void sandbox_serve(struct sandbox_runtime *rt, int sup_fd, int broker_fd) __attribute__((noreturn));

#endif

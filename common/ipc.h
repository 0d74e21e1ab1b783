/*
 * ipc: the wire contract between edged's processes.  Every message is a
 * frame: a big-endian u32 length, then one msgpack array [type, id, fields...].
 * The message table (common/ipc_table.c) declares every type; encode,
 * validate and decode are driven by it, and common/ipc.c is the only code
 * that touches msgpack.  Linked by every process.
 */
#ifndef EDGED_IPC_H
#define EDGED_IPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/buf.h"

/* Checked in the HELLO that opens every channel, in both directions. */
#define IPC_VERSION 1

#define IPC_FRAME_HEADER 4 /* the u32 length prefix */
#define IPC_MAX_FIELDS 8   /* fields after [type, id] */
#define IPC_MAX_DEPTH 2    /* the outer array, and one strlist inside it */

/* Frame caps, by receiving end of a channel: checked before allocating. */
#define IPC_CAP_FROM_SANDBOX (1u << 20)   /* 1 MiB */
#define IPC_CAP_TO_SANDBOX (16u << 20)    /* 16 MiB: LOAD carries the script */
#define IPC_CAP_CONTROL (64u << 10)       /* launcher control, and broker -> supervisor */
#define IPC_CAP_BROKER_CONTROL (2u << 20) /* supervisor -> broker: ATTACH carries bindings */
#define IPC_CAP_FROM_BROKER (16u << 20)   /* broker -> supervisor: RESULT of an admin call */

/* Who sends; a message's table entry names its allowed senders and receivers. */
enum ipc_peer {
	IPC_PEER_SUPERVISOR = 1u << 0,
	IPC_PEER_SANDBOX = 1u << 1,
	IPC_PEER_BROKER = 1u << 2,
	IPC_PEER_LAUNCHER = 1u << 3,
};

/*
 * Receiver-side channel states.  A table entry lists the states in which its
 * receiver accepts it; a channel is in exactly one state at a time.
 *   HELLO    nothing received yet: only HELLO is allowed
 *   BLANK    sandbox waiting for LOAD (as seen by the sandbox)
 *   LOADING  supervisor waiting for LOADED from a sandbox
 *   READY    normal traffic
 */
enum ipc_state {
	IPC_ST_HELLO = 1u << 0,
	IPC_ST_BLANK = 1u << 1,
	IPC_ST_LOADING = 1u << 2,
	IPC_ST_READY = 1u << 3,
};

/*
 * Message types: wire ABI.  Numbers are never reused; retire a type by
 * leaving its number out, and add new ones at new numbers.
 */
enum ipc_type {
	IPC_HELLO = 1, /* any -> any: version, role, pid */

	IPC_SPAWN = 10,        /* supervisor -> launcher: slot, generation */
	IPC_SPAWNED = 11,      /* launcher -> supervisor: slot, generation, pid; 2 fds */
	IPC_SPAWN_FAILED = 12, /* launcher -> supervisor: slot, generation, reason */
	IPC_CHILD_EXITED = 13, /* launcher -> supervisor: pid, wait status */
	IPC_KILL = 14,         /* supervisor -> launcher: SIGKILL an unreaped child */
	IPC_LAYERS = 15,       /* launcher -> supervisor: the start-up lock-down probe */

	IPC_LOAD = 20,        /* supervisor -> sandbox: a script version */
	IPC_LOADED = 21,      /* sandbox -> supervisor: ok, line, column, message */
	IPC_REQ_HEAD = 22,    /* supervisor -> sandbox, id = request id */
	IPC_REQ_BODY = 23,    /* supervisor -> sandbox, id = request id */
	IPC_REQ_CANCEL = 24,  /* supervisor -> sandbox, id = request id */
	IPC_RESP_HEAD = 25,   /* sandbox -> supervisor, id = request id */
	IPC_RESP_BODY = 26,   /* sandbox -> supervisor, id = request id */
	IPC_RESP_ERROR = 27,  /* sandbox -> supervisor, id = request id */
	IPC_LOG = 28,         /* sandbox -> supervisor: console output */
	IPC_RESP_CREDIT = 29, /* supervisor -> sandbox, id = request id: more RESP_BODY bytes */
	IPC_REQ_CREDIT = 30,  /* sandbox -> supervisor, id = request id: more REQ_BODY bytes */

	IPC_ATTACH = 40, /* supervisor -> broker: a sandbox channel; 1 fd */
	IPC_DETACH = 41, /* supervisor -> broker: channel id */

	/* Storage calls; see "Calls" below and broker/store.h for the methods. */
	IPC_CALL = 50,        /* sandbox -> broker, id = call id: a binding call */
	IPC_CALL_BODY = 51,   /* caller -> broker: the next piece of a call's input body */
	IPC_CALL_PULL = 52,   /* broker -> caller: send `chunks` more input pieces */
	IPC_RESULT = 53,      /* broker -> caller: a call's outcome, and its first output piece */
	IPC_RESULT_BODY = 54, /* broker -> caller: the next piece of a call's output body */
	IPC_RESULT_PULL = 55, /* caller -> broker: send `chunks` more output pieces */
	IPC_CALL_CANCEL = 56, /* caller -> broker: the call's outcome is no longer wanted */
	IPC_ADMIN_CALL = 57,  /* supervisor -> broker, id = call id: an operator's storage call */
};

/*
 * Calls.  A "caller" is a sandbox (on its broker channel, naming a binding)
 * or the supervisor (on the broker control channel, naming tenant, kind and
 * resource with ADMIN_CALL).  Call ids are the caller's, unique among its
 * calls in flight on that channel.
 *
 *   input   CALL/ADMIN_CALL carries the first piece of the input body and
 *           more=1 when pieces follow.  The caller then sends CALL_BODY
 *           pieces only as the broker asks for them with CALL_PULL (one
 *           piece per pulled chunk; the last has last=1).  A caller that
 *           sends an unasked piece breaks the protocol.
 *   output  RESULT carries status (enum store_status), the result document
 *           (JSON text), the first piece of the output body and more=1 when
 *           pieces follow.  The caller asks for them with RESULT_PULL; the
 *           broker sends one RESULT_BODY per pulled chunk, the last with
 *           last=1.  A call ends with RESULT when more=0, with the
 *           RESULT_BODY that has last=1, or with CALL_CANCEL.
 *   cancel  CALL_CANCEL may be sent at any time; the broker drops the call
 *           and whatever it had half-written (nothing of it becomes
 *           visible) and sends nothing more for that id.
 *
 * Response and request bodies between supervisor and sandbox are windowed
 * the same way in bytes: a sender may have IPC_BODY_WINDOW bytes of
 * RESP_BODY (REQ_BODY) in flight per request; RESP_CREDIT (REQ_CREDIT)
 * returns bytes the receiver has passed on.
 */
#define IPC_PULL_MAX 16            /* chunks one PULL may ask for */
#define IPC_BODY_WINDOW (1u << 20) /* bytes of body in flight per request and direction */
#define IPC_CALL_ARGS_MAX (512u << 10)
#define IPC_RESULT_MAX (8u << 20)

/* Field indices, per message, into struct ipc_msg.field[]. */
enum { IPC_HELLO_VERSION, IPC_HELLO_ROLE, IPC_HELLO_PID };
enum { IPC_SPAWN_SLOT, IPC_SPAWN_GENERATION };
enum { IPC_SPAWNED_SLOT, IPC_SPAWNED_GENERATION, IPC_SPAWNED_PID };
enum { IPC_SPAWN_FAILED_SLOT, IPC_SPAWN_FAILED_GENERATION, IPC_SPAWN_FAILED_REASON };
enum { IPC_CHILD_EXITED_PID, IPC_CHILD_EXITED_STATUS };
enum { IPC_KILL_PID, IPC_KILL_SLOT, IPC_KILL_GENERATION };
enum { IPC_LAYERS_LIST }; /* strlist of "layer=state:reason", one per layer */
enum {
	IPC_LOAD_TENANT,
	IPC_LOAD_WORKER,
	IPC_LOAD_VERSION,
	IPC_LOAD_FORMAT,   /* enum ipc_script_format */
	IPC_LOAD_SCRIPT,   /* UTF-8 ES5 source */
	IPC_LOAD_BINDINGS, /* JSON text: see sandbox/sandbox.h */
	IPC_LOAD_STARTUP_CPU_MS,
};
enum { IPC_LOADED_OK, IPC_LOADED_LINE, IPC_LOADED_COLUMN, IPC_LOADED_MESSAGE };
enum {
	IPC_REQ_HEAD_METHOD,
	IPC_REQ_HEAD_URL,      /* absolute: scheme://host/path?query */
	IPC_REQ_HEAD_HEADERS,  /* strlist: name, value, name, value ... */
	IPC_REQ_HEAD_HAS_BODY, /* 0: no body; 1: REQ_BODY frames follow, the last has last=1 */
	IPC_REQ_HEAD_CPU_MS,
};
enum { IPC_REQ_BODY_CHUNK, IPC_REQ_BODY_LAST };
enum { IPC_REQ_CANCEL_REASON };
enum { IPC_RESP_HEAD_STATUS, IPC_RESP_HEAD_HEADERS, IPC_RESP_HEAD_HAS_BODY };
enum { IPC_RESP_BODY_CHUNK, IPC_RESP_BODY_LAST };
enum { IPC_RESP_ERROR_CODE };            /* 1101 uncaught exception, 1102 resource limits */
enum { IPC_LOG_LEVEL, IPC_LOG_MESSAGE }; /* level: enum log_level */
enum { IPC_RESP_CREDIT_BYTES };
enum { IPC_REQ_CREDIT_BYTES };
enum {
	IPC_ATTACH_CHANNEL,
	IPC_ATTACH_TENANT,
	IPC_ATTACH_WORKER,
	IPC_ATTACH_VERSION,
	IPC_ATTACH_BINDINGS, /* the version's bindings (JSON array, as uploaded) */
	IPC_ATTACH_LIMITS,   /* the tenant's storage quotas: JSON, see broker/store.h */
};
enum { IPC_DETACH_CHANNEL };
enum { IPC_CALL_BINDING, IPC_CALL_METHOD, IPC_CALL_ARGS, IPC_CALL_CHUNK, IPC_CALL_MORE };
enum { IPC_CALL_BODY_CHUNK, IPC_CALL_BODY_LAST };
enum { IPC_CALL_PULL_CHUNKS };
enum { IPC_RESULT_STATUS, IPC_RESULT_DOC, IPC_RESULT_CHUNK, IPC_RESULT_MORE };
enum { IPC_RESULT_BODY_CHUNK, IPC_RESULT_BODY_LAST };
enum { IPC_RESULT_PULL_CHUNKS };
enum { IPC_CALL_CANCEL_REASON };
enum {
	IPC_ADMIN_CALL_TENANT,
	IPC_ADMIN_CALL_KIND,     /* "kv", "d1" or "r2" */
	IPC_ADMIN_CALL_RESOURCE, /* namespace id, database id or bucket name */
	IPC_ADMIN_CALL_METHOD,
	IPC_ADMIN_CALL_ARGS,
	IPC_ADMIN_CALL_CHUNK,
	IPC_ADMIN_CALL_MORE,
	IPC_ADMIN_CALL_LIMITS, /* as IPC_ATTACH_LIMITS */
};

enum ipc_script_format {
	IPC_FORMAT_MODULE = 0, /* defines global __worker; __worker.default has the handlers */
	IPC_FORMAT_SERVICE_WORKER = 1, /* calls addEventListener('fetch', ...) */
};

/* Largest body chunk in REQ_BODY/RESP_BODY. */
#define IPC_BODY_CHUNK_MAX (256u << 10)

enum ipc_field_kind {
	IPC_F_U64,     /* unsigned integer <= max */
	IPC_F_STR,     /* valid UTF-8 string, <= max bytes */
	IPC_F_BIN,     /* bytes, <= max */
	IPC_F_STRLIST, /* array of <= max valid UTF-8 strings, each <= item_max bytes */
};

struct ipc_field_spec {
	const char *name;
	enum ipc_field_kind kind;
	uint64_t max;
	uint32_t item_max;
};

struct ipc_msg_spec {
	uint16_t type;
	const char *name; /* "LOAD", for logs */
	unsigned from;    /* enum ipc_peer bits allowed to send it */
	unsigned to;      /* enum ipc_peer bits allowed to receive it */
	unsigned states;  /* enum ipc_state bits in which the receiver accepts it */
	unsigned nfds;    /* descriptors that travel with it (trusted senders only) */
	unsigned nfields;
	struct ipc_field_spec field[IPC_MAX_FIELDS];
};

/* The table; NULL for an unknown type. */
const struct ipc_msg_spec *ipc_spec(uint16_t type);
/* Iteration over the whole table (tests, docs): entries 0 .. count-1. */
size_t ipc_spec_count(void);
const struct ipc_msg_spec *ipc_spec_at(size_t i);

/* A length-delimited byte string; not NUL-terminated. */
struct ipc_bytes {
	const char *ptr;
	size_t len;
};

/* One field's value: which member is meaningful follows the field's kind. */
struct ipc_value {
	uint64_t u;                   /* IPC_F_U64 */
	struct ipc_bytes b;           /* IPC_F_STR, IPC_F_BIN */
	const struct ipc_bytes *list; /* IPC_F_STRLIST */
	size_t count;                 /* IPC_F_STRLIST */
};

/*
 * A decoded message.  Its byte strings point into the payload passed to
 * ipc_decode() (which must outlive the message) or into storage the message
 * owns; ipc_msg_release() frees that storage.
 */
struct ipc_msg {
	uint16_t type;
	uint64_t id;
	const struct ipc_msg_spec *spec;
	struct ipc_value field[IPC_MAX_FIELDS];
	void *priv;
};

/*
 * Frame reader.  Looks at the first `avail` bytes of a stream: returns 1 and
 * sets *payload_len when a whole frame (4 + *payload_len bytes) is present,
 * 0 when more bytes are needed, and -1 when the announced length is zero or
 * above `cap` (the peer is then to be dropped; nothing was allocated).
 */
int ipc_frame_check(const uint8_t *data, size_t avail, uint32_t cap, uint32_t *payload_len);

/*
 * Validates and decodes one frame payload (without its length prefix) that
 * `from` sent to `to` on a channel in receiver state `state`.  Gates, in
 * order: known type, sender and receiver allowed, state allowed, exact field
 * count, each field's type, size and UTF-8, no trailing bytes, bounded depth.
 * Returns 0, or -1 with *why set to a static description of the failed gate
 * ("unknown type 99", "field 'url' too long" ...) and msg left released.
 * Never aborts on any input.
 */
int ipc_decode(const uint8_t *payload, size_t len, unsigned from, unsigned to, unsigned state,
    struct ipc_msg *msg, const char **why);

/* Frees what ipc_decode allocated; safe on a zeroed or released message. */
void ipc_msg_release(struct ipc_msg *msg);

/*
 * Appends one whole frame (length prefix included) to `out`.  `fields` must
 * match the table entry for `type` in count and kinds, and respect its caps;
 * otherwise -1 with errno EINVAL and `out` unchanged.  (Trusted code calls
 * this, so a mismatch is a bug, but it still fails cleanly.)
 */
int ipc_encode(
    struct buf *out, uint16_t type, uint64_t id, const struct ipc_value *fields, size_t nfields);

/* Conveniences for building ipc_value arrays. */
struct ipc_value ipc_u64(uint64_t u);
struct ipc_value ipc_str(const char *s); /* NUL-terminated */
struct ipc_value ipc_bytes(const void *p, size_t len);
struct ipc_value ipc_strlist(const struct ipc_bytes *list, size_t count);

/* Copies a STR field into a NUL-terminated heap string (caller frees); NULL on ENOMEM. */
char *ipc_strdup(const struct ipc_value *v);

/*
 * Descriptor passing, on trusted channels only (launcher -> supervisor,
 * supervisor -> broker).  Sends a whole frame with `nfds` descriptors
 * attached; blocking; the descriptors stay open in the caller.  Returns 0 or -1.
 */
int ipc_send_with_fds(int sock, const struct buf *frame, const int *fds, unsigned nfds);

/*
 * Reads what is available on a non-blocking socket into `in`, collecting any
 * descriptors that arrive into fds[] (at most max_fds; extras are closed and
 * counted as an error).  Returns bytes read (> 0), 0 on EOF, -1 on error
 * (EAGAIN included).  *nfds is set to the number of descriptors received.
 */
ssize_t ipc_recv_with_fds(int sock, struct buf *in, int *fds, unsigned max_fds, unsigned *nfds);

/*
 * Blocking helpers for the simple processes (launcher, sandbox start-up):
 * write a whole frame, and read exactly one frame payload into `in` (reset
 * first).  Return 0, or -1 (EOF counts as -1 with errno 0).
 */
int ipc_write_all(int fd, const struct buf *frame);
int ipc_read_frame(int fd, uint32_t cap, struct buf *in);

#endif

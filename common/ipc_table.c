/*
 * ipc_table: every IPC message edged speaks, as data.  Encode, validate and
 * decode (common/ipc.c) are driven by this table and nothing else.
 * Type numbers are wire ABI: never reuse one.
 */
#include "common/ipc.h"

#define SUP IPC_PEER_SUPERVISOR
#define SBX IPC_PEER_SANDBOX
#define BRK IPC_PEER_BROKER
#define LCH IPC_PEER_LAUNCHER
#define ANY (SUP | SBX | BRK | LCH)

#define U64(n, m)                                                                                  \
	{                                                                                          \
		(n), IPC_F_U64, (m), 0                                                             \
	}
#define STR(n, m)                                                                                  \
	{                                                                                          \
		(n), IPC_F_STR, (m), 0                                                             \
	}
#define BIN(n, m)                                                                                  \
	{                                                                                          \
		(n), IPC_F_BIN, (m), 0                                                             \
	}
#define STRLIST(n, count, item)                                                                    \
	{                                                                                          \
		(n), IPC_F_STRLIST, (count), (item)                                                \
	}

#define NAME_MAX_BYTES 64 /* tenant and worker names */
#define SCRIPT_MAX_BYTES (10u << 20)
#define BINDINGS_MAX_BYTES (1u << 20)
#define URL_MAX_BYTES (16u << 10)
#define HEADER_ITEMS_MAX 512 /* 256 name/value pairs */
#define HEADER_ITEM_MAX_BYTES (16u << 10)
#define LOG_MAX_BYTES (16u << 10)
#define MESSAGE_MAX_BYTES 1024
#define LAYERS_MAX 32            /* lock-down layers in a LAYERS report */
#define LAYER_LINE_MAX_BYTES 256 /* "layer=state:reason" */
#define U32 UINT32_MAX
#define BINDING_NAME_MAX_BYTES 64
#define METHOD_MAX_BYTES 32
#define RESOURCE_MAX_BYTES 64
#define LIMITS_MAX_BYTES 4096
#define CALLER (SBX | SUP)

static const struct ipc_msg_spec ipc_table[] = {
	{ IPC_HELLO, "HELLO", ANY, ANY, IPC_ST_HELLO, 0, 3,
	    { U64("version", U32), U64("role", LCH), U64("pid", INT32_MAX) } },

	{ IPC_SPAWN, "SPAWN", SUP, LCH, IPC_ST_READY, 0, 2,
	    { U64("slot", U32), U64("generation", U32) } },
	{ IPC_SPAWNED, "SPAWNED", LCH, SUP, IPC_ST_READY, 2, 3,
	    { U64("slot", U32), U64("generation", U32), U64("pid", INT32_MAX) } },
	{ IPC_SPAWN_FAILED, "SPAWN_FAILED", LCH, SUP, IPC_ST_READY, 0, 3,
	    { U64("slot", U32), U64("generation", U32), STR("reason", MESSAGE_MAX_BYTES) } },
	{ IPC_CHILD_EXITED, "CHILD_EXITED", LCH, SUP, IPC_ST_READY, 0, 2,
	    { U64("pid", INT32_MAX), U64("status", U32) } },
	/* The launcher is the parent, so only it can kill without racing PID reuse. */
	{ IPC_KILL, "KILL", SUP, LCH, IPC_ST_READY, 0, 3,
	    { U64("pid", INT32_MAX), U64("slot", U32), U64("generation", U32) } },

	/* Sent once, right after HELLO, before any SPAWNED. */
	{ IPC_LAYERS, "LAYERS", LCH, SUP, IPC_ST_READY, 0, 1,
	    { STRLIST("layers", LAYERS_MAX, LAYER_LINE_MAX_BYTES) } },

	{ IPC_LOAD, "LOAD", SUP, SBX, IPC_ST_BLANK, 0, 7,
	    { STR("tenant", NAME_MAX_BYTES), STR("worker", NAME_MAX_BYTES),
		U64("version", UINT64_MAX), U64("format", IPC_FORMAT_SERVICE_WORKER),
		STR("script", SCRIPT_MAX_BYTES), STR("bindings", BINDINGS_MAX_BYTES),
		U64("startup_cpu_ms", 60000) } },
	{ IPC_LOADED, "LOADED", SBX, SUP, IPC_ST_LOADING, 0, 4,
	    { U64("ok", 1), U64("line", U32), U64("column", U32),
		STR("message", MESSAGE_MAX_BYTES) } },
	{ IPC_REQ_HEAD, "REQ_HEAD", SUP, SBX, IPC_ST_READY, 0, 5,
	    { STR("method", 32), STR("url", URL_MAX_BYTES),
		STRLIST("headers", HEADER_ITEMS_MAX, HEADER_ITEM_MAX_BYTES), U64("has_body", 1),
		U64("cpu_ms", 600000) } },
	{ IPC_REQ_BODY, "REQ_BODY", SUP, SBX, IPC_ST_READY, 0, 2,
	    { BIN("chunk", IPC_BODY_CHUNK_MAX), U64("last", 1) } },
	{ IPC_REQ_CANCEL, "REQ_CANCEL", SUP, SBX, IPC_ST_READY, 0, 1, { U64("reason", 255) } },
	{ IPC_RESP_HEAD, "RESP_HEAD", SBX, SUP, IPC_ST_READY, 0, 3,
	    { U64("status", 599), STRLIST("headers", HEADER_ITEMS_MAX, HEADER_ITEM_MAX_BYTES),
		U64("has_body", 1) } },
	{ IPC_RESP_BODY, "RESP_BODY", SBX, SUP, IPC_ST_READY, 0, 2,
	    { BIN("chunk", IPC_BODY_CHUNK_MAX), U64("last", 1) } },
	{ IPC_RESP_ERROR, "RESP_ERROR", SBX, SUP, IPC_ST_READY, 0, 1, { U64("code", 9999) } },
	{ IPC_LOG, "LOG", SBX, SUP, IPC_ST_LOADING | IPC_ST_READY, 0, 2,
	    { U64("level", 3), STR("message", LOG_MAX_BYTES) } },

	{ IPC_RESP_CREDIT, "RESP_CREDIT", SUP, SBX, IPC_ST_READY, 0, 1,
	    { U64("bytes", IPC_BODY_WINDOW) } },
	{ IPC_REQ_CREDIT, "REQ_CREDIT", SBX, SUP, IPC_ST_READY, 0, 1,
	    { U64("bytes", IPC_BODY_WINDOW) } },

	{ IPC_ATTACH, "ATTACH", SUP, BRK, IPC_ST_READY, 1, 6,
	    { U64("channel", UINT64_MAX), STR("tenant", NAME_MAX_BYTES),
		STR("worker", NAME_MAX_BYTES), U64("version", UINT64_MAX),
		STR("bindings", BINDINGS_MAX_BYTES), STR("limits", LIMITS_MAX_BYTES) } },
	{ IPC_DETACH, "DETACH", SUP, BRK, IPC_ST_READY, 0, 1, { U64("channel", UINT64_MAX) } },

	{ IPC_CALL, "CALL", SBX, BRK, IPC_ST_READY, 0, 5,
	    { STR("binding", BINDING_NAME_MAX_BYTES), STR("method", METHOD_MAX_BYTES),
		STR("args", IPC_CALL_ARGS_MAX), BIN("chunk", IPC_BODY_CHUNK_MAX),
		U64("more", 1) } },
	{ IPC_CALL_BODY, "CALL_BODY", CALLER, BRK, IPC_ST_READY, 0, 2,
	    { BIN("chunk", IPC_BODY_CHUNK_MAX), U64("last", 1) } },
	{ IPC_CALL_PULL, "CALL_PULL", BRK, CALLER, IPC_ST_READY, 0, 1,
	    { U64("chunks", IPC_PULL_MAX) } },
	{ IPC_RESULT, "RESULT", BRK, CALLER, IPC_ST_READY, 0, 4,
	    { U64("status", 255), STR("result", IPC_RESULT_MAX), BIN("chunk", IPC_BODY_CHUNK_MAX),
		U64("more", 1) } },
	{ IPC_RESULT_BODY, "RESULT_BODY", BRK, CALLER, IPC_ST_READY, 0, 2,
	    { BIN("chunk", IPC_BODY_CHUNK_MAX), U64("last", 1) } },
	{ IPC_RESULT_PULL, "RESULT_PULL", CALLER, BRK, IPC_ST_READY, 0, 1,
	    { U64("chunks", IPC_PULL_MAX) } },
	{ IPC_CALL_CANCEL, "CALL_CANCEL", CALLER, BRK, IPC_ST_READY, 0, 1, { U64("reason", 255) } },
	{ IPC_ADMIN_CALL, "ADMIN_CALL", SUP, BRK, IPC_ST_READY, 0, 8,
	    { STR("tenant", NAME_MAX_BYTES), STR("kind", 16), STR("resource", RESOURCE_MAX_BYTES),
		STR("method", METHOD_MAX_BYTES), STR("args", IPC_CALL_ARGS_MAX),
		BIN("chunk", IPC_BODY_CHUNK_MAX), U64("more", 1),
		STR("limits", LIMITS_MAX_BYTES) } },
};

const struct ipc_msg_spec *
ipc_spec(uint16_t type)
{
	for (size_t i = 0; i < sizeof(ipc_table) / sizeof(ipc_table[0]); i++)
		if (ipc_table[i].type == type)
			return &ipc_table[i];
	return NULL;
}

size_t
ipc_spec_count(void)
{
	return sizeof(ipc_table) / sizeof(ipc_table[0]);
}

const struct ipc_msg_spec *
ipc_spec_at(size_t i)
{
	return i < ipc_spec_count() ? &ipc_table[i] : NULL;
}

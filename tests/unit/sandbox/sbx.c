/*
 * sbx: a forked sandbox and the supervisor's (and broker's) side of its
 * channels, for the sandbox unit suites (runs in the test process).
 */
#include "tests/unit/sandbox/sbx.h"

#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

struct sbx sb = { .sup = -1, .brk = -1 };

void
sbx_send_on(int fd, uint16_t type, uint64_t id, const struct ipc_value *f, size_t n)
{
	struct buf out;

	buf_init(&out);
	cr_assert_eq(ipc_encode(&out, type, id, f, n), 0, "encode type %u", type);
	cr_assert_eq(ipc_write_all(fd, &out), 0);
	buf_release(&out);
}

void
sbx_recv_on(int fd, unsigned to, unsigned state, struct buf *in, struct ipc_msg *m)
{
	const char *why = NULL;

	cr_assert_eq(ipc_read_frame(fd, IPC_CAP_FROM_SANDBOX, in), 0,
	    "no frame from the sandbox: %s", strerror(errno));
	cr_assert_eq(ipc_decode(in->data, in->len, IPC_PEER_SANDBOX, to, state, m, &why), 0,
	    "bad frame from the sandbox: %s", why);
}

void
sbx_send(uint16_t type, uint64_t id, const struct ipc_value *f, size_t n)
{
	sbx_send_on(sb.sup, type, id, f, n);
}

void
sbx_recv(struct buf *in, struct ipc_msg *m)
{
	sbx_recv_on(sb.sup, IPC_PEER_SUPERVISOR, sb.state, in, m);
}

void
sbx_log(const struct ipc_msg *m)
{
	buf_printf(&sb.logs, "%u %.*s\n", (unsigned)m->field[IPC_LOG_LEVEL].u,
	    (int)m->field[IPC_LOG_MESSAGE].b.len, m->field[IPC_LOG_MESSAGE].b.ptr);
}

void
sbx_recv_reply(struct buf *in, struct ipc_msg *m)
{
	for (;;) {
		sbx_recv(in, m);
		if (m->type != IPC_LOG)
			return;
		sbx_log(m);
		ipc_msg_release(m);
	}
}

const char *
sbx_logs(void)
{
	buf_append(&sb.logs, "", 1);
	sb.logs.len--;
	return (const char *)sb.logs.data;
}

/* The HELLO exchange on fd, where we are `role` and the sandbox speaks first. */
static void
hello(int fd, unsigned role)
{
	struct ipc_value f[3];
	struct buf in;
	struct ipc_msg m;

	buf_init(&in);
	sbx_recv_on(fd, role, IPC_ST_HELLO, &in, &m);
	cr_assert_eq(m.type, IPC_HELLO);
	cr_assert_eq(m.field[IPC_HELLO_VERSION].u, IPC_VERSION);
	cr_assert_eq(m.field[IPC_HELLO_ROLE].u, IPC_PEER_SANDBOX);
	cr_assert_eq(m.field[IPC_HELLO_PID].u, (uint64_t)sb.pid);
	ipc_msg_release(&m);
	buf_release(&in);
	f[IPC_HELLO_VERSION] = ipc_u64(IPC_VERSION);
	f[IPC_HELLO_ROLE] = ipc_u64(role);
	f[IPC_HELLO_PID] = ipc_u64((uint64_t)getpid());
	sbx_send_on(fd, IPC_HELLO, 0, f, 3);
}

void
sbx_start(sbx_child_fn child, bool with_broker)
{
	struct timeval tv = { .tv_sec = 10 };
	int sv[2], bv[2] = { -1, -1 };

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	if (with_broker)
		cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, bv), 0);
	sb.pid = fork();
	cr_assert_neq(sb.pid, -1);
	if (sb.pid == 0) {
		close(sv[0]);
		if (with_broker)
			close(bv[0]);
		child(sv[1], bv[1]);
		_exit(127); /* a child must not return */
	}
	close(sv[1]);
	if (with_broker)
		close(bv[1]);
	sb.sup = sv[0];
	sb.brk = bv[0];
	sb.state = IPC_ST_HELLO;
	buf_init(&sb.logs);
	/* A missing frame fails the test instead of hanging it. */
	setsockopt(sb.sup, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	hello(sb.sup, IPC_PEER_SUPERVISOR);
	sb.state = IPC_ST_LOADING;
	if (with_broker) {
		setsockopt(sb.brk, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		/* The broker channel opens with HELLO both ways too (common/channel.c on the
		 * broker). */
		hello(sb.brk, IPC_PEER_BROKER);
	}
}

static void
close_channels(void)
{
	if (sb.brk != -1)
		close(sb.brk);
	if (sb.sup != -1)
		close(sb.sup);
	sb.sup = sb.brk = -1;
}

int
sbx_stop(void)
{
	int status = -1;

	close_channels();
	cr_assert_eq(waitpid(sb.pid, &status, 0), sb.pid);
	buf_release(&sb.logs);
	return status;
}

int
sbx_wait_exit(void)
{
	int status = -1;

	cr_assert_eq(waitpid(sb.pid, &status, 0), sb.pid);
	close_channels();
	buf_release(&sb.logs);
	return status;
}

void
sbx_teardown(void)
{
	if (sb.sup != -1) {
		int status = sbx_stop();

		cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		    "the sandbox did not exit cleanly: status %#x", status);
	}
}

bool
sbx_load(unsigned format, const char *script, const char *bindings, struct sbx_loaded *out)
{
	struct ipc_value f[7];
	struct sbx_loaded scratch;
	struct buf in;
	struct ipc_msg m;

	if (out == NULL)
		out = &scratch;
	f[IPC_LOAD_TENANT] = ipc_str("acme");
	f[IPC_LOAD_WORKER] = ipc_str("worker");
	f[IPC_LOAD_VERSION] = ipc_u64(1);
	f[IPC_LOAD_FORMAT] = ipc_u64(format);
	f[IPC_LOAD_SCRIPT] = ipc_str(script);
	f[IPC_LOAD_BINDINGS] = ipc_str(bindings != NULL ? bindings : "[]");
	f[IPC_LOAD_STARTUP_CPU_MS] = ipc_u64(1000);
	sbx_send(IPC_LOAD, 0, f, 7);
	buf_init(&in);
	sbx_recv_reply(&in, &m);
	cr_assert_eq(m.type, IPC_LOADED);
	out->ok = m.field[IPC_LOADED_OK].u == 1;
	out->line = (unsigned)m.field[IPC_LOADED_LINE].u;
	out->column = (unsigned)m.field[IPC_LOADED_COLUMN].u;
	snprintf(out->message, sizeof(out->message), "%.*s", (int)m.field[IPC_LOADED_MESSAGE].b.len,
	    m.field[IPC_LOADED_MESSAGE].b.ptr);
	ipc_msg_release(&m);
	buf_release(&in);
	if (out->ok)
		sb.state = IPC_ST_READY;
	return out->ok;
}

void
sbx_load_ok(unsigned format, const char *script, const char *bindings)
{
	struct sbx_loaded loaded;

	cr_assert(sbx_load(format, script, bindings, &loaded), "LOAD failed: %s", loaded.message);
}

/*
 * sbx: a sandbox under test, for the sandbox unit suites.  A forked child
 * runs sandbox_serve(); the test speaks the supervisor's side of the
 * protocol on one socketpair and, when the suite asks for it, the broker's
 * on another.  One sandbox per test process (Criterion forks each test).
 */
#ifndef EDGED_TESTS_SBX_H
#define EDGED_TESTS_SBX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/buf.h"
#include "common/ipc.h"

struct sbx {
	pid_t pid;
	int sup;         /* our end of the supervisor channel; -1 once closed */
	int brk;         /* our end of the broker channel; -1 without one or once closed */
	unsigned state;  /* what we, the supervisor, accept now */
	struct buf logs; /* every LOG message, one per line, "<level> message" */
};

/* The suite's sandbox, valid from sbx_start to sbx_stop or sbx_wait_exit. */
extern struct sbx sb;

/*
 * What the forked child runs with its ends of the channels (brk is -1
 * without a broker channel).  It must not return.
 */
typedef void (*sbx_child_fn)(int sup, int brk);

/*
 * Forks `child` and exchanges HELLO on the supervisor channel, and on the
 * broker channel too when `with_broker`; frames that do not come within
 * ten seconds fail the test.  Leaves sb.state at LOADING.
 */
void sbx_start(sbx_child_fn child, bool with_broker);
/* Closes both channels, reaps the child and returns its wait status. */
int sbx_stop(void);
/* Reaps the child, which must end on its own, then closes both channels; its wait status. */
int sbx_wait_exit(void);
/* A suite's .fini: a sandbox still running must exit 0 once its channels close. */
void sbx_teardown(void);

/* One message on fd; fails the test if it cannot be encoded or written. */
void sbx_send_on(int fd, uint16_t type, uint64_t id, const struct ipc_value *f, size_t n);
/*
 * Reads one message the sandbox sent to `to` in protocol `state` on fd into
 * *m (its payload kept in *in); fails the test on EOF, timeout or garbage.
 */
void sbx_recv_on(int fd, unsigned to, unsigned state, struct buf *in, struct ipc_msg *m);
/* sbx_send_on and sbx_recv_on on the supervisor channel, in sb.state; LOG included. */
void sbx_send(uint16_t type, uint64_t id, const struct ipc_value *f, size_t n);
void sbx_recv(struct buf *in, struct ipc_msg *m);
/* The next message on the supervisor channel that is not a LOG (logged lines are kept). */
void sbx_recv_reply(struct buf *in, struct ipc_msg *m);
/* Keeps the line of a LOG message in sb.logs. */
void sbx_log(const struct ipc_msg *m);
/* Every line logged so far (borrowed until the next LOG). */
const char *sbx_logs(void);

/* The LOADED answer. */
struct sbx_loaded {
	bool ok;
	unsigned line;
	unsigned column;
	char message[1100];
};

/*
 * Sends LOAD (bindings NULL: none) and reads LOADED into *out (may be NULL);
 * returns whether it loaded, and on success leaves sb.state at READY.
 */
bool sbx_load(unsigned format, const char *script, const char *bindings, struct sbx_loaded *out);
/* sbx_load that must succeed. */
void sbx_load_ok(unsigned format, const char *script, const char *bindings);

#endif

/*
 * broker: the process that owns the data directory and every storage engine
 * (KV, D1 and R2 now; Durable Objects and the rest later).  The supervisor
 * attaches each sandbox's broker channel together with the identity it may
 * act as; the broker never learns identity from a sandbox.  Runs in its own
 * process.
 */
#ifndef EDGED_BROKER_H
#define EDGED_BROKER_H

struct broker_config {
	const char *data_dir; /* must outlive the broker */
	unsigned d1_query_ms; /* config d1_query_ms: wall time of one D1 call */
};

/*
 * The broker's life on `sup_fd`, its channel to the supervisor.  Opens the
 * backends under cfg->data_dir first; when one cannot open, logs it and
 * exits 1 (the supervisor restarts the broker with back-off).  Exits 0 when
 * the supervisor closes the channel, after aborting every call in flight
 * and closing the backends.
 */
void broker_main(int sup_fd, const struct broker_config *cfg) __attribute__((noreturn));

#endif

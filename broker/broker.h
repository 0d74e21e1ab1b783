/*
 * broker: the process that owns the data directory and every storage engine
 * (later issues add KV, D1, R2, Durable Objects ...).  The supervisor attaches
 * each sandbox's broker channel together with the identity it may act as;
 * the broker never learns identity from a sandbox.  Runs in its own process.
 */
#ifndef EDGED_BROKER_H
#define EDGED_BROKER_H

struct broker_config {
	const char *data_dir; /* must outlive the broker */
};

/*
 * The broker's life on `sup_fd`, its channel to the supervisor.  Exits 0 when
 * the supervisor closes the channel.
 */
void broker_main(int sup_fd, const struct broker_config *cfg) __attribute__((noreturn));

#endif

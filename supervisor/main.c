/*
 * edged: the supervisor's entry point.  Reads the configuration, starts the
 * launcher first (before any client state exists), then the broker, the
 * stores and the listeners, and runs the event loop until SIGTERM.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>

#include "broker/broker.h"
#include "common/config.h"
#include "common/log.h"
#include "sandbox/launcher.h"
#include "supervisor/broker_link.h"
#include "supervisor/core.h"
#include "supervisor/notify.h"
#include "supervisor/proc.h"

#define DEV_DATA_DIR "edged-data"
#define SANDBOX_AS_HEADROOM (512ull << 20)
#define SANDBOX_LIFETIME_CPU_S 3600
#define DEV_TOKEN_FILE "admin-token"

/* Command-line values; they win over the file, on start and on reload. */
struct flags {
	const char *config;
	const char *listen;
	const char *admin_listen;
	const char *data_dir;
	bool dev;
};

static void __attribute__((noreturn)) usage(int status)
{
	fprintf(status == 0 ? stdout : stderr,
	    "usage: edged [--config FILE] [--listen ADDR:PORT] [--admin-listen ADDR:PORT]\n"
	    "             [--data-dir DIR] [--dev] [--version]\n");
	exit(status);
}

static void
parse_flags(int argc, char **argv, struct flags *f)
{
	static const struct option options[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "listen", required_argument, NULL, 'l' },
		{ "admin-listen", required_argument, NULL, 'a' },
		{ "data-dir", required_argument, NULL, 'd' },
		{ "dev", no_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	memset(f, 0, sizeof(*f));
	while ((ch = getopt_long(argc, argv, "c:l:a:d:Dh", options, NULL)) != -1) {
		switch (ch) {
		case 'c':
			f->config = optarg;
			break;
		case 'l':
			f->listen = optarg;
			break;
		case 'a':
			f->admin_listen = optarg;
			break;
		case 'd':
			f->data_dir = optarg;
			break;
		case 'D':
			f->dev = true;
			break;
		case 'h':
			usage(0);
		case 'V':
			printf("edged %s\n", EDGED_VERSION);
			exit(0);
		default:
			usage(2);
		}
	}
	if (optind != argc)
		usage(2);
}

static void
set_or_die(struct config *c, const char *key, const char *value)
{
	char err[256];

	if (config_set(c, key, value, err, sizeof(err)) == -1)
		fatalx("%s", err);
}

/*
 * Defaults, then --dev defaults, then the file, then flags, then the
 * environment's admin token.  Returns 0 or -1 with err set.
 */
static int
load_config(const struct flags *f, struct config *c, char *err, size_t errlen)
{
	const char *token;
	char cwd[CONFIG_PATH_MAX - sizeof(DEV_DATA_DIR) - 2];

	config_defaults(c);
	if (f->dev) {
		if (getcwd(cwd, sizeof(cwd)) == NULL) {
			snprintf(err, errlen, "cannot read the working directory");
			return -1;
		}
		snprintf(c->data_dir, sizeof(c->data_dir), "%s/%s", cwd, DEV_DATA_DIR);
		c->dev = true;
	}
	if (f->config != NULL && config_load_file(c, f->config, err, errlen) == -1)
		return -1;
	if ((f->listen && config_set(c, "listen", f->listen, err, errlen) == -1) ||
	    (f->admin_listen &&
		config_set(c, "admin_listen", f->admin_listen, err, errlen) == -1) ||
	    (f->data_dir && config_set(c, "data_dir", f->data_dir, err, errlen) == -1))
		return -1;
	if ((token = getenv("EDGED_ADMIN_TOKEN")) != NULL && *token != '\0' &&
	    config_set(c, "admin_token", token, err, errlen) == -1)
		return -1;
	c->dev = f->dev;
	return 0;
}

/* --dev without a token: reuse the one in the data dir, or make one. */
static void
dev_token(struct config *c)
{
	char path[CONFIG_PATH_MAX + 32], token[65];
	unsigned char raw[32];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", c->data_dir, DEV_TOKEN_FILE);
	if ((fp = fopen(path, "r")) != NULL) {
		if (fgets(token, sizeof(token), fp) != NULL && strlen(token) == 64) {
			fclose(fp);
			set_or_die(c, "admin_token", token);
			return;
		}
		fclose(fp);
	}
	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
		fatal("getrandom");
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(token + 2 * i, 3, "%02x", raw[i]);
	if ((fp = fopen(path, "w")) == NULL)
		fatal("cannot write '%s'", path);
	fchmod(fileno(fp), 0600);
	fprintf(fp, "%s\n", token);
	fclose(fp);
	set_or_die(c, "admin_token", token);
}

static void
launcher_child(int fd, void *arg)
{
	launcher_main(fd, arg);
}

/* --- signals ------------------------------------------------------------------ */

struct signals {
	struct core *core;
	const struct flags *flags;
};

static void
on_sigterm(evutil_socket_t sig, short what, void *arg)
{
	struct signals *s = arg;

	(void)what;
	log_info("%s: draining", sig == SIGINT ? "SIGINT" : "SIGTERM");
	core_drain(s->core);
}

static void
on_sighup(evutil_socket_t sig, short what, void *arg)
{
	struct signals *s = arg;
	struct config next;
	char err[512];

	(void)sig;
	(void)what;
	notify_reloading();
	if (load_config(s->flags, &next, err, sizeof(err)) == -1)
		goto keep;
	/* A development token was generated at start: it stays. */
	if (next.dev && next.admin_token[0] == '\0')
		memcpy(next.admin_token, s->core->cfg.admin_token, sizeof(next.admin_token));
	if (config_check(&next, err, sizeof(err)) == -1)
		goto keep;
	core_reload(s->core, &next);
	log_info("configuration reloaded");
	notify_ready("serving");
	return;
keep:
	log_warnx("reload: %s: keeping the running configuration", err);
	notify_ready("serving");
}

static void
on_sigchld(evutil_socket_t sig, short what, void *arg)
{
	struct signals *s = arg;
	int status;
	pid_t pid;

	(void)sig;
	(void)what;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (pid == s->core->launcher_pid && !s->core->draining)
			fatalx("launcher died (status %d)", status);
		/* The broker's channel EOF drives its restart; nothing else to do here. */
	}
}

/*
 * Started as root: the supervisor and the broker will run as cfg.user (the
 * launcher alone keeps root, for per-slot uids and namespaces).  A missing
 * user stops the service, except in --dev, which keeps root and says so.
 */
static void
resolve_service_user(struct core *core)
{
	const char *user = core->cfg.user;
	struct passwd *pw;

	if (geteuid() != 0)
		return;
	if (user[0] == '\0') {
		log_warnx("running as root with an empty 'user': the supervisor and the broker "
			  "keep root");
		return;
	}
	if ((pw = getpwnam(user)) == NULL) {
		if (!core->cfg.dev)
			fatalx("service user '%s' does not exist: create it (packaging/install.sh "
			       "does: useradd --system %s) or set 'user'",
			    user, user);
		log_warnx("development mode: service user '%s' does not exist: the supervisor "
			  "and the broker KEEP ROOT",
		    user);
		return;
	}
	if (pw->pw_uid == 0 || pw->pw_gid == 0)
		fatalx("service user '%s' is root: name an unprivileged user", user);
	core->drop_privileges = true;
	core->run_uid = pw->pw_uid;
	core->run_gid = pw->pw_gid;
}

static void
prepare_data_dir(const struct core *core)
{
	const char *dir = core->cfg.data_dir;

	if (mkdir(dir, 0750) == -1 && errno != EEXIST)
		fatal("cannot create '%s'", dir);
	if (core->drop_privileges && chown(dir, core->run_uid, core->run_gid) == -1)
		fatal("cannot give '%s' to user '%s'", dir, core->cfg.user);
	if (access(dir, R_OK | W_OK | X_OK) == -1)
		fatal("cannot use '%s'", dir);
}

int
main(int argc, char **argv)
{
	struct launcher_config lcfg;
	struct event *sig_ev[4];
	struct signals sigs;
	struct flags flags;
	struct core core;
	char err[512];
	int launcher_fd;

	log_init("supervisor", LOG_LEVEL_INFO);
	parse_flags(argc, argv, &flags);
	memset(&core, 0, sizeof(core));
	core.config_path = flags.config;
	if (load_config(&flags, &core.cfg, err, sizeof(err)) == -1)
		fatalx("%s", err);
	log_init("supervisor", (enum log_level)core.cfg.log_level);
	resolve_service_user(&core);
	prepare_data_dir(&core);
	if (core.cfg.dev && core.cfg.admin_token[0] == '\0')
		dev_token(&core.cfg);
	if (config_check(&core.cfg, err, sizeof(err)) == -1)
		fatalx("%s", err);
	signal(SIGPIPE, SIG_IGN);
	if (core.cfg.dev)
		log_warnx("development mode: not for production");

	/* The launcher comes first: it must never see client state. */
	memset(&lcfg, 0, sizeof(lcfg));
	lcfg.memory_bytes = (uint64_t)core.cfg.memory_mb << 20;
	/*
	 * Backstops behind the capped allocator and the per-request budget: the
	 * address space leaves room for the code, stacks and the runtime the
	 * sandbox inherits; RLIMIT_CPU bounds a sandbox's whole life.
	 */
	lcfg.address_space = 2 * lcfg.memory_bytes + SANDBOX_AS_HEADROOM;
	lcfg.cpu_seconds = SANDBOX_LIFETIME_CPU_S;
	lcfg.uid_base = core.cfg.sandbox_uid_base;
	core.launcher_pid = proc_spawn("launcher", launcher_child, &lcfg, &launcher_fd);
	if (core.launcher_pid == -1)
		fatalx("cannot start the launcher");

	if ((core.base = event_base_new()) == NULL)
		fatalx("cannot create the event loop");
	sigs.core = &core;
	sigs.flags = &flags;
	sig_ev[0] = evsignal_new(core.base, SIGTERM, on_sigterm, &sigs);
	sig_ev[1] = evsignal_new(core.base, SIGINT, on_sigterm, &sigs);
	sig_ev[2] = evsignal_new(core.base, SIGHUP, on_sighup, &sigs);
	sig_ev[3] = evsignal_new(core.base, SIGCHLD, on_sigchld, &sigs);
	for (int i = 0; i < 4; i++)
		if (sig_ev[i] == NULL || evsignal_add(sig_ev[i], NULL) == -1)
			fatalx("cannot install signal handlers");

	if (core_start(&core, launcher_fd) == -1)
		fatalx("cannot start");
	notify_start_watchdog(core.base);
	notify_ready("serving");
	log_info("ready: public http://%s admin http://%s data %s", core.public_addr,
	    core.admin_addr, core.cfg.data_dir);
	if (core.cfg.dev)
		log_info("admin token: %s", core.cfg.admin_token);

	event_base_dispatch(core.base);

	/*
	 * Freeing the signal events restores the default actions: a second
	 * SIGTERM on the way out must not turn a clean exit into a signal death.
	 */
	{
		sigset_t stop;

		sigemptyset(&stop);
		sigaddset(&stop, SIGTERM);
		sigaddset(&stop, SIGINT);
		sigaddset(&stop, SIGHUP);
		sigprocmask(SIG_BLOCK, &stop, NULL);
	}
	core_stop(&core);
	for (int i = 0; i < 4; i++)
		event_free(sig_ev[i]);
	event_base_free(core.base);
	log_info("stopped");
	return 0;
}

/*
 * log: one-line diagnostics on stderr (the journal under systemd), shared by
 * every process.  Each line names the process that wrote it.
 */
#ifndef EDGED_LOG_H
#define EDGED_LOG_H

#include <stdarg.h>

enum log_level {
	LOG_LEVEL_ERROR = 0,
	LOG_LEVEL_WARN = 1,
	LOG_LEVEL_INFO = 2,
	LOG_LEVEL_DEBUG = 3,
};

/*
 * Sets the process name printed on each line ("supervisor", "broker",
 * "launcher", "sandbox") and the most verbose level written.  The name must
 * outlive every later log call (a string literal).
 */
void log_init(const char *process, enum log_level level);

/* Parses "error", "warn", "info" or "debug"; returns -1 for anything else. */
int log_level_parse(const char *name);

/* log_warn appends strerror(errno); the x variants do not.  errno is kept. */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Process-level code only (main, set-up): log and exit(1). */
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif

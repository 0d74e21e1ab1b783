/*
 * envelope: the admin API's v4 envelope ({success, errors, messages,
 * result}) as the test suites check and read it, unit and end-to-end alike.
 * Runs in the test process.
 */
#ifndef EDGED_TESTS_ENVELOPE_H
#define EDGED_TESTS_ENVELOPE_H

#include <stddef.h>

#include <jansson.h>

/*
 * An answer (status, and len bytes of body) that must have `want_status`
 * and be an envelope: JSON with success (true exactly for 200), errors and
 * messages arrays, and a result.  `what` names the request in a failure.
 * Returns the envelope (the caller json_decrefs it).
 */
json_t *envelope_check(
    const char *what, long status, const char *body, size_t len, long want_status);

/* The envelope's result (borrowed), and its first error's code and message ("" when none). */
json_t *envelope_result(json_t *env);
int envelope_error_code(json_t *env);
const char *envelope_error_message(json_t *env);

#endif

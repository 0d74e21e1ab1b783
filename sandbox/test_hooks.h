/*
 * test_hooks: the attacker's hands inside a sandbox, for the end-to-end
 * escape catalog (SECURITY.md parts B and C).  Compiled only into the
 * test-only binary edged-hooked (EDGED_TEST_HOOKS); the release edged has
 * none of it, which tests/unit/sandbox/test_lockdown.c checks with nm.
 */
#ifndef EDGED_TEST_HOOKS_H
#define EDGED_TEST_HOOKS_H

#include "duktape.h"

/*
 * Defines the global function __edged_test_hook(action, arg, bytes) on the
 * heap `ctx`, so that a tenant script can make its locked-down sandbox run
 * one raw action as native code would: a system call the policy forbids, or
 * `bytes` written as they are on a channel fd.  Called from native_register
 * while the runtime is built (in the launcher, before any fork).  May throw.
 */
void test_hooks_register(duk_context *ctx);

#endif

/* The hook set of one pool: the policy whose hooks its slow paths call,
 * counted so that a running hook never sees its policy freed (hooks.c).
 * The pool embeds one mp__hookset and calls these under its lock where
 * marked; nothing here knows what a pool is. */
#ifndef MEMPOOL_HOOKS_H
#define MEMPOOL_HOOKS_H

#include "core/core.h"

#include <stdatomic.h>

typedef struct mp__hooks mp__hooks; /* one policy, reference-counted */

typedef struct mp__hookset {
    mp__hooks *hooks;   /* NULL: none. Under the pool's lock */
    _Atomic int running; /* threads inside one of its hooks */
} mp__hookset;

/* A policy's copy with one reference (the pool's), or NULL for want of
 * memory. The caller has validated it. */
mp__hooks *mp__hooks_new(const mp_policy *policy);
/* Drops a reference; the last runs the policy's release. NULL: nothing. */
void mp__hooks_unref(mp__hooks *hooks);
const mp_policy *mp__hooks_policy(const mp__hooks *hooks);

/* The hooks of one slow path. mp__hooks_enter (pool locked) returns the
 * set's hooks with a reference, or NULL when it has none or when this
 * thread is already inside one of its hooks (a nested slow path runs
 * without hooks: no recursion); mp__hooks_leave (pool unlocked) drops it,
 * and may call the policy's release. */
mp__hooks *mp__hooks_enter(mp__hookset *set);
void mp__hooks_leave(mp__hookset *set, mp__hooks *hooks);
/* Installs next (pool locked) and returns the previous hooks, whose
 * reference the caller drops once unlocked. */
mp__hooks *mp__hooks_swap(mp__hookset *set, mp__hooks *next);
/* MP_ERR_INVALID_OPERATION (with the detail) while a hook of the set runs:
 * a pool is never destroyed under its own hook. */
mp_status mp__hooks_idle(mp__hookset *set, const char *pool_name, const char *what);
/* Drops the pool's own reference (destroy). */
void mp__hooks_drop(mp__hookset *set);
/* In a forked child: only the forking thread's hooks are running. */
void mp__hooks_after_fork(mp__hookset *set);

#endif

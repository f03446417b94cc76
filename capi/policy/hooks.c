/* Hooks: how a pool's slow paths call its policy (growth, out of memory,
 * trim) safely. The allocate and free fast paths never look at them;
 * policy.c has the calls that set a policy.
 *
 * Hooks run with the pool's lock released, so a hook may call into any
 * pool, its own included (reset a scratch pool, read stats, allocate). The
 * rules that make that safe:
 *  - a running hook holds a reference to its policy (mp__hooks), so a
 *    hook that replaces the policy, or another thread that does, never
 *    frees what a running hook uses: the old policy's release runs when
 *    its last hook returns;
 *  - a slow path nested in one of the pool's own hooks on the same thread
 *    (a grow hook that allocates from its pool) runs without hooks, so
 *    hooks never recurse; at most MP__HOOK_DEPTH pools' hooks nest on one
 *    thread, beyond which slow paths run without hooks too;
 *  - a pool is not destroyed while one of its hooks runs: mp_pool_destroy
 *    and mp_registry_destroy answer MP_ERR_INVALID_OPERATION then.
 * A hook must return (no longjmp out of it, no C++ exception through it). */
#include "policy/hooks.h"

#include <stdlib.h>
#include <string.h>

#define MP__HOOK_DEPTH 8

struct mp__hooks {
    mp_policy policy;
    _Atomic int refs; /* the pool's own, plus one per running slow path */
};

/* The pools whose hooks run on this thread, innermost last. */
static __thread const mp__hookset *running[MP__HOOK_DEPTH];
static __thread int nrunning;

static bool runs_here(const mp__hookset *set)
{
    for (int i = 0; i < nrunning; i++)
        if (running[i] == set)
            return true;
    return false;
}

void mp__hooks_unref(mp__hooks *h)
{
    if (h && atomic_fetch_sub_explicit(&h->refs, 1, memory_order_acq_rel) == 1) {
        if (h->policy.release)
            h->policy.release(h->policy.user);
        free(h);
    }
}

mp__hooks *mp__hooks_new(const mp_policy *policy)
{
    mp__hooks *h = calloc(1, sizeof *h);
    if (h) {
        size_t given = policy->struct_size;
        memcpy(&h->policy, policy, given < sizeof h->policy ? given : sizeof h->policy);
        h->policy.struct_size = sizeof h->policy;
        atomic_init(&h->refs, 1);
    }
    return h;
}

mp__hooks *mp__hooks_enter(mp__hookset *set)
{
    mp__hooks *h = set->hooks;
    if (!h || nrunning == MP__HOOK_DEPTH || runs_here(set))
        return NULL;
    atomic_fetch_add_explicit(&h->refs, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&set->running, 1, memory_order_relaxed);
    running[nrunning++] = set;
    return h;
}

void mp__hooks_leave(mp__hookset *set, mp__hooks *h)
{
    if (!h)
        return;
    /* A release this triggers still runs inside the hook, as far as the
     * pool can tell: it cannot destroy the pool under the call that is
     * returning a block of it, nor wait for that call (registry). */
    mp__hooks_unref(h);
    nrunning--;
    atomic_fetch_sub_explicit(&set->running, 1, memory_order_release);
}

const mp_policy *mp__hooks_policy(const mp__hooks *h) { return &h->policy; }

mp__hooks *mp__hooks_swap(mp__hookset *set, mp__hooks *next)
{
    mp__hooks *old = set->hooks;
    set->hooks = next;
    return old;
}

mp_status mp__hooks_idle(mp__hookset *set, const char *pool_name, const char *what)
{
    if (runs_here(set))
        return mp__fail(MP_ERR_INVALID_OPERATION, "%s: pool '%s' cannot be destroyed from one of its own hooks",
                        what, pool_name);
    if (atomic_load_explicit(&set->running, memory_order_acquire))
        return mp__fail(MP_ERR_INVALID_OPERATION, "%s: a hook of pool '%s' is running on another thread", what,
                        pool_name);
    return MP_OK;
}

void mp__hooks_after_fork(mp__hookset *set)
{
    int mine = 0;
    for (int i = 0; i < nrunning; i++)
        mine += running[i] == set;
    atomic_store_explicit(&set->running, mine, memory_order_relaxed);
}

void mp__hooks_drop(mp__hookset *set) { mp__hooks_unref(mp__hooks_swap(set, NULL)); }


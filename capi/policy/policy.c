/* Policies: a pool's slow-path hooks (growth, out of memory, trim). The
 * allocate and free fast paths never look at them.
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
#include "core/pool.h"

#include <stdlib.h>
#include <string.h>

#define MP__HOOK_DEPTH 8

struct mp__hooks {
    mp_policy policy;
    _Atomic int refs; /* the pool's own, plus one per running slow path */
};

/* The pools whose hooks run on this thread, innermost last. */
static __thread const mp__pool *running[MP__HOOK_DEPTH];
static __thread int nrunning;

static bool runs_here(const mp__pool *pool)
{
    for (int i = 0; i < nrunning; i++)
        if (running[i] == pool)
            return true;
    return false;
}

static void unref(mp__hooks *h)
{
    if (h && atomic_fetch_sub_explicit(&h->refs, 1, memory_order_acq_rel) == 1) {
        if (h->policy.release)
            h->policy.release(h->policy.user);
        free(h);
    }
}

mp__hooks *mp__hooks_enter(mp__pool *pool)
{
    mp__hooks *h = pool->hooks;
    if (!h || nrunning == MP__HOOK_DEPTH || runs_here(pool))
        return NULL;
    atomic_fetch_add_explicit(&h->refs, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&pool->hooks_running, 1, memory_order_relaxed);
    running[nrunning++] = pool;
    return h;
}

void mp__hooks_leave(mp__pool *pool, mp__hooks *h)
{
    if (!h)
        return;
    /* A release this triggers still runs inside the hook, as far as the
     * pool can tell: it cannot destroy the pool under the call that is
     * returning a block of it, nor wait for that call (registry). */
    unref(h);
    nrunning--;
    atomic_fetch_sub_explicit(&pool->hooks_running, 1, memory_order_release);
}

const mp_policy *mp__hooks_policy(const mp__hooks *h) { return &h->policy; }

mp_status mp__hooks_idle(mp__pool *pool, const char *what)
{
    if (runs_here(pool))
        return mp__fail(MP_ERR_INVALID_OPERATION, "%s: pool '%s' cannot be destroyed from one of its own hooks",
                        what, pool->name);
    if (atomic_load_explicit(&pool->hooks_running, memory_order_acquire))
        return mp__fail(MP_ERR_INVALID_OPERATION, "%s: a hook of pool '%s' is running on another thread", what,
                        pool->name);
    return MP_OK;
}

void mp__hooks_after_fork(mp__pool *pool)
{
    int mine = 0;
    for (int i = 0; i < nrunning; i++)
        mine += running[i] == pool;
    atomic_store_explicit(&pool->hooks_running, mine, memory_order_relaxed);
}

void mp__hooks_drop(mp__pool *pool)
{
    mp__hooks *h = pool->hooks;
    pool->hooks = NULL;
    unref(h);
}

mp_status mp_pool_set_policy(mp_pool *handle, const mp_policy *policy)
{
    mp__pool *pool;
    mp_status s = mp__pool_get(handle, &pool);
    if (s != MP_OK)
        return s;
    mp__hooks *next = NULL;
    if (policy) {
        size_t given = policy->struct_size;
        if (given < MP__POLICY_SIZE_1_1 || given > 4096)
            return mp__fail(MP_ERR_INVALID_ARGUMENT, "policy->struct_size is %zu; set it to sizeof(mp_policy)", given);
        for (size_t i = sizeof next->policy; i < given; i++)
            if (((const unsigned char *)policy)[i] != 0)
                return mp__fail(MP_ERR_UNSUPPORTED, "policy byte %zu is set, but this library knows only the first "
                                "%zu bytes of mp_policy", i, sizeof next->policy);
        if (!(next = calloc(1, sizeof *next)))
            return mp__fail(MP_ERR_OUT_OF_MEMORY, "pool '%s': no memory for its policy", pool->name);
        memcpy(&next->policy, policy, given < sizeof next->policy ? given : sizeof next->policy);
        next->policy.struct_size = sizeof next->policy;
        atomic_init(&next->refs, 1);
    }
    mp__lock_acquire(&pool->lock);
    mp__hooks *old = pool->hooks;
    pool->hooks = next;
    mp__lock_release(&pool->lock);
    unref(old); /* its release runs now, or when its last running hook returns */
    return MP_OK;
}

mp_status mp_pool_trim_auto(mp_pool *handle)
{
    mp__pool *pool;
    mp_status s = mp__pool_get(handle, &pool);
    if (s != MP_OK)
        return s;
    mp__lock_acquire(&pool->lock);
    size_t reserved = pool->reserved, keep = pool->cfg.initial_size, in_use = mp__pool_in_use(pool);
    mp__hooks *h = mp__hooks_enter(pool);
    mp__lock_release(&pool->lock);
    if (h && h->policy.trim) {
        char detail[256] = "";
        s = h->policy.trim(h->policy.user, handle, reserved, in_use, &keep, detail, sizeof detail);
        if (s != MP_OK)
            s = mp__fail(s, "pool '%s': the trim policy failed: %s", pool->name, detail);
    }
    mp__hooks_leave(pool, h);
    return s == MP_OK ? mp_pool_trim(handle, keep) : s;
}

/* fork(): the child gets a library that works.
 *
 * Another thread may hold a lock at the moment of fork; the child has no
 * such thread, so it would wait for that lock forever. As glibc's malloc
 * does, the prepare handler takes every lock of the library in the one
 * order every path takes them (registry, cache lists, slot table, each
 * pool, each pool's magazine mutex, the owner table), so the fork happens
 * with no critical section half done; the parent releases them all. The
 * child initialises them afresh rather than unlocking them: a lock may
 * record waiters (threads that do not exist in the child), and a read-write
 * lock would hand itself to them. Likewise counts of such threads (hooks
 * and helper calls in flight) start again from what the forking thread
 * itself holds.
 *
 * What the child gets: every CPU pool, with the blocks it had at the fork.
 * Blocks that other threads' caches held stay cached (allocated, not
 * lost to corruption); a free of one in the child works as usual. GPU
 * pools: CUDA does not support a forked child, so GPU calls there fail as
 * the CUDA runtime decides (MP_ERR_CUDA). */
#include "core/fork.h"
#include "core/handle.h"
#include "core/owners.h"
#include "lockfree/tcache.h"
#include "registry/registry.h"

#include <pthread.h>
#include <stdatomic.h>

static pthread_once_t fork_once = PTHREAD_ONCE_INIT;
static _Atomic(const mp__fork_pools *) pools;    /* pool.c's table, set by every first pool alike; NULL before */
static _Atomic(const mp__fork_pools *) trackers; /* tracker.c's, likewise */

static void prepare(void)
{
    mp__registry_lock();
    mp__lf_enter();
    mp__slots_lock();
    const mp__fork_pools *p = atomic_load_explicit(&pools, memory_order_relaxed);
    if (p)
        p->prepare();
    const mp__fork_pools *t = atomic_load_explicit(&trackers, memory_order_relaxed);
    if (t)
        t->prepare();
    mp__owners_lock();
}

static void parent(void)
{
    mp__owners_unlock();
    const mp__fork_pools *t = atomic_load_explicit(&trackers, memory_order_relaxed);
    if (t)
        t->parent();
    const mp__fork_pools *p = atomic_load_explicit(&pools, memory_order_relaxed);
    if (p)
        p->parent();
    mp__slots_unlock();
    mp__lf_leave();
    mp__registry_unlock();
}

static void child(void)
{
    mp__owners_after_fork();
    const mp__fork_pools *t = atomic_load_explicit(&trackers, memory_order_relaxed);
    if (t)
        t->child();
    const mp__fork_pools *p = atomic_load_explicit(&pools, memory_order_relaxed);
    if (p)
        p->child();
    mp__slots_after_fork();
    mp__lf_after_fork();
    mp__registry_after_fork();
}

static void install(void) { pthread_atfork(prepare, parent, child); }

void mp__fork_init(const mp__fork_pools *p)
{
    atomic_store_explicit(&pools, p, memory_order_relaxed); /* the same pointer every call */
    pthread_once(&fork_once, install);
}

void mp__fork_init_trackers(const mp__fork_pools *t)
{
    atomic_store_explicit(&trackers, t, memory_order_relaxed);
    pthread_once(&fork_once, install);
}

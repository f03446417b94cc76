/* The sync seam: how a pool serialises its operations. thread_safe = false
 * takes nothing. Otherwise one lock per pool: taking it is one atomic
 * exchange and dropping it a plain release store, so an uncontended
 * operation pays a single atomic (a pthread mutex pays two); a contended
 * taker spins briefly on a read, then yields the CPU (see sync.c).
 * MP_SYNC_LOCK_FREE adds the per-thread caches of tcache.h in front of this
 * lock; the lock remains for what they cannot serve. The calls are inline
 * because they sit on every locked path.
 *
 * While the process has one thread (glibc's __libc_single_threaded, which
 * glibc's own malloc reads for the same purpose) taking the lock is a plain
 * store: nothing can contend, and a thread created later sees the store,
 * since pthread_create orders it before the new thread's first step. The
 * atomic exchange cost a single-threaded Lua state a quarter of its
 * allocator time (perf, 2026-11-28). */
#ifndef MEMPOOL_SYNC_H
#define MEMPOOL_SYNC_H

#include "core/core.h"

#include <stdatomic.h>
#if defined(__has_include)
#if __has_include(<sys/single_threaded.h>)
#include <sys/single_threaded.h>
#define MP__SINGLE_THREADED() (__libc_single_threaded != 0)
#endif
#endif
#ifndef MP__SINGLE_THREADED
#define MP__SINGLE_THREADED() 0
#endif

typedef struct mp__lock {
    bool enabled;
    atomic_int held;
} mp__lock;

/* thread_safe false: acquire and release do nothing. */
static inline void mp__lock_init(mp__lock *lock, bool thread_safe)
{
    lock->enabled = thread_safe;
    atomic_init(&lock->held, 0);
}

void mp__lock_wait(mp__lock *lock);

static inline void mp__lock_acquire(mp__lock *lock)
{
    if (!lock->enabled)
        return;
    if (MP__SINGLE_THREADED())
        atomic_store_explicit(&lock->held, 1, memory_order_relaxed);
    else if (MP__UNLIKELY(atomic_exchange_explicit(&lock->held, 1, memory_order_acquire)))
        mp__lock_wait(lock);
}

static inline void mp__lock_release(mp__lock *lock)
{
    if (lock->enabled)
        atomic_store_explicit(&lock->held, 0, memory_order_release);
}

#endif

/* The sync seam: how a pool serialises its operations. MP_SYNC_MUTEX and, in
 * this version, MP_SYNC_LOCK_FREE take a pthread mutex; thread_safe = false
 * takes nothing. The calls are inline because they sit on every fast path. */
#ifndef MEMPOOL_SYNC_H
#define MEMPOOL_SYNC_H

#include "core.h"

#include <pthread.h>

typedef struct mp__lock {
    bool enabled;
    pthread_mutex_t mutex;
} mp__lock;

mp_status mp__lock_init(mp__lock *lock, bool thread_safe, mp_sync_type type);
void mp__lock_fini(mp__lock *lock);

static inline void mp__lock_acquire(mp__lock *lock)
{
    if (lock->enabled)
        pthread_mutex_lock(&lock->mutex);
}

static inline void mp__lock_release(mp__lock *lock)
{
    if (lock->enabled)
        pthread_mutex_unlock(&lock->mutex);
}

#endif

/* Sync modes. The lock-free mode shares the mutex until its own fast path
 * lands; the header says so in mp_sync_type's comment. */
#include "sync.h"

#include <string.h>

mp_status mp__lock_init(mp__lock *lock, bool thread_safe, mp_sync_type type)
{
    (void)type;
    lock->enabled = thread_safe;
    if (!thread_safe)
        return MP_OK;
    int e = pthread_mutex_init(&lock->mutex, NULL);
    if (e != 0)
        return mp__fail(MP_ERR_OUT_OF_MEMORY, "pthread_mutex_init failed: %s", strerror(e));
    return MP_OK;
}

void mp__lock_fini(mp__lock *lock)
{
    if (lock->enabled)
        pthread_mutex_destroy(&lock->mutex);
}

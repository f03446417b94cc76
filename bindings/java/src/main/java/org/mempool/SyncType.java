package org.mempool;


/** Synchronisation of a thread-safe pool (the seed's SyncType). */
public enum SyncType {
    MUTEX(mp_sync_type.MP_SYNC_MUTEX),
    LOCK_FREE(mp_sync_type.MP_SYNC_LOCK_FREE);

    final int value;

    SyncType(int value) { this.value = value; }

    static SyncType of(int value) { return value == LOCK_FREE.value ? LOCK_FREE : MUTEX; }
}

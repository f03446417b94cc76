/* Which pool owns an address: one process-wide table of every pool's
 * chunks, sorted by base, under one read-write lock.
 *
 * It answers "freed into the wrong pool: whose is it?" and a router's
 * "which of my pools holds this pointer?" without reading any pool's own
 * chunk table, so it never races with a pool that has no lock (thread_safe
 * off) growing or trimming on its own thread, and never takes a pool lock.
 * Chunks are added and removed on the slow paths only (growth, trim,
 * destroy), under their pool's lock where it has one; lookups take the
 * lock for reading. O(log chunks) per lookup, O(chunks) per change. */
#include "core/owners.h"

#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

typedef struct owner {
    uintptr_t base;
    size_t size;
    mp_pool *handle;
    const char *name; /* the pool's own: it lives as long as the pool's chunks */
} owner;

_Static_assert(offsetof(owner, base) == 0, "mp__upper finds the base first");

static pthread_rwlock_t owners_lock = PTHREAD_RWLOCK_INITIALIZER;
static owner *table;
static size_t n, cap;

/* The index of the first entry whose base is above a. */
static size_t upper(uintptr_t a) { return mp__upper(table, n, sizeof *table, a); }

mp_status mp__owners_add(mp_pool *handle, const char *name, uintptr_t base, size_t size)
{
    bool ok;
    pthread_rwlock_wrlock(&owners_lock);
    table = mp__grow(table, &cap, n + 1, sizeof *table, &ok);
    if (ok) {
        size_t i = upper(base);
        memmove(&table[i + 1], &table[i], (n - i) * sizeof *table);
        table[i] = (owner){base, size, handle, name};
        n++;
    }
    pthread_rwlock_unlock(&owners_lock);
    return ok ? MP_OK : mp__fail(MP_ERR_OUT_OF_MEMORY, "pool '%s': no host memory to record a chunk", name);
}

void mp__owners_remove(uintptr_t base)
{
    pthread_rwlock_wrlock(&owners_lock);
    size_t i = upper(base);
    if (i > 0 && table[i - 1].base == base) {
        memmove(&table[i - 1], &table[i], (n - i) * sizeof *table);
        n--;
    }
    pthread_rwlock_unlock(&owners_lock);
}

mp_pool *mp__owners_find(uintptr_t a, char *buf, size_t len)
{
    mp_pool *h = NULL;
    pthread_rwlock_rdlock(&owners_lock);
    size_t i = upper(a);
    if (i > 0 && a - table[i - 1].base < table[i - 1].size) {
        h = table[i - 1].handle;
        if (buf)
            snprintf(buf, len, "%s", table[i - 1].name);
    }
    pthread_rwlock_unlock(&owners_lock);
    return h;
}

void mp__owners_lock(void) { pthread_rwlock_wrlock(&owners_lock); }
void mp__owners_unlock(void) { pthread_rwlock_unlock(&owners_lock); }
void mp__owners_after_fork(void) { pthread_rwlock_init(&owners_lock, NULL); }

/* The registry (the seed's MemoryPoolManager): named pools, the default
 * pools made on first use, and the allocate/deallocate helpers by name.
 *
 * Locking: a read-write lock guards the name table. A helper finds its pool
 * under the read lock and counts itself in the pool's helper_calls before
 * dropping the lock; destroy unlinks the pool under the write lock, then
 * waits for the helper calls in flight, so a pool is never freed under a
 * helper that found it by name, and no registry lock is held while a pool
 * call (and so a hook) runs: a hook may create or destroy registry pools.
 * Lock order is registry, then pool; no pool lock is held while taking the
 * registry lock. */
#include "core/pool.h"
#include "registry/registry.h"
#include "stats/format.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A registered pool. Entries are allocated one by one, so that a helper
 * call may count itself in one while the table moves. */
typedef struct entry {
    mp__pool *pool;
    _Atomic int helper_calls; /* calls by name in flight (helper_begin) */
} entry;

static pthread_rwlock_t reg_lock = PTHREAD_RWLOCK_INITIALIZER;
static entry **entries;
static size_t nentries, entries_cap;

static const char DEFAULT_CPU[] = "default";
static const char DEFAULT_GPU[] = "default_gpu";

void mp__registry_lock(void) { pthread_rwlock_wrlock(&reg_lock); }
void mp__registry_unlock(void) { pthread_rwlock_unlock(&reg_lock); }
/* The child: a fresh lock, and no helper call in flight (the threads that
 * made them are gone). */
void mp__registry_after_fork(void)
{
    pthread_rwlock_init(&reg_lock, NULL);
    for (size_t i = 0; i < nentries; i++)
        atomic_store_explicit(&entries[i]->helper_calls, 0, memory_order_relaxed);
}

/* ---- the name table --------------------------------------------------- */

static entry *find(const char *name)
{
    for (size_t i = 0; i < nentries; i++)
        if (strcmp(mp__pool_name(entries[i]->pool), name) == 0)
            return entries[i];
    return NULL;
}

/* Creates and registers a pool. Caller holds the write lock. */
static mp_status create_locked(const char *name, mp_memory_type type, const mp_config *config, mp_pool **out)
{
    if (find(name))
        return mp__fail(MP_ERR_ALREADY_EXISTS, "a pool named '%s' exists already", name);
    bool ok;
    entries = mp__grow(entries, &entries_cap, nentries + 1, sizeof *entries, &ok);
    if (!ok)
        return mp__fail(MP_ERR_OUT_OF_MEMORY, "no memory to register pool '%s'", name);
    entry *e = calloc(1, sizeof *e);
    if (!e)
        return mp__fail(MP_ERR_OUT_OF_MEMORY, "no memory to register pool '%s'", name);
    mp_status s = mp__pool_new(name, type, config, true, &e->pool);
    if (s != MP_OK) {
        free(e);
        return s;
    }
    entries[nentries++] = e;
    if (out)
        *out = mp__pool_handle(e->pool);
    return MP_OK;
}

static mp_status create(const char *name, mp_memory_type type, const mp_config *config, mp_pool **out)
{
    mp_status s = mp__check_name(name);
    if (s != MP_OK)
        return s;
    pthread_rwlock_wrlock(&reg_lock);
    s = create_locked(name, type, config, out);
    pthread_rwlock_unlock(&reg_lock);
    return s;
}

mp_status mp_registry_create_cpu_pool(const char *name, const mp_config *config, mp_pool **out_pool)
{
    return create(name, MP_MEMORY_CPU, config, out_pool);
}

mp_status mp_registry_create_gpu_pool(const char *name, const mp_config *config, mp_pool **out_pool)
{
    return create(name, MP_MEMORY_GPU, config, out_pool);
}

static const char *type_name(mp_memory_type t) { return t == MP_MEMORY_GPU ? "GPU" : "CPU"; }

/* On MP_OK the read lock is held and *out is the pool. The default pool of
 * the type is created on first use. */
static mp_status acquire(const char *name, mp_memory_type type, entry **out)
{
    const char *dflt = type == MP_MEMORY_GPU ? DEFAULT_GPU : DEFAULT_CPU;
    if (!name)
        return mp__fail(MP_ERR_INVALID_ARGUMENT, "pool name is NULL");
    for (int attempt = 0; attempt < 2; attempt++) {
        pthread_rwlock_rdlock(&reg_lock);
        entry *e = find(name);
        mp_memory_type found = e ? mp__pool_type(e->pool) : type;
        if (e && found == type) {
            *out = e;
            return MP_OK;
        }
        pthread_rwlock_unlock(&reg_lock);
        if (e)
            return mp__fail(MP_ERR_INVALID_OPERATION, "pool '%s' is a %s pool, not a %s pool", name,
                            type_name(found), type_name(type));
        if (strcmp(name, dflt) != 0 || attempt > 0)
            break;
        mp_config cfg = MP_CONFIG_INIT;
        if (type == MP_MEMORY_GPU)
            mp_config_default_gpu(&cfg);
        else
            mp_config_default_cpu(&cfg);
        pthread_rwlock_wrlock(&reg_lock);
        mp_status s = find(name) ? MP_OK : create_locked(name, type, &cfg, NULL);
        pthread_rwlock_unlock(&reg_lock);
        if (s != MP_OK)
            return s;
    }
    return mp__fail(MP_ERR_NOT_FOUND, "no %s pool named '%s'", type_name(type), name);
}

static mp_status get(const char *name, mp_memory_type type, mp_pool **out_pool)
{
    if (!out_pool)
        return mp__fail(MP_ERR_INVALID_ARGUMENT, "out_pool is NULL");
    entry *e;
    mp_status s = acquire(name, type, &e);
    if (s == MP_OK) {
        *out_pool = mp__pool_handle(e->pool);
        pthread_rwlock_unlock(&reg_lock);
    }
    return s;
}

mp_status mp_registry_get_cpu_pool(const char *name, mp_pool **out_pool) { return get(name, MP_MEMORY_CPU, out_pool); }
mp_status mp_registry_get_gpu_pool(const char *name, mp_pool **out_pool) { return get(name, MP_MEMORY_GPU, out_pool); }

mp_status mp_registry_find(const char *name, mp_pool **out_pool)
{
    if (!name || !out_pool)
        return mp__fail(MP_ERR_INVALID_ARGUMENT, "%s is NULL", name ? "out_pool" : "pool name");
    pthread_rwlock_rdlock(&reg_lock);
    entry *e = find(name);
    mp_pool *h = e ? mp__pool_handle(e->pool) : NULL;
    pthread_rwlock_unlock(&reg_lock);
    if (!h)
        return mp__fail(MP_ERR_NOT_FOUND, "no pool named '%s'", name);
    *out_pool = h;
    return MP_OK;
}

mp_status mp_registry_destroy(const char *name)
{
    if (!name)
        return mp__fail(MP_ERR_INVALID_ARGUMENT, "pool name is NULL");
    entry *victim = NULL;
    mp_status s = MP_OK;
    pthread_rwlock_wrlock(&reg_lock);
    for (size_t i = 0; i < nentries; i++) {
        if (strcmp(mp__pool_name(entries[i]->pool), name) == 0) {
            victim = entries[i];
            if ((s = mp__pool_idle(victim->pool, "mp_registry_destroy")) == MP_OK)
                entries[i] = entries[--nentries];
            break;
        }
    }
    pthread_rwlock_unlock(&reg_lock);
    if (!victim)
        return mp__fail(MP_ERR_NOT_FOUND, "no pool named '%s'", name);
    if (s != MP_OK)
        return s;
    /* Unlinked: no new helper call finds it; wait out those in flight. */
    while (atomic_load_explicit(&victim->helper_calls, memory_order_acquire) > 0)
        sched_yield();
    mp__pool_free(victim->pool);
    free(victim);
    return MP_OK;
}

mp_status mp_registry_reset_all(void)
{
    pthread_rwlock_rdlock(&reg_lock);
    for (size_t i = 0; i < nentries; i++)
        mp_pool_reset(mp__pool_handle(entries[i]->pool));
    pthread_rwlock_unlock(&reg_lock);
    return MP_OK;
}

/* ---- listings --------------------------------------------------------- */

static int by_name(const void *a, const void *b)
{
    return strcmp(mp__pool_name(*(mp__pool *const *)a), mp__pool_name(*(mp__pool *const *)b));
}

/* The registered pools sorted by name; caller holds the read lock. */
static mp__pool **sorted(void)
{
    mp__pool **v = malloc((nentries + 1) * sizeof *v);
    if (v) {
        for (size_t i = 0; i < nentries; i++)
            v[i] = entries[i]->pool;
        qsort(v, nentries, sizeof *v, by_name);
    }
    return v;
}

static mp_status listing(char **out, bool json)
{
    if (!out)
        return mp__fail(MP_ERR_INVALID_ARGUMENT, "out-parameter is NULL");
    mp__text t = {0};
    mp__text_add(&t, json ? "{" : "");
    pthread_rwlock_rdlock(&reg_lock);
    mp__pool **v = sorted();
    bool ok = v != NULL;
    for (size_t i = 0; ok && i < nentries; i++) {
        if (!json) {
            mp__text_add(&t, mp__pool_name(v[i]));
            mp__text_add(&t, "\n");
            continue;
        }
        char *one = NULL;
        ok = mp_pool_stats_json(mp__pool_handle(v[i]), &one) == MP_OK;
        if (ok) {
            mp__text_add(&t, i ? "," : "");
            mp__text_json_string(&t, mp__pool_name(v[i]));
            mp__text_add(&t, ":");
            mp__text_add(&t, one);
            free(one);
        }
    }
    pthread_rwlock_unlock(&reg_lock);
    free(v);
    mp__text_add(&t, json ? "}" : "");
    char *text = mp__text_take(&t);
    if (!ok || !text) {
        free(text);
        return mp__fail(MP_ERR_OUT_OF_MEMORY, "no memory for the registry listing");
    }
    *out = text;
    return MP_OK;
}

mp_status mp_registry_names(char **out_names) { return listing(out_names, false); }
mp_status mp_registry_stats_json(char **out_json) { return listing(out_json, true); }

/* ---- global helpers --------------------------------------------------- */

/* The pool named (default: the type's default pool), counted in its
 * helper_calls: mp_registry_destroy waits for helper_done. */
static mp_status helper_begin(const char *name, mp_memory_type type, entry **out)
{
    mp_status s = acquire(name ? name : type == MP_MEMORY_GPU ? DEFAULT_GPU : DEFAULT_CPU, type, out);
    if (s != MP_OK)
        return s;
    atomic_fetch_add_explicit(&(*out)->helper_calls, 1, memory_order_relaxed);
    pthread_rwlock_unlock(&reg_lock);
    return MP_OK;
}

static void helper_done(entry *e) { atomic_fetch_sub_explicit(&e->helper_calls, 1, memory_order_release); }

static mp_status helper_alloc(const char *name, mp_memory_type type, size_t size, void **out_ptr)
{
    if (!out_ptr)
        return mp__fail(MP_ERR_INVALID_ARGUMENT, "out_ptr is NULL");
    *out_ptr = NULL;
    entry *e;
    mp_status s = helper_begin(name, type, &e);
    if (s != MP_OK)
        return s;
    s = mp_pool_allocate(mp__pool_handle(e->pool), size, out_ptr);
    helper_done(e);
    return s;
}

static mp_status helper_free(const char *name, mp_memory_type type, void *ptr)
{
    entry *e;
    mp_status s = helper_begin(name, type, &e);
    if (s != MP_OK)
        return s;
    s = mp_pool_deallocate(mp__pool_handle(e->pool), ptr);
    helper_done(e);
    return s;
}

mp_status mp_allocate(const char *pool_name, size_t size, void **out_ptr)
{
    return helper_alloc(pool_name, MP_MEMORY_CPU, size, out_ptr);
}

mp_status mp_deallocate(const char *pool_name, void *ptr) { return helper_free(pool_name, MP_MEMORY_CPU, ptr); }

mp_status mp_allocate_gpu(const char *pool_name, size_t size, void **out_ptr)
{
    return helper_alloc(pool_name, MP_MEMORY_GPU, size, out_ptr);
}

mp_status mp_deallocate_gpu(const char *pool_name, void *ptr) { return helper_free(pool_name, MP_MEMORY_GPU, ptr); }

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

/* ---- MEMPOOL_CONF ------------------------------------------------------ */

/* "64M", "1g", "4096": a byte count with an optional K/M/G (binary) suffix. */
static bool conf_size(const char *v, size_t len, size_t *out)
{
    size_t n = 0, i = 0;
    for (; i < len && v[i] >= '0' && v[i] <= '9'; i++) {
        if (n > (SIZE_MAX - 9) / 10)
            return false;
        n = n * 10 + (size_t)(v[i] - '0');
    }
    if (i == 0)
        return false;
    unsigned shift = 0;
    if (i < len) {
        switch (v[i++]) {
        case 'k': case 'K': shift = 10; break;
        case 'm': case 'M': shift = 20; break;
        case 'g': case 'G': shift = 30; break;
        default: return false;
        }
        if (i < len && (v[i] == 'B' || v[i] == 'b'))
            i++;
    }
    if (i != len || (shift && n > (SIZE_MAX >> shift)))
        return false;
    *out = n << shift;
    return true;
}

static bool conf_bool(const char *v, size_t len, bool *out)
{
    if ((len == 1 && *v == '1') || (len == 4 && strncmp(v, "true", 4) == 0))
        return *out = true, true;
    if ((len == 1 && *v == '0') || (len == 5 && strncmp(v, "false", 5) == 0))
        return *out = false, true;
    return false;
}

static bool key_is(const char *k, size_t klen, const char *name)
{
    return strlen(name) == klen && strncmp(k, name, klen) == 0;
}

/* The default pool's configuration: MEMPOOL_CONF's "key=value,..." over
 * the type's default preset (the preset key first, wherever it stands),
 * or the preset alone without the variable. Keys: preset (default,
 * high_performance, general_purpose (CPU), debug), max_size, initial_size,
 * alignment, growth_factor, device (GPU), debug, track_stats,
 * counters_only, thread_safe. */
static mp_status conf_config(mp_memory_type type, mp_config *cfg)
{
    bool gpu = type == MP_MEMORY_GPU;
    const char *env = getenv("MEMPOOL_CONF");
    mp_status s = gpu ? mp_config_default_gpu(cfg) : mp_config_default_cpu(cfg);
    if (s != MP_OK || !env || !*env)
        return s;
    for (int pass = 0; pass < 2; pass++) {
        for (const char *p = env; *p;) {
            const char *end = strchr(p, ',');
            size_t len = end ? (size_t)(end - p) : strlen(p);
            const char *eq = memchr(p, '=', len);
            const char *k = p, *v = eq ? eq + 1 : p + len;
            size_t klen = eq ? (size_t)(eq - p) : len, vlen = eq ? len - klen - 1 : 0;
            p += len + (end != NULL);
            if (len == 0)
                continue;
            bool preset = key_is(k, klen, "preset"), ok = eq != NULL, b = false;
            size_t n = 0;
            if (pass == 0 && preset) {
                int dev = cfg->device_id;
                if (ok && vlen == 7 && strncmp(v, "default", 7) == 0)
                    s = gpu ? mp_config_default_gpu(cfg) : mp_config_default_cpu(cfg);
                else if (vlen == 16 && strncmp(v, "high_performance", 16) == 0)
                    s = gpu ? mp_config_high_performance_gpu(cfg, dev) : mp_config_high_performance_cpu(cfg);
                else if (vlen == 15 && strncmp(v, "general_purpose", 15) == 0 && !gpu)
                    s = mp_config_general_purpose_cpu(cfg);
                else if (ok && vlen == 5 && strncmp(v, "debug", 5) == 0)
                    s = gpu ? mp_config_debug_gpu(cfg, dev) : mp_config_debug_cpu(cfg);
                else
                    ok = false;
            } else if (pass == 0 || preset) {
                continue;
            } else if (key_is(k, klen, "max_size") && (ok = ok && conf_size(v, vlen, &n)))
                cfg->max_size = n;
            else if (key_is(k, klen, "initial_size") && (ok = ok && conf_size(v, vlen, &n)))
                cfg->initial_size = n;
            else if (key_is(k, klen, "alignment") && (ok = ok && conf_size(v, vlen, &n)))
                cfg->alignment = n;
            else if (key_is(k, klen, "growth_factor") && (ok = ok && conf_size(v, vlen, &n)))
                cfg->growth_factor = n;
            else if (key_is(k, klen, "device") && (ok = ok && gpu && conf_size(v, vlen, &n) && n < 1024))
                cfg->device_id = (int)n;
            else if (key_is(k, klen, "debug") && (ok = ok && conf_bool(v, vlen, &b)))
                cfg->enable_debugging = b;
            else if (key_is(k, klen, "track_stats") && (ok = ok && conf_bool(v, vlen, &b)))
                cfg->track_stats = b;
            else if (key_is(k, klen, "counters_only") && (ok = ok && conf_bool(v, vlen, &b)))
                cfg->counters_only = b;
            else if (key_is(k, klen, "thread_safe") && (ok = ok && conf_bool(v, vlen, &b)))
                cfg->thread_safe = b;
            else if (ok && !key_is(k, klen, "max_size") && !key_is(k, klen, "initial_size") &&
                     !key_is(k, klen, "alignment") && !key_is(k, klen, "growth_factor") && !key_is(k, klen, "device") &&
                     !key_is(k, klen, "debug") && !key_is(k, klen, "track_stats") &&
                     !key_is(k, klen, "counters_only") && !key_is(k, klen, "thread_safe"))
                return mp__fail(MP_ERR_INVALID_ARGUMENT, "MEMPOOL_CONF: unknown key '%.*s' (the %s default pool)",
                                (int)(klen > 64 ? 64 : klen), k, gpu ? "GPU" : "CPU");
            if (s != MP_OK)
                return s;
            if (!ok)
                return mp__fail(MP_ERR_INVALID_ARGUMENT, "MEMPOOL_CONF: bad value '%.*s' for key '%.*s' (the %s default "
                                "pool)", (int)(vlen > 64 ? 64 : vlen), v, (int)(klen > 64 ? 64 : klen), k,
                                gpu ? "GPU" : "CPU");
        }
    }
    if (mp_config_validate(cfg, type) != MP_OK) {
        char why[256];
        snprintf(why, sizeof why, "%s", mp_last_error_message());
        return mp__fail(MP_ERR_INVALID_ARGUMENT, "MEMPOOL_CONF=\"%.200s\": %s", env, why);
    }
    return MP_OK;
}

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
        pthread_rwlock_wrlock(&reg_lock);
        mp_status s = MP_OK;
        if (!find(name) && (s = conf_config(type, &cfg)) == MP_OK)
            s = create_locked(name, type, &cfg, NULL);
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

/* The JSON's pools made with mp_pool_create: keyed by name, or "name#2",
 * "name#3", ... where an earlier key has it (a registry pool's or another's). */
typedef struct others {
    mp__text *t;
    mp__pool **reg;
    size_t nreg;
    char (*keys)[MP_NAME_MAX + 16];
    size_t nkeys, n;
    bool ok;
} others;

static bool key_taken(const others *o, const char *key)
{
    for (size_t i = 0; i < o->nreg; i++)
        if (strcmp(mp__pool_name(o->reg[i]), key) == 0)
            return true;
    for (size_t i = 0; i < o->nkeys; i++)
        if (strcmp(o->keys[i], key) == 0)
            return true;
    return false;
}

static void other_pool(mp__pool *pool, void *ctx)
{
    others *o = ctx;
    if (!o->ok || mp__pool_registry_owned(pool))
        return;
    void *keys = realloc(o->keys, (o->nkeys + 1) * sizeof *o->keys);
    char *one = NULL;
    if (!keys || mp_pool_stats_json(mp__pool_handle(pool), &one) != MP_OK) {
        if (keys)
            o->keys = keys;
        o->ok = false;
        return;
    }
    o->keys = keys;
    char *key = o->keys[o->nkeys];
    snprintf(key, sizeof o->keys[0], "%s", mp__pool_name(pool));
    for (unsigned k = 2; key_taken(o, key); k++)
        snprintf(key, sizeof o->keys[0], "%s#%u", mp__pool_name(pool), k);
    o->nkeys++;
    mp__text_add(o->t, o->n++ ? "," : "");
    mp__text_json_string(o->t, key);
    mp__text_add(o->t, ":");
    mp__text_add(o->t, one);
    free(one);
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
    if (ok && json) { /* then mp_pool_create's pools, in the table's order */
        others o = {&t, v, nentries, NULL, 0, nentries, true};
        mp__pools_foreach(other_pool, &o);
        ok = o.ok;
        free(o.keys);
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

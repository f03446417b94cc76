/* The thread-cache calls of mempool.h: a thread's cache of a pool, and the
 * slow halves of the inline mp_tcache_allocate / mp_tcache_deallocate. A
 * client of the pool (pool.h) and of the lock-free layer (tcache.h): the
 * cache's own slow path when the caller owns it, the pool's exported path
 * for anything else (a bypass cache, another thread, a request past the
 * classes). */
#include "core/pool.h"
#include "lockfree/tcache.h"

/* The layout that callers of the 1.1 entry point were compiled against. */
#define MP__TCACHE_LAYOUT_1_1 101

mp_status mp_pool_thread_cache(mp_pool *handle, mp_tcache **out_cache)
{
    return mp_pool_thread_cache_layout(handle, MP__TCACHE_LAYOUT_1_1, out_cache);
}

mp_status mp_pool_thread_cache_layout(mp_pool *handle, unsigned layout, mp_tcache **out_cache)
{
    mp__pool *pool;
    mp_status s = mp__pool_get(handle, &pool);
    if (s != MP_OK)
        return s;
    if (!out_cache)
        return mp__fail(MP_ERR_INVALID_ARGUMENT, "out_cache is NULL");
    mp__lf *lf = mp__pool_lf(pool);
    mp__tcache *tc = lf && layout == MP_TCACHE_LAYOUT ? mp__tc_attach(lf) : NULL;
    if (!tc) {
        /* No lock-free layer, no cache to be had, or a caller whose inline
         * code reads another layout: a cache whose owner is no thread, so
         * that every call goes to the pool's own path (which reads only
         * owner, magic and pool, the same in every layout). */
        if (!(tc = mp__pool_bypass(pool)))
            return mp__fail(MP_ERR_OUT_OF_MEMORY, "pool '%s': no memory for a thread cache", mp__pool_name(pool));
    }
    *out_cache = &tc->pub;
    return MP_OK;
}

static mp_status check_cache(const mp_tcache *cache)
{
    if (!cache)
        return mp__fail(MP_ERR_INVALID_ARGUMENT, "cache is NULL");
    if (cache->magic != MP_TCACHE_MAGIC) /* reads only the public part */
        return mp__fail(MP_ERR_INVALID_ARGUMENT, "%p is not a thread cache (see mp_pool_thread_cache)",
                        (const void *)cache);
    return MP_OK;
}

/* The cache's own slow path when the caller owns it; anything else (a
 * bypass cache, another thread, a request past the classes) is the pool's. */
mp_status mp_tcache_allocate_slow(mp_tcache *cache, size_t size, void **out_ptr)
{
    mp_status s = check_cache(cache);
    if (s != MP_OK)
        return s;
    mp__tcache *tc = mp__tc_of(cache);
    mp__pool *pool = mp__pool_of(cache->pool);
    if (pool && tc->lf && out_ptr && size - 1 < tc->lf->max_cached && mp__tc_owner(tc) == mp__thread_id()) {
        void *p = mp__tc_alloc_in(tc, size);
        if (p) {
            *out_ptr = p;
            return MP_OK;
        }
    }
    return mp_pool_allocate(cache->pool, size, out_ptr);
}

mp_status mp_tcache_deallocate_slow(mp_tcache *cache, void *ptr)
{
    mp_status s = check_cache(cache);
    if (s != MP_OK)
        return s;
    mp__tcache *tc = mp__tc_of(cache);
    mp__pool *pool = mp__pool_of(cache->pool);
    if (pool && tc->lf && ptr && mp__tc_owner(tc) == mp__thread_id() && mp__tc_free_in(tc, ptr))
        return MP_OK;
    return mp_pool_deallocate(cache->pool, ptr);
}

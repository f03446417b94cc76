/* mempool as a Lua 5.4 allocator: a lua_Alloc over a pool, inline over the
 * C ABI.
 *
 *     lua_State *L = lua_newstate(mp_lua_alloc, pool);   // every block of L in pool
 *     ...
 *     lua_close(L);                                       // and every block freed
 *
 * mp_lua_alloc has lua_Alloc's exact signature, with the mp_pool * as ud;
 * this header needs only <mempool/mempool.h>, not lua.h. As Lua requires:
 * nsize 0 frees ptr (NULL too) and returns NULL; ptr NULL allocates (osize
 * is then a type tag, ignored); otherwise the block is resized with
 * mp_pool_reallocate, in place when it fits (a shrink never fails), and a
 * failure returns NULL with the old block untouched, which Lua turns into a
 * "not enough memory" error. The pool must outlive the state; a pool that
 * is not thread_safe serves one state on one thread (as Lua itself does). */
#ifndef MEMPOOL_MEMPOOL_LUA_H
#define MEMPOOL_MEMPOOL_LUA_H

#include <mempool/mempool.h>

#include <stddef.h>

static inline void *mp_lua_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    mp_pool *pool = (mp_pool *)ud;
    void *out = NULL;
    (void)osize;
    if (nsize == 0) {
        if (ptr != NULL)
            (void)mp_pool_deallocate(pool, ptr);
        return NULL;
    }
    if (mp_pool_reallocate(pool, ptr, nsize, &out) != MP_OK)
        return NULL;
    return out;
}

#endif

/* The size-class router (like RMM's binning resource): one handle that
 * sends each request to a pool by size range, e.g. small sizes to fixed
 * pools and the rest to a variable one. Ranges are kept sorted by their
 * upper end; a request goes to the first range that holds it. A free finds
 * the pool whose chunks hold the pointer. Configure the ranges before the
 * router is shared; allocate and free are as thread-safe as its pools. */
#include "pool.h"

#include <stdlib.h>
#include <string.h>

#define ROUTER_MAGIC 0x6d70726f75746572ull /* "mprouter" */

typedef struct range {
    size_t max_size;
    mp_pool *pool;
} range;

struct mp_router {
    uint64_t magic;
    range *ranges;
    size_t n, cap;
    char name[MP_NAME_MAX + 1];
};

static mp_status check_router(const mp_router *r)
{
    if (!r)
        return mp__fail(MP_ERR_INVALID_ARGUMENT, "router is NULL");
    if (r->magic != ROUTER_MAGIC)
        return mp__fail(MP_ERR_INVALID_ARGUMENT, "%p is not a live mempool router", (const void *)r);
    return MP_OK;
}

mp_status mp_router_create(const char *name, mp_router **out_router)
{
    if (!out_router)
        return mp__fail(MP_ERR_INVALID_ARGUMENT, "out_router is NULL");
    mp_status s = mp__check_name(name);
    if (s != MP_OK)
        return s;
    mp_router *r = calloc(1, sizeof *r);
    if (!r)
        return mp__fail(MP_ERR_OUT_OF_MEMORY, "no memory for router '%s'", name);
    r->magic = ROUTER_MAGIC;
    strcpy(r->name, name);
    *out_router = r;
    return MP_OK;
}

mp_status mp_router_destroy(mp_router *router)
{
    mp_status s = check_router(router);
    if (s != MP_OK)
        return s;
    router->magic = 0;
    free(router->ranges);
    free(router);
    return MP_OK;
}

mp_status mp_router_add(mp_router *router, size_t max_size, mp_pool *pool)
{
    mp_status s = check_router(router);
    if (s == MP_OK)
        s = mp__pool_check_handle(pool);
    if (s != MP_OK)
        return s;
    if (max_size == 0 || (router->n && max_size <= router->ranges[router->n - 1].max_size))
        return mp__fail(MP_ERR_INVALID_ARGUMENT, "router '%s': range up to %zu bytes must lie above the last one (%zu)",
                        router->name, max_size, router->n ? router->ranges[router->n - 1].max_size : 0);
    bool ok;
    router->ranges = mp__grow(router->ranges, &router->cap, router->n + 1, sizeof *router->ranges, &ok);
    if (!ok)
        return mp__fail(MP_ERR_OUT_OF_MEMORY, "router '%s': no memory for another range", router->name);
    router->ranges[router->n++] = (range){max_size, pool};
    return MP_OK;
}

static mp_pool *pool_for(const mp_router *r, size_t size)
{
    for (size_t i = 0; i < r->n; i++)
        if (size <= r->ranges[i].max_size)
            return r->ranges[i].pool;
    return NULL;
}

mp_status mp_router_pool_for(const mp_router *router, size_t size, mp_pool **out_pool)
{
    mp_status s = check_router(router);
    if (s != MP_OK)
        return s;
    if (!out_pool)
        return mp__fail(MP_ERR_INVALID_ARGUMENT, "out_pool is NULL");
    if (!(*out_pool = pool_for(router, size)))
        return mp__fail(MP_ERR_NOT_FOUND, "router '%s': no range holds %zu bytes", router->name, size);
    return MP_OK;
}

mp_status mp_router_allocate(mp_router *router, size_t size, void **out_ptr)
{
    mp_status s = check_router(router);
    if (s != MP_OK)
        return s;
    if (!out_ptr)
        return mp__fail(MP_ERR_INVALID_ARGUMENT, "out_ptr is NULL");
    *out_ptr = NULL;
    mp_pool *p = pool_for(router, size);
    if (!p)
        return mp__fail(MP_ERR_NOT_FOUND, "router '%s': no range holds %zu bytes", router->name, size);
    return mp_pool_allocate(p, size, out_ptr);
}

mp_status mp_router_deallocate(mp_router *router, void *ptr)
{
    mp_status s = check_router(router);
    if (s != MP_OK)
        return s;
    if (!ptr)
        return mp__fail(MP_ERR_INVALID_POINTER, "router '%s': ptr is NULL", router->name);
    for (size_t i = 0; i < router->n; i++) {
        mp_pool *p = router->ranges[i].pool;
        mp__lock_acquire(&p->lock);
        bool inside = mp__pool_find_chunk(p, mp__addr(ptr)) != NULL;
        mp__lock_release(&p->lock);
        if (inside)
            return mp_pool_deallocate(p, ptr);
    }
    return mp__fail(MP_ERR_INVALID_POINTER, "router '%s': %p lies in none of its pools", router->name, ptr);
}

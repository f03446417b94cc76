/* The size-class router (like RMM's binning resource): one handle that
 * sends each request to a pool by size range, e.g. small sizes to fixed
 * pools and the rest to a variable one. Ranges are kept sorted by their
 * upper end; a request goes to the first range that holds it. A free finds
 * the pool whose chunks hold the pointer (owners.c). A router lives in a
 * handle slot (handle.h), so a destroyed or garbage router handle is
 * refused; a range whose pool was destroyed answers the pool's "stale
 * handle" error. Configure the ranges before the router is shared;
 * allocate and free are as thread-safe as its pools. */
#include "core/owners.h"
#include "core/pool.h"

#include <stdlib.h>
#include <string.h>

typedef struct range {
    size_t max_size;
    mp_pool *pool;
} range;

typedef struct router_state {
    mp__slot slot; /* first: the handle's slot head */
    mp_router *handle;
    range *ranges;
    size_t n, cap;
    char name[MP_NAME_MAX + 1];
} router_state;

_Static_assert(sizeof(router_state) <= MP__SLOT_SIZE, "a router fits its handle slot");

static mp_status get_router(const mp_router *handle, router_state **out)
{
    router_state *r = (router_state *)(void *)mp__slot_of(handle, MP__SLOT_ROUTER);
    if (!r)
        return mp__slot_refuse(handle, MP__SLOT_ROUTER);
    *out = r;
    return MP_OK;
}

mp_status mp_router_create(const char *name, mp_router **out_router)
{
    if (!out_router)
        return mp__fail(MP_ERR_INVALID_ARGUMENT, "out_router is NULL");
    mp_status s = mp__check_name(name);
    mp__slot *slot;
    void *h;
    if (s != MP_OK || (s = mp__slot_take(&slot, &h)) != MP_OK)
        return s;
    router_state *r = (router_state *)(void *)slot;
    strcpy(r->name, name);
    r->handle = h;
    mp__slot_publish(slot, MP__SLOT_ROUTER);
    *out_router = r->handle;
    return MP_OK;
}

mp_status mp_router_destroy(mp_router *handle)
{
    router_state *r = NULL;
    mp_status s = get_router(handle, &r);
    if (s != MP_OK)
        return s;
    mp__slot_revoke(&r->slot);
    free(r->ranges);
    mp__slot_give_back(&r->slot);
    return MP_OK;
}

mp_status mp_router_add(mp_router *handle, size_t max_size, mp_pool *pool)
{
    router_state *router = NULL;
    mp_status s = get_router(handle, &router);
    if (s == MP_OK && !mp__pool_of(pool))
        s = mp__slot_refuse(pool, MP__SLOT_POOL);
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

static mp_pool *pool_for(const router_state *r, size_t size)
{
    for (size_t i = 0; i < r->n; i++)
        if (size <= r->ranges[i].max_size)
            return r->ranges[i].pool;
    return NULL;
}

mp_status mp_router_pool_for(const mp_router *handle, size_t size, mp_pool **out_pool)
{
    router_state *router = NULL;
    mp_status s = get_router(handle, &router);
    if (s != MP_OK)
        return s;
    if (!out_pool)
        return mp__fail(MP_ERR_INVALID_ARGUMENT, "out_pool is NULL");
    if (!(*out_pool = pool_for(router, size)))
        return mp__fail(MP_ERR_NOT_FOUND, "router '%s': no range holds %zu bytes", router->name, size);
    return MP_OK;
}

mp_status mp_router_allocate(mp_router *handle, size_t size, void **out_ptr)
{
    router_state *router = NULL;
    mp_status s = get_router(handle, &router);
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

mp_status mp_router_deallocate(mp_router *handle, void *ptr)
{
    router_state *router = NULL;
    mp_status s = get_router(handle, &router);
    if (s != MP_OK)
        return s;
    if (!ptr)
        return mp__fail(MP_ERR_INVALID_POINTER, "router '%s': ptr is NULL", router->name);
    mp_pool *owner = mp__owners_find(mp__addr(ptr), NULL, 0);
    for (size_t i = 0; owner && i < router->n; i++)
        if (router->ranges[i].pool == owner)
            return mp_pool_deallocate(owner, ptr);
    return mp__fail(MP_ERR_INVALID_POINTER, "router '%s': %p lies in none of its pools", router->name, ptr);
}

/* GPU helpers on a pool: its device, its stream, and copies on that stream.
 * They apply to pools whose memory comes from CUDA (device, pinned or
 * managed); a host-memory pool answers MP_ERR_INVALID_OPERATION. */
#include "backend/cuda_rt.h"
#include "core/pool.h"

mp_status mp_gpu_device_count(int *out_count)
{
    if (!out_count)
        return mp__fail(MP_ERR_INVALID_ARGUMENT, "out_count is NULL");
    *out_count = mp__cuda_device_count();
    return MP_OK;
}

/* The live CUDA pool a handle names, or the failure. */
static mp_status cuda_pool(const mp_pool *handle, const char *what, mp__pool **out)
{
    mp_status s = mp__pool_get(handle, out);
    if (s != MP_OK)
        return s;
    if (mp__pool_backend(*out) == MP_BACKEND_HOST)
        return mp__fail(MP_ERR_INVALID_OPERATION, "pool '%s' holds host memory; %s needs a CUDA pool",
                        mp__pool_name(*out), what);
    return MP_OK;
}

mp_status mp_pool_set_device(mp_pool *handle, int device_id)
{
    mp__pool *pool;
    mp_status s = cuda_pool(handle, "mp_pool_set_device", &pool);
    if (s != MP_OK)
        return s;
    if (device_id < 0)
        return mp__fail(MP_ERR_INVALID_ARGUMENT, "device_id %d is negative", device_id);
    if ((s = mp__cuda_check_device(device_id)) != MP_OK)
        return s;
    return mp__pool_set_device(pool, device_id);
}

mp_status mp_pool_get_device(const mp_pool *handle, int *out_device)
{
    mp__pool *pool;
    mp_status s = cuda_pool(handle, "mp_pool_get_device", &pool);
    if (s != MP_OK)
        return s;
    if (!out_device)
        return mp__fail(MP_ERR_INVALID_ARGUMENT, "out_device is NULL");
    mp__pool_placement(pool, out_device, NULL); /* under the lock: ordered after set_device */
    return MP_OK;
}

mp_status mp_pool_set_stream(mp_pool *handle, void *stream)
{
    mp__pool *pool;
    mp_status s = cuda_pool(handle, "mp_pool_set_stream", &pool);
    if (s != MP_OK)
        return s;
    return mp__pool_set_stream(pool, stream);
}

mp_status mp_pool_get_stream(const mp_pool *handle, void **out_stream)
{
    mp__pool *pool;
    mp_status s = cuda_pool(handle, "mp_pool_get_stream", &pool);
    if (s != MP_OK)
        return s;
    if (!out_stream)
        return mp__fail(MP_ERR_INVALID_ARGUMENT, "out_stream is NULL");
    mp__pool_placement(pool, NULL, out_stream);
    return MP_OK;
}

mp_status mp_pool_deallocate_on_stream(mp_pool *handle, void *ptr, void *stream)
{
    mp__pool *pool;
    mp_status s = cuda_pool(handle, "mp_pool_deallocate_on_stream", &pool);
    if (s != MP_OK)
        return s;
    return mp__pool_free_on_stream(pool, ptr, stream);
}

mp_status mp_pool_allocate_on_stream(mp_pool *handle, size_t size, void *stream, void **out_ptr)
{
    mp__pool *pool;
    if (out_ptr)
        *out_ptr = NULL;
    mp_status s = cuda_pool(handle, "mp_pool_allocate_on_stream", &pool);
    return s == MP_OK ? mp__pool_allocate_on_stream(handle, pool, size, stream, out_ptr) : s;
}

mp_status mp_pool_set_release_threshold(mp_pool *handle, size_t bytes)
{
    mp__pool *pool;
    mp_status s = cuda_pool(handle, "mp_pool_set_release_threshold", &pool);
    if (s == MP_OK)
        mp__pool_set_release_threshold(pool, bytes);
    return s;
}

mp_status mp_pool_get_release_threshold(const mp_pool *handle, size_t *out_bytes)
{
    mp__pool *pool;
    mp_status s = cuda_pool(handle, "mp_pool_get_release_threshold", &pool);
    if (s != MP_OK)
        return s;
    if (!out_bytes)
        return mp__fail(MP_ERR_INVALID_ARGUMENT, "out_bytes is NULL");
    *out_bytes = mp__pool_release_threshold(pool);
    return MP_OK;
}

static mp_status copy(mp_pool *handle, void *dst, const void *src, size_t size, mp__copy_kind kind, const char *what)
{
    mp__pool *pool;
    mp_status s = cuda_pool(handle, what, &pool);
    if (s != MP_OK)
        return s;
    if (!dst || !src)
        return mp__fail(MP_ERR_INVALID_ARGUMENT, "%s: %s is NULL", what, dst ? "src" : "dst");
    if (size == 0)
        return mp__fail(MP_ERR_INVALID_ARGUMENT, "%s: size 0", what);
    int device;
    void *stream;
    mp__pool_placement(pool, &device, &stream);
    return mp__cuda_copy(device, stream, dst, src, size, kind);
}

mp_status mp_pool_copy_host_to_device(mp_pool *pool, void *dst, const void *src, size_t size)
{
    return copy(pool, dst, src, size, MP__H2D, "mp_pool_copy_host_to_device");
}

mp_status mp_pool_copy_device_to_host(mp_pool *pool, void *dst, const void *src, size_t size)
{
    return copy(pool, dst, src, size, MP__D2H, "mp_pool_copy_device_to_host");
}

mp_status mp_pool_copy_device_to_device(mp_pool *pool, void *dst, const void *src, size_t size)
{
    return copy(pool, dst, src, size, MP__D2D, "mp_pool_copy_device_to_device");
}

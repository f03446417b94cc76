/* CUDA backends: device memory (cudaMalloc on the pool's device), pinned host
 * memory (cudaHostAlloc) and managed memory (cudaMallocManaged). cudaMalloc
 * returns 256-byte aligned memory; larger alignments are met by asking for
 * more and starting inside. The pool's bookkeeping never lives here. */
#include "backend/backend.h"
#include "backend/cuda_rt.h"

static mp_status place(void *raw, size_t size, size_t alignment, mp__extent *out)
{
    out->raw = raw;
    out->raw_size = size + (alignment > 256 ? alignment : 0);
    out->base = (void *)mp__align_up(mp__addr(raw), alignment);
    out->size = size;
    return MP_OK;
}

static size_t padded(size_t size, size_t alignment) { return size + (alignment > 256 ? alignment : 0); }

static mp_status device_reserve(int device, size_t size, size_t alignment, mp__extent *out)
{
    void *p = NULL;
    mp_status s = mp__cuda_malloc(device, padded(size, alignment), &p);
    return s == MP_OK ? place(p, size, alignment, out) : s;
}

static mp_status pinned_reserve(int device, size_t size, size_t alignment, mp__extent *out)
{
    (void)device;
    void *p = NULL;
    mp_status s = mp__cuda_malloc_host(padded(size, alignment), &p);
    return s == MP_OK ? place(p, size, alignment, out) : s;
}

static mp_status managed_reserve(int device, size_t size, size_t alignment, mp__extent *out)
{
    void *p = NULL;
    mp_status s = mp__cuda_malloc_managed(device, padded(size, alignment), &p);
    return s == MP_OK ? place(p, size, alignment, out) : s;
}

static void device_release(int device, const mp__extent *e) { mp__cuda_free(device, e->raw); }
static void pinned_release(int device, const mp__extent *e) { (void)device; mp__cuda_free_host(e->raw); }

const mp__backend mp__backend_cuda_device = {
    .kind = MP_BACKEND_CUDA_DEVICE, .name = "cuda-device", .host_accessible = false,
    .reserve = device_reserve, .release = device_release,
};
const mp__backend mp__backend_cuda_pinned = {
    .kind = MP_BACKEND_CUDA_PINNED, .name = "cuda-pinned", .host_accessible = true,
    .reserve = pinned_reserve, .release = pinned_release,
};
const mp__backend mp__backend_cuda_managed = {
    .kind = MP_BACKEND_CUDA_MANAGED, .name = "cuda-managed", .host_accessible = false,
    .reserve = managed_reserve, .release = device_release,
};

/* CUDA backends: device memory (cudaMalloc on the pool's device), pinned host
 * memory (cudaHostAlloc) and managed memory (cudaMallocManaged). cudaMalloc
 * returns 256-byte aligned memory; larger alignments are met by asking for
 * more and starting inside. The pool's bookkeeping never lives here. */
#include "backend/backend.h"
#include "backend/cuda_rt.h"

#include <stdlib.h>

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

static void device_release(int device, const mp__extent *e)
{
    if (!e->granule) {
        mp__cuda_free(device, e->raw);
        return;
    }
    size_t n = e->size / e->granule;
    for (size_t i = 0; i < n; i++)
        if (e->phys[i]) {
            mp__cuda_vmm_unmap((char *)e->base + i * e->granule, e->runs[i] * e->granule, e->phys[i]);
            i += e->runs[i] - 1;
        }
    mp__cuda_vmm_free(e->base, e->size);
    free(e->phys);
    free(e->runs);
}

/* Device memory on demand: address space reserved once, backed by
 * physical allocations of whole granules while blocks lie on them. A run
 * of granules mapped together is one allocation (one call each to create,
 * map and open it, whatever its size) and goes back as one (PyTorch's
 * expandable segments map per 2 or 20 MiB page). */
static mp_status device_reserve_space(int device, size_t size, size_t alignment, mp__extent *out)
{
    size_t g = mp__cuda_vmm_granule(device);
    if (!g)
        return mp__fail(MP_ERR_UNSUPPORTED, "device %d cannot map memory on demand", device);
    size = mp__align_up(size, g);
    uint64_t *phys = calloc(size / g, sizeof *phys);
    uint32_t *runs = phys ? calloc(size / g, sizeof *runs) : NULL;
    if (!runs) {
        free(phys);
        return mp__fail(MP_ERR_OUT_OF_MEMORY, "no host memory for the map of a %zu-byte reservation", size);
    }
    void *va = NULL;
    mp_status s = mp__cuda_vmm_reserve(device, size, alignment > g ? alignment : g, &va);
    if (s != MP_OK) {
        free(phys);
        free(runs);
        return s;
    }
    *out = (mp__extent){.base = va, .size = size, .raw = va, .raw_size = size, .granule = g, .phys = phys,
                        .runs = runs};
    return MP_OK;
}

static mp_status device_map(int device, mp__extent *e, size_t first, size_t n)
{
    mp_status s = mp__cuda_vmm_map(device, (char *)e->base + first * e->granule, n * e->granule, &e->phys[first]);
    if (s == MP_OK)
        e->runs[first] = (uint32_t)n;
    return s;
}

static void device_unmap(int device, mp__extent *e, size_t first, size_t n)
{
    (void)device;
    for (size_t i = first; i < first + n; i++) {
        size_t run = e->runs[i];
        if (!run)
            continue; /* (not an allocation's first granule: the caller's mistake, nothing to give) */
        mp__cuda_vmm_unmap((char *)e->base + i * e->granule, run * e->granule, e->phys[i]);
        e->phys[i] = 0;
        e->runs[i] = 0;
        i += run - 1;
    }
}
static void pinned_release(int device, const mp__extent *e) { (void)device; mp__cuda_free_host(e->raw); }
static void managed_release(int device, const mp__extent *e) { mp__cuda_free(device, e->raw); }

const mp__backend mp__backend_cuda_device = {
    .kind = MP_BACKEND_CUDA_DEVICE, .name = "cuda-device", .host_accessible = false,
    .reserve = device_reserve, .release = device_release,
    .reserve_space = device_reserve_space, .map = device_map, .unmap = device_unmap,
};
const mp__backend mp__backend_cuda_pinned = {
    .kind = MP_BACKEND_CUDA_PINNED, .name = "cuda-pinned", .host_accessible = true,
    .reserve = pinned_reserve, .release = pinned_release,
};
const mp__backend mp__backend_cuda_managed = {
    .kind = MP_BACKEND_CUDA_MANAGED, .name = "cuda-managed", .host_accessible = false,
    .reserve = managed_reserve, .release = managed_release,
};

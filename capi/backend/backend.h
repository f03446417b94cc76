/* The backend seam: where a pool's chunks come from. A backend hands out
 * large aligned extents and takes them back; it knows nothing of blocks.
 * A backend that can map memory on demand (device memory through the
 * driver's virtual memory calls) also hands out extents of address space
 * alone, backed granule by granule as the pool asks (core/backing.h).
 * Adding a backend = one file with one mp__backend and a line in
 * mp__backend_get. */
#ifndef MEMPOOL_BACKEND_H
#define MEMPOOL_BACKEND_H

#include "core/core.h"

typedef struct mp__extent {
    void *base;      /* aligned start handed to the strategy */
    size_t size;     /* usable bytes from base */
    void *raw;       /* what the backend allocated, for release */
    size_t raw_size;
    size_t granule;  /* 0: all of it is memory; else address space, backed granule by granule */
    uint64_t *phys;  /* on demand: the physical allocation mapped from each granule on (0: none); the backend's */
    uint32_t *runs;  /* on demand: at such a granule, how many granules that allocation covers (0 elsewhere) */
} mp__extent;

typedef struct mp__backend {
    mp_backend_kind kind;
    const char *name;
    bool host_accessible; /* the host may read and write it (debug guards, fills) */
    mp_status (*reserve)(int device, size_t size, size_t alignment, mp__extent *out);
    void (*release)(int device, const mp__extent *extent);
    /* On demand (NULL where the backend cannot): address space for size
     * bytes (a multiple of the granule it reports), none of it backed;
     * MP_ERR_UNSUPPORTED where the device cannot map on demand. */
    mp_status (*reserve_space)(int device, size_t size, size_t alignment, mp__extent *out);
    /* Backs granules [first, first + n) of such an extent (none backed
     * yet) with one physical allocation, all or none (the driver's cost
     * is per call, not per byte: 56 us for 2 MiB, 51 us for 32 MiB on an
     * H200); unmap gives back whole such allocations, [first, first + n)
     * covering each it touches. release gives back whatever is still
     * backed. */
    mp_status (*map)(int device, mp__extent *extent, size_t first, size_t n);
    void (*unmap)(int device, mp__extent *extent, size_t first, size_t n);
} mp__backend;

extern const mp__backend mp__backend_host;
extern const mp__backend mp__backend_cuda_device;
extern const mp__backend mp__backend_cuda_pinned;
extern const mp__backend mp__backend_cuda_managed;

static inline const mp__backend *mp__backend_get(mp_backend_kind kind)
{
    switch (kind) {
    case MP_BACKEND_HOST: return &mp__backend_host;
    case MP_BACKEND_CUDA_DEVICE: return &mp__backend_cuda_device;
    case MP_BACKEND_CUDA_PINNED: return &mp__backend_cuda_pinned;
    case MP_BACKEND_CUDA_MANAGED: return &mp__backend_cuda_managed;
    }
    return NULL;
}

#endif

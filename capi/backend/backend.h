/* The backend seam: where a pool's chunks come from. A backend hands out
 * large aligned extents and takes them back; it knows nothing of blocks.
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
} mp__extent;

typedef struct mp__backend {
    mp_backend_kind kind;
    const char *name;
    bool host_accessible; /* the host may read and write it (debug guards, fills) */
    mp_status (*reserve)(int device, size_t size, size_t alignment, mp__extent *out);
    void (*release)(int device, const mp__extent *extent);
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

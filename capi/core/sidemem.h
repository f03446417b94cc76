/* Memory for the bookkeeping beside the pools (descriptor slabs, maps,
 * window records): mapped from the kernel, not taken from malloc, so that
 * what a trim frees goes back to the kernel at once, not into malloc's
 * heap, where a small block allocated later can pin it. Zeroed, and
 * resident only where touched. Under AddressSanitizer each mapping is a
 * root region of the leak checker, which scans only malloc's heap
 * otherwise: the malloc'd blocks it points at (slab records) are not
 * leaks. */
#ifndef MEMPOOL_SIDEMEM_H
#define MEMPOOL_SIDEMEM_H

#include "core/instrument.h"

#include <stddef.h>
#include <sys/mman.h>

static inline void *mp__side_map(size_t bytes)
{
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
#ifdef MP__ASAN
    __lsan_register_root_region(p, bytes);
#endif
    return p;
}

static inline void mp__side_unmap(void *p, size_t bytes)
{
    if (!p)
        return;
#ifdef MP__ASAN
    __lsan_unregister_root_region(p, bytes);
#endif
    munmap(p, bytes);
}

#endif

/* Memory for the bookkeeping beside the pools (descriptor slabs, maps,
 * window records): mapped from the kernel, not taken from malloc, so that
 * what a trim frees goes back to the kernel at once, not into malloc's
 * heap, where a small block allocated later can pin it. Zeroed, and
 * resident only where touched. Sizes are page multiples. */
#ifndef MEMPOOL_SIDEMEM_H
#define MEMPOOL_SIDEMEM_H

#include <stddef.h>
#include <sys/mman.h>

static inline void *mp__side_map(size_t bytes)
{
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

static inline void mp__side_unmap(void *p, size_t bytes)
{
    if (p)
        munmap(p, bytes);
}

#endif

/* What the C++ callback (throw.cpp) needs of mempool_torch.c: the allocation
 * with its status and this call's own detail (the shared last error may
 * already hold another thread's by the time it is read). Hidden. */
#ifndef MEMPOOL_TORCH_INTERNAL_H
#define MEMPOOL_TORCH_INTERNAL_H

#include "mempool_torch.h"

#ifdef __cplusplus
extern "C" {
#endif

/* mempool_torch_malloc's work: MP_OK with *out (NULL for size 0), or the
 * failure's status with its detail in why (and in the last error). */
mp_status mpt__allocate(size_t size, int device, cudaStream_t stream, void **out, char *why, size_t why_cap);

#ifdef __cplusplus
}
#endif

#endif /* MEMPOOL_TORCH_INTERNAL_H */

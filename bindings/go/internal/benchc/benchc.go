// Package benchc runs the allocate+free loop in C, so the Go overhead
// benchmark compares Go and C on the same pool in one process.
package benchc

/*
#cgo pkg-config: mempool
#include <mempool/mempool.h>
#include <stdint.h>
#include <time.h>

static double c_pairs(uintptr_t pool, size_t size, long n)
{
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (long i = 0; i < n; i++) {
        void *p;
        if (mp_pool_allocate((mp_pool *)pool, size, &p) != MP_OK || mp_pool_deallocate((mp_pool *)pool, p) != MP_OK)
            return -1.0;
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    return ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec)) / (double)n;
}
*/
import "C"

// CPairs is the C loop's nanoseconds per allocate+free pair.
func CPairs(pool uintptr, size uint64, n int) float64 {
	return float64(C.c_pairs(C.uintptr_t(pool), C.size_t(size), C.long(n)))
}

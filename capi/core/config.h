/* Configuration and the checks every entry point shares: names, and the
 * struct_size protocol for every struct that crosses the ABI (config.c). */
#ifndef MEMPOOL_CONFIG_H
#define MEMPOOL_CONFIG_H

#include "core/core.h"

#include <stddef.h>

/* Names: 1..MP_NAME_MAX bytes of valid UTF-8, no control characters. */
mp_status mp__check_name(const char *name);

/* The sizes of the ABI structs in 1.0: the least a caller may pass. */
#define MP__CONFIG_SIZE_1_0 (offsetof(mp_config, max_size) + sizeof(size_t))
#define MP__STATS_SIZE_1_0 (offsetof(mp_stats, live_allocations) + sizeof(uint64_t))
#define MP__ALLOCINFO_SIZE_1_0 (offsetof(mp_allocation_info, sequence) + sizeof(uint64_t))
#define MP__POLICY_SIZE_1_1 (offsetof(mp_policy, release) + sizeof(mp_release_fn))
/* ... and of those that came in 1.3. */
#define MP__SNAPSHOT_SIZE_1_3 (offsetof(mp_memory_snapshot, backend) + sizeof(mp_backend_kind))
#define MP__CHUNKINFO_SIZE_1_3 (offsetof(mp_chunk_info, backend) + sizeof(mp_backend_kind))
#define MP__CLASSINFO_SIZE_1_3 (offsetof(mp_class_info, cached_blocks) + sizeof(uint64_t))

/* Reads a caller's struct by its struct_size (defaults for what it lacks). */
mp_status mp__config_read(const mp_config *user, mp_config *out);
mp_status mp__config_check(const mp_config *cfg, mp_memory_type type);
/* Copies ours (our_size bytes) into the caller's struct as far as its
 * struct_size reaches, zeroing what lies beyond ours. */
mp_status mp__struct_out(void *user, const void *ours, size_t min_size, size_t our_size, const char *what);

/* A caller's array of records (mp_pool_get_allocations, snapshots): NULL
 * with capacity 0 is none; else its stride is the first record's
 * struct_size, which must be at least min_size. type names the record for
 * the message; *stride receives the stride (0 for none). */
mp_status mp__records_in(const void *array, size_t capacity, size_t min_size, const char *what, const char *type,
                         size_t *stride);
/* Writes record i of such an array: ours (our_size bytes) as far as the
 * stride reaches, zeros past ours, the stride in its struct_size. */
void mp__record_out(void *array, size_t stride, size_t i, const void *ours, size_t our_size);

#endif

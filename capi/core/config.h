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

/* Reads a caller's struct by its struct_size (defaults for what it lacks). */
mp_status mp__config_read(const mp_config *user, mp_config *out);
mp_status mp__config_check(const mp_config *cfg, mp_memory_type type);
/* Copies ours (our_size bytes) into the caller's struct as far as its
 * struct_size reaches, zeroing what lies beyond ours. */
mp_status mp__struct_out(void *user, const void *ours, size_t min_size, size_t our_size, const char *what);

#endif

-- The Lua module (bindings/lua/*.c) spells the seed's names in snake_case:
-- methods and functions as the strings it registers them under, config
-- fields and enum values as the strings its tables take. Each pattern is
-- the registration or table entry itself, so that a rename fails here; a
-- preset is the C call that its name ("default", "fixed", ...) selects.
local function reg(lua_name, c_name) return '{"' .. lua_name .. '", ' .. c_name .. '}' end
local function field(kind, key) return "mpl_opt_" .. kind .. '%(L, t, "' .. key .. '"' end
local ALLOCATORS = 'allocators%[%] = {"fixed", "variable", NULL}'
local SYNCS = 'syncs%[%] = {"mutex", "lock_free", NULL}'
local TYPES = 'types%[%] = {"cpu", "gpu", NULL}'
local FLAGS = 'flags%[%] = {"none", "pinned", "managed", NULL}'
local NO_TYPES = "Lua has no types: %s serves every element type (a block holds bytes: block:read/write)"
local NO_EXCEPTIONS = "Lua raises no exception classes: a failed call returns nil, message, %s (the status name)"

return {
  -- IMemoryPool: a pool object (userdata "mempool.pool")
  ["IMemoryPool"] = '#define POOL "mempool%.pool"',
  ["IMemoryPool.allocate"] = reg("allocate", "pool_allocate"),
  ["IMemoryPool.allocate(flags)"] = 'mpl_check_option%(L, 3, "none", flags%)',
  ["IMemoryPool.deallocate"] = reg("deallocate", "pool_deallocate"),
  ["IMemoryPool.reset"] = reg("reset", "pool_reset"),
  ["IMemoryPool.getStats"] = reg("stats", "pool_stats"),
  ["IMemoryPool.getMemoryType"] = reg("memory_type", "pool_memory_type"),
  ["IMemoryPool.getName"] = reg("name", "pool_name"),
  ["IMemoryPool.getConfig"] = reg("config", "pool_config"),
  -- MemoryPoolManager: the module table itself, one per Lua state
  ["MemoryPoolManager"] = "luaopen_mempool",
  ["MemoryPoolManager.getInstance"] = { skip = 'require "mempool" returns the one module table, which is the manager: '
    .. "there is no instance to get" },
  ["MemoryPoolManager.getCPUPool"] = reg("get_cpu_pool", "l_get_cpu_pool"),
  ["MemoryPoolManager.createCPUPool"] = "mp_registry_create_cpu_pool", -- cpu_pool{ registered = true }
  ["MemoryPoolManager.getGPUPool"] = reg("get_gpu_pool", "l_get_gpu_pool"),
  ["MemoryPoolManager.createGPUPool"] = "mp_registry_create_gpu_pool", -- gpu_pool{ registered = true }
  ["MemoryPoolManager.destroyPool"] = reg("destroy_pool", "l_destroy_pool"),
  ["MemoryPoolManager.resetAllPools"] = reg("reset_all", "l_reset_all"),
  ["MemoryPoolManager.getAllStats"] = reg("all_stats", "l_all_stats"),
  -- PoolConfig: a table of these fields (mpl_config_from reads it)
  ["PoolConfig"] = "mpl_config_from",
  ["PoolConfig.allocatorType"] = '"allocator", %-1, allocators',
  ["PoolConfig.initialSize"] = field("size", "initial_size"),
  ["PoolConfig.blockSize"] = field("size", "block_size"),
  ["PoolConfig.threadSafe"] = field("bool", "thread_safe"),
  ["PoolConfig.syncType"] = '"sync", %-1, syncs',
  ["PoolConfig.trackStats"] = field("bool", "track_stats"),
  ["PoolConfig.enableDebugging"] = field("bool", "debug"),
  ["PoolConfig.deviceId"] = 'mpl_opt_int%(L, 1, t, "device"',
  ["PoolConfig.usePinnedMemory"] = field("bool", "pinned"),
  ["PoolConfig.useManagedMemory"] = field("bool", "managed"),
  ["PoolConfig.alignment"] = field("size", "alignment"),
  ["PoolConfig.growthFactor"] = field("size", "growth_factor"),
  ["PoolConfig.maxSize"] = field("size", "max_size"),
  ["PoolConfig.DefaultCPU"] = "mp_config_default_cpu",
  ["PoolConfig.DefaultGPU"] = "mp_config_default_gpu",
  ["PoolConfig.FixedSizeCPU"] = "mp_config_fixed_size_cpu",
  ["PoolConfig.FixedSizeGPU"] = "mp_config_fixed_size_gpu",
  ["PoolConfig.HighPerformanceCPU"] = "mp_config_high_performance_cpu",
  ["PoolConfig.HighPerformanceGPU"] = "mp_config_high_performance_gpu",
  ["PoolConfig.DebugCPU"] = "mp_config_debug_cpu",
  ["PoolConfig.DebugGPU"] = "mp_config_debug_gpu",
  ["DEFAULT_ALIGNMENT"] = 'lua_pushinteger%(L, MP_DEFAULT_ALIGNMENT%);%s*lua_setfield%(L, %-2, "DEFAULT_ALIGNMENT"%)',
  -- global helpers
  ["allocate"] = reg("allocate", "l_allocate"),
  ["deallocate"] = reg("deallocate", "l_deallocate"),
  ["allocateGPU"] = reg("allocate_gpu", "l_allocate_gpu"),
  ["deallocateGPU"] = reg("deallocate_gpu", "l_deallocate_gpu"),
  ["allocate<T>"] = { skip = NO_TYPES:format("mempool.allocate(bytes [, pool_name])") },
  ["allocateGPU<T>"] = { skip = NO_TYPES:format("mempool.allocate_gpu(bytes [, pool_name])") },
  ["deallocate<T>"] = { skip = NO_TYPES:format("mempool.deallocate(block [, pool_name])") },
  ["deallocateGPU<T>"] = { skip = NO_TYPES:format("mempool.deallocate_gpu(block [, pool_name])") },
  -- MemoryStats: a memory_stats object (mp_tracker); its getters are named
  -- as the fields of stats(), the table a pool's stats() returns too
  ["MemoryStats"] = '#define MEMSTATS "mempool%.memory_stats"',
  ["MemoryStats()"] = reg("memory_stats", "mpl_memory_stats"),
  ["MemoryStats.recordAllocation"] = reg("record_allocation", "stats_record_allocation"),
  ["MemoryStats.recordDeallocation"] = reg("record_deallocation", "stats_record_deallocation"),
  ["MemoryStats.trackAllocation"] = reg("track_allocation", "stats_track_allocation"),
  ["MemoryStats.trackDeallocation"] = reg("track_deallocation", "stats_track_deallocation"),
  ["MemoryStats.getTotalAllocated"] = reg("total_allocated", "stats_total_allocated"),
  ["MemoryStats.getCurrentUsed"] = reg("current_used", "stats_current_used"),
  ["MemoryStats.getPeakUsage"] = reg("peak_usage", "stats_peak_usage"),
  ["MemoryStats.getAllocationCount"] = reg("allocation_count", "stats_allocation_count"),
  ["MemoryStats.getDeallocationCount"] = reg("deallocation_count", "stats_deallocation_count"),
  ["MemoryStats.getFragmentationRatio"] = reg("fragmentation_ratio", "stats_fragmentation_ratio"),
  ["MemoryStats.getActiveAllocations"] = reg("allocations", "stats_allocations"),
  ["MemoryStats.hasMemoryLeaks"] = reg("has_leaks", "stats_has_leaks"),
  ["MemoryStats.getStatsString"] = reg("stats_string", "stats_string"),
  ["MemoryStats.setTrackingEnabled"] = reg("set_tracking", "stats_set_tracking"),
  ["MemoryStats.isTrackingEnabled"] = reg("tracking", "stats_tracking"),
  ["MemoryStats.reset"] = reg("reset", "stats_reset"),
  ["AllocationInfo"] = "int mpl_push_listing", -- tables { address, size, sequence }
  -- GPUMemoryPool: the object of a pool that gpu_pool made
  ["GPUMemoryPool"] = reg("gpu_pool", "mpl_gpu_pool"),
  ["GPUMemoryPool.setDevice"] = reg("set_device", "pool_set_device"),
  ["GPUMemoryPool.getDevice"] = reg("device", "pool_device"),
  ["GPUMemoryPool.setStream"] = reg("set_stream", "pool_set_stream"),
  ["GPUMemoryPool.getStream"] = reg("stream", "pool_stream"),
  ["GPUMemoryPool.copyHostToDevice"] = reg("copy_host_to_device", "pool_copy_host_to_device"),
  ["GPUMemoryPool.copyDeviceToHost"] = reg("copy_device_to_host", "pool_copy_device_to_host"),
  ["GPUMemoryPool.copyDeviceToDevice"] = reg("copy_device_to_device", "pool_copy_device_to_device"),
  -- enums: strings, checked against these lists (a wrong one raises, naming the key)
  ["AllocatorType"] = ALLOCATORS, ["AllocatorType.FixedSize"] = ALLOCATORS, ["AllocatorType.VariableSize"] = ALLOCATORS,
  ["SyncType"] = SYNCS, ["SyncType.Mutex"] = SYNCS, ["SyncType.LockFree"] = SYNCS,
  ["MemoryType"] = TYPES,
  ["MemoryType.CPU"] = TYPES, ["MemoryType.GPU"] = TYPES,
  ["AllocFlags"] = FLAGS, ["AllocFlags.None"] = FLAGS, ["AllocFlags.Pinned"] = FLAGS, ["AllocFlags.Managed"] = FLAGS,
  -- exceptions
  ["MemoryPoolException"] = { skip = NO_EXCEPTIONS:format("and any MP_ERR_* name") },
  ["OutOfMemoryException"] = { skip = NO_EXCEPTIONS:format('"MP_ERR_OUT_OF_MEMORY"') },
  ["InvalidOperationException"] = { skip = NO_EXCEPTIONS:format('"MP_ERR_INVALID_OPERATION"') },
  ["InvalidPointerException"] = { skip = NO_EXCEPTIONS:format('"MP_ERR_INVALID_POINTER"') },
  ["CudaException"] = { skip = NO_EXCEPTIONS:format('"MP_ERR_CUDA", or "MP_ERR_UNSUPPORTED" without CUDA or a '
    .. "device") },
}

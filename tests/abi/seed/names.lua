-- Every name of the seed's API reference (../shared/seed-api-reference.md,
-- copied here so that CI needs no file outside the repository), as
-- "Class.member" or a free name. check_seed_parity.lua asks each binding's
-- mapping file (cpp.lua, java.lua, go.lua, lua.lua) for its spelling of each
-- name and looks for that spelling in the binding's hand-written sources; a
-- name the mapping leaves out, or whose spelling is not found, fails.
return {
  -- IMemoryPool
  "IMemoryPool", "IMemoryPool.allocate", "IMemoryPool.allocate(flags)", "IMemoryPool.deallocate",
  "IMemoryPool.reset", "IMemoryPool.getStats", "IMemoryPool.getMemoryType", "IMemoryPool.getName",
  "IMemoryPool.getConfig",
  -- MemoryPoolManager
  "MemoryPoolManager", "MemoryPoolManager.getInstance", "MemoryPoolManager.getCPUPool",
  "MemoryPoolManager.createCPUPool", "MemoryPoolManager.getGPUPool", "MemoryPoolManager.createGPUPool",
  "MemoryPoolManager.destroyPool", "MemoryPoolManager.resetAllPools", "MemoryPoolManager.getAllStats",
  -- PoolConfig
  "PoolConfig", "PoolConfig.allocatorType", "PoolConfig.initialSize", "PoolConfig.blockSize",
  "PoolConfig.threadSafe", "PoolConfig.syncType", "PoolConfig.trackStats", "PoolConfig.enableDebugging",
  "PoolConfig.deviceId", "PoolConfig.usePinnedMemory", "PoolConfig.useManagedMemory", "PoolConfig.alignment",
  "PoolConfig.growthFactor", "PoolConfig.maxSize", "PoolConfig.DefaultCPU", "PoolConfig.DefaultGPU",
  "PoolConfig.FixedSizeCPU", "PoolConfig.FixedSizeGPU", "PoolConfig.HighPerformanceCPU",
  "PoolConfig.HighPerformanceGPU", "PoolConfig.DebugCPU", "PoolConfig.DebugGPU",
  "DEFAULT_ALIGNMENT",
  -- global helpers
  "allocate", "deallocate", "allocateGPU", "deallocateGPU",
  "allocate<T>", "allocateGPU<T>", "deallocate<T>", "deallocateGPU<T>",
  -- MemoryStats
  "MemoryStats", "MemoryStats()", "MemoryStats.recordAllocation", "MemoryStats.recordDeallocation",
  "MemoryStats.trackAllocation", "MemoryStats.trackDeallocation", "MemoryStats.getTotalAllocated",
  "MemoryStats.getCurrentUsed", "MemoryStats.getPeakUsage", "MemoryStats.getAllocationCount",
  "MemoryStats.getDeallocationCount", "MemoryStats.getFragmentationRatio", "MemoryStats.getActiveAllocations",
  "MemoryStats.hasMemoryLeaks", "MemoryStats.getStatsString", "MemoryStats.setTrackingEnabled",
  "MemoryStats.isTrackingEnabled", "MemoryStats.reset",
  "AllocationInfo",
  -- GPUMemoryPool
  "GPUMemoryPool", "GPUMemoryPool.setDevice", "GPUMemoryPool.getDevice", "GPUMemoryPool.setStream",
  "GPUMemoryPool.getStream", "GPUMemoryPool.copyHostToDevice", "GPUMemoryPool.copyDeviceToHost",
  "GPUMemoryPool.copyDeviceToDevice",
  -- enums
  "AllocatorType", "AllocatorType.FixedSize", "AllocatorType.VariableSize",
  "SyncType", "SyncType.Mutex", "SyncType.LockFree",
  "MemoryType", "MemoryType.CPU", "MemoryType.GPU",
  "AllocFlags", "AllocFlags.None", "AllocFlags.Pinned", "AllocFlags.Managed",
  -- exceptions
  "MemoryPoolException", "OutOfMemoryException", "InvalidOperationException", "InvalidPointerException",
  "CudaException",
}

-- The Go binding (bindings/go) spells the seed's names in Go's way: methods
-- of *Pool and *MemoryStats without "get", the registry as package
-- functions, exceptions as sentinel errors for errors.Is. Each entry is a
-- declaration in the hand-written sources (tests excluded). (One pattern
-- each: check_seed_parity.lua takes any table for a skip.)
local pool = "func %(p %*Pool%) "
local stats = "func %(s %*MemoryStats%) "
return {
  ["IMemoryPool"] = "type Pool struct",
  ["IMemoryPool.allocate"] = pool .. "Allocate%(size uint64%)",
  ["IMemoryPool.allocate(flags)"] = pool .. "AllocateFlags%(size uint64, flags AllocFlags%)",
  ["IMemoryPool.deallocate"] = pool .. "Deallocate%(ptr unsafe%.Pointer%)",
  ["IMemoryPool.reset"] = pool .. "Reset%(%)",
  -- A value, so a snapshot; StatsSnapshot gives a MemoryStats that records on its own.
  ["IMemoryPool.getStats"] = pool .. "Stats%(%) %(Stats, error%)",
  ["IMemoryPool.getMemoryType"] = pool .. "MemoryType%(%)",
  ["IMemoryPool.getName"] = pool .. "Name%(%)",
  ["IMemoryPool.getConfig"] = pool .. "Config%(%)",

  -- The registry is package state behind package functions.
  ["MemoryPoolManager"] = "var registry = struct",
  ["MemoryPoolManager.getInstance"] = { skip = "Go has no singleton object to fetch: the registry's calls are package functions (mempool.CPUPool, mempool.CreateCPUPool, ...)" },
  ["MemoryPoolManager.getCPUPool"] = "func CPUPool%(name string%) %(%*Pool, error%)",
  ["MemoryPoolManager.createCPUPool"] = "func CreateCPUPool%(name string, cfg Config%)",
  ["MemoryPoolManager.getGPUPool"] = "func GPUPool%(name string%) %(%*Pool, error%)",
  ["MemoryPoolManager.createGPUPool"] = "func CreateGPUPool%(name string, cfg Config%)",
  ["MemoryPoolManager.destroyPool"] = "func DestroyPool%(name string%)",
  ["MemoryPoolManager.resetAllPools"] = "func ResetAllPools%(%)",
  ["MemoryPoolManager.getAllStats"] = "func GetAllStats%(%) %(map%[string%]string, error%)",

  ["PoolConfig"] = "type Config struct", -- NewConfig() has the reference's defaults
  ["PoolConfig.allocatorType"] = "\tAllocatorType%s+AllocatorType\n",
  ["PoolConfig.initialSize"] = "\tInitialSize%s+uint64\n",
  ["PoolConfig.blockSize"] = "\tBlockSize%s+uint64\n",
  ["PoolConfig.threadSafe"] = "\tThreadSafe%s+bool\n",
  ["PoolConfig.syncType"] = "\tSyncType%s+SyncType\n",
  ["PoolConfig.trackStats"] = "\tTrackStats%s+bool\n",
  ["PoolConfig.enableDebugging"] = "\tEnableDebugging%s+bool\n",
  ["PoolConfig.deviceId"] = "\tDeviceID%s+int\n",
  ["PoolConfig.usePinnedMemory"] = "\tUsePinnedMemory%s+bool\n",
  ["PoolConfig.useManagedMemory"] = "\tUseManagedMemory%s+bool\n",
  ["PoolConfig.alignment"] = "\tAlignment%s+uint64\n",
  ["PoolConfig.growthFactor"] = "\tGrowthFactor%s+uint64\n",
  ["PoolConfig.maxSize"] = "\tMaxSize%s+uint64\n",
  ["PoolConfig.DefaultCPU"] = "func DefaultCPU%(%)",
  ["PoolConfig.DefaultGPU"] = "func DefaultGPU%(%)",
  ["PoolConfig.FixedSizeCPU"] = "func FixedSizeCPU%(blockSize uint64%)",
  ["PoolConfig.FixedSizeGPU"] = "func FixedSizeGPU%(blockSize uint64, device int%)",
  ["PoolConfig.HighPerformanceCPU"] = "func HighPerformanceCPU%(%)",
  ["PoolConfig.HighPerformanceGPU"] = "func HighPerformanceGPU%(device int%)",
  ["PoolConfig.DebugCPU"] = "func DebugCPU%(%)",
  ["PoolConfig.DebugGPU"] = "func DebugGPU%(device int%)",
  ["DEFAULT_ALIGNMENT"] = "DefaultAlignment%s+= uint64%(capi%.MP_DEFAULT_ALIGNMENT%)",

  ["allocate"] = "func Allocate%(size uint64, poolName string%)",
  ["deallocate"] = "func Deallocate%(ptr unsafe%.Pointer, poolName string%)",
  ["allocateGPU"] = "func AllocateGPU%(size uint64, poolName string%)",
  ["deallocateGPU"] = "func DeallocateGPU%(ptr unsafe%.Pointer, poolName string%)",
  -- Generics over a *Pool (CPUPool(name) or GPUPool(name) gives the seed's pool by name).
  ["allocate<T>"] = "func AllocateOf%[T any%]%(p %*Pool, count int%) %(%[%]T, error%)",
  ["allocateGPU<T>"] = "func AllocateGPUOf%[T any%]%(p %*Pool, count int%) %(%*T, error%)",
  ["deallocate<T>"] = "func DeallocateOf%[T any%]%(p %*Pool, s %[%]T%) error",
  ["deallocateGPU<T>"] = "func DeallocateGPUOf%[T any%]%(p %*Pool, ptr %*T%) error",

  ["MemoryStats"] = "type MemoryStats struct",
  ["MemoryStats()"] = "func NewMemoryStats%(%) %(%*MemoryStats, error%)",
  ["MemoryStats.recordAllocation"] = stats .. "RecordAllocation%(size uint64%)",
  ["MemoryStats.recordDeallocation"] = stats .. "RecordDeallocation%(size uint64%)",
  ["MemoryStats.trackAllocation"] = stats .. "TrackAllocation%(ptr unsafe%.Pointer, size uint64%)",
  ["MemoryStats.trackDeallocation"] = stats .. "TrackDeallocation%(ptr unsafe%.Pointer%)",
  ["MemoryStats.getTotalAllocated"] = stats .. "TotalAllocated%(%)",
  ["MemoryStats.getCurrentUsed"] = stats .. "CurrentUsed%(%)",
  ["MemoryStats.getPeakUsage"] = stats .. "PeakUsage%(%)",
  ["MemoryStats.getAllocationCount"] = stats .. "AllocationCount%(%)",
  ["MemoryStats.getDeallocationCount"] = stats .. "DeallocationCount%(%)",
  ["MemoryStats.getFragmentationRatio"] = stats .. "FragmentationRatio%(%)",
  ["MemoryStats.getActiveAllocations"] = stats .. "ActiveAllocations%(%)",
  ["MemoryStats.hasMemoryLeaks"] = stats .. "HasMemoryLeaks%(%)",
  ["MemoryStats.getStatsString"] = stats .. "StatsString%(%)",
  ["MemoryStats.setTrackingEnabled"] = stats .. "SetTrackingEnabled%(enabled bool%)",
  ["MemoryStats.isTrackingEnabled"] = stats .. "TrackingEnabled%(%)",
  ["MemoryStats.reset"] = stats .. "Reset%(%)",
  ["AllocationInfo"] = "type AllocationInfo struct",

  ["GPUMemoryPool"] = { skip = "Go has no subclasses: a GPU pool is a *Pool made with MemoryType GPU (NewPool(name, mempool.GPU, cfg)), whose GPU methods follow" },
  ["GPUMemoryPool.setDevice"] = pool .. "SetDevice%(device int%)",
  ["GPUMemoryPool.getDevice"] = pool .. "Device%(%)",
  ["GPUMemoryPool.setStream"] = pool .. "SetStream%(stream uintptr%)",
  ["GPUMemoryPool.getStream"] = pool .. "Stream%(%)",
  ["GPUMemoryPool.copyHostToDevice"] = pool .. "CopyHostToDevice%(",
  ["GPUMemoryPool.copyDeviceToHost"] = pool .. "CopyDeviceToHost%(",
  ["GPUMemoryPool.copyDeviceToDevice"] = pool .. "CopyDeviceToDevice%(",

  ["AllocatorType"] = "type AllocatorType int32",
  ["AllocatorType.FixedSize"] = "FixedSize%s+AllocatorType = ",
  ["AllocatorType.VariableSize"] = "VariableSize%s+AllocatorType = ",
  ["SyncType"] = "type SyncType int32",
  ["SyncType.Mutex"] = "Mutex%s+SyncType = ",
  ["SyncType.LockFree"] = "LockFree%s+SyncType = ",
  ["MemoryType"] = "type MemoryType int32",
  ["MemoryType.CPU"] = "CPU%s+MemoryType = ",
  ["MemoryType.GPU"] = "GPU%s+MemoryType = ",
  ["AllocFlags"] = "type AllocFlags int32",
  ["AllocFlags.None"] = "AllocNone%s+AllocFlags = ",
  ["AllocFlags.Pinned"] = "AllocPinned%s+AllocFlags = ",
  ["AllocFlags.Managed"] = "AllocManaged%s+AllocFlags = ",

  -- Errors: *Error carries the status, and unwraps to one sentinel per status.
  ["MemoryPoolException"] = "type Error = capi%.Error",
  ["OutOfMemoryException"] = "ErrOutOfMemory = capi%.ErrOutOfMemory",
  ["InvalidOperationException"] = "ErrInvalidOperation = capi%.ErrInvalidOperation",
  ["InvalidPointerException"] = "ErrInvalidPointer = capi%.ErrInvalidPointer",
  ["CudaException"] = "ErrCuda = capi%.ErrCuda", -- CudaUnavailableError satisfies errors.Is(err, ErrCuda)
}

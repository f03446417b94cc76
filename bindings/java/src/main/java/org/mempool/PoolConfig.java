package org.mempool;


/**
 * Pool configuration (the seed's PoolConfig). {@code new PoolConfig()} holds
 * the seed's defaults (those of {@link #defaultCPU()}); the named presets come
 * from the C library, so Java and C agree on every default (a test checks
 * that the two agree).
 */
public final class PoolConfig {
    /** The default alignment of CPU blocks in bytes: the C header's MP_DEFAULT_ALIGNMENT. */
    public static final long DEFAULT_ALIGNMENT = 16;

    public AllocatorType allocatorType = AllocatorType.VARIABLE_SIZE;
    public long initialSize = 1024 * 1024;
    public long blockSize = 256;
    public boolean threadSafe = true;
    public SyncType syncType = SyncType.MUTEX;
    public boolean trackStats = true;
    public boolean enableDebugging = false;
    public int deviceId = 0;
    public boolean usePinnedMemory = false;
    public boolean useManagedMemory = false;
    public long alignment = DEFAULT_ALIGNMENT;
    public long growthFactor = 2;
    public long maxSize = 0;
    /** With trackStats: counters without per-allocation records (1.3). */
    public boolean countersOnly;

    private interface Preset { void fill(mp_config c); }

    private static PoolConfig preset(Preset p) {
        mp_config c = new mp_config();
        try {
            p.fill(c);
            return fromNative(c);
        } finally {
            c.delete();
        }
    }

    public static PoolConfig defaultCPU() { return preset(MempoolNative::mp_config_default_cpu); }
    public static PoolConfig defaultGPU() { return preset(MempoolNative::mp_config_default_gpu); }
    public static PoolConfig fixedSizeCPU(long blockSize) {
        return preset(c -> MempoolNative.mp_config_fixed_size_cpu(c, blockSize));
    }
    public static PoolConfig fixedSizeGPU(long blockSize) { return fixedSizeGPU(blockSize, 0); }
    public static PoolConfig fixedSizeGPU(long blockSize, int deviceId) {
        return preset(c -> MempoolNative.mp_config_fixed_size_gpu(c, blockSize, deviceId));
    }
    public static PoolConfig highPerformanceCPU() { return preset(MempoolNative::mp_config_high_performance_cpu); }
    public static PoolConfig highPerformanceGPU() { return highPerformanceGPU(0); }
    public static PoolConfig highPerformanceGPU(int deviceId) {
        return preset(c -> MempoolNative.mp_config_high_performance_gpu(c, deviceId));
    }
    /** A general-purpose heap: lock-free thread caches, counters without records, 64 MiB of address space up front. */
    public static PoolConfig generalPurposeCPU() { return preset(MempoolNative::mp_config_general_purpose_cpu); }
    public static PoolConfig debugCPU() { return preset(MempoolNative::mp_config_debug_cpu); }
    public static PoolConfig debugGPU() { return debugGPU(0); }
    public static PoolConfig debugGPU(int deviceId) { return preset(c -> MempoolNative.mp_config_debug_gpu(c, deviceId)); }

    /** Checks this configuration for a pool of the given type without creating one. */
    public void validate(MemoryType type) {
        int t = Args.notNull(type, "the memory type").value;
        mp_config c = toNative();
        try {
            MempoolNative.mp_config_validate(c, t);
        } finally {
            c.delete();
        }
    }

    /** The native struct; the caller deletes it. A null enum field throws InvalidArgumentException. */
    mp_config toNative() {
        int allocator = Args.notNull(allocatorType, "PoolConfig.allocatorType").value;
        int sync = Args.notNull(syncType, "PoolConfig.syncType").value;
        mp_config c = new mp_config();
        c.setAllocator_type(allocator);
        c.setInitial_size(initialSize);
        c.setBlock_size(blockSize);
        c.setThread_safe(threadSafe);
        c.setSync_type(sync);
        c.setTrack_stats(trackStats);
        c.setEnable_debugging(enableDebugging);
        c.setDevice_id(deviceId);
        c.setUse_pinned_memory(usePinnedMemory);
        c.setUse_managed_memory(useManagedMemory);
        c.setAlignment(alignment);
        c.setGrowth_factor(growthFactor);
        c.setMax_size(maxSize);
        c.setCounters_only(countersOnly);
        return c;
    }

    static PoolConfig fromNative(mp_config c) {
        PoolConfig p = new PoolConfig();
        p.allocatorType = AllocatorType.of(c.getAllocator_type());
        p.initialSize = c.getInitial_size();
        p.blockSize = c.getBlock_size();
        p.threadSafe = c.getThread_safe();
        p.syncType = SyncType.of(c.getSync_type());
        p.trackStats = c.getTrack_stats();
        p.enableDebugging = c.getEnable_debugging();
        p.deviceId = c.getDevice_id();
        p.usePinnedMemory = c.getUse_pinned_memory();
        p.useManagedMemory = c.getUse_managed_memory();
        p.alignment = c.getAlignment();
        p.growthFactor = c.getGrowth_factor();
        p.maxSize = c.getMax_size();
        p.countersOnly = c.getCounters_only();
        return p;
    }
}

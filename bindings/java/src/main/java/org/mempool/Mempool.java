package org.mempool;


/**
 * The seed's global helpers: allocate and free by pool name, version, devices.
 *
 * <p>The by-name calls are the registry pool's own calls: each one finds the
 * pool's one {@link MemoryPool} object (see MemoryPoolManager) and calls its
 * allocate or deallocate, so it holds that pool's guard (destroyPool and
 * reset wait for it, a pool that is not thread-safe serves one call at a
 * time) and a raw free of an Allocation's block is refused. A null name is
 * the default pool of the type, "default" (CPU) or "default_gpu" (GPU), as in
 * C and as the overloads without a name. They do not call C's helpers by
 * name, which look the pool up again: the pool's own calls on the object's
 * handle are sure to reach the pool whose guard is held (the ABI description
 * lists them as skipped for Java, with this reason).
 */
public final class Mempool {
    private Mempool() {}

    public static long allocate(long size) { return allocate(size, DEFAULT_CPU); }

    /** Allocates from the registry CPU pool poolName (null: "default"), through that pool's guard. */
    public static long allocate(long size, String poolName) { return registry(poolName, MemoryType.CPU).allocate(size); }

    public static void deallocate(long address) { deallocate(address, DEFAULT_CPU); }

    /**
     * Frees a block of the registry CPU pool poolName (null: "default"); an Allocation's block is refused.
     * Address 0 (a null pointer) does nothing, as free(NULL), whatever the name.
     */
    public static void deallocate(long address, String poolName) {
        if (address != 0)
            registry(poolName, MemoryType.CPU).deallocate(address);
    }

    public static long allocateGPU(long size) { return allocateGPU(size, DEFAULT_GPU); }

    /**
     * Allocates from the registry GPU pool poolName (null: "default_gpu"), through that pool's guard.
     * Without CUDA or a device: CudaUnavailableException.
     */
    public static long allocateGPU(long size, String poolName) {
        return registry(poolName, MemoryType.GPU).allocate(size);
    }

    public static void deallocateGPU(long address) { deallocateGPU(address, DEFAULT_GPU); }

    /** Frees a block of the registry GPU pool poolName (null: "default_gpu"); address 0 does nothing. */
    public static void deallocateGPU(long address, String poolName) {
        if (address != 0)
            registry(poolName, MemoryType.GPU).deallocate(address);
    }

    private static final String DEFAULT_CPU = "default", DEFAULT_GPU = "default_gpu";

    /* The object of the registry pool that a by-name call means. */
    private static MemoryPool registry(String name, MemoryType type) {
        if (name == null)
            name = type == MemoryType.GPU ? DEFAULT_GPU : DEFAULT_CPU;
        return MemoryPoolManager.getInstance().forHelper(name, type);
    }

    /** The library's version, e.g. "1.0.0 (cuda)". */
    public static String version() { return MempoolNative.mp_version_string(); }

    /** MAJOR*10000 + MINOR*100 + PATCH of the loaded library. */
    public static long versionNumber() { return MempoolNative.mp_version(); }

    /** Usable CUDA devices (0 without CUDA or a device). */
    public static int deviceCount() {
        int[] out = new int[1];
        MempoolNative.mp_gpu_device_count(out);
        return out[0];
    }

    /** The status of this thread's last failed call, and its detail. */
    public static int lastError() { return MempoolNative.mp_last_error(); }

    public static String lastErrorMessage() { return MempoolNative.mp_last_error_message(); }

    public static String statusName(int status) { return MempoolNative.mp_status_name(status); }

    public static String statusString(int status) { return MempoolNative.mp_status_string(status); }
}

package org.mempool;


/** The seed's global helpers: allocate and free by pool name, version, devices. */
public final class Mempool {
    private Mempool() {}

    public static long allocate(long size) { return allocate(size, "default"); }

    /** Allocates from the registry CPU pool poolName, through that pool's guard (see MemoryPoolManager). */
    public static long allocate(long size, String poolName) {
        return allocate(size, poolName, MemoryType.CPU, MempoolNative::mp_allocate);
    }

    public static void deallocate(long address) { deallocate(address, "default"); }

    public static void deallocate(long address, String poolName) {
        deallocate(address, poolName, MemoryType.CPU, MempoolNative::mp_deallocate);
    }

    public static long allocateGPU(long size) { return allocateGPU(size, "default_gpu"); }

    public static long allocateGPU(long size, String poolName) {
        return allocate(size, poolName, MemoryType.GPU, MempoolNative::mp_allocate_gpu);
    }

    public static void deallocateGPU(long address) { deallocateGPU(address, "default_gpu"); }

    public static void deallocateGPU(long address, String poolName) {
        deallocate(address, poolName, MemoryType.GPU, MempoolNative::mp_deallocate_gpu);
    }

    private interface ByNameAllocate { void call(String name, long size, long[] out); }
    private interface ByNameFree { void call(String name, long address); }

    /* The C helper by name, inside the guard of the pool's object, so that
     * destroyPool never runs under it and a pool that is not thread-safe
     * serves one call at a time. A null name goes to C, which refuses it. */
    private static long allocate(long size, String name, MemoryType type, ByNameAllocate c) {
        long[] out = new long[1];
        MemoryPool p = name == null ? null : MemoryPoolManager.getInstance().forHelper(name, type);
        if (p == null) {
            c.call(name, size, out);
            return out[0];
        }
        Guard.Slot t = p.guard.enter();
        try {
            c.call(name, size, out);
            return out[0];
        } finally {
            p.guard.exit(t);
        }
    }

    private static void deallocate(long address, String name, MemoryType type, ByNameFree c) {
        MemoryPool p = name == null ? null : MemoryPoolManager.getInstance().forHelper(name, type);
        if (p == null) {
            c.call(name, address);
            return;
        }
        Guard.Slot t = p.guard.enter();
        try {
            long stamp = p.holdForRawFree(address);
            try {
                c.call(name, address);
            } finally {
                p.releaseRawFree(stamp);
            }
        } finally {
            p.guard.exit(t);
        }
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

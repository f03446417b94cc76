package org.mempool;


/** The seed's global helpers: allocate and free by pool name, version, devices. */
public final class Mempool {
    private Mempool() {}

    public static long allocate(long size) { return allocate(size, "default"); }

    public static long allocate(long size, String poolName) {
        long[] out = new long[1];
        MempoolNative.mp_allocate(poolName, size, out);
        return out[0];
    }

    public static void deallocate(long address) { deallocate(address, "default"); }

    public static void deallocate(long address, String poolName) { MempoolNative.mp_deallocate(poolName, address); }

    public static long allocateGPU(long size) { return allocateGPU(size, "default_gpu"); }

    public static long allocateGPU(long size, String poolName) {
        long[] out = new long[1];
        MempoolNative.mp_allocate_gpu(poolName, size, out);
        return out[0];
    }

    public static void deallocateGPU(long address) { deallocateGPU(address, "default_gpu"); }

    public static void deallocateGPU(long address, String poolName) { MempoolNative.mp_deallocate_gpu(poolName, address); }

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

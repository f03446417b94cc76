package org.mempool;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * A pool (the seed's IMemoryPool and GPUMemoryPool). A standalone pool is
 * created with {@link #create} and destroyed by {@link #close}; pools of the
 * registry come from {@link MemoryPoolManager}, and closing them does nothing.
 * Every failure throws the {@link MemoryPoolException} subclass of its status.
 */
public final class MemoryPool implements AutoCloseable {
    private long handle;
    private final boolean owned;

    MemoryPool(long handle, boolean owned) {
        this.handle = handle;
        this.owned = owned;
    }

    /** A standalone pool owned by the caller. */
    public static MemoryPool create(String name, MemoryType type, PoolConfig config) {
        mp_config c = config.toNative();
        long[] out = new long[1];
        try {
            MempoolNative.mp_pool_create(name, type.value, c, out);
        } finally {
            c.delete();
        }
        return new MemoryPool(out[0], true);
    }

    /** The native handle (0 once closed). */
    public long handle() { return handle; }

    /** Destroys a standalone pool; a second close, or closing a registry pool, does nothing. */
    @Override
    public void close() {
        if (owned && handle != 0) {
            long h = handle;
            handle = 0;
            MempoolNative.mp_pool_destroy(h);
        }
    }

    // ---- allocation ---------------------------------------------------------

    /** Allocates size bytes; returns the address (mp_pool_allocate, without an out-array). */
    public long allocate(long size) {
        return MempoolNative.mpswig_allocate(handle, size);
    }

    /** Allocates size bytes of the memory kind in flags; returns the address. */
    public long allocate(long size, AllocFlags flags) {
        long[] out = new long[1];
        MempoolNative.mp_pool_allocate_flags(handle, size, flags.value, out);
        return out[0];
    }

    /** Allocates a block that knows its size and pool, with a ByteBuffer view for CPU memory. */
    public Allocation allocateBlock(long size) {
        return new Allocation(this, allocate(size), size);
    }

    public void deallocate(long address) { MempoolNative.mp_pool_deallocate(handle, address); }

    /**
     * A direct ByteBuffer over size bytes at address. It does not check that
     * the memory is the host's or that the range is live: Allocation.buffer()
     * is the checked way.
     */
    public static ByteBuffer view(long address, long size) { return MempoolNative.mpswig_view(address, size); }

    public void reset() { MempoolNative.mp_pool_reset(handle); }

    /** Returns wholly free chunks while more than keepBytes stay reserved. */
    public void trim(long keepBytes) { MempoolNative.mp_pool_trim(handle, keepBytes); }

    /** Trims to what the pool's policy keeps (without a policy: its initial size). */
    public void trimAuto() { MempoolNative.mp_pool_trim_auto(handle); }

    public boolean owns(long address) {
        boolean[] out = new boolean[1];
        MempoolNative.mp_pool_owns(handle, address, out);
        return out[0];
    }

    /** Verifies the allocator's invariants and, in debug mode, every guard; throws CorruptionException. */
    public void check() { MempoolNative.mp_pool_check(handle); }

    // ---- description ---------------------------------------------------------

    public String getName() {
        String[] out = new String[1];
        MempoolNative.mp_pool_get_name(handle, out);
        return out[0];
    }

    public MemoryType getMemoryType() {
        int[] out = new int[1];
        MempoolNative.mp_pool_get_memory_type(handle, out);
        return MemoryType.of(out[0]);
    }

    public Backend getBackend() {
        int[] out = new int[1];
        MempoolNative.mp_pool_get_backend(handle, out);
        return Backend.of(out[0]);
    }

    public PoolConfig getConfig() {
        mp_config c = new mp_config();
        try {
            MempoolNative.mp_pool_get_config(handle, c);
            return PoolConfig.fromNative(c);
        } finally {
            c.delete();
        }
    }

    // ---- statistics ------------------------------------------------------------

    public MemoryStats getStats() {
        mp_stats s = new mp_stats();
        try {
            MempoolNative.mp_pool_get_stats(handle, s);
            return new MemoryStats(s);
        } finally {
            s.delete();
        }
    }

    public void resetStats() { MempoolNative.mp_pool_reset_stats(handle); }

    public void setTrackingEnabled(boolean enabled) { MempoolNative.mp_pool_set_tracking(handle, enabled); }

    public boolean isTrackingEnabled() {
        boolean[] out = new boolean[1];
        MempoolNative.mp_pool_get_tracking(handle, out);
        return out[0];
    }

    public boolean hasMemoryLeaks() {
        boolean[] out = new boolean[1];
        MempoolNative.mp_pool_has_leaks(handle, out);
        return out[0];
    }

    /** Live tracked allocations, oldest first. */
    public List<AllocationInfo> getActiveAllocations() {
        long[] count = new long[1];
        MempoolNative.mp_pool_get_allocations(handle, null, 0, count);
        while (true) {
            long n = count[0];
            mp_allocation_info records = MempoolNative.mpswig_records(n);
            try {
                MempoolNative.mp_pool_get_allocations(handle, records, n, count);
                List<AllocationInfo> list = new ArrayList<>();
                for (long i = 0; i < count[0]; i++) {
                    mp_allocation_info r = MempoolNative.mpswig_record_at(records, i);
                    list.add(new AllocationInfo(r.getPtr(), r.getSize(), r.getSequence().longValue()));
                }
                return list;
            } catch (BufferTooSmallException grew) {
                // another thread allocated meanwhile: count[0] has the new number
            } finally {
                MempoolNative.mpswig_records_free(records);
            }
        }
    }

    public String getStatsString() {
        String[] out = new String[1];
        MempoolNative.mp_pool_stats_string(handle, out);
        return out[0];
    }

    public String getStatsJson() {
        String[] out = new String[1];
        MempoolNative.mp_pool_stats_json(handle, out);
        return out[0];
    }

    // ---- GPU -----------------------------------------------------------------------

    public void setDevice(int deviceId) { MempoolNative.mp_pool_set_device(handle, deviceId); }

    public int getDevice() {
        int[] out = new int[1];
        MempoolNative.mp_pool_get_device(handle, out);
        return out[0];
    }

    /** Sets the cudaStream_t (as an address; 0 is the default stream) used by the copies. */
    public void setStream(long stream) { MempoolNative.mp_pool_set_stream(handle, stream); }

    public long getStream() {
        long[] out = new long[1];
        MempoolNative.mp_pool_get_stream(handle, out);
        return out[0];
    }

    /** Frees a block that work on stream may still use; the pool reuses it once that work is done. */
    public void deallocateOnStream(long address, long stream) {
        MempoolNative.mp_pool_deallocate_on_stream(handle, address, stream);
    }

    public void copyHostToDevice(long dst, long src, long size) {
        MempoolNative.mp_pool_copy_host_to_device(handle, dst, src, size);
    }

    public void copyDeviceToHost(long dst, long src, long size) {
        MempoolNative.mp_pool_copy_device_to_host(handle, dst, src, size);
    }

    public void copyDeviceToDevice(long dst, long src, long size) {
        MempoolNative.mp_pool_copy_device_to_device(handle, dst, src, size);
    }
}

package org.mempool;

import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.StampedLock;
import java.util.function.LongConsumer;
import java.util.function.LongFunction;

/**
 * A pool (the seed's IMemoryPool and GPUMemoryPool). A standalone pool is
 * created with {@link #create} and destroyed by {@link #close}; pools of the
 * registry come from {@link MemoryPoolManager} and are destroyed by its
 * destroyPool (their close() does nothing). Every failure throws the
 * {@link MemoryPoolException} subclass of its status.
 *
 * <p>Lifetimes. Every call holds the pool's {@link Guard}: close() waits for
 * the calls in flight on other threads and then refuses every later call
 * with InvalidOperationException ("pool 'x' is closed"); reset() runs alone.
 * Blocks handed out as {@link Allocation}s are tracked here by address: close()
 * and reset() close them all (waiting for their accessors), a raw
 * deallocate of such a block is refused, and a block that the C pool hands
 * out while an Allocation holds it (after a racing raw double free, which C
 * does not detect on lock-free pools) is refused with CorruptionException. A ByteBuffer from
 * {@link Allocation#buffer()} pins its block: reset() is refused while one may
 * be reachable, and close() defers the native destroy until none is.
 * Raw addresses (allocate/deallocate with long) are C pointers: the caller
 * owns them as in C, and no Java view is ever made over one.
 */
public final class MemoryPool implements AutoCloseable {
    private static final AtomicLong IDS = new AtomicLong();

    /** A global order: code that holds several guards enters them by increasing id. */
    final long id = IDS.getAndIncrement();
    private final long handle;
    private final String name;
    private final MemoryType type;
    private final boolean owned;
    final Guard guard;
    /* Live Allocations by address. Added and removed under a shared entry,
     * cleared under an exclusive one or once closed. */
    final ConcurrentHashMap<Long, Allocation> blocks = new ConcurrentHashMap<>();
    /* Once the pool has made an Allocation, a raw free holds making's write
     * lock from its check to its C call, and an Allocation's allocation and
     * free hold the read lock from the C call to the (un)registration: so no
     * raw free, even a double free that the C library cannot tell from a
     * good one because the block was handed out again, frees a block under
     * an Allocation, and none is refused for a block freed a moment ago.
     * Pools that never made one keep raw frees at a read of this flag. */
    private volatile boolean managed;
    private final StampedLock making = new StampedLock();
    /* ByteBuffers handed out by Allocation.buffer() and not yet collected,
     * and whether close() left the native destroy to the last of them. */
    final Object pinLock = new Object();
    private int pinned;
    private boolean destroyPending;
    private volatile boolean destroyed;
    /* What getStats() hands out: a live view, so one per pool. */
    private final MemoryStats stats = MemoryStats.viewOf(this);

    private MemoryPool(long handle, String name, MemoryType type, boolean threadSafe, boolean owned) {
        this.handle = handle;
        this.name = name;
        this.type = type;
        this.owned = owned;
        this.guard = new Guard("pool '" + name + "'", !threadSafe);
    }

    /**
     * A standalone pool owned by the caller. A GPU pool on a machine without
     * CUDA or a device: {@link CudaUnavailableException}.
     */
    public static MemoryPool create(String name, MemoryType type, PoolConfig config) {
        Args.notNull(type, "the memory type");
        mp_config c = Args.notNull(config, "the PoolConfig").toNative();
        long[] out = new long[1];
        try {
            MempoolNative.mp_pool_create(name, type.value, c, out);
            MempoolNative.mp_pool_get_config(out[0], c);
            return new MemoryPool(out[0], name, type, c.getThread_safe(), true);
        } catch (UnsupportedException e) {
            throw type == MemoryType.GPU ? CudaUnavailableException.of(e) : e;
        } catch (RuntimeException | Error e) {
            if (out[0] != 0)
                MempoolNative.mp_pool_destroy(out[0]);
            throw e;
        } finally {
            c.delete();
        }
    }

    /** A registry pool's object; MemoryPoolManager makes one per pool, under its lock. */
    static MemoryPool ofRegistry(long handle, String name) {
        int[] type = new int[1];
        MempoolNative.mp_pool_get_memory_type(handle, type);
        mp_config c = new mp_config();
        try {
            MempoolNative.mp_pool_get_config(handle, c);
            return new MemoryPool(handle, name, MemoryType.of(type[0]), c.getThread_safe(), false);
        } finally {
            c.delete();
        }
    }

    /** The native handle (0 once closed); for comparing with Router.poolFor and for C code. */
    public long handle() { return guard.isClosed() ? 0 : handle; }

    long rawHandle() { return handle; }
    String name() { return name; }
    MemoryType type() { return type; }

    public boolean isClosed() { return guard.isClosed(); }

    /**
     * Destroys a standalone pool once the calls in flight on other threads
     * have returned; later calls throw InvalidOperationException. Its
     * Allocations are closed. If a ByteBuffer over one of its blocks may still
     * be reachable, the memory is released once the last one is collected.
     * A second close, or closing a registry pool, does nothing.
     */
    @Override
    public void close() {
        if (owned)
            end("closed");
    }

    /* close() and MemoryPoolManager.destroyPool: false when ended already. */
    boolean end(String as) {
        if (!guard.close(as))
            return false;
        killAll();
        synchronized (pinLock) {
            if (pinned > 0) {
                destroyPending = true;
                return true;
            }
        }
        destroyNative();
        return true;
    }

    private void destroyNative() {
        destroyed = true;
        if (owned)
            MempoolNative.mp_pool_destroy(handle);
        else
            MemoryPoolManager.getInstance().destroyNative(this);
    }

    /** Whether the native pool is gone (close() may leave that to the last ByteBuffer's collection). */
    boolean isDestroyed() { return destroyed; }

    /* Closes every Allocation (waiting for its accessors); caller holds the pool alone or closed it. */
    private void killAll() {
        for (Allocation a : blocks.values())
            a.kill();
        blocks.clear();
    }

    // ---- allocation ---------------------------------------------------------

    /** Allocates size bytes; returns the address (mp_pool_allocate, without an out-array). */
    public long allocate(long size) {
        Guard.Slot t = guard.enter();
        try {
            return MempoolNative.mpswig_allocate(handle, size);
        } finally {
            guard.exit(t);
        }
    }

    /**
     * Allocates size bytes of the memory kind in flags; returns the address.
     * Pinned or managed memory without CUDA or a device: {@link CudaUnavailableException}.
     */
    public long allocate(long size, AllocFlags flags) {
        Args.notNull(flags, "the AllocFlags");
        long[] out = new long[1];
        LongConsumer c = h -> MempoolNative.mp_pool_allocate_flags(h, size, flags.value, out);
        if (flags == AllocFlags.NONE)
            run(c);
        else
            gpu(c);
        return out[0];
    }

    /**
     * Allocates a block that knows its size and pool, frees it once on close(),
     * and offers checked accessors (and a ByteBuffer) over CPU memory.
     */
    public Allocation allocateBlock(long size) {
        if (!managed)
            becomeManaged();
        Guard.Slot t = guard.enter();
        try {
            long stamp = making.readLock();
            try {
                long address = MempoolNative.mpswig_allocate(handle, size);
                Allocation a;
                try {
                    a = new Allocation(this, address, size);
                } catch (RuntimeException | Error e) {
                    MempoolNative.mp_pool_deallocate(handle, address);
                    throw e;
                }
                Allocation holder = blocks.putIfAbsent(address, a);
                if (holder != null)
                    throw handedOutTwice(address, holder);
                return a;
            } finally {
                making.unlockRead(stamp);
            }
        } finally {
            guard.exit(t);
        }
    }

    /*
     * The C pool handed out a block that an open Allocation holds. Only a
     * double free can do that: two raw frees of one block racing on a
     * lock-free pool, which the C library does not detect (they ran before
     * the pool made its first Allocation; raw frees are serialised since).
     * The block stays the holder's; this request gets nothing and frees
     * nothing, so the map and the holder stay right.
     */
    private CorruptionException handedOutTwice(long address, Allocation holder) {
        return new CorruptionException(mp_status.MP_ERR_CORRUPTION, String.format(
                "pool '%s' handed out block 0x%x again while an open Allocation of %d bytes holds it: the block "
                + "was freed twice, by raw frees that raced (undetected on a lock-free pool); "
                + "it stays that Allocation's, and this request is refused", name, address, holder.size()));
    }

    /* Alone, so that every raw free that saw the flag clear has returned. */
    private void becomeManaged() {
        guard.enterExclusive();
        managed = true;
        guard.exitExclusive();
    }

    /**
     * Frees a block from allocate(); an Allocation's block is freed by closing the Allocation.
     * Address 0 (a null pointer) does nothing, as free(NULL), even on a closed pool.
     */
    public void deallocate(long address) {
        if (address == 0)
            return;
        Guard.Slot t = guard.enter();
        try {
            long stamp = holdForRawFree(address);
            try {
                MempoolNative.mp_pool_deallocate(handle, address);
            } finally {
                releaseRawFree(stamp);
            }
        } finally {
            guard.exit(t);
        }
    }

    /**
     * Resizes a block from allocate() to newSize bytes, keeping its first bytes, and returns its
     * address: the same one when the block had room (mp_pool_reallocate). Address 0 allocates. On an
     * exception the block is live and unchanged. newSize 0 is refused (free with deallocate), and so
     * is an Allocation's block (InvalidOperationException): an Allocation keeps its address and size.
     */
    public long reallocate(long address, long newSize) {
        Guard.Slot t = guard.enter();
        try {
            long stamp = address == 0 ? 0 : holdForRawFree(address); // a move frees the old block
            try {
                long[] out = new long[1];
                MempoolNative.mp_pool_reallocate(handle, address, newSize, out);
                return out[0];
            } finally {
                releaseRawFree(stamp);
            }
        } finally {
            guard.exit(t);
        }
    }

    /** The bytes the live block at address offers, at least the size asked for (mp_pool_usable_size). */
    public long usableSize(long address) {
        long[] out = new long[1];
        run(h -> MempoolNative.mp_pool_usable_size(h, address, out));
        return out[0];
    }

    /*
     * Before a raw free of address on this pool (caller entered the guard):
     * refuses a block that an Allocation (and maybe a ByteBuffer) still uses,
     * and holds off new Allocations until releaseRawFree. Returns 0 for a
     * pool that never made an Allocation.
     */
    long holdForRawFree(long address) {
        if (!managed)
            return 0;
        long stamp = making.writeLock();
        if (blocks.containsKey(address)) {
            making.unlockWrite(stamp);
            throw new InvalidOperationException(mp_status.MP_ERR_INVALID_OPERATION, String.format(
                    "pool '%s': block 0x%x belongs to an Allocation; close the Allocation instead", name, address));
        }
        return stamp;
    }

    void releaseRawFree(long stamp) {
        if (stamp != 0)
            making.unlockWrite(stamp);
    }

    /* Allocation.close() and the last unpin: frees a block that is still the Allocation's. Caller entered. */
    void free(Allocation a) {
        long stamp = making.readLock(); // a raw free sees the block registered and live, or neither
        try {
            // Unregistered first: once C has the block back, another thread's
            // allocateBlock may get it and must find the address free here.
            // Raw frees wait on the read lock, so none sees the gap.
            if (!blocks.remove(a.address(), a))
                return; // reset or close took it, and the address may be another block's now
            MempoolNative.mp_pool_deallocate(handle, a.address());
        } finally {
            making.unlockRead(stamp);
        }
    }

    /* Allocation.buffer() handed out a ByteBuffer over a block; caller entered. */
    void pin(Allocation a) {
        synchronized (pinLock) {
            a.pins++;
            pinned++;
        }
    }

    /* The Cleaner saw such a ByteBuffer unreachable. Runs on the Cleaner's thread. */
    void unpin(Allocation a) {
        boolean free, destroy;
        synchronized (pinLock) {
            a.pins--;
            pinned--;
            free = a.pins == 0 && a.freeWhenUnpinned;
            destroy = pinned == 0 && destroyPending;
            if (destroy)
                destroyPending = false;
        }
        if (destroy) {
            destroyNative();
            return;
        }
        Guard.Slot t = free ? guard.tryEnter() : null;
        if (t != null) {
            try {
                free(a);
            } finally {
                guard.exit(t);
            }
        }
    }

    /* Allocation.close(): whether the free waits for the block's ByteBuffers. Caller entered. */
    boolean deferFree(Allocation a) {
        synchronized (pinLock) {
            if (a.pins == 0)
                return false;
            a.freeWhenUnpinned = true;
            return true;
        }
    }

    /** Blocks with ByteBuffers that may be reachable still (for tests and messages). */
    int pinnedBuffers() {
        synchronized (pinLock) {
            return pinned;
        }
    }

    /* Caller holds the pool alone. */
    void refuseIfPinned(String what) {
        int n = pinnedBuffers();
        if (n > 0)
            throw new InvalidOperationException(mp_status.MP_ERR_INVALID_OPERATION, String.format(
                    "pool '%s': %s would free blocks that %d ByteBuffer(s) from Allocation.buffer() may still reach; "
                    + "close those Allocations and drop the buffers (they are released once collected)", name, what, n));
    }

    /** Frees every live block at once, chunks kept; every Allocation of the pool is closed. */
    public void reset() {
        guard.enterExclusive();
        try {
            refuseIfPinned("reset");
            killAll();
            MempoolNative.mp_pool_reset(handle);
        } finally {
            guard.exitExclusive();
        }
    }

    /* MemoryPoolManager.resetAllPools, which holds this pool alone. */
    void prepareReset() {
        refuseIfPinned("resetAllPools");
        killAll();
    }

    /** Returns wholly free chunks while more than keepBytes stay reserved. */
    public void trim(long keepBytes) { run(h -> MempoolNative.mp_pool_trim(h, keepBytes)); }

    /** Trims to what the pool's policy keeps (without a policy: its initial size). */
    public void trimAuto() { run(MempoolNative::mp_pool_trim_auto); }

    public boolean owns(long address) {
        boolean[] out = new boolean[1];
        run(h -> MempoolNative.mp_pool_owns(h, address, out));
        return out[0];
    }

    /** Verifies the allocator's invariants and, in debug mode, every guard; throws CorruptionException. */
    public void check() { run(MempoolNative::mp_pool_check); }

    // ---- description ---------------------------------------------------------

    public String getName() {
        String[] out = new String[1];
        run(h -> MempoolNative.mp_pool_get_name(h, out));
        return out[0];
    }

    public MemoryType getMemoryType() {
        int[] out = new int[1];
        run(h -> MempoolNative.mp_pool_get_memory_type(h, out));
        return MemoryType.of(out[0]);
    }

    public Backend getBackend() {
        int[] out = new int[1];
        run(h -> MempoolNative.mp_pool_get_backend(h, out));
        return Backend.of(out[0]);
    }

    public PoolConfig getConfig() {
        return call(h -> {
            mp_config c = new mp_config();
            try {
                MempoolNative.mp_pool_get_config(h, c);
                return PoolConfig.fromNative(c);
            } finally {
                c.delete();
            }
        });
    }

    // ---- statistics ------------------------------------------------------------

    /**
     * The pool's statistics as a live view: one object per pool, whose getters
     * read the pool at each call (InvalidOperationException once it is closed).
     * For figures that stay put, copy it: {@code new MemoryStats(pool.getStats())}
     * or {@link MemoryStats#snapshotOf}.
     */
    public MemoryStats getStats() {
        if (guard.isClosed())
            throw guard.closed();
        return stats;
    }

    /* MemoryStats' view: the pool's mp_stats now. */
    void readStats(mp_stats out) { run(h -> MempoolNative.mp_pool_get_stats(h, out)); }

    /* MemoryStats' copy: a native tracker holding the pool's stats and records now; the caller owns it. */
    long trackerSnapshot() {
        long[] out = new long[1];
        run(h -> MempoolNative.mp_tracker_from_pool(h, out));
        return out[0];
    }

    public void resetStats() { run(MempoolNative::mp_pool_reset_stats); }

    public void setTrackingEnabled(boolean enabled) { run(h -> MempoolNative.mp_pool_set_tracking(h, enabled)); }

    public boolean isTrackingEnabled() {
        boolean[] out = new boolean[1];
        run(h -> MempoolNative.mp_pool_get_tracking(h, out));
        return out[0];
    }

    public boolean hasMemoryLeaks() {
        boolean[] out = new boolean[1];
        run(h -> MempoolNative.mp_pool_has_leaks(h, out));
        return out[0];
    }

    /** Live tracked allocations, oldest first. */
    public List<AllocationInfo> getActiveAllocations() {
        return call(h -> AllocationInfo.list((out, room, count) -> MempoolNative.mp_pool_get_allocations(h, out, room, count)));
    }

    /** Where the pool's memory is now: totals, chunks and size classes (mp_pool_memory_snapshot). */
    public MemorySnapshot getMemorySnapshot() {
        return call(h -> memorySnapshot(h, mp_snapshot_kind.MP_SNAPSHOT_NOW));
    }

    /**
     * The pool's memory when an allocation last failed for want of memory, kept until
     * {@link #resetStats}; {@link NotFoundException} when none failed.
     */
    public MemorySnapshot getLastOutOfMemorySnapshot() {
        return call(h -> memorySnapshot(h, mp_snapshot_kind.MP_SNAPSHOT_LAST_OOM));
    }

    private static MemorySnapshot memorySnapshot(long handle, int kind) {
        mp_memory_snapshot s = new mp_memory_snapshot();
        try {
            long chunks = 0, classes = 0;
            while (true) {
                mp_chunk_info c = MempoolNative.mpswig_chunks(chunks);
                mp_class_info k = MempoolNative.mpswig_classes(classes);
                try {
                    MempoolNative.mp_pool_memory_snapshot(handle, kind, s, c, chunks, k, classes);
                    return new MemorySnapshot(s, c, k);
                } catch (BufferTooSmallException grew) {
                    // s holds the counts: room for them, and again
                    chunks = s.getChunks_listed().longValue();
                    classes = s.getClass_count().longValue();
                } finally {
                    MempoolNative.mpswig_chunks_free(c);
                    MempoolNative.mpswig_classes_free(k);
                }
            }
        } finally {
            s.delete();
        }
    }

    /** {@link #getMemorySnapshot} as one JSON object (mp_pool_memory_snapshot_json). */
    public String getMemorySnapshotJson() { return snapshotJson(mp_snapshot_kind.MP_SNAPSHOT_NOW); }

    /** {@link #getLastOutOfMemorySnapshot} as one JSON object, with the failure's status and detail. */
    public String getLastOutOfMemorySnapshotJson() { return snapshotJson(mp_snapshot_kind.MP_SNAPSHOT_LAST_OOM); }

    private String snapshotJson(int kind) {
        String[] out = new String[1];
        run(h -> MempoolNative.mp_pool_memory_snapshot_json(h, kind, out));
        return out[0];
    }

    public String getStatsString() {
        String[] out = new String[1];
        run(h -> MempoolNative.mp_pool_stats_string(h, out));
        return out[0];
    }

    public String getStatsJson() {
        String[] out = new String[1];
        run(h -> MempoolNative.mp_pool_stats_json(h, out));
        return out[0];
    }

    // ---- GPU -----------------------------------------------------------------------
    // Each call here fails with CudaUnavailableException where C says MP_ERR_UNSUPPORTED
    // and no CUDA device is usable.

    public void setDevice(int deviceId) { gpu(h -> MempoolNative.mp_pool_set_device(h, deviceId)); }

    public int getDevice() {
        int[] out = new int[1];
        gpu(h -> MempoolNative.mp_pool_get_device(h, out));
        return out[0];
    }

    /**
     * Sets the cudaStream_t (as an address; 0 is the default stream) used by
     * the copies. The stream is the caller's: it must stay a live CUDA stream
     * while the pool uses it, which Java cannot check.
     */
    public void setStream(long stream) { gpu(h -> MempoolNative.mp_pool_set_stream(h, stream)); }

    public long getStream() {
        long[] out = new long[1];
        gpu(h -> MempoolNative.mp_pool_get_stream(h, out));
        return out[0];
    }

    /**
     * Idle device memory the pool keeps mapped whatever its age
     * (mp_pool_set_release_threshold); what is above it goes back after a
     * second idle. Unsigned: -1 (SIZE_MAX) keeps everything until trim.
     */
    public void setReleaseThreshold(long bytes) { gpu(h -> MempoolNative.mp_pool_set_release_threshold(h, bytes)); }

    public long getReleaseThreshold() {
        long[] out = new long[1];
        gpu(h -> MempoolNative.mp_pool_get_release_threshold(h, out));
        return out[0];
    }

    /**
     * Allocates size bytes for work on stream (a cudaStream_t's address; 0
     * is the default stream): ordered after earlier frees (mp_pool_allocate_on_stream).
     */
    public long allocateOnStream(long size, long stream) {
        long[] out = new long[1];
        gpu(h -> MempoolNative.mp_pool_allocate_on_stream(h, size, stream, out));
        return out[0];
    }

    /** Frees a block that work on stream may still use; the pool reuses it once that work is done. */
    public void deallocateOnStream(long address, long stream) {
        if (address == 0)
            return; // a null pointer: nothing to free, as deallocate
        gpu(h -> {
            long stamp = holdForRawFree(address);
            try {
                MempoolNative.mp_pool_deallocate_on_stream(h, address, stream);
            } finally {
                releaseRawFree(stamp);
            }
        });
    }

    /** Copies src (all of it) to the start of dst, a block of a GPU pool, on this GPU pool's stream. */
    public void copyHostToDevice(Allocation dst, Allocation src) { copyHostToDevice(dst, 0, src, 0, size(src)); }

    /** Copies size bytes of host block src from srcOffset to GPU block dst at dstOffset. */
    public void copyHostToDevice(Allocation dst, long dstOffset, Allocation src, long srcOffset, long size) {
        copy(dst, dstOffset, MemoryType.GPU, src, srcOffset, MemoryType.CPU, size, MempoolNative::mp_pool_copy_host_to_device);
    }

    /** Copies GPU block src (all of it) to the start of host block dst. */
    public void copyDeviceToHost(Allocation dst, Allocation src) { copyDeviceToHost(dst, 0, src, 0, size(src)); }

    public void copyDeviceToHost(Allocation dst, long dstOffset, Allocation src, long srcOffset, long size) {
        copy(dst, dstOffset, MemoryType.CPU, src, srcOffset, MemoryType.GPU, size, MempoolNative::mp_pool_copy_device_to_host);
    }

    /** Copies GPU block src (all of it) to the start of GPU block dst, peer to peer across devices. */
    public void copyDeviceToDevice(Allocation dst, Allocation src) { copyDeviceToDevice(dst, 0, src, 0, size(src)); }

    public void copyDeviceToDevice(Allocation dst, long dstOffset, Allocation src, long srcOffset, long size) {
        copy(dst, dstOffset, MemoryType.GPU, src, srcOffset, MemoryType.GPU, size, MempoolNative::mp_pool_copy_device_to_device);
    }

    private interface Copy { void run(long pool, long dst, long src, long size); }

    private static long size(Allocation a) {
        if (a == null)
            throw new InvalidArgumentException(mp_status.MP_ERR_INVALID_ARGUMENT, "the source Allocation is null");
        return a.size();
    }

    /* Both blocks stay live through the copy (their accessor gates are held), in range, and of the right memory. */
    private void copy(Allocation dst, long dstOffset, MemoryType dstType, Allocation src, long srcOffset,
                      MemoryType srcType, long size, Copy c) {
        Allocation.checkSpan("destination", dst, dstType, dstOffset, size);
        Allocation.checkSpan("source", src, srcType, srcOffset, size);
        Guard.Slot t = guard.enter();
        try {
            dst.enterGate();
            try {
                src.enterGate();
                try {
                    try {
                        c.run(handle, dst.address() + dstOffset, src.address() + srcOffset, size);
                    } catch (UnsupportedException e) {
                        throw CudaUnavailableException.of(e);
                    }
                } finally {
                    src.exitGate();
                }
            } finally {
                dst.exitGate();
            }
        } finally {
            guard.exit(t);
        }
    }

    // ---- calls under the guard -------------------------------------------------------

    /* Enters the guards of pools sorted by id (the global order); on a closed one, leaves the others and throws. */
    static Guard.Slot[] enterAll(MemoryPool[] ps) {
        Guard.Slot[] held = new Guard.Slot[ps.length];
        int n = 0;
        try {
            for (; n < ps.length; n++)
                held[n] = ps[n].guard.enter();
        } catch (RuntimeException closed) {
            exitAll(ps, held, n);
            throw closed;
        }
        return held;
    }

    static void exitAll(MemoryPool[] ps, Guard.Slot[] held, int n) {
        for (int i = n - 1; i >= 0; i--)
            ps[i].guard.exit(held[i]);
    }


    private void run(LongConsumer c) {
        Guard.Slot t = guard.enter();
        try {
            c.accept(handle);
        } finally {
            guard.exit(t);
        }
    }

    /* run() for a GPU call: MP_ERR_UNSUPPORTED without a usable device is CudaUnavailableException. */
    private void gpu(LongConsumer c) {
        try {
            run(c);
        } catch (UnsupportedException e) {
            throw CudaUnavailableException.of(e);
        }
    }

    private <T> T call(LongFunction<T> c) {
        Guard.Slot t = guard.enter();
        try {
            return c.apply(handle);
        } finally {
            guard.exit(t);
        }
    }
}

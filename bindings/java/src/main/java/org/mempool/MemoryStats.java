package org.mempool;

import java.lang.ref.Cleaner;
import java.lang.ref.Reference;
import java.util.List;
import java.util.function.LongFunction;
import java.util.function.ToLongFunction;

/**
 * The seed's MemoryStats, in two kinds.
 *
 * <p>A pool's view, from {@link MemoryPool#getStats()}: each getter reads the
 * pool at the call (mp_pool_get_stats and friends), so it follows the pool;
 * it counts what the pool allocates, so recording into it is refused
 * (InvalidOperationException), and its reset() is the pool's resetStats().
 * It holds nothing native: close() does nothing, and once the pool is closed
 * every call throws InvalidOperationException.
 *
 * <p>A tracker: {@code new MemoryStats()} (mp_tracker_create) counts what the
 * caller records and tracks, thread-safe; {@code new MemoryStats(other)} is a
 * snapshot that never changes with its source, of a pool's view
 * (mp_tracker_from_pool: counters and live records) or of another tracker
 * (mp_tracker_clone), and may be recorded into. A tracker owns native memory:
 * close() frees it, waiting for calls in flight on other threads, after which
 * every call throws InvalidOperationException; a tracker never closed is
 * freed once it is collected.
 */
public final class MemoryStats implements AutoCloseable {
    private static final Cleaner CLEANER = Cleaner.create();

    private final MemoryPool pool;   // a pool's view, or null
    private final Tracker tracker;   // a tracker's native side, or null
    private final Cleaner.Cleanable cleanable;

    /* The native tracker and its guard. The Cleaner's action: it must not reach the MemoryStats. */
    private static final class Tracker implements Runnable {
        final long handle;
        final Guard guard = new Guard("MemoryStats", false);

        Tracker(long handle) { this.handle = handle; }

        @Override
        public void run() {
            if (guard.close("closed"))
                MempoolNative.mp_tracker_destroy(handle);
        }
    }

    /** A standalone tracker, empty, tracking on (mp_tracker_create). */
    public MemoryStats() { this(create()); }

    /**
     * A snapshot of other (a pool's view or a tracker): its counters and
     * records now, which never change with other and outlive it.
     */
    public MemoryStats(MemoryStats other) { this(Args.notNull(other, "the MemoryStats to copy").copyHandle()); }

    /** A snapshot of pool's statistics now: {@code new MemoryStats(pool.getStats())}. */
    public static MemoryStats snapshotOf(MemoryPool pool) {
        return new MemoryStats(Args.notNull(pool, "the MemoryPool").trackerSnapshot());
    }

    /* MemoryPool's view of itself. */
    static MemoryStats viewOf(MemoryPool pool) { return new MemoryStats(pool); }

    private MemoryStats(MemoryPool pool) {
        this.pool = pool;
        this.tracker = null;
        this.cleanable = null;
    }

    private MemoryStats(long handle) {
        this.pool = null;
        this.tracker = new Tracker(handle);
        this.cleanable = CLEANER.register(this, tracker);
    }

    private static long create() {
        long[] out = new long[1];
        MempoolNative.mp_tracker_create(out);
        return out[0];
    }

    private long copyHandle() {
        if (pool != null)
            return pool.trackerSnapshot();
        long[] out = new long[1];
        onTracker(h -> {
            MempoolNative.mp_tracker_clone(h, out);
            return null;
        });
        return out[0];
    }

    /* The native tracker (0 for a view); for tests that check the Cleaner destroyed it. */
    long trackerHandle() { return tracker == null ? 0 : tracker.handle; }

    /** Whether this is a tracker (standalone or a copy) rather than a pool's view. */
    public boolean isTracker() { return tracker != null; }

    /** Frees a tracker once the calls in flight on other threads have returned; a pool's view: nothing. */
    @Override
    public void close() {
        if (cleanable != null)
            cleanable.clean();
    }

    /** Whether this tracker is closed, or this view's pool is. */
    public boolean isClosed() { return pool != null ? pool.isClosed() : tracker.guard.isClosed(); }

    // ---- recording (trackers only) ------------------------------------------

    /** Counts an allocation of size bytes, no pointer kept. Size 0: InvalidArgumentException. */
    public void recordAllocation(long size) { record(h -> MempoolNative.mp_tracker_record_allocation(h, size)); }

    /** Counts a deallocation of size bytes; refused when it would leave more frees than allocations or bytes below 0. */
    public void recordDeallocation(long size) { record(h -> MempoolNative.mp_tracker_record_deallocation(h, size)); }

    /** While tracking is on, counts and records an allocation at address; a live address again: InvalidPointerException. */
    public void trackAllocation(long address, long size) {
        record(h -> MempoolNative.mp_tracker_track_allocation(h, address, size));
    }

    /** Counts the free of a tracked address and drops its record; an unknown one: InvalidPointerException while tracking. */
    public void trackDeallocation(long address) { record(h -> MempoolNative.mp_tracker_track_deallocation(h, address)); }

    private interface TrackerCall { void run(long handle); }

    private void record(TrackerCall c) {
        if (pool != null)
            throw new InvalidOperationException(mp_status.MP_ERR_INVALID_OPERATION, "the stats of pool '" + pool.name()
                    + "' count what the pool allocates; record into a standalone MemoryStats or a copy");
        onTracker(h -> {
            c.run(h);
            return null;
        });
    }

    // ---- counters -----------------------------------------------------------------

    public long getTotalAllocated() { return read(s -> s.getTotal_allocated().longValue()); }
    public long getCurrentUsed() { return read(s -> s.getCurrent_used().longValue()); }
    public long getPeakUsage() { return read(s -> s.getPeak_usage().longValue()); }
    public long getAllocationCount() { return read(s -> s.getAllocation_count().longValue()); }
    public long getDeallocationCount() { return read(s -> s.getDeallocation_count().longValue()); }

    /** 1 - largest free block / total free bytes; 0 for fixed-size pools, empty pools and trackers. */
    public double getFragmentationRatio() {
        mp_stats s = stats();
        try {
            return s.getFragmentation_ratio();
        } finally {
            s.delete();
        }
    }

    /* The figures below are the pool's; a standalone tracker has none (0), a copy keeps its pool's. */
    public long getReservedBytes() { return read(s -> s.getReserved_bytes().longValue()); }
    public long getChunkCount() { return read(s -> s.getChunk_count().longValue()); }
    public long getFailedAllocations() { return read(s -> s.getFailed_allocations().longValue()); }
    /** Allocations not yet freed: allocation count - deallocation count. */
    public long getLiveAllocations() { return read(s -> s.getLive_allocations().longValue()); }
    /** Blocks freed on another stream whose work has not finished yet. */
    public long getPendingFrees() { return read(s -> s.getPending_frees().longValue()); }
    /** The highest reserved bytes seen since creation or resetStats. */
    public long getPeakReservedBytes() { return read(s -> s.getPeak_reserved_bytes().longValue()); }

    private long read(ToLongFunction<mp_stats> field) {
        mp_stats s = stats();
        try {
            return field.applyAsLong(s);
        } finally {
            s.delete();
        }
    }

    private mp_stats stats() {
        mp_stats s = new mp_stats();
        try {
            if (pool != null)
                pool.readStats(s);
            else
                onTracker(h -> {
                    MempoolNative.mp_tracker_get_stats(h, s);
                    return null;
                });
            return s;
        } catch (RuntimeException | Error e) {
            s.delete();
            throw e;
        }
    }

    // ---- records, text, tracking -------------------------------------------------------

    /** The live tracked allocations, oldest first. */
    public List<AllocationInfo> getActiveAllocations() {
        if (pool != null)
            return pool.getActiveAllocations();
        return onTracker(h -> AllocationInfo.list(
                (out, room, count) -> MempoolNative.mp_tracker_get_allocations(h, out, room, count)));
    }

    /** Whether more allocations than deallocations are counted. */
    public boolean hasMemoryLeaks() {
        if (pool != null)
            return pool.hasMemoryLeaks();
        boolean[] out = new boolean[1];
        onTracker(h -> {
            MempoolNative.mp_tracker_has_leaks(h, out);
            return null;
        });
        return out[0];
    }

    /** The human-readable summary (a pool's view: the pool's getStatsString()). */
    public String getStatsString() {
        if (pool != null)
            return pool.getStatsString();
        String[] out = new String[1];
        onTracker(h -> {
            MempoolNative.mp_tracker_stats_string(h, out);
            return null;
        });
        return out[0];
    }

    /** The stats as one JSON object (a pool's view: the pool's getStatsJson()). */
    public String getStatsJson() {
        if (pool != null)
            return pool.getStatsJson();
        String[] out = new String[1];
        onTracker(h -> {
            MempoolNative.mp_tracker_stats_json(h, out);
            return null;
        });
        return out[0];
    }

    /** Turns per-pointer tracking on or off (a pool's view: the pool's). */
    public void setTrackingEnabled(boolean enabled) {
        if (pool != null)
            pool.setTrackingEnabled(enabled);
        else
            onTracker(h -> {
                MempoolNative.mp_tracker_set_tracking(h, enabled);
                return null;
            });
    }

    public boolean isTrackingEnabled() {
        if (pool != null)
            return pool.isTrackingEnabled();
        boolean[] out = new boolean[1];
        onTracker(h -> {
            MempoolNative.mp_tracker_get_tracking(h, out);
            return null;
        });
        return out[0];
    }

    /**
     * Starts the cumulative counts again from what is live (allocation count =
     * live allocations, deallocation count 0, total = peak = current); records
     * stay. A pool's view resets the pool's stats (resetStats()).
     */
    public void reset() {
        if (pool != null)
            pool.resetStats();
        else
            onTracker(h -> {
                MempoolNative.mp_tracker_reset(h);
                return null;
            });
    }

    /* A call on the tracker under its guard; the fence keeps the Cleaner from freeing it meanwhile. */
    private <T> T onTracker(LongFunction<T> c) {
        Guard.Slot t = tracker.guard.enter();
        try {
            return c.apply(tracker.handle);
        } finally {
            tracker.guard.exit(t);
            Reference.reachabilityFence(this);
        }
    }
}

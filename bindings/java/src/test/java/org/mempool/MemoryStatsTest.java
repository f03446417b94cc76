package org.mempool;

import static org.junit.jupiter.api.Assertions.*;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** The seed's MemoryStats: a standalone tracker, a pool's live view, and copies that are snapshots. */
class MemoryStatsTest {
    private static final long A = 0x10000, B = 0x20000; // addresses a tracker records, never dereferenced

    private static void assertCounts(MemoryStats s, long total, long current, long peak, long allocs, long frees) {
        assertEquals(total, s.getTotalAllocated(), "total");
        assertEquals(current, s.getCurrentUsed(), "current");
        assertEquals(peak, s.getPeakUsage(), "peak");
        assertEquals(allocs, s.getAllocationCount(), "allocations");
        assertEquals(frees, s.getDeallocationCount(), "deallocations");
    }

    @Test
    void aStandaloneTrackerCountsWhatTheCallerRecordsAndTracks() {
        try (MemoryStats s = new MemoryStats()) {
            assertTrue(s.isTracker());
            assertTrue(s.isTrackingEnabled());
            assertCounts(s, 0, 0, 0, 0, 0);
            assertFalse(s.hasMemoryLeaks());
            s.recordAllocation(100);
            s.recordAllocation(50);
            s.recordDeallocation(100);
            assertCounts(s, 150, 50, 150, 2, 1);
            assertTrue(s.hasMemoryLeaks());
            assertEquals(0.0, s.getFragmentationRatio());
            assertEquals(0, s.getReservedBytes()); // a pool's figure: a tracker has none
            assertTrue(s.getActiveAllocations().isEmpty(), "a recorded size keeps no pointer");
            s.trackAllocation(A, 64);
            s.trackAllocation(B, 32);
            List<AllocationInfo> live = s.getActiveAllocations();
            assertEquals(2, live.size());
            assertEquals(A, live.get(0).address());
            assertEquals(64, live.get(0).size());
            assertEquals(B, live.get(1).address());
            assertCounts(s, 246, 146, 150, 4, 1);
            s.trackDeallocation(A);
            assertEquals(List.of(B), s.getActiveAllocations().stream().map(AllocationInfo::address).toList());
            assertCounts(s, 246, 82, 150, 4, 2);
            assertEquals(2, s.getLiveAllocations());
            assertTrue(s.getStatsJson().contains("\"current_used\":82"), s.getStatsJson());
            assertFalse(s.getStatsString().isEmpty());
            s.reset(); // the counts start again from what is live
            assertCounts(s, 82, 82, 82, 2, 0);
            assertEquals(1, s.getActiveAllocations().size(), "records stay");
            s.trackDeallocation(B);
            s.recordDeallocation(50);
            assertCounts(s, 82, 0, 82, 2, 2);
            assertFalse(s.hasMemoryLeaks());
        }
    }

    @Test
    void badRecordsAreRefusedAndChangeNothing() {
        try (MemoryStats s = new MemoryStats()) {
            assertThrows(InvalidArgumentException.class, () -> s.recordAllocation(0));
            assertThrows(InvalidArgumentException.class, () -> s.recordDeallocation(8), "nothing live");
            s.recordAllocation(16);
            assertThrows(InvalidArgumentException.class, () -> s.recordDeallocation(17), "more bytes than in use");
            assertThrows(InvalidArgumentException.class, () -> s.recordDeallocation(0));
            assertThrows(InvalidPointerException.class, () -> s.trackAllocation(0, 8), "a null pointer");
            assertThrows(InvalidArgumentException.class, () -> s.trackAllocation(A, 0));
            s.trackAllocation(A, 8);
            assertThrows(InvalidPointerException.class, () -> s.trackAllocation(A, 8), "tracked twice");
            assertThrows(InvalidPointerException.class, () -> s.trackDeallocation(B), "never tracked");
            s.trackDeallocation(A);
            assertThrows(InvalidPointerException.class, () -> s.trackDeallocation(A), "freed twice");
            assertCounts(s, 24, 16, 24, 2, 1);
            s.setTrackingEnabled(false);
            assertFalse(s.isTrackingEnabled());
            s.trackAllocation(B, 8); // tracking off: not counted, no record
            s.trackDeallocation(B);  // nor refused: it may have been allocated while off
            assertCounts(s, 24, 16, 24, 2, 1);
            assertTrue(s.getActiveAllocations().isEmpty());
        }
        assertThrows(InvalidArgumentException.class, () -> new MemoryStats(null));
        assertThrows(InvalidArgumentException.class, () -> MemoryStats.snapshotOf(null));
    }

    @Test
    void aCopyOfATrackerIsASnapshotThatLivesOnItsOwn() {
        MemoryStats copy;
        try (MemoryStats s = new MemoryStats()) {
            s.trackAllocation(A, 16);
            s.setTrackingEnabled(false);
            copy = new MemoryStats(s);
            s.setTrackingEnabled(true);
            s.trackAllocation(B, 32);
            assertCounts(copy, 16, 16, 16, 1, 0);
            assertFalse(copy.isTrackingEnabled(), "the tracking state is copied");
            copy.setTrackingEnabled(true);
            copy.trackDeallocation(A);
            assertCounts(copy, 16, 0, 16, 1, 1);
            assertCounts(s, 48, 48, 48, 2, 0); // the source did not see the copy's free
            assertEquals(2, s.getActiveAllocations().size());
        }
        try (copy) {
            assertFalse(copy.isClosed(), "closing the source leaves the copy");
            assertTrue(copy.getActiveAllocations().isEmpty());
        }
    }

    @Test
    void aPoolsStatsAreOneLiveViewAndACopyIsASnapshot() {
        MemoryStats snap;
        MemoryStats view;
        try (MemoryPool pool = MemoryPool.create("java-stats-view", MemoryType.CPU, PoolConfig.defaultCPU())) {
            view = pool.getStats();
            assertSame(view, pool.getStats());
            assertFalse(view.isTracker());
            long a = pool.allocate(100);
            assertEquals(100, view.getCurrentUsed(), "the view follows the pool");
            snap = new MemoryStats(view);
            long b = pool.allocate(200);
            assertEquals(300, view.getCurrentUsed());
            assertCounts(snap, 100, 100, 100, 1, 0); // the copy stays put
            assertEquals(1 << 20, snap.getReservedBytes(), "a copy keeps the pool's other figures");
            assertEquals(List.of(a), snap.getActiveAllocations().stream().map(AllocationInfo::address).toList());
            try (MemoryStats again = MemoryStats.snapshotOf(pool)) {
                assertCounts(again, 300, 300, 300, 2, 0);
                assertEquals(2, again.getActiveAllocations().size());
            }
            InvalidOperationException e = assertThrows(InvalidOperationException.class, () -> view.recordAllocation(8));
            assertTrue(e.getDetail().contains("java-stats-view"), e.getDetail());
            assertThrows(InvalidOperationException.class, () -> view.trackAllocation(A, 8));
            assertThrows(InvalidOperationException.class, () -> view.recordDeallocation(8));
            assertThrows(InvalidOperationException.class, () -> view.trackDeallocation(A));
            assertEquals(300, view.getCurrentUsed(), "a refused record changes nothing");
            pool.deallocate(a);
            view.reset(); // the pool's resetStats: counts restart from what is live
            assertCounts(view, 200, 200, 200, 1, 0);
            assertTrue(view.hasMemoryLeaks());
            assertEquals(pool.getStatsString(), view.getStatsString());
            view.setTrackingEnabled(false);
            assertFalse(pool.isTrackingEnabled());
            view.close(); // the pool's: nothing happens
            assertFalse(view.isClosed());
            assertEquals(200, view.getCurrentUsed());
            pool.deallocate(b);
        }
        assertTrue(view.isClosed());
        InvalidOperationException closed = assertThrows(InvalidOperationException.class, view::getCurrentUsed);
        assertEquals("pool 'java-stats-view' is closed", closed.getDetail());
        assertThrows(InvalidOperationException.class, () -> new MemoryStats(view));
        try (snap) {
            assertEquals(100, snap.getCurrentUsed(), "a copy outlives its pool");
            snap.recordDeallocation(100);
            assertCounts(snap, 100, 0, 100, 1, 1);
        }
    }

    @Test
    void everyCallOnAClosedTrackerThrowsInvalidOperation() {
        MemoryStats s = new MemoryStats();
        s.recordAllocation(8);
        s.close();
        s.close(); // a second close does nothing
        assertTrue(s.isClosed());
        List<Executable> calls = List.of(() -> s.recordAllocation(8), () -> s.recordDeallocation(8),
                () -> s.trackAllocation(A, 8), () -> s.trackDeallocation(A), s::getTotalAllocated, s::getCurrentUsed,
                s::getPeakUsage, s::getAllocationCount, s::getDeallocationCount, s::getFragmentationRatio,
                s::getActiveAllocations, s::hasMemoryLeaks, s::getStatsString, s::getStatsJson,
                () -> s.setTrackingEnabled(false), s::isTrackingEnabled, s::reset, () -> new MemoryStats(s));
        for (Executable c : calls) {
            InvalidOperationException e = assertThrows(InvalidOperationException.class, c);
            assertEquals("MemoryStats is closed", e.getDetail());
        }
    }

    @Test
    void threadsRecordIntoOneTrackerExactly() throws Exception {
        int threads = 8, rounds = 5000;
        ExecutorService workers = Executors.newFixedThreadPool(threads);
        try (MemoryStats s = new MemoryStats()) {
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                final long base = (t + 1L) << 32;
                done.add(workers.submit(() -> {
                    for (int r = 0; r < rounds; r++) {
                        s.recordAllocation(3);
                        s.trackAllocation(base + 16L * r, 5);
                    }
                    for (int r = 0; r < rounds; r++)
                        s.trackDeallocation(base + 16L * r);
                    return null;
                }));
            }
            for (Future<?> f : done)
                f.get(60, TimeUnit.SECONDS);
            long n = (long) threads * rounds;
            assertEquals(8 * n, s.getTotalAllocated());
            assertEquals(3 * n, s.getCurrentUsed());
            assertTrue(s.getPeakUsage() >= 3 * n && s.getPeakUsage() <= 8 * n, "peak " + s.getPeakUsage());
            assertEquals(2 * n, s.getAllocationCount());
            assertEquals(n, s.getDeallocationCount());
            assertTrue(s.getActiveAllocations().isEmpty());
        } finally {
            workers.shutdownNow();
        }
    }

    @Test
    void closeWaitsForCallsInFlightAndLaterCallsThrow() throws Exception {
        int threads = 4;
        ExecutorService workers = Executors.newFixedThreadPool(threads);
        try {
            for (int round = 0; round < 100; round++) {
                MemoryStats s = new MemoryStats();
                CountDownLatch running = new CountDownLatch(threads);
                List<Future<Integer>> calls = new ArrayList<>();
                for (int t = 0; t < threads; t++) {
                    final long base = (t + 1L) << 32;
                    calls.add(workers.submit(() -> {
                        int i = 0;
                        try {
                            for (;; i++) {
                                s.trackAllocation(base + 16L * i, 8);
                                s.getActiveAllocations();
                                s.getStatsJson();
                                if (i == 5)
                                    running.countDown();
                            }
                        } catch (InvalidOperationException closed) {
                            assertEquals("MemoryStats is closed", closed.getDetail());
                        }
                        return i;
                    }));
                }
                running.await();
                s.close();
                for (Future<Integer> f : calls)
                    assertTrue(f.get(30, TimeUnit.SECONDS) >= 5);
            }
        } finally {
            workers.shutdownNow();
        }
    }

    /* Leaves no reference to the tracker in the caller's frame. */
    private static long forgottenTracker() {
        MemoryStats s = new MemoryStats();
        s.recordAllocation(1);
        return s.trackerHandle();
    }

    @Test
    void aTrackerNeverClosedIsDestroyedOnceCollected() {
        long handle = forgottenTracker();
        boolean[] out = new boolean[1];
        MempoolNative.mp_tracker_get_tracking(handle, out); // alive until collected
        Gc.until("the tracker is destroyed", () -> {
            try {
                MempoolNative.mp_tracker_get_tracking(handle, out);
                return false;
            } catch (InvalidArgumentException destroyed) { // a destroyed handle is refused, never followed
                return true;
            }
        });
    }
}

package org.mempool;

import static org.junit.jupiter.api.Assertions.*;

import java.lang.ref.Reference;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** An Allocation's buffers and accessors against its close() and the pool's reset() and close(). */
class AllocationLifetimeTest {
    /* Fewer than the pool races: a close waits for an accessor that the
     * scheduler preempted inside its block, a time slice on a small machine. */
    private static final int THREADS = 4, ROUNDS = 60;
    private static ExecutorService workers;

    @BeforeAll
    static void start() { workers = Executors.newFixedThreadPool(THREADS); }

    @AfterAll
    static void stop() { workers.shutdownNow(); }

    @Test
    void aClosedAllocationsBufferNeverWritesIntoTheNextAllocation() {
        try (MemoryPool pool = MemoryPool.create("java-stale-buffer", MemoryType.CPU, PoolConfig.fixedSizeCPU(64))) {
            Allocation a = pool.allocateBlock(64);
            ByteBuffer stale = a.buffer();
            a.close();
            Allocation next = pool.allocateBlock(64); // the freed block came back here before
            ByteBuffer fresh = next.buffer();
            for (int i = 0; i < 64; i++)
                fresh.put(i, (byte) 1);
            for (int i = 0; i < 64; i++)
                stale.put(i, (byte) 99);
            for (int i = 0; i < 64; i++)
                assertEquals(1, fresh.get(i), "the closed Allocation's buffer wrote into the next one");
            assertThrows(InvalidOperationException.class, a::buffer);
            next.close();
            Reference.reachabilityFence(stale);
            Reference.reachabilityFence(fresh);
        }
    }

    /* Drops its only buffer inside, so that the caller's frame keeps nothing reachable. */
    private static void touchThroughABuffer(Allocation a) { a.buffer().put(0, (byte) 1); }

    @Test
    void closingAnAllocationFreesItsBlockOnceItsLastBufferIsCollected() {
        try (MemoryPool pool = MemoryPool.create("java-deferred-free", MemoryType.CPU, PoolConfig.defaultCPU())) {
            Allocation a = pool.allocateBlock(64);
            touchThroughABuffer(a);
            a.close();
            assertThrows(InvalidOperationException.class, () -> a.getByte(0));
            Gc.until("the block is freed", () -> pool.getStats().getLiveAllocations() == 0);
            assertEquals(0, pool.pinnedBuffers());
            Allocation plain = pool.allocateBlock(64);
            plain.close(); // without a buffer the free happens at once
            assertEquals(0, pool.getStats().getLiveAllocations());
        }
    }

    @Test
    void resetIsRefusedWhileABufferMayBeReachableAndThenClosesEveryAllocation() {
        try (MemoryPool pool = MemoryPool.create("java-reset-pins", MemoryType.CPU, PoolConfig.fixedSizeCPU(64))) {
            Allocation viewed = pool.allocateBlock(64);
            Allocation other = pool.allocateBlock(64);
            ByteBuffer b = viewed.buffer();
            InvalidOperationException e = assertThrows(InvalidOperationException.class, pool::reset);
            assertTrue(e.getDetail().contains("1 ByteBuffer(s)"), e.getDetail());
            assertFalse(other.isClosed(), "a refused reset changes nothing");
            b.put(0, (byte) 5);
            Reference.reachabilityFence(b);
            b = null;
            viewed.close();
            Gc.until("the buffer is collected", () -> pool.pinnedBuffers() == 0);
            pool.reset();
            assertTrue(other.isClosed());
            assertThrows(InvalidOperationException.class, () -> other.getLong(0));
            assertEquals(0, pool.getStats().getLiveAllocations());
        }
    }

    @Test
    void closingAnAllocationAfterResetLeavesTheBlockThatReusedItsAddressAlone() {
        try (MemoryPool pool = MemoryPool.create("java-reset-reuse", MemoryType.CPU, PoolConfig.fixedSizeCPU(64))) {
            Allocation before = pool.allocateBlock(64);
            pool.reset();
            Allocation after = pool.allocateBlock(64);
            assertEquals(before.address(), after.address(), "the fixed pool hands the block out again");
            after.putLong(0, 42);
            before.close(); // must not free after's block
            assertTrue(pool.owns(after.address()));
            assertEquals(42, after.getLong(0));
            after.close();
            assertEquals(0, pool.getStats().getLiveAllocations());
        }
    }

    @Test
    void aRawFreeOfAnAllocationsBlockIsRefused() {
        try (MemoryPool pool = MemoryPool.create("java-raw-free", MemoryType.CPU, PoolConfig.defaultCPU());
             Router r = new Router("java-raw-free-router")) {
            r.add(-1, pool);
            Allocation a = pool.allocateBlock(64);
            InvalidOperationException e = assertThrows(InvalidOperationException.class, () -> pool.deallocate(a.address()));
            assertTrue(e.getDetail().contains("belongs to an Allocation"), e.getDetail());
            assertThrows(InvalidOperationException.class, () -> r.deallocate(a.address()));
            a.putLong(0, 7);
            a.close();
            assertThrows(InvalidPointerException.class, () -> pool.deallocate(a.address()));
        }
    }

    /* Reads and writes its block until the block is closed under it; a wrong value fails. */
    private static Future<Integer> access(Allocation a, long stamp, CountDownLatch running) {
        return workers.submit(() -> {
            int n = 0;
            try {
                for (;; n++) {
                    long at = (n * 8L) % a.size();
                    a.putLong(at, stamp);
                    assertEquals(stamp, a.getLong(at));
                    if (n == 100)
                        running.countDown();
                }
            } catch (InvalidOperationException closed) {
                assertTrue(closed.getDetail().endsWith("is closed"), closed.getDetail());
            }
            return n;
        });
    }

    /*
     * Blocks of 256 KiB each take a chunk of their own, so that trim(0) after
     * a free unmaps it: an access that reached a freed block would crash.
     */
    private static void raceAccessorsAgainst(String name, java.util.function.Consumer<List<Allocation>> closer)
            throws Exception {
        PoolConfig c = PoolConfig.defaultCPU();
        c.initialSize = 4096;
        for (int round = 0; round < ROUNDS; round++) {
            try (MemoryPool pool = MemoryPool.create(name, MemoryType.CPU, c)) {
                List<Allocation> blocks = new ArrayList<>();
                List<Future<Integer>> running = new ArrayList<>();
                CountDownLatch started = new CountDownLatch(1);
                for (int t = 0; t < THREADS; t++) {
                    blocks.add(pool.allocateBlock(256 << 10));
                    running.add(access(blocks.get(t), 0x5eed0000L + t, started));
                }
                started.await();
                closer.accept(blocks);
                if (!pool.isClosed())
                    pool.trim(0);
                for (Future<Integer> f : running)
                    f.get(30, TimeUnit.SECONDS);
            }
        }
    }

    @Test
    void accessorsRacingTheirAllocationsCloseNeverReachAFreedBlock() throws Exception {
        raceAccessorsAgainst("java-race-close", blocks -> blocks.forEach(Allocation::close));
    }

    @Test
    void accessorsRacingThePoolsResetNeverReachAFreedBlock() throws Exception {
        raceAccessorsAgainst("java-race-reset", blocks -> blocks.get(0).pool().reset());
    }

    @Test
    void accessorsRacingThePoolsCloseNeverReachUnmappedMemory() throws Exception {
        raceAccessorsAgainst("java-race-pool-close", blocks -> blocks.get(0).pool().close());
    }

    @Test
    void aRawDoubleFreeNeverFreesABlockThatAnAllocationGotMeanwhile() throws Exception {
        try (MemoryPool pool = MemoryPool.create("java-raw-aba", MemoryType.CPU, PoolConfig.fixedSizeCPU(64))) {
            java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
            List<Future<Integer>> done = new ArrayList<>();
            for (int t = 0; t < THREADS; t++) {
                final long stamp = 0xab0000L + t;
                final boolean raw = t % 2 == 0;
                done.add(workers.submit(() -> {
                    int refused = 0;
                    for (int n = 0; n < 60000 && !stop.get(); n++) {
                        if (raw) {
                            // Bugs in raw code: each thread frees its block twice, and the second free may
                            // take another thread's raw block, which that thread then frees in vain. As in C.
                            long x = pool.allocate(64);
                            for (int twice = 0; twice < 2; twice++) {
                                try {
                                    pool.deallocate(x);
                                } catch (InvalidPointerException | InvalidOperationException refusedFree) {
                                    refused++;
                                }
                            }
                        } else {
                            try (Allocation a = pool.allocateBlock(64)) {
                                for (int i = 0; i < 8; i++) {
                                    a.putLong(i * 8, stamp);
                                    assertEquals(stamp, a.getLong(i * 8), "a raw double free gave this block to another owner");
                                }
                            }
                        }
                    }
                    stop.set(true);
                    return refused;
                }));
            }
            for (Future<Integer> f : done)
                f.get(60, TimeUnit.SECONDS);
            pool.check();
        }
    }

    /* A view derived from the block's buffer, with the buffer itself dropped. */
    private static java.nio.LongBuffer derivedView(Allocation a) {
        return a.buffer().slice(8, 16).order(java.nio.ByteOrder.nativeOrder()).asLongBuffer();
    }

    @Test
    void aSliceOrTypedViewOfTheBufferPinsTheBlockToo() {
        try (MemoryPool pool = MemoryPool.create("java-derived-pin", MemoryType.CPU, PoolConfig.defaultCPU())) {
            Allocation a = pool.allocateBlock(64);
            java.nio.LongBuffer longs = derivedView(a);
            a.close();
            for (int i = 0; i < 5; i++)
                System.gc();
            assertEquals(1, pool.pinnedBuffers(), "the derived view keeps the buffer, and so the block");
            assertEquals(1, pool.getStats().getLiveAllocations());
            longs.put(1, 42);
            assertEquals(42, longs.get(1));
            Reference.reachabilityFence(longs);
            longs = null;
            Gc.until("the block is freed", () -> pool.getStats().getLiveAllocations() == 0);
        }
    }
}

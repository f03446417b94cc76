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

/** close() against buffers over the pool and against calls in flight on other threads. */
class PoolLifetimeTest {
    private static final int THREADS = 8, ROUNDS = 200;
    private static ExecutorService workers;

    @BeforeAll
    static void start() { workers = Executors.newFixedThreadPool(THREADS); }

    @AfterAll
    static void stop() { workers.shutdownNow(); }

    @Test
    void aBufferOverABlockStaysUsableAfterThePoolIsClosed() {
        MemoryPool pool = MemoryPool.create("java-pinned-close", MemoryType.CPU, PoolConfig.defaultCPU());
        Allocation a = pool.allocateBlock(4096);
        ByteBuffer b = a.buffer();
        pool.close(); // unmapped the chunk under b before: the writes below crashed the JVM
        for (int i = 0; i < 4096; i++)
            b.put(i, (byte) i);
        for (int i = 0; i < 4096; i++)
            assertEquals((byte) i, b.get(i));
        assertThrows(InvalidOperationException.class, () -> pool.allocate(8));
        Reference.reachabilityFence(b);
    }

    /* Calls the pool until it is closed; any other failure fails the test. */
    private static Future<Integer> hammer(MemoryPool pool, CountDownLatch running) {
        return workers.submit(() -> {
            int calls = 0;
            try {
                for (;; calls++) {
                    pool.deallocate(pool.allocate(64 + calls % 200));
                    if (calls == 100)
                        running.countDown();
                }
            } catch (InvalidOperationException e) {
                assertEquals("pool 'java-close-race' is closed", e.getDetail());
            }
            return calls;
        });
    }

    @Test
    void closeWaitsForCallsInFlightOnOtherThreadsAndLaterCallsThrow() throws Exception {
        for (int round = 0; round < ROUNDS; round++) {
            MemoryPool pool = MemoryPool.create("java-close-race", MemoryType.CPU, PoolConfig.defaultCPU());
            CountDownLatch running = new CountDownLatch(1);
            List<Future<Integer>> calls = new ArrayList<>();
            for (int t = 0; t < THREADS; t++)
                calls.add(hammer(pool, running));
            running.await(); // others start before, during or after the close
            pool.close();
            for (Future<Integer> f : calls)
                f.get(30, TimeUnit.SECONDS);
            assertThrows(InvalidOperationException.class, pool::getStats);
        }
    }

    /* Leaves no reference to the buffer in the caller's frame. */
    private static void touchThroughABuffer(Allocation a) { a.buffer().putLong(0, 1); }

    @Test
    void thePoolsMemoryIsReleasedOnceTheLastBufferOverItIsCollected() {
        MemoryPool pool = MemoryPool.create("java-deferred-destroy", MemoryType.CPU, PoolConfig.defaultCPU());
        Allocation a = pool.allocateBlock(64);
        touchThroughABuffer(a);
        pool.close();
        assertTrue(pool.isClosed());
        assertTrue(a.isClosed(), "the pool's close closes its Allocations");
        assertThrows(InvalidOperationException.class, () -> a.getLong(0));
        a.close(); // after the pool: nothing
        Gc.until("the native pool is destroyed", pool::isDestroyed);
    }

    @Test
    void closeWithoutBuffersDestroysAtOnceAndClosesTheAllocations() {
        MemoryPool pool = MemoryPool.create("java-close-blocks", MemoryType.CPU, PoolConfig.defaultCPU());
        Allocation a = pool.allocateBlock(64);
        a.putLong(0, 1);
        pool.close();
        assertTrue(pool.isDestroyed());
        assertTrue(a.isClosed());
        assertThrows(InvalidOperationException.class, a::buffer);
    }

    @Test
    void aPoolThatIsNotThreadSafeServesOneCallAtATime() throws Exception {
        PoolConfig c = PoolConfig.defaultCPU();
        c.threadSafe = false;
        final int rounds = 2000;
        try (MemoryPool pool = MemoryPool.create("java-serial", MemoryType.CPU, c)) {
            List<Future<Integer>> done = new ArrayList<>();
            for (int t = 0; t < THREADS; t++) {
                final long stamp = t;
                done.add(workers.submit(() -> {
                    for (int r = 0; r < rounds; r++) {
                        try (Allocation a = pool.allocateBlock(8 + r % 300)) {
                            a.putLong(0, stamp);
                            long raw = pool.allocate(16);
                            pool.getStats();
                            pool.deallocate(raw);
                            assertEquals(stamp, a.getLong(0));
                        }
                    }
                    return rounds;
                }));
            }
            for (Future<Integer> f : done)
                f.get(60, TimeUnit.SECONDS);
            MemoryStats s = pool.getStats();
            assertEquals(2L * THREADS * rounds, s.getAllocationCount());
            assertEquals(0, s.getLiveAllocations());
            pool.check();
        }
    }

    @Test
    void resetRunsAloneAndClosesTheAllocationsOfOtherThreads() throws Exception {
        try (MemoryPool pool = MemoryPool.create("java-reset-race", MemoryType.CPU, PoolConfig.fixedSizeCPU(64))) {
            List<Future<Integer>> done = new ArrayList<>();
            CountDownLatch running = new CountDownLatch(THREADS);
            java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
            for (int t = 0; t < THREADS; t++) {
                final long stamp = 0x77770000L + t;
                done.add(workers.submit(() -> {
                    running.countDown();
                    int killed = 0;
                    while (!stop.get()) {
                        Allocation a = pool.allocateBlock(64);
                        try {
                            for (int i = 0; i < 8; i++) {
                                a.putLong(i * 8, stamp);
                                assertEquals(stamp, a.getLong(i * 8), "another thread's block shares this one");
                            }
                            a.close();
                        } catch (InvalidOperationException resetUnderIt) {
                            killed++;
                            a.close(); // must not free whoever has the address now
                        }
                    }
                    return killed;
                }));
            }
            running.await();
            for (int r = 0; r < ROUNDS; r++)
                pool.reset();
            stop.set(true);
            for (Future<Integer> f : done)
                f.get(30, TimeUnit.SECONDS);
            pool.check();
        }
    }
}

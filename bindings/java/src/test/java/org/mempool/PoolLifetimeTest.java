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
}

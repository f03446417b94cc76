package org.mempool;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.*;
import org.junit.jupiter.api.Test;

class ThreadsTest {
    @Test
    void threadsShareOnePoolWithoutOverlapAndWithExactCounts() throws Exception {
        final int threads = 4, rounds = 5000;
        try (MemoryPool pool = MemoryPool.create("java-threads", MemoryType.CPU, PoolConfig.defaultCPU())) {
            ExecutorService ex = Executors.newFixedThreadPool(threads);
            List<Future<Integer>> results = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                final byte stamp = (byte) (t + 1);
                results.add(ex.submit(() -> {
                    int done = 0;
                    for (int r = 0; r < rounds; r++) {
                        int size = 1 + (r * 31 + stamp) % 500;
                        long a = pool.allocate(size);
                        ByteBuffer b = MemoryPool.view(a, size);
                        for (int i = 0; i < size; i++)
                            b.put(i, stamp);
                        Thread.yield();
                        for (int i = 0; i < size; i++)
                            if (b.get(i) != stamp)
                                throw new AssertionError("block shared between threads");
                        pool.deallocate(a);
                        done++;
                    }
                    return done;
                }));
            }
            int total = 0;
            for (Future<Integer> f : results)
                total += f.get(120, TimeUnit.SECONDS);
            ex.shutdown();
            MemoryStats s = pool.getStats();
            assertEquals(threads * rounds, total);
            assertEquals(total, s.getAllocationCount());
            assertEquals(total, s.getDeallocationCount());
            assertEquals(0, s.getLiveAllocations());
            pool.check();
        }
    }
}

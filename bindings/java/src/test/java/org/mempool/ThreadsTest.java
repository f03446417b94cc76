package org.mempool;

import static org.junit.jupiter.api.Assertions.*;

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
                        byte[] seen = new byte[size];
                        try (Allocation a = pool.allocateBlock(size)) {
                            a.fill(0, size, stamp);
                            Thread.yield();
                            a.get(0, seen);
                        }
                        for (int i = 0; i < size; i++)
                            if (seen[i] != stamp)
                                throw new AssertionError("block shared between threads");
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

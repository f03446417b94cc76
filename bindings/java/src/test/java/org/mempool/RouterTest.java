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

class RouterTest {
    @Test
    void sendsEachSizeToItsPoolAndFreesAnywhere() {
        Router r = new Router("java-router");
        try (MemoryPool small = MemoryPool.create("java-small", MemoryType.CPU, PoolConfig.fixedSizeCPU(64));
             MemoryPool rest = MemoryPool.create("java-rest", MemoryType.CPU, PoolConfig.defaultCPU())) {
            r.add(64, small);
            r.add(-1, rest); // SIZE_MAX
            assertEquals(small.handle(), r.poolFor(1));
            assertEquals(rest.handle(), r.poolFor(65));
            long a = r.allocate(10), b = r.allocate(1000);
            assertTrue(small.owns(a));
            assertTrue(rest.owns(b));
            r.deallocate(a);
            r.deallocate(b);
            assertThrows(InvalidPointerException.class, () -> r.deallocate(a));
            assertThrows(InvalidArgumentException.class, () -> r.add(32, small));
            small.trimAuto();
            assertEquals(small.getConfig().initialSize, small.getStats().getReservedBytes());
        } finally {
            r.close();
            r.close(); // twice: nothing happens
        }
    }

    @Test
    void aRouterRefusesCallsOnceOneOfItsPoolsIsClosed() {
        try (Router r = new Router("java-router-closed")) {
            MemoryPool small = MemoryPool.create("java-router-small", MemoryType.CPU, PoolConfig.fixedSizeCPU(64));
            try (MemoryPool rest = MemoryPool.create("java-router-rest", MemoryType.CPU, PoolConfig.defaultCPU())) {
                r.add(64, small);
                r.add(-1, rest);
                long a = r.allocate(1000);
                small.close();
                InvalidOperationException e = assertThrows(InvalidOperationException.class, () -> r.allocate(1000));
                assertEquals("pool 'java-router-small' is closed", e.getDetail());
                assertThrows(InvalidOperationException.class, () -> r.deallocate(a));
                assertThrows(InvalidOperationException.class, () -> r.add(1 << 20, small));
            }
        }
    }

    @Test
    void closeWaitsForTheRoutersCallsInFlightAndLaterCallsThrow() throws Exception {
        ExecutorService workers = Executors.newFixedThreadPool(4);
        try (MemoryPool pool = MemoryPool.create("java-router-race", MemoryType.CPU, PoolConfig.defaultCPU())) {
            for (int round = 0; round < 100; round++) {
                Router r = new Router("java-router-race");
                r.add(-1, pool);
                CountDownLatch running = new CountDownLatch(1);
                List<Future<?>> calls = new ArrayList<>();
                for (int t = 0; t < 4; t++)
                    calls.add(workers.submit(() -> {
                        try {
                            for (int i = 0;; i++) {
                                r.deallocate(r.allocate(64));
                                if (i == 100)
                                    running.countDown();
                            }
                        } catch (InvalidOperationException closed) {
                            assertEquals("router 'java-router-race' is closed", closed.getDetail());
                        }
                        return null;
                    }));
                running.await();
                r.close();
                for (Future<?> f : calls)
                    f.get(30, TimeUnit.SECONDS);
            }
            pool.check(); // blocks allocated just before a close stay allocated: raw addresses are the caller's
        } finally {
            workers.shutdownNow();
        }
    }
}

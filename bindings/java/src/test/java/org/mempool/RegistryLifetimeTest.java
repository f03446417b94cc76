package org.mempool;

import static org.junit.jupiter.api.Assertions.*;

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

/** destroyPool and resetAllPools against the Java calls on registry pools. */
class RegistryLifetimeTest {
    private static final int THREADS = 8, ROUNDS = 200;
    private static final MemoryPoolManager manager = MemoryPoolManager.getInstance();
    private static ExecutorService workers;

    @BeforeAll
    static void start() { workers = Executors.newFixedThreadPool(THREADS); }

    @AfterAll
    static void stop() { workers.shutdownNow(); }

    /* Calls the pool through its object and by name until it is gone. */
    private static Future<Integer> hammer(MemoryPool pool, String name, boolean byName, CountDownLatch running) {
        return workers.submit(() -> {
            int calls = 0;
            try {
                for (;; calls++) {
                    if (byName)
                        Mempool.deallocate(Mempool.allocate(64, name), name);
                    else
                        pool.deallocate(pool.allocate(64 + calls % 100));
                    if (calls == 100)
                        running.countDown();
                }
            } catch (InvalidOperationException destroyed) {
                assertEquals("pool '" + name + "' is destroyed", destroyed.getDetail());
            } catch (NotFoundException gone) {
                assertTrue(byName, "only the by-name helpers look the pool up: " + gone.getDetail());
            }
            return calls;
        });
    }

    @Test
    void destroyPoolWaitsForCallsInFlightOnOtherThreadsAndLaterCallsThrow() throws Exception {
        for (int round = 0; round < ROUNDS; round++) {
            String name = "java-destroy-race";
            MemoryPool pool = manager.createCPUPool(name, PoolConfig.defaultCPU());
            CountDownLatch running = new CountDownLatch(1);
            List<Future<Integer>> calls = new ArrayList<>();
            for (int t = 0; t < THREADS; t++)
                calls.add(hammer(pool, name, t % 2 == 1, running));
            running.await();
            assertTrue(manager.destroyPool(name));
            for (Future<Integer> f : calls)
                f.get(30, TimeUnit.SECONDS);
            assertThrows(InvalidOperationException.class, pool::getStats);
            assertThrows(NotFoundException.class, () -> manager.findPool(name));
        }
    }

    @Test
    void eachRegistryPoolHasOneObject() {
        MemoryPool made = manager.createCPUPool("java-one-object", PoolConfig.defaultCPU());
        assertSame(made, manager.getCPUPool("java-one-object"));
        assertSame(made, manager.findPool("java-one-object"));
        made.close(); // a registry pool: nothing happens
        assertFalse(made.isClosed());
        assertTrue(manager.destroyPool("java-one-object"));
        assertTrue(made.isClosed());
        assertFalse(manager.destroyPool("java-one-object"));
    }

    /* Leaves no reference to the buffer in the caller's frame. */
    private static void touchThroughABuffer(Allocation a) { a.buffer().putLong(0, 1); }

    @Test
    void aDestroyedPoolKeepsItsNameUntilItsLastBufferIsCollected() {
        MemoryPool pool = manager.createCPUPool("java-pinned-destroy", PoolConfig.defaultCPU());
        Allocation a = pool.allocateBlock(64);
        touchThroughABuffer(a);
        assertTrue(manager.destroyPool("java-pinned-destroy"));
        assertTrue(a.isClosed());
        assertNull(manager.getCPUPool("java-pinned-destroy")); // destroyed: no pool of that name
        NotFoundException e = assertThrows(NotFoundException.class, () -> Mempool.allocate(8, "java-pinned-destroy"));
        assertTrue(e.getDetail().contains("is destroyed"), e.getDetail());
        assertFalse(manager.destroyPool("java-pinned-destroy"));
        Gc.until("the pool is destroyed", pool::isDestroyed);
        MemoryPool again = manager.createCPUPool("java-pinned-destroy", PoolConfig.defaultCPU());
        assertNotSame(pool, again);
        assertTrue(manager.destroyPool("java-pinned-destroy"));
    }

    @Test
    void resetAllPoolsClosesTheirAllocationsAndWaitsForBuffers() {
        MemoryPool pool = manager.createCPUPool("java-reset-all", PoolConfig.defaultCPU());
        try {
            Allocation a = pool.allocateBlock(64);
            Allocation viewed = pool.allocateBlock(64);
            touchThroughABuffer(viewed);
            viewed.close();
            assertThrows(InvalidOperationException.class, manager::resetAllPools);
            assertFalse(a.isClosed(), "a refused reset changes nothing");
            Gc.until("the buffer is collected", () -> pool.pinnedBuffers() == 0);
            manager.resetAllPools();
            assertTrue(a.isClosed());
            assertEquals(0, pool.getStats().getLiveAllocations());
        } finally {
            manager.destroyPool("java-reset-all");
        }
    }

    @Test
    void theByNameHelpersRefuseToFreeAnAllocationsBlock() {
        MemoryPool pool = manager.createCPUPool("java-helper-free", PoolConfig.defaultCPU());
        try (Allocation a = pool.allocateBlock(64)) {
            assertThrows(InvalidOperationException.class, () -> Mempool.deallocate(a.address(), "java-helper-free"));
        } finally {
            manager.destroyPool("java-helper-free");
        }
    }
}

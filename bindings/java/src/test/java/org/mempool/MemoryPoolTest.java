package org.mempool;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.ByteBuffer;
import java.util.List;
import org.junit.jupiter.api.Test;

class MemoryPoolTest {
    @Test
    void allocatedMemoryIsWritableThroughItsByteBuffer() {
        try (MemoryPool pool = MemoryPool.create("java-rw", MemoryType.CPU, PoolConfig.defaultCPU());
             Allocation a = pool.allocateBlock(1024)) {
            ByteBuffer b = a.buffer();
            assertTrue(b.isDirect());
            assertEquals(1024, b.capacity());
            for (int i = 0; i < 1024; i++)
                b.put(i, (byte) i);
            ByteBuffer again = a.buffer();
            for (int i = 0; i < 1024; i++)
                assertEquals((byte) i, again.get(i));
            for (int i = 0; i < 1024; i++)
                assertEquals((byte) i, a.getByte(i));
            assertTrue(pool.owns(a.address()));
        }
    }

    @Test
    void statsCountAllocationsExactly() {
        try (MemoryPool pool = MemoryPool.create("java-stats", MemoryType.CPU, PoolConfig.defaultCPU())) {
            long a = pool.allocate(100), b = pool.allocate(200);
            pool.deallocate(a);
            MemoryStats s = pool.getStats();
            assertEquals(300, s.getTotalAllocated());
            assertEquals(200, s.getCurrentUsed());
            assertEquals(300, s.getPeakUsage());
            assertEquals(2, s.getAllocationCount());
            assertEquals(1, s.getDeallocationCount());
            assertEquals(1, s.getLiveAllocations());
            assertEquals(1 << 20, s.getReservedBytes());
            assertEquals(1, s.getChunkCount());
            assertTrue(pool.hasMemoryLeaks());
            List<AllocationInfo> live = pool.getActiveAllocations();
            assertEquals(1, live.size());
            assertEquals(b, live.get(0).address());
            assertEquals(200, live.get(0).size());
            assertEquals(2, live.get(0).sequence());
            assertTrue(pool.getStatsString().contains("pool 'java-stats'"));
            assertTrue(pool.getStatsJson().contains("\"current_used\":200"));
            pool.resetStats(); // the counts start again from what is live: the one block
            assertEquals(1, pool.getStats().getAllocationCount());
            assertEquals(0, pool.getStats().getDeallocationCount());
            pool.setTrackingEnabled(false);
            assertFalse(pool.isTrackingEnabled());
        }
    }

    @Test
    void peakReservedBytesOutlivesATrimUntilResetStats() {
        PoolConfig c = PoolConfig.defaultCPU();
        c.initialSize = 65536;
        try (MemoryPool pool = MemoryPool.create("java-peak-reserved", MemoryType.CPU, c)) {
            assertEquals(65536, pool.getStats().getPeakReservedBytes());
            long big = pool.allocate(200000);
            try (MemoryStats grown = MemoryStats.snapshotOf(pool)) { // getStats() is live: a copy stays put
                assertTrue(grown.getReservedBytes() > 65536 + 200000);
                assertEquals(grown.getReservedBytes(), grown.getPeakReservedBytes());
                pool.deallocate(big);
                pool.trim(0);
                MemoryStats trimmed = pool.getStats();
                assertTrue(trimmed.getReservedBytes() < grown.getReservedBytes());
                assertEquals(grown.getReservedBytes(), trimmed.getPeakReservedBytes());
            }
            pool.resetStats();
            MemoryStats reset = pool.getStats();
            assertEquals(reset.getReservedBytes(), reset.getPeakReservedBytes());
        }
    }

    @Test
    void resetFreesEverything() {
        try (MemoryPool pool = MemoryPool.create("java-reset", MemoryType.CPU, PoolConfig.fixedSizeCPU(64))) {
            for (int i = 0; i < 100; i++)
                pool.allocate(64);
            pool.reset();
            assertEquals(0, pool.getStats().getLiveAllocations());
            assertFalse(pool.hasMemoryLeaks());
            pool.check();
            pool.trim(0);
            assertEquals(0, pool.getStats().getReservedBytes());
        }
    }

    @Test
    void describesItself() {
        PoolConfig c = PoolConfig.fixedSizeCPU(100);
        c.alignment = 64;
        try (MemoryPool pool = MemoryPool.create("java-desc", MemoryType.CPU, c)) {
            assertEquals("java-desc", pool.getName());
            assertEquals(MemoryType.CPU, pool.getMemoryType());
            assertEquals(Backend.HOST, pool.getBackend());
            PoolConfig got = pool.getConfig();
            assertEquals(AllocatorType.FIXED_SIZE, got.allocatorType);
            assertEquals(128, got.blockSize);
            assertEquals(64, got.alignment);
        }
    }

    @Test
    void presetsComeFromTheLibrary() {
        PoolConfig d = PoolConfig.defaultCPU();
        assertEquals(AllocatorType.VARIABLE_SIZE, d.allocatorType);
        assertEquals(1 << 20, d.initialSize);
        assertTrue(d.threadSafe);
        assertEquals(SyncType.MUTEX, d.syncType);
        assertEquals(16, d.alignment);
        assertEquals(2, d.growthFactor);
        assertEquals(256, PoolConfig.defaultGPU().alignment);
        assertEquals(SyncType.LOCK_FREE, PoolConfig.highPerformanceCPU().syncType);
        assertFalse(PoolConfig.highPerformanceCPU().trackStats);
        assertEquals(3, PoolConfig.highPerformanceGPU(3).deviceId);
        assertTrue(PoolConfig.debugCPU().enableDebugging);
        assertEquals(2, PoolConfig.debugGPU(2).deviceId);
        assertEquals(4096, PoolConfig.fixedSizeGPU(4096, 1).blockSize);
        PoolConfig.defaultCPU().validate(MemoryType.CPU);
        assertFalse(d.countersOnly);
        PoolConfig gp = PoolConfig.generalPurposeCPU();
        assertEquals(AllocatorType.VARIABLE_SIZE, gp.allocatorType);
        assertEquals(SyncType.LOCK_FREE, gp.syncType);
        assertTrue(gp.threadSafe && gp.trackStats && gp.countersOnly && !gp.enableDebugging);
        assertEquals(16, gp.alignment);
        assertEquals(2, gp.growthFactor);
    }

    @Test
    void generalPurposePresetMakesAWorkingPool() {
        try (MemoryPool pool = MemoryPool.create("java-general", MemoryType.CPU, PoolConfig.generalPurposeCPU())) {
            assertTrue(pool.getConfig().countersOnly);
            long[] p = new long[50];
            for (int i = 0; i < p.length; i++)
                p[i] = pool.allocate(1 + 61L * i);
            assertEquals(p.length, pool.getStats().getAllocationCount());
            for (long q : p)
                pool.deallocate(q);
            MemoryStats s = pool.getStats();
            assertEquals(p.length, s.getDeallocationCount());
            assertEquals(0, s.getCurrentUsed());
            InvalidOperationException e = assertThrows(InvalidOperationException.class, pool::getActiveAllocations);
            assertTrue(e.getDetail().contains("counters only"), e.getDetail());
        }
    }

    @Test
    void closingTwiceIsHarmlessAndUseAfterCloseThrows() {
        MemoryPool pool = MemoryPool.create("java-close", MemoryType.CPU, PoolConfig.defaultCPU());
        pool.close();
        pool.close();
        assertEquals(0, pool.handle());
        assertTrue(pool.isClosed());
        InvalidOperationException e = assertThrows(InvalidOperationException.class, () -> pool.allocate(8));
        assertEquals("pool 'java-close' is closed", e.getDetail());
        assertThrows(InvalidOperationException.class, pool::getStats);
    }

    @Test
    void allocationFreesOnceWhenClosed() {
        try (MemoryPool pool = MemoryPool.create("java-alloc", MemoryType.CPU, PoolConfig.defaultCPU())) {
            Allocation a = pool.allocateBlock(10);
            a.close();
            a.close();
            assertEquals(0, pool.getStats().getLiveAllocations());
            assertThrows(InvalidPointerException.class, () -> pool.deallocate(a.address()));
        }
    }

    @Test
    void globalHelpersUseTheDefaultPool() {
        long p = Mempool.allocate(64);
        assertTrue(MemoryPoolManager.getInstance().getCPUPool("default").owns(p));
        Mempool.deallocate(p);
        assertThrows(InvalidPointerException.class, () -> Mempool.deallocate(p, "default"));
        assertTrue(Mempool.version().startsWith("1."));
        assertEquals(1, Mempool.versionNumber() / 10000);
    }
}

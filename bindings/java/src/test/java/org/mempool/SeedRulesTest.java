package org.mempool;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

/** The seed's rules that hold in every language (README: The seed's API in each language), in Java. */
class SeedRulesTest {
    private final MemoryPoolManager manager = MemoryPoolManager.getInstance();

    @Test
    void newPoolConfigHasTheSeedsDefaultsAndMakesAWorkingPool() {
        PoolConfig c = new PoolConfig();
        assertEquals(AllocatorType.VARIABLE_SIZE, c.allocatorType);
        assertEquals(1024 * 1024, c.initialSize);
        assertEquals(256, c.blockSize);
        assertTrue(c.threadSafe);
        assertEquals(SyncType.MUTEX, c.syncType);
        assertTrue(c.trackStats);
        assertFalse(c.enableDebugging);
        assertEquals(0, c.deviceId);
        assertFalse(c.usePinnedMemory);
        assertFalse(c.useManagedMemory);
        assertEquals(PoolConfig.DEFAULT_ALIGNMENT, c.alignment);
        assertEquals(2, c.growthFactor);
        assertEquals(0, c.maxSize);
        assertFalse(c.countersOnly);
        PoolConfig cpu = PoolConfig.defaultCPU(); // C's default: the same in every field
        assertEquals(cpu.allocatorType, c.allocatorType);
        assertEquals(cpu.initialSize, c.initialSize);
        assertEquals(cpu.blockSize, c.blockSize);
        assertEquals(cpu.threadSafe, c.threadSafe);
        assertEquals(cpu.syncType, c.syncType);
        assertEquals(cpu.trackStats, c.trackStats);
        assertEquals(cpu.enableDebugging, c.enableDebugging);
        assertEquals(cpu.deviceId, c.deviceId);
        assertEquals(cpu.usePinnedMemory, c.usePinnedMemory);
        assertEquals(cpu.useManagedMemory, c.useManagedMemory);
        assertEquals(cpu.alignment, c.alignment);
        assertEquals(cpu.growthFactor, c.growthFactor);
        assertEquals(cpu.maxSize, c.maxSize);
        assertEquals(cpu.countersOnly, c.countersOnly);
        c.validate(MemoryType.CPU);
        try (MemoryPool pool = MemoryPool.create("java-new-config", MemoryType.CPU, new PoolConfig())) {
            long a = pool.allocate(100);
            assertEquals(0, a % PoolConfig.DEFAULT_ALIGNMENT);
            assertEquals(100, pool.getStats().getCurrentUsed());
            assertEquals(1 << 20, pool.getStats().getReservedBytes());
            pool.deallocate(a);
            assertEquals(PoolConfig.DEFAULT_ALIGNMENT, pool.getConfig().alignment);
        }
        assertSame(manager.createCPUPool("java-new-config", new PoolConfig()), manager.getCPUPool("java-new-config"));
        assertTrue(manager.destroyPool("java-new-config"));
    }

    @Test
    void defaultAlignmentIsTheHeadersValue() {
        // mp_config_default_cpu sets alignment = MP_DEFAULT_ALIGNMENT: the header's value, read from the library
        assertEquals(PoolConfig.defaultCPU().alignment, PoolConfig.DEFAULT_ALIGNMENT);
        assertEquals(PoolConfig.fixedSizeCPU(64).alignment, PoolConfig.DEFAULT_ALIGNMENT);
    }

    @Test
    void deallocatingNullDoesNothing() {
        try (MemoryPool pool = MemoryPool.create("java-null-free", MemoryType.CPU, PoolConfig.defaultCPU());
             MemoryPool fixed = MemoryPool.create("java-null-free-fixed", MemoryType.CPU, PoolConfig.fixedSizeCPU(64))) {
            long a = pool.allocate(10);
            pool.deallocate(0);
            pool.deallocateOnStream(0, 0);
            fixed.deallocate(0);
            assertEquals(1, pool.getStats().getAllocationCount());
            assertEquals(0, pool.getStats().getDeallocationCount());
            assertEquals(10, pool.getStats().getCurrentUsed());
            assertThrows(InvalidPointerException.class, () -> pool.deallocate(a + 1), "other bad addresses still throw");
            Router r = new Router("java-null-free-router");
            try {
                r.add(-1, pool);
                r.deallocate(0);
            } finally {
                r.close();
            }
            pool.deallocate(a);
        }
        MemoryPool closed = MemoryPool.create("java-null-free-closed", MemoryType.CPU, PoolConfig.defaultCPU());
        closed.close();
        closed.deallocate(0); // nothing to free: no error even on a closed pool
        long before = manager.getCPUPool("default").getStats().getDeallocationCount();
        Mempool.deallocate(0);
        Mempool.deallocate(0, null);
        Mempool.deallocate(0, "java-no-such-pool"); // the name is not even looked up
        Mempool.deallocateGPU(0); // with or without a device
        Mempool.deallocateGPU(0, "java-no-such-gpu-pool");
        assertEquals(before, manager.getCPUPool("default").getStats().getDeallocationCount());
    }

    @Test
    void getPoolOfAnUnknownNameIsNullAndOfTheOtherTypeThrows() {
        assertNull(manager.getCPUPool("java-no-such-pool"));
        assertNull(manager.getGPUPool("java-no-such-pool"));
        MemoryPool cpu = manager.createCPUPool("java-typed", PoolConfig.defaultCPU());
        try {
            assertSame(cpu, manager.getCPUPool("java-typed"));
            InvalidOperationException e = assertThrows(InvalidOperationException.class, () -> manager.getGPUPool("java-typed"));
            assertTrue(e.getDetail().contains("CPU pool"), e.getDetail());
        } finally {
            assertTrue(manager.destroyPool("java-typed"));
        }
        assertNull(manager.getCPUPool("java-typed"), "destroyed: no pool of that name");
        assertThrows(InvalidArgumentException.class, () -> manager.getCPUPool(null));
        if (Mempool.deviceCount() > 0) {
            MemoryPool gpu = manager.createGPUPool("java-typed-gpu", PoolConfig.defaultGPU());
            try {
                assertSame(gpu, manager.getGPUPool("java-typed-gpu"));
                InvalidOperationException e = assertThrows(InvalidOperationException.class, () -> manager.getCPUPool("java-typed-gpu"));
                assertTrue(e.getDetail().contains("GPU pool"), e.getDetail());
            } finally {
                assertTrue(manager.destroyPool("java-typed-gpu"));
            }
        }
    }

    private static void unavailable(Runnable gpuCall) {
        try {
            gpuCall.run();
            fail("a GPU call succeeded without a device");
        } catch (CudaException e) { // what the seed's callers catch
            CudaUnavailableException u = assertInstanceOf(CudaUnavailableException.class, e);
            assertEquals(mp_status.MP_ERR_UNSUPPORTED, u.getStatus());
            assertInstanceOf(UnsupportedException.class, u.getCause());
            assertFalse(u.getDetail().isEmpty());
        }
    }

    @Test
    void gpuCallsWithoutADeviceThrowCudaUnavailableException() {
        org.junit.jupiter.api.Assumptions.assumeTrue(Mempool.deviceCount() == 0, "a CUDA device is present");
        unavailable(() -> MemoryPool.create("java-no-gpu", MemoryType.GPU, PoolConfig.defaultGPU()));
        unavailable(() -> manager.createGPUPool("java-no-gpu", PoolConfig.defaultGPU()));
        unavailable(() -> manager.getGPUPool("default_gpu")); // created on first use
        unavailable(() -> Mempool.allocateGPU(64));
        unavailable(() -> Mempool.deallocateGPU(64, "default_gpu"));
        assertThrows(NotFoundException.class, () -> manager.findPool("java-no-gpu"), "nothing was registered");
        try (MemoryPool host = MemoryPool.create("java-no-gpu-host", MemoryType.CPU, PoolConfig.defaultCPU())) {
            unavailable(() -> host.allocate(64, AllocFlags.PINNED));
            assertEquals(0, host.getStats().getAllocationCount());
            long a = host.allocate(64, AllocFlags.NONE);
            host.deallocate(a);
        }
    }
}

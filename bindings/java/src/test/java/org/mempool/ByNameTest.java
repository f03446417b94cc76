package org.mempool;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

/** The by-name helpers of Mempool are the registry pool's own guarded calls; a null name is the default pool. */
class ByNameTest {
    private final MemoryPoolManager manager = MemoryPoolManager.getInstance();

    @Test
    void aNullNameIsTheDefaultPoolAndItsRawFreeOfAnAllocationsBlockIsRefused() {
        MemoryPool def = manager.getCPUPool("default");
        long before = def.getStats().getLiveAllocations();
        long raw = Mempool.allocate(64, null);
        assertTrue(def.owns(raw), "a null name allocates from 'default'");
        Mempool.deallocate(raw, null);
        assertEquals(before, def.getStats().getLiveAllocations());

        try (Allocation a = def.allocateBlock(64)) {
            a.putLong(0, 42);
            for (String name : new String[] {null, "default"}) {
                InvalidOperationException e = assertThrows(InvalidOperationException.class,
                        () -> Mempool.deallocate(a.address(), name), "name " + name);
                assertTrue(e.getDetail().contains("belongs to an Allocation"), e.getDetail());
            }
            assertFalse(a.isClosed());
            assertTrue(def.owns(a.address()), "the block is still live");
            try (Allocation b = def.allocateBlock(64)) {
                assertNotEquals(a.address(), b.address());
                b.putLong(0, 7);
                assertEquals(42, a.getLong(0));
            }
        }
    }

    @Test
    void aNullNameOnTheGpuSideIsTheDefaultGpuPool() {
        if (Mempool.deviceCount() == 0) {
            assertThrows(CudaUnavailableException.class, () -> Mempool.allocateGPU(64, null)); // no device: no crash either
            assertThrows(CudaUnavailableException.class, () -> Mempool.deallocateGPU(64, null));
            return;
        }
        MemoryPool gpu = manager.getGPUPool("default_gpu");
        long p = Mempool.allocateGPU(64, null);
        assertTrue(gpu.owns(p));
        try (Allocation a = gpu.allocateBlock(64)) {
            assertThrows(InvalidOperationException.class, () -> Mempool.deallocateGPU(a.address(), null));
        }
        Mempool.deallocateGPU(p, null);
    }

    @Test
    void byNameCallsHoldTheGuardOfTheRegistryPool() {
        MemoryPool p = manager.createCPUPool("java-byname", PoolConfig.defaultCPU());
        try {
            long raw = Mempool.allocate(32, "java-byname");
            assertTrue(p.owns(raw));
            Allocation a = p.allocateBlock(32);
            assertThrows(InvalidOperationException.class, () -> Mempool.deallocate(a.address(), "java-byname"));
            Mempool.deallocate(raw, "java-byname");
            a.close();
        } finally {
            assertTrue(manager.destroyPool("java-byname"));
        }
        InvalidOperationException gone = assertThrows(InvalidOperationException.class, p::getStats);
        assertTrue(gone.getDetail().contains("destroyed"));
        assertThrows(NotFoundException.class, () -> Mempool.allocate(32, "java-byname"));
    }
}

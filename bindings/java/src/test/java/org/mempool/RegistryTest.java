package org.mempool;

import static org.junit.jupiter.api.Assertions.*;

import java.util.Map;
import org.junit.jupiter.api.Test;

class RegistryTest {
    private final MemoryPoolManager manager = MemoryPoolManager.getInstance();

    @Test
    void createdPoolsAreFoundListedAndDestroyed() {
        MemoryPool made = manager.createCPUPool("java-reg", PoolConfig.fixedSizeCPU(32));
        MemoryPool found = manager.getCPUPool("java-reg");
        assertEquals(made.handle(), found.handle());
        assertEquals(made.handle(), manager.findPool("java-reg").handle());
        assertThrows(NotFoundException.class, () -> manager.findPool("java-nowhere"));
        long p = Mempool.allocate(32, "java-reg");
        assertTrue(found.owns(p));
        Map<String, String> all = manager.getAllStats();
        assertTrue(all.get("java-reg").contains("pool 'java-reg'"));
        assertTrue(manager.getAllStatsJson().contains("\"java-reg\":{\"name\":\"java-reg\""));
        manager.resetAllPools();
        assertEquals(0, found.getStats().getLiveAllocations());
        found.close(); // a registry pool: closing does nothing
        assertTrue(manager.destroyPool("java-reg"));
        assertFalse(manager.destroyPool("java-reg"));
        assertNull(manager.getCPUPool("java-reg")); // no pool of that name: null, as in C++
    }

    @Test
    void typesAreKeptApart() {
        manager.getCPUPool("default");
        InvalidOperationException e = assertThrows(InvalidOperationException.class, () -> manager.getGPUPool("default"));
        assertTrue(e.getDetail().contains("CPU pool"));
    }

    @Test
    void gpuPoolsAreSkippedWithoutADeviceAndWorkWithOne() {
        if (Mempool.deviceCount() == 0) {
            assertThrows(CudaUnavailableException.class, () -> Mempool.allocateGPU(64));
            org.junit.jupiter.api.Assumptions.assumeTrue(false, "no CUDA device: GPU round trip skipped");
        }
        try (MemoryPool gpu = MemoryPool.create("java-gpu", MemoryType.GPU, PoolConfig.defaultGPU());
             MemoryPool host = MemoryPool.create("java-host", MemoryType.CPU, PoolConfig.defaultCPU())) {
            Allocation d = gpu.allocateBlock(256);
            Allocation h = host.allocateBlock(256);
            h.putByte(7, (byte) 42);
            gpu.copyHostToDevice(d, h);
            h.putByte(7, (byte) 0);
            gpu.copyDeviceToHost(h, d);
            assertEquals(42, h.getByte(7));
            assertThrows(InvalidOperationException.class, () -> d.getByte(0)); // device memory
            assertThrows(InvalidArgumentException.class, () -> gpu.copyHostToDevice(h, d)); // roles swapped
        }
    }
}

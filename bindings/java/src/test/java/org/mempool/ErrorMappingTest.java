package org.mempool;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Each status of the manifest maps to its exception class, and each reachable one is raised for real. */
class ErrorMappingTest {
    @Test
    void everyStatusOfTheManifestHasItsExceptionClass() throws Exception {
        List<String> lines = Files.readAllLines(Path.of(System.getProperty("mempool.manifest")));
        int seen = 0;
        for (String line : lines) {
            String[] f = line.split("\t", -1);
            if (!f[0].equals("status") || f[3].isEmpty())
                continue;
            Class<?> c = Class.forName("org.mempool." + f[3] + "Exception");
            assertTrue(MemoryPoolException.class.isAssignableFrom(c), c.getName());
            MemoryPoolException e = (MemoryPoolException) c.getConstructor(int.class, String.class)
                    .newInstance(Integer.parseInt(f[2]), "detail");
            assertEquals(f[1], e.getStatusName());
            seen++;
        }
        assertEquals(10, seen);
    }

    private static <T extends MemoryPoolException> T raises(Class<T> type, String word, Runnable call) {
        T e = assertThrows(type, call::run);
        assertTrue(e.getDetail().contains(word), e.getDetail() + " lacks " + word);
        assertEquals(e.getStatus(), Mempool.lastError());
        return e;
    }

    @Test
    void eachFailureRaisesItsOwnException() {
        PoolConfig capped = PoolConfig.fixedSizeCPU(64);
        capped.initialSize = 4096;
        capped.maxSize = 4096;
        try (MemoryPool pool = MemoryPool.create("java-errors", MemoryType.CPU, capped)) {
            raises(InvalidArgumentException.class, "size 0", () -> pool.allocate(0));
            raises(InvalidArgumentException.class, "64-byte blocks", () -> pool.allocate(65));
            for (int i = 0; i < 64; i++)
                pool.allocate(64);
            raises(OutOfMemoryException.class, "max_size", () -> pool.allocate(64));
            long p = pool.allocate(1, AllocFlags.NONE);
            fail("the pool is full, yet " + p + " came back");
        } catch (OutOfMemoryException expected) {
            // the last allocate above
        }
        try (MemoryPool pool = MemoryPool.create("java-errors2", MemoryType.CPU, PoolConfig.defaultCPU())) {
            long a = pool.allocate(32);
            pool.deallocate(a);
            raises(InvalidPointerException.class, "pool 'java-errors2'", () -> pool.deallocate(a));
            raises(InvalidOperationException.class, "host memory", () -> pool.setDevice(0));
            raises(InvalidOperationException.class, "host memory", () -> pool.allocateOnStream(64, 0));
            raises(InvalidOperationException.class, "host memory", () -> pool.setReleaseThreshold(0));
            raises(InvalidOperationException.class, "host memory", pool::getReleaseThreshold);
            raises(BufferTooSmallException.class, "out holds 0", () -> {
                pool.allocate(8);
                mp_allocation_info one = MempoolNative.mpswig_records(1);
                try {
                    MempoolNative.mp_pool_get_allocations(pool.handle(), one, 0, new long[1]);
                } finally {
                    MempoolNative.mpswig_records_free(one);
                }
            });
        }
        MemoryPoolManager m = MemoryPoolManager.getInstance();
        raises(NotFoundException.class, "nowhere", () -> m.findPool("nowhere"));
        raises(NotFoundException.class, "nowhere", () -> Mempool.allocate(8, "nowhere"));
        m.createCPUPool("java-twice", PoolConfig.defaultCPU());
        raises(AlreadyExistsException.class, "java-twice", () -> m.createCPUPool("java-twice", PoolConfig.defaultCPU()));
        assertTrue(m.destroyPool("java-twice"));
        if (Mempool.deviceCount() == 0)
            raises(CudaUnavailableException.class, "", () -> MemoryPool.create("gpu", MemoryType.GPU, PoolConfig.defaultGPU()));
    }

    @Test
    void overwrittenGuardBytesRaiseCorruption() {
        try (MemoryPool pool = MemoryPool.create("java-debug", MemoryType.CPU, PoolConfig.debugCPU())) {
            long a = pool.allocate(40);
            MempoolNative.mpswig_view(a, 41).put(40, (byte) 0); // the raw layer: no public call reaches past a block
            raises(CorruptionException.class, "overflow", pool::check);
            raises(CorruptionException.class, "overflow", () -> pool.deallocate(a));
        }
    }

    @Test
    void nullOutArraysAreRefusedBeforeTheCall() {
        assertThrows(IllegalArgumentException.class, () -> MempoolNative.mp_gpu_device_count(new int[0]));
    }
}

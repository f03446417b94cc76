package org.mempool;

import static org.junit.jupiter.api.Assertions.*;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Copies between host and device blocks; they run on a machine with a CUDA device. */
class GpuTest {
    @BeforeEach
    void needsADevice() { Assumptions.assumeTrue(Mempool.deviceCount() > 0, "no CUDA device"); }

    @Test
    void streamAllocationAndReleaseThresholdRoundTrip() {
        try (MemoryPool gpu = MemoryPool.create("java-gpu-stream", MemoryType.GPU, PoolConfig.defaultGPU())) {
            long a = gpu.allocateOnStream(1 << 20, 0);
            assertNotEquals(0L, a);
            gpu.deallocateOnStream(a, 0);
            gpu.setReleaseThreshold(-1); // SIZE_MAX: keep everything
            assertEquals(-1L, gpu.getReleaseThreshold());
            gpu.setReleaseThreshold(1 << 20);
            assertEquals(1L << 20, gpu.getReleaseThreshold());
            assertThrows(InvalidArgumentException.class, () -> gpu.allocateOnStream(0, 0));
        }
    }

    @Test
    void copiesMoveBytesBetweenHostAndDeviceBlocksAtTheirOffsets() {
        try (MemoryPool gpu = MemoryPool.create("java-gpu-copy", MemoryType.GPU, PoolConfig.defaultGPU());
             MemoryPool host = MemoryPool.create("java-host-copy", MemoryType.CPU, PoolConfig.defaultCPU());
             Allocation d1 = gpu.allocateBlock(256);
             Allocation d2 = gpu.allocateBlock(256);
             Allocation in = host.allocateBlock(256);
             Allocation out = host.allocateBlock(256)) {
            for (int i = 0; i < 256; i++)
                in.putByte(i, (byte) i);
            out.fill(0, 256, (byte) -1);
            gpu.copyHostToDevice(d1, in);
            gpu.copyDeviceToDevice(d2, 16, d1, 0, 128);
            gpu.copyDeviceToHost(out, 100, d2, 16, 128);
            for (int i = 0; i < 256; i++)
                assertEquals(i >= 100 && i < 228 ? (byte) (i - 100) : -1, out.getByte(i), "byte " + i);
        }
    }

    @Test
    void copiesRefuseTheWrongMemoryOutOfRangeSpansAndClosedBlocks() {
        try (MemoryPool gpu = MemoryPool.create("java-gpu-refuse", MemoryType.GPU, PoolConfig.defaultGPU());
             MemoryPool host = MemoryPool.create("java-host-refuse", MemoryType.CPU, PoolConfig.defaultCPU());
             Allocation d = gpu.allocateBlock(256);
             Allocation h = host.allocateBlock(256)) {
            assertThrows(InvalidArgumentException.class, () -> gpu.copyHostToDevice(h, d)); // roles swapped
            assertThrows(InvalidArgumentException.class, () -> gpu.copyDeviceToHost(h, 0, d, 200, 100));
            assertThrows(InvalidArgumentException.class, () -> gpu.copyHostToDevice(d, 0, h, -1, 8));
            assertThrows(InvalidArgumentException.class, () -> gpu.copyHostToDevice(null, h));
            assertThrows(InvalidOperationException.class, () -> d.getLong(0));
            assertThrows(InvalidOperationException.class, d::buffer);
            Allocation gone = host.allocateBlock(256);
            gone.close();
            assertThrows(InvalidOperationException.class, () -> gpu.copyHostToDevice(d, gone));
        }
    }

    @Test
    void closingAGpuPoolWaitsForCopiesInFlight() throws Exception {
        ExecutorService workers = Executors.newFixedThreadPool(4);
        try (MemoryPool host = MemoryPool.create("java-host-race", MemoryType.CPU, PoolConfig.defaultCPU())) {
            for (int round = 0; round < 20; round++) {
                MemoryPool gpu = MemoryPool.create("java-gpu-race", MemoryType.GPU, PoolConfig.defaultGPU());
                CountDownLatch running = new CountDownLatch(1);
                List<Future<?>> copies = new ArrayList<>();
                for (int t = 0; t < 4; t++)
                    copies.add(workers.submit(() -> {
                        try (Allocation h = host.allocateBlock(1 << 16)) {
                            for (int i = 0;; i++) {
                                try (Allocation d = gpu.allocateBlock(1 << 16)) {
                                    gpu.copyHostToDevice(d, h);
                                    gpu.copyDeviceToHost(h, d);
                                }
                                if (i == 10)
                                    running.countDown();
                            }
                        } catch (InvalidOperationException closed) {
                            assertTrue(closed.getDetail().endsWith("is closed"), closed.getDetail());
                        }
                        return null;
                    }));
                running.await();
                gpu.close();
                for (Future<?> f : copies)
                    f.get(60, TimeUnit.SECONDS);
            }
        } finally {
            workers.shutdownNow();
        }
    }
}

package org.mempool;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

/** MemoryPool.reallocate and usableSize over raw addresses (mp_pool_reallocate, mp_pool_usable_size). */
class ReallocateTest {
    /* The test's own view of a raw block (package access; the public API has none). */
    private static ByteBuffer bytes(long address, long size) { return MempoolNative.mpswig_view(address, size); }

    private static void fill(long address, int n, int seed) {
        ByteBuffer b = bytes(address, n);
        for (int i = 0; i < n; i++)
            b.put(i, (byte) (seed + i));
    }

    private static void assertFilled(long address, int n, int seed) {
        ByteBuffer b = bytes(address, n);
        for (int i = 0; i < n; i++)
            assertEquals((byte) (seed + i), b.get(i), "byte " + i);
    }

    @Test
    void aFixedBlockResizesInPlace() {
        try (MemoryPool pool = MemoryPool.create("java-realloc-fixed", MemoryType.CPU, PoolConfig.fixedSizeCPU(64))) {
            long a = pool.allocate(10);
            fill(a, 10, 1);
            assertEquals(64, pool.usableSize(a));
            assertEquals(a, pool.reallocate(a, 64));
            assertFilled(a, 10, 1);
            MemoryStats s = pool.getStats();
            assertEquals(1, s.getAllocationCount());
            assertEquals(64, s.getCurrentUsed());
            InvalidArgumentException big = assertThrows(InvalidArgumentException.class, () -> pool.reallocate(a, 65));
            assertTrue(big.getDetail().contains("fixed pool"), big.getDetail());
            InvalidArgumentException zero = assertThrows(InvalidArgumentException.class, () -> pool.reallocate(a, 0));
            assertTrue(zero.getDetail().contains("mp_pool_deallocate"), zero.getDetail());
            assertTrue(pool.owns(a)); // refused: live and unchanged
            assertFilled(a, 10, 1);
            pool.deallocate(a);
            InvalidPointerException freed = assertThrows(InvalidPointerException.class, () -> pool.reallocate(a, 8));
            assertTrue(freed.getDetail().contains("java-realloc-fixed"), freed.getDetail());
            assertThrows(InvalidPointerException.class, () -> pool.usableSize(a));
        }
    }

    @Test
    void aVariableBlockMovesWithItsBytes() {
        try (MemoryPool pool = MemoryPool.create("java-realloc", MemoryType.CPU, PoolConfig.defaultCPU())) {
            long a = pool.reallocate(0, 100); // 0: allocates
            fill(a, 100, 7);
            long b = pool.reallocate(a, 100000);
            assertNotEquals(a, b);
            assertFilled(b, 100, 7);
            assertTrue(pool.usableSize(b) >= 100000);
            assertFalse(pool.owns(a));
            MemoryStats s = pool.getStats();
            assertEquals(2, s.getAllocationCount());
            assertEquals(1, s.getDeallocationCount());
            assertEquals(100000, s.getCurrentUsed());
            assertThrows(OutOfMemoryException.class, () -> pool.reallocate(b, 1L << 50));
            assertTrue(pool.owns(b));
            assertFilled(b, 100, 7);
            pool.deallocate(b);
            assertEquals(0, pool.getStats().getLiveAllocations());
        }
    }

    @Test
    void anAllocationsBlockIsNotReallocatedRaw() {
        try (MemoryPool pool = MemoryPool.create("java-realloc-owned", MemoryType.CPU, PoolConfig.defaultCPU());
             Allocation a = pool.allocateBlock(64)) {
            a.putLong(0, 42);
            InvalidOperationException e = assertThrows(InvalidOperationException.class,
                    () -> pool.reallocate(a.address(), 4096));
            assertTrue(e.getDetail().contains("belongs to an Allocation"), e.getDetail());
            assertEquals(42, a.getLong(0));
            assertTrue(pool.usableSize(a.address()) >= 64);
        }
    }

    @Test
    void aClosedPoolRefuses() {
        MemoryPool pool = MemoryPool.create("java-realloc-closed", MemoryType.CPU, PoolConfig.defaultCPU());
        long a = pool.allocate(8);
        pool.close();
        assertThrows(InvalidOperationException.class, () -> pool.reallocate(a, 16));
        assertThrows(InvalidOperationException.class, () -> pool.usableSize(a));
    }
}

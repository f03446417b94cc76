package org.mempool;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

/** The checked accessors of Allocation. */
class AccessorTest {
    @Test
    void accessorsReadBackWhatTheyWroteInThePlatformsByteOrder() {
        try (MemoryPool pool = MemoryPool.create("java-access", MemoryType.CPU, PoolConfig.defaultCPU());
             Allocation a = pool.allocateBlock(64)) {
            a.putLong(0, 0x0102030405060708L);
            a.putInt(8, -7);
            a.putShort(12, (short) 513);
            a.putByte(14, (byte) -1);
            a.putDouble(16, Math.PI);
            a.putFloat(24, 1.5f);
            assertEquals(0x0102030405060708L, a.getLong(0));
            assertEquals(-7, a.getInt(8));
            assertEquals(513, a.getShort(12));
            assertEquals(-1, a.getByte(14));
            assertEquals(Math.PI, a.getDouble(16));
            assertEquals(1.5f, a.getFloat(24));
            ByteBuffer b = a.buffer().order(ByteOrder.nativeOrder());
            assertEquals(0x0102030405060708L, b.getLong(0), "the accessors write what C reads");
            a.fill(32, 32, (byte) 7);
            byte[] back = new byte[40];
            a.get(24, back);
            assertEquals(7, back[39]);
            a.put(60, new byte[] {1, 2, 3, 4});
            a.get(58, back, 0, 6);
            assertArrayEquals(new byte[] {7, 7, 1, 2, 3, 4}, java.util.Arrays.copyOf(back, 6));
        }
    }

    @Test
    void accessorsRefuseSpansOutsideTheBlockWithInvalidArgumentException() {
        try (MemoryPool pool = MemoryPool.create("java-bounds", MemoryType.CPU, PoolConfig.defaultCPU());
             Allocation a = pool.allocateBlock(64)) {
            byte[] four = new byte[4];
            for (Runnable bad : new Runnable[] {
                    () -> a.getLong(-1), () -> a.getLong(57), () -> a.putInt(61, 0), () -> a.getByte(64),
                    () -> a.getByte(Long.MAX_VALUE), () -> a.put(62, four), () -> a.get(0, four, 1, 4),
                    () -> a.get(0, four, -1, 1), () -> a.get(0, null), () -> a.fill(1, 64, (byte) 0),
                    () -> a.fill(0, -1, (byte) 0)}) {
                MemoryPoolException e = assertThrows(InvalidArgumentException.class, bad::run);
                assertEquals("MP_ERR_INVALID_ARGUMENT", e.getStatusName());
            }
            a.putLong(56, 1); // the last whole long fits
            a.get(64, new byte[0]); // an empty span at the end is inside
        }
    }

    @Test
    void accessorsAndBuffersThrowOnceTheAllocationIsClosed() {
        try (MemoryPool pool = MemoryPool.create("java-closed-block", MemoryType.CPU, PoolConfig.defaultCPU())) {
            Allocation a = pool.allocateBlock(64);
            a.putLong(0, 1);
            a.close();
            assertTrue(a.isClosed());
            InvalidOperationException e = assertThrows(InvalidOperationException.class, () -> a.getLong(0));
            assertTrue(e.getDetail().contains("of pool 'java-closed-block' is closed"), e.getDetail());
            assertThrows(InvalidOperationException.class, () -> a.putLong(0, 2));
            assertThrows(InvalidOperationException.class, () -> a.get(0, new byte[1]));
            assertThrows(InvalidOperationException.class, a::buffer);
            a.close(); // twice: nothing
            assertEquals(0, pool.getStats().getLiveAllocations());
        }
    }
}

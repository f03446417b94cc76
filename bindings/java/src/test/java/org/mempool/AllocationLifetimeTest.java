package org.mempool;

import static org.junit.jupiter.api.Assertions.*;

import java.lang.ref.Reference;
import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

/** An Allocation's buffers against its close(). */
class AllocationLifetimeTest {
    @Test
    void aClosedAllocationsBufferNeverWritesIntoTheNextAllocation() {
        try (MemoryPool pool = MemoryPool.create("java-stale-buffer", MemoryType.CPU, PoolConfig.fixedSizeCPU(64))) {
            Allocation a = pool.allocateBlock(64);
            ByteBuffer stale = a.buffer();
            a.close();
            Allocation next = pool.allocateBlock(64); // the freed block came back here before
            ByteBuffer fresh = next.buffer();
            for (int i = 0; i < 64; i++)
                fresh.put(i, (byte) 1);
            for (int i = 0; i < 64; i++)
                stale.put(i, (byte) 99);
            for (int i = 0; i < 64; i++)
                assertEquals(1, fresh.get(i), "the closed Allocation's buffer wrote into the next one");
            assertThrows(InvalidOperationException.class, a::buffer);
            next.close();
            Reference.reachabilityFence(stale);
            Reference.reachabilityFence(fresh);
        }
    }
}

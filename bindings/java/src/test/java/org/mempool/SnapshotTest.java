package org.mempool;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Memory snapshots and the record of the last failed allocation, through the binding. */
class SnapshotTest {
    @Test
    void aSnapshotHasTheTotalsTheChunksAndTheClasses() {
        PoolConfig c = PoolConfig.defaultCPU();
        c.growthFactor = 1;
        try (MemoryPool pool = MemoryPool.create("java-snapshot", MemoryType.CPU, c)) {
            long small = pool.allocate(24), big = pool.allocate(1000000); // past the first chunk
            MemorySnapshot s = pool.getMemorySnapshot();
            MemoryStats st = pool.getStats();
            assertEquals(st.getReservedBytes(), s.getReservedBytes());
            assertEquals(st.getChunkCount(), s.getChunkCount());
            assertEquals(2, s.getChunkCount());
            assertEquals(2, s.getLiveBlocks());
            assertEquals(0, s.getRequestBytes());
            assertEquals(0, s.getIdleBytes()); // host memory: not mapped on demand
            assertEquals(MemoryType.CPU, s.getMemoryType());
            assertEquals(Backend.HOST, s.getBackend());
            assertEquals(s.getAddressSpaceBytes(),
                         s.getInUseBytes() + s.getFreeBytes() + s.getCachedBytes() + s.getPendingBytes());
            List<ChunkInfo> chunks = s.getChunks();
            assertEquals(2, chunks.size());
            assertTrue(chunks.get(0).base() < chunks.get(1).base());
            long space = 0;
            for (ChunkInfo k : chunks) {
                space += k.size();
                assertEquals(k.size(), k.mappedBytes());
                assertEquals(Backend.HOST, k.backend());
            }
            assertEquals(s.getAddressSpaceBytes(), space);
            assertEquals(1, s.getClasses().size());
            SizeClassInfo cls = s.getClasses().get(0);
            assertEquals(32, cls.blockSize());
            assertEquals(1, cls.usedBlocks());
            assertEquals(65536, cls.pageBytes());
            String json = pool.getMemorySnapshotJson();
            assertTrue(json.startsWith("{\"pool\":\"java-snapshot\",\"kind\":\"now\","), json);
            assertTrue(json.contains("\"reserved_bytes\":" + s.getReservedBytes() + ","), json);
            pool.deallocate(small);
            pool.deallocate(big);
        }
    }

    @Test
    void theLastFailureIsKeptWithItsNumbersUntilResetStats() {
        PoolConfig c = PoolConfig.defaultCPU();
        c.initialSize = 65536;
        c.maxSize = 65536;
        try (MemoryPool pool = MemoryPool.create("java-oom", MemoryType.CPU, c)) {
            assertThrows(NotFoundException.class, pool::getLastOutOfMemorySnapshot);
            long a = pool.allocate(40000);
            OutOfMemoryException e = assertThrows(OutOfMemoryException.class, () -> pool.allocate(50000));
            assertTrue(e.getDetail().contains("; request 50000 bytes aligned 16: reserved 65536 (peak 65536, "
                                              + "max_size 65536), in use 40000 in 1 blocks, free 25536"),
                       e.getDetail());
            MemorySnapshot s = pool.getLastOutOfMemorySnapshot();
            assertEquals(50000, s.getRequestBytes());
            assertEquals(16, s.getRequestAlignment());
            assertEquals(40000, s.getInUseBytes());
            assertEquals(25536, s.getLargestFreeBlock());
            assertEquals(65536, s.getMaxSize());
            assertEquals(1, s.getChunks().size());
            assertEquals(0, s.getClasses().size());
            String json = pool.getLastOutOfMemorySnapshotJson();
            assertTrue(json.contains("\"status\":\"MP_ERR_OUT_OF_MEMORY\""), json);
            assertTrue(json.contains("\"request_bytes\":50000"), json);
            pool.resetStats();
            assertThrows(NotFoundException.class, pool::getLastOutOfMemorySnapshotJson);
            pool.deallocate(a);
        }
    }

    @Test
    void aClosedPoolRefusesSnapshots() {
        MemoryPool pool = MemoryPool.create("java-snapshot-closed", MemoryType.CPU, PoolConfig.defaultCPU());
        pool.close();
        assertThrows(InvalidOperationException.class, pool::getMemorySnapshot);
        assertThrows(InvalidOperationException.class, pool::getMemorySnapshotJson);
    }
}

package org.mempool;

/**
 * One chunk of a pool in a {@link MemorySnapshot} (mp_chunk_info): its address and
 * size, the physical bytes behind it and those of them idle (on demand), its free bytes and largest free block (small-block
 * pages count as used), the blocks handed out in it (the user's, and those in thread
 * caches or waiting on a stream), the bytes of its small-block pages, and its memory.
 */
public record ChunkInfo(long base, long size, long mappedBytes, long idleBytes, long freeBytes,
                        long largestFreeBlock, long liveBlocks, long pageBytes, Backend backend) {
    static ChunkInfo of(mp_chunk_info c) {
        return new ChunkInfo(c.getBase(), c.getSize().longValue(), c.getMapped_bytes().longValue(),
                             c.getIdle_bytes().longValue(), c.getFree_bytes().longValue(), c.getLargest_free_block().longValue(),
                             c.getLive_blocks().longValue(), c.getPage_bytes().longValue(), Backend.of(c.getBackend()));
    }
}

package org.mempool;

/**
 * One size class of a pool in a {@link MemorySnapshot} (mp_class_info): its block size,
 * its small-block pages and their bytes, the blocks of its pages handed out (to the user
 * or to a thread cache) and free there, and the blocks in thread caches.
 */
public record SizeClassInfo(long blockSize, long pages, long pageBytes, long usedBlocks, long freeBlocks,
                            long cachedBlocks) {
    static SizeClassInfo of(mp_class_info c) {
        return new SizeClassInfo(c.getBlock_size().longValue(), c.getPages().longValue(),
                                 c.getPage_bytes().longValue(), c.getUsed_blocks().longValue(),
                                 c.getFree_blocks().longValue(), c.getCached_blocks().longValue());
    }
}

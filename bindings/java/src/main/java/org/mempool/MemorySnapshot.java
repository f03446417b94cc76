package org.mempool;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * Where a pool's memory is (mp_pool_memory_snapshot): now ({@link MemoryPool#getMemorySnapshot}),
 * or when its last allocation failed ({@link MemoryPool#getLastOutOfMemorySnapshot}), with a
 * record per chunk and per size class. The C library's documentation of mp_memory_snapshot
 * says what each figure counts.
 */
public final class MemorySnapshot {
    private final long reservedBytes, addressSpaceBytes, idleBytes, peakReservedBytes, maxSize, inUseBytes, liveBlocks;
    private final long freeBytes, largestFreeBlock, cachedBytes, cachedBlocks, pendingBytes, pendingBlocks;
    private final long chunkCount, requestBytes, requestAlignment;
    private final MemoryType memoryType;
    private final Backend backend;
    private final List<ChunkInfo> chunks;
    private final List<SizeClassInfo> classes;

    /** Reads the snapshot's totals and its first chunks_listed and class_count records. */
    MemorySnapshot(mp_memory_snapshot s, mp_chunk_info chunkArray, mp_class_info classArray) {
        reservedBytes = s.getReserved_bytes().longValue();
        addressSpaceBytes = s.getAddress_space_bytes().longValue();
        idleBytes = s.getIdle_bytes().longValue();
        peakReservedBytes = s.getPeak_reserved_bytes().longValue();
        maxSize = s.getMax_size().longValue();
        inUseBytes = s.getIn_use_bytes().longValue();
        liveBlocks = s.getLive_blocks().longValue();
        freeBytes = s.getFree_bytes().longValue();
        largestFreeBlock = s.getLargest_free_block().longValue();
        cachedBytes = s.getCached_bytes().longValue();
        cachedBlocks = s.getCached_blocks().longValue();
        pendingBytes = s.getPending_bytes().longValue();
        pendingBlocks = s.getPending_blocks().longValue();
        chunkCount = s.getChunk_count().longValue();
        requestBytes = s.getRequest_bytes().longValue();
        requestAlignment = s.getRequest_alignment().longValue();
        memoryType = MemoryType.of(s.getMemory_type());
        backend = Backend.of(s.getBackend());
        List<ChunkInfo> c = new ArrayList<>();
        for (long i = 0; i < s.getChunks_listed().longValue(); i++)
            c.add(ChunkInfo.of(MempoolNative.mpswig_chunks_at(chunkArray, i)));
        List<SizeClassInfo> k = new ArrayList<>();
        for (long i = 0; i < s.getClass_count().longValue(); i++)
            k.add(SizeClassInfo.of(MempoolNative.mpswig_classes_at(classArray, i)));
        chunks = Collections.unmodifiableList(c);
        classes = Collections.unmodifiableList(k);
    }

    public long getReservedBytes() { return reservedBytes; }
    public long getAddressSpaceBytes() { return addressSpaceBytes; }
    /** Reserved bytes behind no block that a pool mapping memory on demand keeps for reuse. */
    public long getIdleBytes() { return idleBytes; }
    public long getPeakReservedBytes() { return peakReservedBytes; }
    /** The pool's limit on reserved bytes; 0: none. */
    public long getMaxSize() { return maxSize; }
    public long getInUseBytes() { return inUseBytes; }
    public long getLiveBlocks() { return liveBlocks; }
    public long getFreeBytes() { return freeBytes; }
    public long getLargestFreeBlock() { return largestFreeBlock; }
    public long getCachedBytes() { return cachedBytes; }
    public long getCachedBlocks() { return cachedBlocks; }
    public long getPendingBytes() { return pendingBytes; }
    public long getPendingBlocks() { return pendingBlocks; }
    /** The pool's chunks then; {@link #getChunks} lists them all now, the 8 largest for a failure. */
    public long getChunkCount() { return chunkCount; }
    /** The failed request (0 in a snapshot of now). */
    public long getRequestBytes() { return requestBytes; }
    public long getRequestAlignment() { return requestAlignment; }
    public MemoryType getMemoryType() { return memoryType; }
    public Backend getBackend() { return backend; }
    public List<ChunkInfo> getChunks() { return chunks; }
    public List<SizeClassInfo> getClasses() { return classes; }
}

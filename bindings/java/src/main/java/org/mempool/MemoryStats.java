package org.mempool;


/** A snapshot of a pool's statistics (the seed's MemoryStats queries). */
public final class MemoryStats {
    private final long totalAllocated, currentUsed, peakUsage, allocationCount, deallocationCount;
    private final long reservedBytes, chunkCount, failedAllocations, liveAllocations, pendingFrees;
    private final long peakReservedBytes;
    private final double fragmentationRatio;

    MemoryStats(mp_stats s) {
        totalAllocated = s.getTotal_allocated().longValue();
        currentUsed = s.getCurrent_used().longValue();
        peakUsage = s.getPeak_usage().longValue();
        allocationCount = s.getAllocation_count().longValue();
        deallocationCount = s.getDeallocation_count().longValue();
        fragmentationRatio = s.getFragmentation_ratio();
        reservedBytes = s.getReserved_bytes().longValue();
        chunkCount = s.getChunk_count().longValue();
        failedAllocations = s.getFailed_allocations().longValue();
        liveAllocations = s.getLive_allocations().longValue();
        pendingFrees = s.getPending_frees().longValue();
        peakReservedBytes = s.getPeak_reserved_bytes().longValue();
    }

    public long getTotalAllocated() { return totalAllocated; }
    public long getCurrentUsed() { return currentUsed; }
    public long getPeakUsage() { return peakUsage; }
    public long getAllocationCount() { return allocationCount; }
    public long getDeallocationCount() { return deallocationCount; }
    /** 1 - largest free block / total free bytes; 0 for fixed-size pools. */
    public double getFragmentationRatio() { return fragmentationRatio; }
    public long getReservedBytes() { return reservedBytes; }
    public long getChunkCount() { return chunkCount; }
    public long getFailedAllocations() { return failedAllocations; }
    public long getLiveAllocations() { return liveAllocations; }
    /** Blocks freed on another stream whose work has not finished yet. */
    public long getPendingFrees() { return pendingFrees; }
    /** The highest reserved bytes seen since creation or resetStats. */
    public long getPeakReservedBytes() { return peakReservedBytes; }
}

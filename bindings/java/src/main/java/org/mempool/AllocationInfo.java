package org.mempool;

/** One live allocation (the seed's AllocationInfo): address, requested size, sequence number. */
public record AllocationInfo(long address, long size, long sequence) {}

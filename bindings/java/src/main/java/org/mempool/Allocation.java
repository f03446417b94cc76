package org.mempool;

import java.nio.ByteBuffer;

/** A block of a pool: its address and size; closing it frees it once. */
public final class Allocation implements AutoCloseable {
    private final MemoryPool pool;
    private final long address;
    private final long size;
    private boolean freed;

    Allocation(MemoryPool pool, long address, long size) {
        this.pool = pool;
        this.address = address;
        this.size = size;
    }

    public long address() { return address; }
    public long size() { return size; }

    /**
     * A direct ByteBuffer over the block. Only CPU pools' memory is the
     * host's to touch: for a GPU pool this throws InvalidOperationException.
     */
    public ByteBuffer buffer() {
        if (pool.getMemoryType() != MemoryType.CPU)
            throw new InvalidOperationException(mp_status.MP_ERR_INVALID_OPERATION,
                    "pool '" + pool.getName() + "' holds GPU memory; copy it to the host first");
        return MemoryPool.view(address, size);
    }

    @Override
    public void close() {
        if (!freed) {
            freed = true;
            pool.deallocate(address);
        }
    }
}

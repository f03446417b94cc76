package org.mempool;


/**
 * A size-class router: sends each request to a pool by size range. Add
 * ranges in increasing order, Long.MAX_VALUE (SIZE_MAX) last for the rest;
 * the pools must outlive the router.
 */
public final class Router implements AutoCloseable {
    private long handle;

    public Router(String name) {
        long[] out = new long[1];
        MempoolNative.mp_router_create(name, out);
        handle = out[0];
    }

    /** Requests up to maxSize bytes (unsigned; -1 is SIZE_MAX) go to pool. */
    public void add(long maxSize, MemoryPool pool) { MempoolNative.mp_router_add(handle, maxSize, pool.handle()); }

    /** The native handle of the pool serving size bytes. */
    public long poolFor(long size) {
        long[] out = new long[1];
        MempoolNative.mp_router_pool_for(handle, size, out);
        return out[0];
    }

    public long allocate(long size) {
        long[] out = new long[1];
        MempoolNative.mp_router_allocate(handle, size, out);
        return out[0];
    }

    public void deallocate(long address) { MempoolNative.mp_router_deallocate(handle, address); }

    @Override
    public void close() {
        if (handle != 0) {
            long h = handle;
            handle = 0;
            MempoolNative.mp_router_destroy(h);
        }
    }
}

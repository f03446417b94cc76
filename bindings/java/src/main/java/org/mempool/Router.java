package org.mempool;

import java.util.Arrays;
import java.util.Comparator;

/**
 * A size-class router: sends each request to a pool by size range. Add
 * ranges in increasing order, Long.MAX_VALUE (SIZE_MAX) last for the rest.
 *
 * <p>The router keeps its pools' objects and enters each pool's guard (in
 * the pools' global order) around every call, so that a pool closed or
 * destroyed meanwhile makes the call throw InvalidOperationException instead
 * of reaching freed memory. add() runs alone (the C router is configured
 * before it is shared); close() waits for the calls in flight.
 */
public final class Router implements AutoCloseable {
    private final long handle;
    private final Guard guard;
    private volatile MemoryPool[] pools = new MemoryPool[0]; // distinct, by id

    public Router(String name) {
        long[] out = new long[1];
        MempoolNative.mp_router_create(name, out);
        handle = out[0];
        guard = new Guard("router '" + name + "'", false);
    }

    /** Requests up to maxSize bytes (unsigned; -1 is SIZE_MAX) go to pool. */
    public void add(long maxSize, MemoryPool pool) {
        guard.enterExclusive();
        try {
            if (pool == null) {
                MempoolNative.mp_router_add(handle, maxSize, 0); // C says what is wrong
                return;
            }
            Guard.Slot t = pool.guard.enter();
            try {
                MempoolNative.mp_router_add(handle, maxSize, pool.rawHandle());
            } finally {
                pool.guard.exit(t);
            }
            if (!Arrays.asList(pools).contains(pool)) {
                MemoryPool[] more = Arrays.copyOf(pools, pools.length + 1);
                more[pools.length] = pool;
                Arrays.sort(more, Comparator.comparingLong(p -> p.id));
                pools = more;
            }
        } finally {
            guard.exitExclusive();
        }
    }

    /** The native handle of the pool serving size bytes. */
    public long poolFor(long size) {
        long[] out = new long[1];
        Guard.Slot t = guard.enter();
        try {
            MempoolNative.mp_router_pool_for(handle, size, out);
        } finally {
            guard.exit(t);
        }
        return out[0];
    }

    public long allocate(long size) {
        long[] out = new long[1];
        Guard.Slot t = guard.enter();
        try {
            MemoryPool[] ps = pools;
            Guard.Slot[] held = MemoryPool.enterAll(ps);
            try {
                MempoolNative.mp_router_allocate(handle, size, out);
            } finally {
                MemoryPool.exitAll(ps, held, ps.length);
            }
        } finally {
            guard.exit(t);
        }
        return out[0];
    }

    /** Frees a block from allocate(); an Allocation's block is freed by closing the Allocation. Address 0 does nothing. */
    public void deallocate(long address) {
        if (address == 0)
            return;
        Guard.Slot t = guard.enter();
        try {
            MemoryPool[] ps = pools;
            Guard.Slot[] held = MemoryPool.enterAll(ps);
            long[] stamps = new long[ps.length];
            int n = 0;
            try {
                for (; n < ps.length; n++) // in id order, as every holder of several
                    stamps[n] = ps[n].holdForRawFree(address);
                MempoolNative.mp_router_deallocate(handle, address);
            } finally {
                while (n > 0) {
                    n--;
                    ps[n].releaseRawFree(stamps[n]);
                }
                MemoryPool.exitAll(ps, held, ps.length);
            }
        } finally {
            guard.exit(t);
        }
    }

    /** Destroys the router once the calls in flight have returned; later calls throw. Twice: nothing. */
    @Override
    public void close() {
        if (guard.close("closed"))
            MempoolNative.mp_router_destroy(handle);
    }
}

package org.mempool;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The registry of named pools (the seed's MemoryPoolManager).
 *
 * <p>Each registry pool has one MemoryPool object, kept here by name, and so
 * one guard: every getter returns that object, the by-name helpers of
 * {@link Mempool} call through its guard, and destroyPool closes it (waiting
 * for the calls in flight on other threads) before the native destroy. The
 * map changes only under this object's lock; the helpers read it without.
 */
public final class MemoryPoolManager {
    private static final MemoryPoolManager INSTANCE = new MemoryPoolManager();

    /* A destroyed pool stays here, closed, while ByteBuffers over its blocks
     * may be reachable: its name is still taken in the C registry then. */
    private final ConcurrentHashMap<String, MemoryPool> pools = new ConcurrentHashMap<>();

    private MemoryPoolManager() {}

    public static MemoryPoolManager getInstance() { return INSTANCE; }

    private interface Lookup { void find(String name, long[] out); }

    /* The object of the registry pool that lookup finds; caller holds the lock. */
    private MemoryPool adopt(String name, Lookup lookup) {
        MemoryPool known = name == null ? null : pools.get(name);
        if (known != null && known.isClosed() && !(lookup instanceof Create)) // a create fails in C: the name is taken
            throw new NotFoundException(mp_status.MP_ERR_NOT_FOUND, "pool '" + name
                    + "' is destroyed; its memory is released once no ByteBuffer over its blocks is reachable");
        long[] out = new long[1];
        lookup.find(name, out);
        if (known != null && known.rawHandle() == out[0])
            return known;
        MemoryPool p = MemoryPool.ofRegistry(out[0], name);
        pools.put(name, p);
        return p;
    }

    /**
     * A CPU pool by name; "default" is created on first use. No pool of that
     * name (or one destroyed): null, as in C++. A GPU pool of that name:
     * InvalidOperationException, the C status.
     */
    public MemoryPool getCPUPool(String name) { return orNull(() -> cpuPool(name)); }

    /**
     * A GPU pool by name; "default_gpu" is created on first use (without CUDA
     * or a device: CudaUnavailableException). No pool of that name (or one
     * destroyed): null, as in C++. A CPU pool of that name:
     * InvalidOperationException, the C status.
     */
    public MemoryPool getGPUPool(String name) { return orNull(() -> gpuPool(name)); }

    private static MemoryPool orNull(java.util.function.Supplier<MemoryPool> get) {
        try {
            return get.get();
        } catch (NotFoundException none) {
            return null;
        }
    }

    /* The getters' lookups, which throw NotFoundException: the by-name helpers need the detail. */
    private synchronized MemoryPool cpuPool(String name) { return adopt(name, MempoolNative::mp_registry_get_cpu_pool); }

    private synchronized MemoryPool gpuPool(String name) {
        return CudaUnavailableException.gpu(() -> adopt(name, MempoolNative::mp_registry_get_gpu_pool));
    }

    public synchronized MemoryPool createCPUPool(String name, PoolConfig config) {
        return adopt(name, new Create(config, MemoryType.CPU));
    }

    /** Without CUDA or a device: CudaUnavailableException. */
    public synchronized MemoryPool createGPUPool(String name, PoolConfig config) {
        return CudaUnavailableException.gpu(() -> adopt(name, new Create(config, MemoryType.GPU)));
    }

    private static final class Create implements Lookup {
        private final PoolConfig config;
        private final MemoryType type;

        Create(PoolConfig config, MemoryType type) {
            this.config = Args.notNull(config, "the PoolConfig");
            this.type = type;
        }

        @Override
        public void find(String name, long[] out) {
            mp_config c = config.toNative();
            try {
                if (type == MemoryType.GPU)
                    MempoolNative.mp_registry_create_gpu_pool(name, c, out);
                else
                    MempoolNative.mp_registry_create_cpu_pool(name, c, out);
            } finally {
                c.delete();
            }
        }
    }

    /** A registry pool of either type; unlike the getters it never creates one (NotFoundException). */
    public synchronized MemoryPool findPool(String name) { return adopt(name, MempoolNative::mp_registry_find); }

    /* For the by-name helpers: the pool's object without the lock when it is known and of that type. */
    MemoryPool forHelper(String name, MemoryType type) {
        MemoryPool p = pools.get(name);
        if (p != null && p.type() == type && !p.isClosed())
            return p;
        return type == MemoryType.GPU ? gpuPool(name) : cpuPool(name);
    }

    /**
     * Destroys a registry pool once the Java calls in flight on it have
     * returned; its MemoryPool object then refuses every call. False if there
     * is none of that name (as the seed's bool), or it was destroyed already.
     * If a ByteBuffer over one of its blocks may still be reachable, the
     * native destroy (and the release of its name) waits for its collection.
     */
    public synchronized boolean destroyPool(String name) {
        MemoryPool p = name == null ? null : pools.get(name);
        if (p != null)
            return p.end("destroyed");
        try {
            MempoolNative.mp_registry_destroy(name);
            return true;
        } catch (NotFoundException absent) {
            return false;
        }
    }

    /* MemoryPool.end(), now or from the last unpin: the native destroy of a registry pool. */
    synchronized void destroyNative(MemoryPool p) {
        pools.remove(p.name(), p);
        long[] out = new long[1];
        try {
            MempoolNative.mp_registry_find(p.name(), out);
        } catch (NotFoundException goneAlready) {
            return;
        }
        if (out[0] == p.rawHandle()) // not a pool made under that name since, by C code
            MempoolNative.mp_registry_destroy(p.name());
    }

    /* The registry pools known here, open, in the guards' order; caller holds the lock. */
    private List<MemoryPool> openPools() {
        List<MemoryPool> open = new ArrayList<>();
        for (MemoryPool p : pools.values())
            if (!p.isClosed())
                open.add(p);
        open.sort(Comparator.comparingLong(p -> p.id));
        return open;
    }

    /**
     * Resets every registry pool, each alone while it happens: their
     * Allocations are closed. Refused (InvalidOperationException, nothing
     * reset) while a ByteBuffer over a block of one of them may be reachable.
     */
    public synchronized void resetAllPools() {
        List<MemoryPool> open = openPools();
        int held = 0;
        try {
            for (MemoryPool p : open) {
                p.guard.enterExclusive();
                held++;
            }
            for (MemoryPool p : open)
                p.refuseIfPinned("resetAllPools");
            for (MemoryPool p : open)
                p.prepareReset();
            MempoolNative.mp_registry_reset_all();
        } finally {
            for (int i = 0; i < held; i++)
                open.get(i).guard.exitExclusive();
        }
    }

    /** Each registry pool's human-readable stats, by name. */
    public Map<String, String> getAllStats() {
        String[] names = new String[1];
        MempoolNative.mp_registry_names(names);
        Map<String, String> all = new LinkedHashMap<>();
        for (String name : names[0].split("\n")) {
            if (name.isEmpty())
                continue;
            try {
                all.put(name, findPool(name).getStatsString());
            } catch (NotFoundException | InvalidOperationException destroyedMeanwhile) {
                // another thread destroyed it after the listing
            }
        }
        return all;
    }

    /** All registry pools' stats as one JSON object keyed by name. */
    public synchronized String getAllStatsJson() {
        MemoryPool[] open = openPools().toArray(new MemoryPool[0]);
        Guard.Slot[] held = MemoryPool.enterAll(open); // a pool that is not thread-safe is read alone
        try {
            String[] out = new String[1];
            MempoolNative.mp_registry_stats_json(out);
            return out[0];
        } finally {
            MemoryPool.exitAll(open, held, open.length);
        }
    }

    /**
     * Every live pool's stats, the registry's and those made directly, as
     * {@code mp_stats_print} writes them: options {@code null} or "text" for
     * the text, "json" for one JSON object.
     */
    public synchronized String statsText(String options) {
        MemoryPool[] open = openPools().toArray(new MemoryPool[0]);
        Guard.Slot[] held = MemoryPool.enterAll(open);
        try {
            String[] out = new String[1];
            MempoolNative.mp_stats_print(options, out);
            return out[0];
        } finally {
            MemoryPool.exitAll(open, held, open.length);
        }
    }

    /** {@link #statsText(String)} as text. */
    public String statsText() {
        return statsText(null);
    }
}

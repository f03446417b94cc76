package org.mempool;

import java.util.LinkedHashMap;
import java.util.Map;

/** The registry of named pools (the seed's MemoryPoolManager). */
public final class MemoryPoolManager {
    private static final MemoryPoolManager INSTANCE = new MemoryPoolManager();

    private MemoryPoolManager() {}

    public static MemoryPoolManager getInstance() { return INSTANCE; }

    /** A CPU pool by name; "default" is created on first use. */
    public MemoryPool getCPUPool(String name) {
        long[] out = new long[1];
        MempoolNative.mp_registry_get_cpu_pool(name, out);
        return new MemoryPool(out[0], false);
    }

    /** A GPU pool by name; "default_gpu" is created on first use. */
    public MemoryPool getGPUPool(String name) {
        long[] out = new long[1];
        MempoolNative.mp_registry_get_gpu_pool(name, out);
        return new MemoryPool(out[0], false);
    }

    public MemoryPool createCPUPool(String name, PoolConfig config) {
        mp_config c = config.toNative();
        long[] out = new long[1];
        try {
            MempoolNative.mp_registry_create_cpu_pool(name, c, out);
        } finally {
            c.delete();
        }
        return new MemoryPool(out[0], false);
    }

    public MemoryPool createGPUPool(String name, PoolConfig config) {
        mp_config c = config.toNative();
        long[] out = new long[1];
        try {
            MempoolNative.mp_registry_create_gpu_pool(name, c, out);
        } finally {
            c.delete();
        }
        return new MemoryPool(out[0], false);
    }

    /** Destroys a registry pool; false if there is none of that name (as the seed's bool). */
    public boolean destroyPool(String name) {
        try {
            MempoolNative.mp_registry_destroy(name);
            return true;
        } catch (NotFoundException absent) {
            return false;
        }
    }

    public void resetAllPools() { MempoolNative.mp_registry_reset_all(); }

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
            } catch (NotFoundException destroyedMeanwhile) {
                // another thread destroyed it after the listing
            }
        }
        return all;
    }

    /** All registry pools' stats as one JSON object keyed by name. */
    public String getAllStatsJson() {
        String[] out = new String[1];
        MempoolNative.mp_registry_stats_json(out);
        return out[0];
    }

    /** A registry pool of either type; unlike the getters it never creates one (NotFoundException). */
    public MemoryPool findPool(String name) {
        long[] out = new long[1];
        MempoolNative.mp_registry_find(name, out);
        return new MemoryPool(out[0], false);
    }
}

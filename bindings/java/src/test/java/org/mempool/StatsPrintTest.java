package org.mempool;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

/** mp_stats_print through the binding: every live pool, as text or JSON. */
class StatsPrintTest {
    @Test
    void statsTextListsEveryLivePool() {
        try (MemoryPool pool = MemoryPool.create("java-print", MemoryType.CPU, PoolConfig.defaultCPU())) {
            long a = pool.allocate(48);
            MemoryPoolManager m = MemoryPoolManager.getInstance();
            String text = m.statsText();
            assertTrue(text.contains("pool 'java-print'"), text);
            assertTrue(text.contains("size classes:"), text);
            String json = m.statsText("json");
            assertTrue(json.startsWith("{\"pools\":["), json);
            assertTrue(json.contains("\"pool\":\"java-print\""), json);
            InvalidArgumentException e = assertThrows(InvalidArgumentException.class, () -> m.statsText("yaml"));
            assertTrue(e.getMessage().contains("yaml"), e.getMessage());
            pool.deallocate(a);
        }
    }
}

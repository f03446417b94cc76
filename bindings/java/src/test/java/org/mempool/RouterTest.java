package org.mempool;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

class RouterTest {
    @Test
    void sendsEachSizeToItsPoolAndFreesAnywhere() {
        Router r = new Router("java-router");
        try (MemoryPool small = MemoryPool.create("java-small", MemoryType.CPU, PoolConfig.fixedSizeCPU(64));
             MemoryPool rest = MemoryPool.create("java-rest", MemoryType.CPU, PoolConfig.defaultCPU())) {
            r.add(64, small);
            r.add(-1, rest); // SIZE_MAX
            assertEquals(small.handle(), r.poolFor(1));
            assertEquals(rest.handle(), r.poolFor(65));
            long a = r.allocate(10), b = r.allocate(1000);
            assertTrue(small.owns(a));
            assertTrue(rest.owns(b));
            r.deallocate(a);
            r.deallocate(b);
            assertThrows(InvalidPointerException.class, () -> r.deallocate(a));
            assertThrows(InvalidArgumentException.class, () -> r.add(32, small));
            small.trimAuto();
            assertEquals(small.getConfig().initialSize, small.getStats().getReservedBytes());
        } finally {
            r.close();
            r.close(); // twice: nothing happens
        }
    }
}

package org.mempool;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** Bad input throws InvalidArgumentException (never NullPointerException); names cross to C as standard UTF-8. */
class BadInputTest {
    private final MemoryPoolManager manager = MemoryPoolManager.getInstance();

    private static void invalid(String word, Executable call) {
        InvalidArgumentException e = assertThrows(InvalidArgumentException.class, call);
        assertTrue(e.getDetail().contains(word), e.getDetail() + " lacks " + word);
    }

    @Test
    void nullEnumsAndConfigsAreInvalidArguments() {
        invalid("memory type", () -> MemoryPool.create("java-bad", null, PoolConfig.defaultCPU()));
        invalid("PoolConfig", () -> MemoryPool.create("java-bad", MemoryType.CPU, null));
        PoolConfig noAllocator = new PoolConfig();
        noAllocator.allocatorType = null;
        invalid("allocatorType", () -> MemoryPool.create("java-bad", MemoryType.CPU, noAllocator));
        PoolConfig noSync = PoolConfig.defaultCPU();
        noSync.syncType = null;
        invalid("syncType", () -> MemoryPool.create("java-bad", MemoryType.CPU, noSync));
        invalid("syncType", () -> noSync.validate(MemoryType.CPU));
        invalid("memory type", () -> PoolConfig.defaultCPU().validate(null));
        invalid("PoolConfig", () -> manager.createCPUPool("java-bad", null));
        invalid("PoolConfig", () -> manager.createGPUPool("java-bad", null));
        try (MemoryPool pool = MemoryPool.create("java-bad", MemoryType.CPU, PoolConfig.defaultCPU())) {
            invalid("AllocFlags", () -> pool.allocate(16, null));
            assertEquals(0, pool.getStats().getLiveAllocations());
        }
        assertThrows(NotFoundException.class, () -> manager.findPool("java-bad"), "nothing was registered");
    }

    @Test
    void namesOutsideTheBasicPlaneRoundTripAsUtf8() {
        String name = "java-\uD83D\uDE00-pool"; // U+1F600, a surrogate pair in Java, 4 bytes in UTF-8
        try (MemoryPool pool = MemoryPool.create(name, MemoryType.CPU, PoolConfig.defaultCPU())) {
            assertEquals(name, pool.getName());
            assertTrue(pool.getStatsString().contains(name), pool.getStatsString());
            assertTrue(pool.getStatsJson().contains(name), pool.getStatsJson());
        }
        String reg = "java-r\u00e9g-\uD834\uDD1E"; // é (2 bytes) and U+1D11E (4 bytes)
        MemoryPool made = manager.createCPUPool(reg, PoolConfig.defaultCPU());
        try {
            assertSame(made, manager.getCPUPool(reg));
            assertEquals(reg, made.getName());
            assertTrue(manager.getAllStats().containsKey(reg), manager.getAllStats().keySet().toString());
            long p = Mempool.allocate(32, reg);
            assertTrue(made.owns(p));
            Mempool.deallocate(p, reg);
            // a detail from C that quotes the name comes back as the same text
            AlreadyExistsException twice = assertThrows(AlreadyExistsException.class,
                    () -> manager.createCPUPool(reg, PoolConfig.defaultCPU()));
            assertTrue(twice.getDetail().contains(reg), twice.getDetail());
        } finally {
            assertTrue(manager.destroyPool(reg));
        }
        try (Router r = new Router("java-\uD83D\uDE80")) {
            assertNotNull(r);
        }
    }

    @Test
    void aNameWithANulOrAnUnpairedSurrogateIsRefusedBeforeC() {
        for (String bad : List.of("a\0b", "\0", "java-nul\0")) {
            invalid("NUL", () -> MemoryPool.create(bad, MemoryType.CPU, PoolConfig.defaultCPU()));
            invalid("NUL", () -> manager.createCPUPool(bad, PoolConfig.defaultCPU()));
            invalid("NUL", () -> manager.getCPUPool(bad));
            invalid("NUL", () -> manager.findPool(bad));
            invalid("NUL", () -> manager.destroyPool(bad));
            invalid("NUL", () -> Mempool.allocate(16, bad));
            invalid("NUL", () -> Mempool.deallocate(16, bad));
            invalid("NUL", () -> new Router(bad));
        }
        // "a\0b" must not have reached C as "a"
        assertThrows(NotFoundException.class, () -> manager.findPool("a"));
        for (String bad : List.of("a\uD800b", "a\uDC00", "\uDBFF")) {
            invalid("surrogate", () -> MemoryPool.create(bad, MemoryType.CPU, PoolConfig.defaultCPU()));
            invalid("surrogate", () -> manager.getCPUPool(bad));
        }
    }

    @Test
    void malformedNamesFromCAreStillRefusedByC() {
        invalid("name", () -> MemoryPool.create("", MemoryType.CPU, PoolConfig.defaultCPU()));
        invalid("control", () -> MemoryPool.create("tab\there", MemoryType.CPU, PoolConfig.defaultCPU()));
        invalid("NULL", () -> MemoryPool.create(null, MemoryType.CPU, PoolConfig.defaultCPU()));
    }
}

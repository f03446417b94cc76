package org.mempool;

import static org.junit.jupiter.api.Assertions.fail;

import java.util.function.BooleanSupplier;

/** Waits for the garbage collector (and the Cleaner after it) to make a condition true. */
final class Gc {
    private Gc() {}

    static void until(String what, BooleanSupplier condition) {
        for (int i = 0; i < 500; i++) {
            if (condition.getAsBoolean())
                return;
            System.gc();
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                fail("interrupted while waiting until " + what);
            }
        }
        fail("still not " + what + " after 5 s of garbage collections");
    }
}

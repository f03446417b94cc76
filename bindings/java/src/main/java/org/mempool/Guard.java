package org.mempool;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.lang.ref.WeakReference;
import java.util.Arrays;
import java.util.concurrent.locks.LockSupport;

/**
 * The lifetime guard of one native object (a pool or a router): it keeps
 * close() from destroying the object under a call in flight, refuses calls
 * once it is closed, and gives a call the object alone when it needs that
 * (reset, router.add, every call of a pool that is not thread-safe).
 *
 * A shared call publishes "I am inside this guard" and then reads the gate;
 * close() and exclusive calls set the gate and then wait until no call is
 * published. Both sides write before they read, with volatile (sequentially
 * consistent) accesses, so as in Dekker's algorithm one of them sees the
 * other: the call sees the gate and backs out, or the closer sees the call
 * and waits for it.
 *
 * Where a call publishes itself: each thread has a slot (a hazard pointer)
 * naming the one guard it is inside. Entering is a volatile store to it (one
 * store-load fence) and leaving a release store, so a call pays one fence
 * and shares no cache line with other threads. A thread already inside a
 * guard (a router call enters several pools) counts its further entries in
 * padded counter cells picked by thread id, with an atomic add each way.
 * The closer scans every slot and cell. Slots of dead threads are dropped
 * as new threads register.
 *
 * Waiting spins briefly, then yields, then parks in short steps: calls are
 * short, and a closer is rare. A thread must not close or take exclusively a
 * guard that it has entered (it would wait for itself); the binding never
 * does, and it calls nothing back into Java while it holds a guard.
 */
final class Guard {
    private static final int CLOSED = 1, EXCLUSIVE = 2;
    private static final int PAD = 16; // longs per cell: 128 bytes, two cache lines
    private static final int STRIPES = Math.min(64, Integer.highestOneBit(
            Math.max(1, Runtime.getRuntime().availableProcessors() * 2 - 1)));
    private static final VarHandle CELL = MethodHandles.arrayElementVarHandle(long[].class);
    private static final VarHandle GATE, INSIDE;
    static {
        try {
            GATE = MethodHandles.lookup().findVarHandle(Guard.class, "gate", int.class);
            INSIDE = MethodHandles.lookup().findVarHandle(Slot.class, "inside", Guard.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** One thread's hazard pointer; a token of enter() says how to leave. */
    static final class Slot {
        volatile Guard inside;
        final WeakReference<Thread> thread;

        Slot(Thread t) { thread = t == null ? null : new WeakReference<>(t); }

        boolean dead() {
            Thread t = thread.get();
            return (t == null || !t.isAlive()) && inside == null;
        }
    }

    /** Tokens of entries that did not use the thread's slot. */
    private static final Slot COUNTED = new Slot(null), ALONE = new Slot(null);
    private static final ThreadLocal<Slot> SLOT = ThreadLocal.withInitial(Guard::register);
    private static volatile Slot[] slots = new Slot[0];
    private static int purgeAt = 64;

    private static synchronized Slot register() {
        Slot s = new Slot(Thread.currentThread());
        Slot[] old = slots;
        if (old.length >= purgeAt) {
            old = Arrays.stream(old).filter(x -> !x.dead()).toArray(Slot[]::new);
            purgeAt = Math.max(64, old.length * 2);
        }
        Slot[] more = Arrays.copyOf(old, old.length + 1);
        more[old.length] = s;
        slots = more; // published before the slot's first use
        return s;
    }

    private final long[] cells;
    private final boolean serial;
    private final String what;
    private volatile int gate;
    private volatile String closedAs = "closed";

    /** what names the object in messages ("pool 'x'"); serial: every call is exclusive. */
    Guard(String what, boolean serial) {
        this.what = what;
        this.serial = serial;
        this.cells = new long[serial ? 1 : STRIPES * PAD];
    }

    private static int cell() { return ((int) Thread.currentThread().getId() & (STRIPES - 1)) * PAD; }

    /** Enters a call; throws InvalidOperationException once the guard is closed. Pass the token to exit. */
    Slot enter() {
        Slot t = tryEnter();
        if (t == null)
            throw closed();
        return t;
    }

    /** Enters a call, or returns null once the guard is closed. */
    Slot tryEnter() {
        if (serial)
            return tryEnterExclusive() ? ALONE : null;
        Slot s = SLOT.get();
        if (s.inside == null) {
            INSIDE.setVolatile(s, this);
            if (gate == 0)
                return s;
            INSIDE.setRelease(s, (Guard) null);
        }
        return enterSlow(s);
    }

    /* The thread is inside another guard already, or the gate was set. */
    private Slot enterSlow(Slot s) {
        int i = cell();
        for (;;) {
            int g;
            for (int spins = 0; (g = gate) == EXCLUSIVE; spins++)
                pause(spins);
            if ((g & CLOSED) != 0)
                return null;
            if (s.inside == null) {
                INSIDE.setVolatile(s, this);
                if (gate == 0)
                    return s;
                INSIDE.setRelease(s, (Guard) null);
            } else {
                CELL.getAndAdd(cells, i, 1L);
                if (gate == 0)
                    return COUNTED;
                CELL.getAndAdd(cells, i, -1L);
            }
        }
    }

    /** Leaves a call; token is what enter() or tryEnter() returned. */
    void exit(Slot token) {
        if (token == ALONE)
            gate = 0;
        else if (token == COUNTED)
            CELL.getAndAdd(cells, cell(), -1L);
        else
            INSIDE.setRelease(token, (Guard) null);
    }

    /** Enters a call that must run alone; throws InvalidOperationException once closed. */
    void enterExclusive() {
        if (!tryEnterExclusive())
            throw closed();
    }

    private boolean tryEnterExclusive() {
        for (int spins = 0;; pause(spins++)) {
            int g = gate;
            if ((g & CLOSED) != 0)
                return false;
            if (g == 0 && GATE.compareAndSet(this, 0, EXCLUSIVE))
                break;
        }
        drain();
        return true;
    }

    void exitExclusive() { gate = 0; }

    /**
     * Closes the guard once: waits for an exclusive call and for the calls in
     * flight, after which every call is refused with "WHAT is AS". Returns
     * false when it was closed already.
     */
    boolean close(String as) {
        for (int spins = 0;; pause(spins++)) {
            int g = gate;
            if ((g & CLOSED) != 0)
                return false;
            if (g == 0) {
                closedAs = as;
                if (GATE.compareAndSet(this, 0, CLOSED))
                    break;
            }
        }
        drain();
        return true;
    }

    boolean isClosed() { return (gate & CLOSED) != 0; }

    InvalidOperationException closed() {
        return new InvalidOperationException(mp_status.MP_ERR_INVALID_OPERATION, what + " is " + closedAs);
    }

    /* Waits until no shared call is in flight; the gate is set, so none starts. */
    private void drain() {
        if (serial)
            return;
        for (int spins = 0; inFlight(); spins++)
            pause(spins);
    }

    private boolean inFlight() {
        for (Slot s : slots)
            if (s.inside == this)
                return true;
        for (int i = 0; i < cells.length; i += PAD)
            if ((long) CELL.getVolatile(cells, i) != 0)
                return true;
        return false;
    }

    static void pause(int spins) {
        if (spins < 64)
            Thread.onSpinWait();
        else if (spins < 80)
            Thread.yield();
        else
            LockSupport.parkNanos(50_000L);
    }
}

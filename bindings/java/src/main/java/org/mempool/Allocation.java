package org.mempool;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.lang.ref.Cleaner;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * A block of a pool: its address and size; closing it frees it once.
 *
 * <p>The accessors (getLong, put(byte[]) ...) read and write CPU memory in the
 * platform's byte order, as C code sees it. Each one checks its range and that
 * the block is live, and holds the block while it runs: close(), and the
 * pool's reset() and close(), wait for accessors in flight and make every
 * later one throw InvalidOperationException. So no access reaches a freed
 * block, whichever thread closes what.
 *
 * <p>{@link #buffer()} hands out a direct ByteBuffer for NIO. A JDK 17 buffer
 * cannot be revoked, so the buffer pins the block instead: closing the
 * Allocation frees the block only once no such buffer is reachable (a
 * Cleaner watches them), the pool refuses reset() until then, and the pool's
 * close() leaves its memory mapped until then. Prefer the accessors where the
 * free must happen at close().
 *
 * <p>A block of a GPU pool is device memory: its accessors and buffer() throw
 * InvalidOperationException; copy it with the pool's copy calls.
 */
public final class Allocation implements AutoCloseable {
    private static final Cleaner CLEANER = Cleaner.create();
    private static final int CLOSED = 1, ONE = 2; // state: accessors in flight * ONE | CLOSED
    private static final VarHandle STATE;
    static {
        try {
            STATE = MethodHandles.lookup().findVarHandle(Allocation.class, "state", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final MemoryPool pool;
    private final long address;
    private final long size;
    private volatile int state;
    private volatile ByteBuffer view; // the accessors' own, never handed out
    /* Guarded by pool.pinLock: ByteBuffers handed out and not collected yet,
     * and whether close() left the free to the last of them. */
    int pins;
    boolean freeWhenUnpinned;

    Allocation(MemoryPool pool, long address, long size) {
        this.pool = pool;
        this.address = address;
        this.size = size;
    }

    public long address() { return address; }
    public long size() { return size; }
    public MemoryPool pool() { return pool; }

    /** Closed by close(), or by the pool's reset() or close(). */
    public boolean isClosed() { return (state & CLOSED) != 0; }

    /**
     * Frees the block once; later accessors throw. It waits for accessors in
     * flight on other threads. With a ByteBuffer from buffer() still
     * reachable, the free happens once the last one is collected. Closing
     * after the pool's reset() or close() does nothing: the block went then.
     */
    @Override
    public void close() {
        if (!closeGate())
            return;
        Guard.Slot t = pool.guard.tryEnter();
        if (t == null)
            return; // the pool is closed: its destroy frees the block
        try {
            if (!pool.deferFree(this))
                pool.free(this);
        } finally {
            pool.guard.exit(t);
        }
    }

    /* The pool's reset() or close() took the block; the pool holds itself alone or closed. */
    void kill() { closeGate(); }

    private boolean closeGate() {
        int s = (int) STATE.getAndBitwiseOr(this, CLOSED);
        if ((s & CLOSED) != 0)
            return false;
        for (int spins = 0; (state & ~CLOSED) != 0; spins++)
            Guard.pause(spins);
        return true;
    }

    void enterGate() {
        int s = (int) STATE.getAndAdd(this, ONE);
        if ((s & CLOSED) != 0) {
            STATE.getAndAdd(this, -ONE);
            throw new InvalidOperationException(mp_status.MP_ERR_INVALID_OPERATION,
                    String.format("the Allocation at 0x%x of pool '%s' is closed", address, pool.name()));
        }
    }

    void exitGate() { STATE.getAndAdd(this, -ONE); }

    // ---- ByteBuffer -----------------------------------------------------------

    /**
     * A new direct ByteBuffer over the block (big-endian, as every new
     * ByteBuffer), which pins the block until it and every buffer derived
     * from it are unreachable. Throws InvalidOperationException once the
     * Allocation or the pool is closed, and for GPU memory.
     */
    public ByteBuffer buffer() {
        checkViewable();
        Guard.Slot t = pool.guard.enter(); // reset() and close() check the pins alone: none is added under them
        try {
            enterGate();
            try {
                ByteBuffer b = MempoolNative.mpswig_view(address, size);
                CLEANER.register(b, new Unpin(pool, this));
                pool.pin(this);
                return b;
            } finally {
                exitGate();
            }
        } finally {
            pool.guard.exit(t);
        }
    }

    /* The Cleaner's action: it must not reach the buffer, only the pool and the Allocation. */
    private static final class Unpin implements Runnable {
        private final MemoryPool pool;
        private final Allocation allocation;

        Unpin(MemoryPool pool, Allocation allocation) {
            this.pool = pool;
            this.allocation = allocation;
        }

        @Override
        public void run() {
            try {
                pool.unpin(allocation);
            } catch (RuntimeException e) {
                // nobody to tell on the Cleaner's thread; a failed free leaves the block to the pool's destroy
            }
        }
    }

    private void checkViewable() {
        if (pool.type() != MemoryType.CPU)
            throw new InvalidOperationException(mp_status.MP_ERR_INVALID_OPERATION,
                    "pool '" + pool.name() + "' holds GPU memory; copy it to a CPU pool's block first");
        if (size > Integer.MAX_VALUE)
            throw new InvalidOperationException(mp_status.MP_ERR_INVALID_OPERATION,
                    "a block of " + size + " bytes is larger than a Java view can be (2^31 - 1 bytes)");
    }

    /* The accessors' buffer; the caller holds the gate. */
    private ByteBuffer view() {
        ByteBuffer v = view;
        if (v == null) {
            checkViewable();
            view = v = MempoolNative.mpswig_view(address, size).order(ByteOrder.nativeOrder());
        }
        return v;
    }

    // ---- checked accessors ---------------------------------------------------

    /* The index of [offset, offset + width) inside the block, or InvalidArgumentException. */
    private int at(long offset, long width) {
        if (offset < 0 || width < 0 || offset > size - width)
            throw new InvalidArgumentException(mp_status.MP_ERR_INVALID_ARGUMENT, String.format(
                    "bytes %d..%d lie outside the %d-byte block at 0x%x", offset, offset + width, size, address));
        return (int) offset;
    }

    /* For the pool's copies: a live block of the right memory type, and a span inside it. */
    static void checkSpan(String role, Allocation a, MemoryType type, long offset, long length) {
        if (a == null)
            throw new InvalidArgumentException(mp_status.MP_ERR_INVALID_ARGUMENT, "the " + role + " Allocation is null");
        if (a.pool.type() != type)
            throw new InvalidArgumentException(mp_status.MP_ERR_INVALID_ARGUMENT, String.format(
                    "the %s must be a block of a %s pool; pool '%s' is a %s pool", role, type, a.pool.name(), a.pool.type()));
        a.at(offset, length);
    }

    private static void checkArray(byte[] array, int offset, int length) {
        if (array == null)
            throw new InvalidArgumentException(mp_status.MP_ERR_INVALID_ARGUMENT, "the byte array is null");
        int arrayLength = array.length;
        if (offset < 0 || length < 0 || offset > arrayLength - length)
            throw new InvalidArgumentException(mp_status.MP_ERR_INVALID_ARGUMENT, String.format(
                    "elements %d..%d lie outside the array of %d", offset, (long) offset + length, arrayLength));
    }

    public byte getByte(long offset) {
        enterGate();
        try {
            return view().get(at(offset, 1));
        } finally {
            exitGate();
        }
    }

    public void putByte(long offset, byte value) {
        enterGate();
        try {
            view().put(at(offset, 1), value);
        } finally {
            exitGate();
        }
    }

    public short getShort(long offset) {
        enterGate();
        try {
            return view().getShort(at(offset, Short.BYTES));
        } finally {
            exitGate();
        }
    }

    public void putShort(long offset, short value) {
        enterGate();
        try {
            view().putShort(at(offset, Short.BYTES), value);
        } finally {
            exitGate();
        }
    }

    public int getInt(long offset) {
        enterGate();
        try {
            return view().getInt(at(offset, Integer.BYTES));
        } finally {
            exitGate();
        }
    }

    public void putInt(long offset, int value) {
        enterGate();
        try {
            view().putInt(at(offset, Integer.BYTES), value);
        } finally {
            exitGate();
        }
    }

    public long getLong(long offset) {
        enterGate();
        try {
            return view().getLong(at(offset, Long.BYTES));
        } finally {
            exitGate();
        }
    }

    public void putLong(long offset, long value) {
        enterGate();
        try {
            view().putLong(at(offset, Long.BYTES), value);
        } finally {
            exitGate();
        }
    }

    public float getFloat(long offset) {
        enterGate();
        try {
            return view().getFloat(at(offset, Float.BYTES));
        } finally {
            exitGate();
        }
    }

    public void putFloat(long offset, float value) {
        enterGate();
        try {
            view().putFloat(at(offset, Float.BYTES), value);
        } finally {
            exitGate();
        }
    }

    public double getDouble(long offset) {
        enterGate();
        try {
            return view().getDouble(at(offset, Double.BYTES));
        } finally {
            exitGate();
        }
    }

    public void putDouble(long offset, double value) {
        enterGate();
        try {
            view().putDouble(at(offset, Double.BYTES), value);
        } finally {
            exitGate();
        }
    }

    /** Copies length bytes of the block from offset into dst[dstOffset...]. */
    public void get(long offset, byte[] dst, int dstOffset, int length) {
        checkArray(dst, dstOffset, length);
        enterGate();
        try {
            view().get(at(offset, length), dst, dstOffset, length);
        } finally {
            exitGate();
        }
    }

    /** Fills dst from the block at offset. */
    public void get(long offset, byte[] dst) { get(offset, dst, 0, dst == null ? 0 : dst.length); }

    /** Copies length bytes of src[srcOffset...] into the block at offset. */
    public void put(long offset, byte[] src, int srcOffset, int length) {
        checkArray(src, srcOffset, length);
        enterGate();
        try {
            view().put(at(offset, length), src, srcOffset, length);
        } finally {
            exitGate();
        }
    }

    /** Copies all of src into the block at offset. */
    public void put(long offset, byte[] src) { put(offset, src, 0, src == null ? 0 : src.length); }

    /** Sets length bytes from offset to value. */
    public void fill(long offset, long length, byte value) {
        enterGate();
        try {
            ByteBuffer v = view();
            for (int i = at(offset, length), end = i + (int) length; i < end; i++)
                v.put(i, value);
        } finally {
            exitGate();
        }
    }
}

package org.mempool;

/** Argument checks of the idiomatic layer: bad input throws InvalidArgumentException, never NullPointerException. */
final class Args {
    private Args() {}

    /* value, or InvalidArgumentException saying that what is null. */
    static <T> T notNull(T value, String what) {
        if (value == null)
            throw new InvalidArgumentException(mp_status.MP_ERR_INVALID_ARGUMENT, what + " is null");
        return value;
    }
}

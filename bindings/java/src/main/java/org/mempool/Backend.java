package org.mempool;


/** The source of a pool's chunks. */
public enum Backend {
    HOST(mp_backend_kind.MP_BACKEND_HOST),
    CUDA_DEVICE(mp_backend_kind.MP_BACKEND_CUDA_DEVICE),
    CUDA_PINNED(mp_backend_kind.MP_BACKEND_CUDA_PINNED),
    CUDA_MANAGED(mp_backend_kind.MP_BACKEND_CUDA_MANAGED);

    final int value;

    Backend(int value) { this.value = value; }

    static Backend of(int value) {
        for (Backend b : values())
            if (b.value == value)
                return b;
        throw new IllegalArgumentException("unknown backend " + value);
    }
}

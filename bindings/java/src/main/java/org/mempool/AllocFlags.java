package org.mempool;


/** Memory kind of one allocation (the seed's AllocFlags). */
public enum AllocFlags {
    NONE(mp_alloc_flags.MP_ALLOC_NONE),
    PINNED(mp_alloc_flags.MP_ALLOC_PINNED),
    MANAGED(mp_alloc_flags.MP_ALLOC_MANAGED);

    final int value;

    AllocFlags(int value) { this.value = value; }
}

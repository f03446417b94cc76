package org.mempool;


/** How a pool carves its chunks (the seed's AllocatorType). */
public enum AllocatorType {
    FIXED_SIZE(mp_allocator_type.MP_ALLOCATOR_FIXED_SIZE),
    VARIABLE_SIZE(mp_allocator_type.MP_ALLOCATOR_VARIABLE_SIZE);

    final int value;

    AllocatorType(int value) { this.value = value; }

    static AllocatorType of(int value) { return value == FIXED_SIZE.value ? FIXED_SIZE : VARIABLE_SIZE; }
}

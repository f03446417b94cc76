package org.mempool;


/** Where a pool's memory lives (the seed's MemoryType). */
public enum MemoryType {
    CPU(mp_memory_type.MP_MEMORY_CPU),
    GPU(mp_memory_type.MP_MEMORY_GPU);

    final int value;

    MemoryType(int value) { this.value = value; }

    static MemoryType of(int value) { return value == GPU.value ? GPU : CPU; }
}

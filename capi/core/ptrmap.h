/* An open-addressing hash map from block address to descriptor, kept out of
 * the managed memory. Linear probing, power-of-two capacity, load <= 1/2,
 * backward-shift deletion (no tombstones), key 0 marks an empty slot. It
 * halves when a removal leaves it an eighth full, so it shrinks with the
 * pool. */
#ifndef MEMPOOL_PTRMAP_H
#define MEMPOOL_PTRMAP_H

#include "core/core.h"

typedef struct mp__ptrmap_slot {
    uintptr_t key;
    void *value;
} mp__ptrmap_slot;

typedef struct mp__ptrmap {
    mp__ptrmap_slot *slots;
    size_t mask; /* capacity - 1 */
    size_t count;
} mp__ptrmap;

void mp__ptrmap_fini(mp__ptrmap *m);
/* Makes room for one more entry; false when memory for that is lacking. */
bool mp__ptrmap_reserve(mp__ptrmap *m);
/* key must be absent and room reserved. */
void mp__ptrmap_put(mp__ptrmap *m, uintptr_t key, void *value);
void *mp__ptrmap_remove(mp__ptrmap *m, uintptr_t key);
void mp__ptrmap_clear(mp__ptrmap *m);

static inline size_t mp__ptrmap_hash(const mp__ptrmap *m, uintptr_t key)
{
    return (size_t)(((uint64_t)key * 0x9E3779B97F4A7C15ull) >> 17) & m->mask;
}

static inline void *mp__ptrmap_get(const mp__ptrmap *m, uintptr_t key)
{
    if (!m->slots)
        return NULL;
    for (size_t i = mp__ptrmap_hash(m, key);; i = (i + 1) & m->mask) {
        if (m->slots[i].key == key)
            return m->slots[i].value;
        if (m->slots[i].key == 0)
            return NULL;
    }
}

#endif

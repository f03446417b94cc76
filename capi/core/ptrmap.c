/* See ptrmap.h. Growth doubles the table and reinserts; it runs on the slow
 * path only, when an insert would pass half load. mp__grow, the
 * growable-array helper of the other bookkeeping arrays, lives here too. */
#include "core/ptrmap.h"
#include "core/sidemem.h"

#include <stdlib.h>
#include <string.h>

void *mp__grow(void *arr, size_t *cap, size_t need, size_t elem, bool *ok)
{
    *ok = true;
    if (need <= *cap)
        return arr;
    size_t ncap = *cap ? *cap : 8;
    while (ncap < need)
        ncap *= 2;
    void *n = realloc(arr, ncap * elem);
    if (!n) {
        *ok = false;
        return arr;
    }
    *cap = ncap;
    return n;
}

/* Tables of a page or more are mapped (sidemem.h): a shrunk or dropped
 * one goes back to the kernel. */
static mp__ptrmap_slot *slots_new(size_t n)
{
    size_t bytes = n * sizeof(mp__ptrmap_slot);
    return bytes >= 4096 ? mp__side_map(bytes) : calloc(n, sizeof(mp__ptrmap_slot));
}

static void slots_free(mp__ptrmap_slot *s, size_t n)
{
    size_t bytes = n * sizeof(mp__ptrmap_slot);
    if (bytes >= 4096)
        mp__side_unmap(s, bytes);
    else
        free(s);
}

void mp__ptrmap_fini(mp__ptrmap *m)
{
    if (m->slots)
        slots_free(m->slots, m->mask + 1);
    memset(m, 0, sizeof *m);
}

static void insert(mp__ptrmap *m, uintptr_t key, void *value)
{
    size_t i = mp__ptrmap_hash(m, key);
    while (m->slots[i].key != 0)
        i = (i + 1) & m->mask;
    m->slots[i].key = key;
    m->slots[i].value = value;
}

/* Rehashes into ncap slots; false (the map unchanged) for want of memory. */
static bool resize(mp__ptrmap *m, size_t ncap)
{
    size_t cap = m->slots ? m->mask + 1 : 0;
    mp__ptrmap_slot *ns = slots_new(ncap);
    if (!ns)
        return false;
    mp__ptrmap old = *m;
    m->slots = ns;
    m->mask = ncap - 1;
    for (size_t i = 0; i < cap; i++)
        if (old.slots[i].key)
            insert(m, old.slots[i].key, old.slots[i].value);
    if (old.slots)
        slots_free(old.slots, cap);
    return true;
}

bool mp__ptrmap_reserve(mp__ptrmap *m)
{
    size_t cap = m->slots ? m->mask + 1 : 0;
    if ((m->count + 1) * 2 <= cap)
        return true;
    return resize(m, cap ? cap * 2 : 64) || (m->count + 1) * 10 <= cap * 9; /* run fuller rather than fail */
}

void mp__ptrmap_put(mp__ptrmap *m, uintptr_t key, void *value)
{
    insert(m, key, value);
    m->count++;
}

void *mp__ptrmap_remove(mp__ptrmap *m, uintptr_t key)
{
    if (!m->slots)
        return NULL;
    size_t i = mp__ptrmap_hash(m, key);
    while (m->slots[i].key != key) {
        if (m->slots[i].key == 0)
            return NULL;
        i = (i + 1) & m->mask;
    }
    void *value = m->slots[i].value;
    /* Backward shift: pull later entries of the probe run into the hole. */
    for (size_t j = (i + 1) & m->mask; m->slots[j].key != 0; j = (j + 1) & m->mask) {
        size_t home = mp__ptrmap_hash(m, m->slots[j].key);
        if (((j - home) & m->mask) >= ((j - i) & m->mask)) {
            m->slots[i] = m->slots[j];
            i = j;
        }
    }
    m->slots[i].key = 0;
    m->slots[i].value = NULL;
    m->count--;
    if (m->count * 8 < m->mask + 1 && m->mask + 1 > 64)
        resize(m, (m->mask + 1) / 2); /* an eighth full: half the slots (a quarter full), or stay for want of memory */
    return value;
}

void mp__ptrmap_clear(mp__ptrmap *m)
{
    if (m->slots)
        memset(m->slots, 0, (m->mask + 1) * sizeof *m->slots);
    m->count = 0;
}

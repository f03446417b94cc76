/* See ptrmap.h. Growth doubles the table and reinserts; it runs on the slow
 * path only, when an insert would pass half load. mp__grow, the
 * growable-array helper of the other bookkeeping arrays, lives here too. */
#include "core/ptrmap.h"

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

void mp__ptrmap_fini(mp__ptrmap *m)
{
    free(m->slots);
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

bool mp__ptrmap_reserve(mp__ptrmap *m)
{
    size_t cap = m->slots ? m->mask + 1 : 0;
    if ((m->count + 1) * 2 <= cap)
        return true;
    size_t ncap = cap ? cap * 2 : 64;
    mp__ptrmap_slot *ns = calloc(ncap, sizeof *ns);
    if (!ns)
        return (m->count + 1) * 10 <= cap * 9; /* run fuller rather than fail */
    mp__ptrmap old = *m;
    m->slots = ns;
    m->mask = ncap - 1;
    for (size_t i = 0; i < cap; i++)
        if (old.slots[i].key)
            insert(m, old.slots[i].key, old.slots[i].value);
    free(old.slots);
    return true;
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
    return value;
}

void mp__ptrmap_clear(mp__ptrmap *m)
{
    if (m->slots)
        memset(m->slots, 0, (m->mask + 1) * sizeof *m->slots);
    m->count = 0;
}

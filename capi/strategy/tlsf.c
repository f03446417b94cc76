/* Variable-size strategy: TLSF (two-level segregated fit) with immediate
 * coalescing and out-of-band block descriptors.
 *
 * The algorithm is M. Masmano, I. Ripoll, A. Crespo, J. Real, "TLSF: a New
 * Dynamic Memory Allocator for Real-Time Systems", ECRTS 2004: the (fl, sl)
 * mapping, the two bitmaps, the rounded-up search and immediate coalescing
 * are the paper's. Where this file departs from it:
 *  - The paper keeps each block's header (size, free bit, the physical
 *    predecessor) inside the block and the free-list links inside free
 *    blocks. Here every descriptor is out of band, in host memory, and a
 *    hash map finds a live block's descriptor from its address (below), so
 *    the managed memory is never touched and may be on a GPU. The price:
 *    the paper's O(1) is worst case, the map's is expected (and descriptors
 *    come from slabs that grow).
 *  - Sizes count in units (the pool's alignment), not bytes, and requests
 *    below SL_COUNT units share first-level index 0, one class per unit.
 *  - A split or merge that leaves the free block in its class keeps its
 *    place in the list (the fast path below); the paper removes and
 *    reinserts it.
 *  - When no descriptor can be had for the rest of a split, the whole block
 *    is handed out; the pool adds and drops chunks (attach, detach).
 *
 * Algorithm. Sizes are counted in units (the pool's alignment, at least 16
 * bytes). Free blocks sit in lists indexed by (fl, sl): fl is the size's
 * highest bit, sl the next SL_LOG2 bits, so each power-of-two range is split
 * into SL_COUNT classes. Two bitmaps say which lists are non-empty; a
 * request is rounded up to the next class boundary, so the head of any list
 * found by two find-first-set operations fits it: good fit in O(1). The
 * block is split when the rest is at least one unit. A freed block merges at
 * once with free physical neighbours, so no two free blocks are adjacent.
 *
 * Descriptors (address, size, physical and free-list links, the caller's
 * size and sequence number) live in host memory; a hash map finds the live
 * descriptor of an address. So the managed memory may be on a GPU, and a
 * foreign, interior or double-freed pointer is simply absent from the map.
 * chunk->sdata points at the chunk's first block (the paths that move a
 * block boundary keep it current), which stands for the chunk.
 *
 * With params.state_map each chunk also has a state map (the pool's), one
 * byte per unit (strategy.h): MP__ST_LIVE at the start of a block this file handed
 * out, a class code once the lock-free layer owns it; 0 elsewhere. A block
 * whose byte says "held by a thread cache" is not live to release/lookup.
 *
 * Invariants (checked by tlsf_check; MP__ASSERT checks the free-list ones
 * at each insert and remove): a chunk's blocks tile it exactly;
 * no two neighbours are both free; each free block is in the list of its
 * class and each list's bit is set iff the list is non-empty; each live
 * block is in the map and the map holds nothing else; the byte and block
 * counters match.
 *
 * Fast path: a split or merge that leaves the free block in the size class
 * it was in keeps its place in the list (only its address and size change),
 * so the common allocate+free of a small block next to a large free one
 * touches no list at all.
 *
 * Small requests (params.small: CPU pools) go to size-class pages
 * (slab.c), each page one TLSF block aligned to a 64 KiB window, taken and
 * given back through the mp__slab_source below; such a block is marked
 * page, is in no map and is not counted in live_blocks. So a small block
 * costs a bit in its page's bitmap, not a descriptor and a map entry.
 *
 * Complexity: alloc and release O(1) (the map is O(1) expected).
 */
#include "core/ptrmap.h"
#include "core/sidemem.h"
#include "strategy/slab.h"
#include "strategy/strategy.h"

#include <stdlib.h>
#include <string.h>

#define SL_LOG2 4
#define SL_COUNT (1u << SL_LOG2)
#define FL_COUNT 64
#define DESC_SLAB_BYTES ((size_t)64 << 10) /* mapped (sidemem.h), handed out from the front */

_Static_assert(SL_COUNT <= 32, "sl bitmaps are 32-bit");

typedef struct tblock {
    uintptr_t addr;
    size_t size;
    struct tblock *prev_phys, *next_phys;
    struct tblock *prev_free, *next_free; /* next_free also links spare descriptors */
    mp__chunk *chunk;
    mp__blockinfo info;
    bool free;
    bool page; /* a small-block page (slab.c): live, in no map, not counted */
} tblock;

typedef struct desc_slab {
    struct desc_slab *next;
    size_t used; /* descs handed out from the front: the rest is untouched */
    tblock descs[];
} desc_slab;

#define DESC_SLAB ((DESC_SLAB_BYTES - sizeof(desc_slab)) / sizeof(tblock))

typedef struct tlsf {
    size_t unit;
    unsigned unit_log2;
    bool best_fit; /* params.best_fit: find_fit scans lists (below) */
    uint64_t fl_bitmap;
    uint32_t sl_bitmap[FL_COUNT];
    tblock *heads[FL_COUNT][SL_COUNT];
    mp__ptrmap live;
    tblock *spare;
    desc_slab *slabs;
    mp__ptrs chunks; /* the mp__chunk records attached */
    size_t free_bytes, live_blocks;
    mp__slab *slab;   /* small requests; NULL without params.small */
    size_t small_max; /* requests up to this go to the slab (0: none) */
} tlsf;

static tblock *desc_get(tlsf *t)
{
    tblock *b = t->spare;
    if (b) {
        t->spare = b->next_free;
    } else {
        desc_slab *s = t->slabs;
        if (!s || s->used == DESC_SLAB) {
            if (!(s = mp__side_map(DESC_SLAB_BYTES)))
                return NULL;
            s->next = t->slabs;
            t->slabs = s;
        }
        b = &s->descs[s->used++];
    }
    b->prev_phys = b->next_phys = b->prev_free = b->next_free = NULL;
    b->free = b->page = false;
    return b;
}

static void desc_put(tlsf *t, tblock *b)
{
    b->next_free = t->spare;
    t->spare = b;
}

/* The class of a block of u units. */
static inline void mapping(size_t u, unsigned *fl, unsigned *sl)
{
    if (u < SL_COUNT) {
        *fl = 0;
        *sl = (unsigned)u;
    } else {
        unsigned f = mp__fls(u);
        *sl = (unsigned)(u >> (f - SL_LOG2)) ^ SL_COUNT;
        *fl = f - SL_LOG2 + 1;
    }
}

static inline bool same_class(const tlsf *t, size_t a, size_t b)
{
    unsigned fa, sa, fb, sb;
    mapping(a >> t->unit_log2, &fa, &sa);
    mapping(b >> t->unit_log2, &fb, &sb);
    return fa == fb && sa == sb;
}

static inline void insert_free(tlsf *t, tblock *b)
{
    unsigned fl, sl;
    mapping(b->size >> t->unit_log2, &fl, &sl);
    MP__ASSERT(b->size >= t->unit && !(b->size & (t->unit - 1)));
    MP__ASSERT(!(b->prev_phys && b->prev_phys->free) && !(b->next_phys && b->next_phys->free)); /* coalesced */
    MP__ASSERT(((t->sl_bitmap[fl] >> sl) & 1) == (t->heads[fl][sl] != NULL));
    b->free = true;
    b->prev_free = NULL;
    b->next_free = t->heads[fl][sl];
    if (b->next_free)
        b->next_free->prev_free = b;
    t->heads[fl][sl] = b;
    t->fl_bitmap |= 1ull << fl;
    t->sl_bitmap[fl] |= 1u << sl;
}

static inline void remove_free(tlsf *t, tblock *b)
{
    unsigned fl, sl;
    mapping(b->size >> t->unit_log2, &fl, &sl);
    MP__ASSERT(b->free && ((t->sl_bitmap[fl] >> sl) & 1) && ((t->fl_bitmap >> fl) & 1));
    MP__ASSERT(b->prev_free ? b->prev_free->next_free == b : t->heads[fl][sl] == b); /* listed in its class */
    if (b->prev_free)
        b->prev_free->next_free = b->next_free;
    else
        t->heads[fl][sl] = b->next_free;
    if (b->next_free)
        b->next_free->prev_free = b->prev_free;
    if (!t->heads[fl][sl]) {
        t->sl_bitmap[fl] &= ~(1u << sl);
        if (!t->sl_bitmap[fl])
            t->fl_bitmap &= ~(1ull << fl);
    }
    b->free = false;
}

#define BEST_FIT_SCAN 64 /* list entries a best-fit search looks at, per list */

/* The best of list's first BEST_FIT_SCAN blocks for u units: the smallest
 * that fits, the lowest address among equals; NULL when none fits. */
static tblock *best_in(const tlsf *t, tblock *list, size_t u)
{
    size_t bytes = u << t->unit_log2;
    tblock *best = NULL;
    for (unsigned n = 0; list && n < BEST_FIT_SCAN; list = list->next_free, n++)
        if (list->size >= bytes &&
            (!best || list->size < best->size || (list->size == best->size && list->addr < best->addr)))
            best = list;
    return best;
}

/* A free block of at least u units, or NULL. Good fit, the paper's: the
 * head of the first non-empty list whose every block fits. Best fit (GPU
 * pools, where memory the pool holds is memory the device lacks): first
 * u's own list, whose blocks may or may not fit, then the first list that
 * fits, each scanned for the smallest block, the lowest address first, so
 * that blocks pack towards the start of the address space and freed gaps
 * fill before new memory is mapped (bounded: BEST_FIT_SCAN a list). */
static tblock *find_fit(tlsf *t, size_t u)
{
    const size_t want = u;
    if (t->best_fit) {
        unsigned fl, sl;
        mapping(u, &fl, &sl);
        if (fl < FL_COUNT && ((t->sl_bitmap[fl] >> sl) & 1)) {
            tblock *b = best_in(t, t->heads[fl][sl], u);
            if (b)
                return b;
        }
    }
    if (u >= SL_COUNT)
        u += ((size_t)1 << (mp__fls(u) - SL_LOG2)) - 1; /* round up to the next class */
    unsigned fl, sl;
    mapping(u, &fl, &sl);
    if (fl >= FL_COUNT)
        return NULL;
    uint32_t slmap = t->sl_bitmap[fl] & (~0u << sl);
    if (!slmap) {
        uint64_t flmap = fl + 1 < FL_COUNT ? t->fl_bitmap & (~0ull << (fl + 1)) : 0;
        if (!flmap)
            return NULL;
        fl = mp__ffs(flmap);
        slmap = t->sl_bitmap[fl];
    }
    tblock *head = t->heads[fl][mp__ffs(slmap)];
    return t->best_fit ? best_in(t, head, want) : head; /* every block of this list fits */
}

static uintptr_t page_take(void *ctx, size_t bytes, mp__chunk **chunk, void **page_data);
static void page_give(void *ctx, mp__chunk *chunk, void *page_data);

static void *tlsf_create(const mp__strategy_params *params)
{
    tlsf *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->unit = params->unit;
    t->unit_log2 = mp__fls(params->unit);
    t->best_fit = params->best_fit;
    if (params->small) {
        const mp__slab_source src = {t, page_take, page_give};
        if (!(t->slab = mp__slab_new(params->unit, &src))) {
            free(t);
            return NULL;
        }
        t->small_max = mp__slab_max(t->slab);
    }
    return t;
}

/* With no chunk left every descriptor is spare: the slabs and the map go
 * back, so the bookkeeping shrinks with the pool. */
static void release_bookkeeping(tlsf *t)
{
    while (t->slabs) {
        desc_slab *n = t->slabs->next;
        mp__side_unmap(t->slabs, DESC_SLAB_BYTES);
        t->slabs = n;
    }
    t->spare = NULL;
    mp__ptrmap_fini(&t->live);
    free(t->chunks.v);
    t->chunks = (mp__ptrs){0};
}

static void tlsf_destroy(void *st)
{
    tlsf *t = st;
    release_bookkeeping(t);
    mp__slab_free(t->slab);
    free(t);
}

static size_t tlsf_grain(const mp__strategy_params *params) { return params->unit; }

static size_t tlsf_chunk_size_for(void *st, size_t size)
{
    tlsf *t = st;
    size_t u = mp__align_up(size, t->unit) >> t->unit_log2;
    /* A chunk of exactly u units lands in u's class; the search rounds up to
     * the next class, so add one class width. */
    if (u >= SL_COUNT)
        u += (size_t)1 << (mp__fls(u) - SL_LOG2);
    return u << t->unit_log2;
}

static mp_status tlsf_attach(void *st, mp__chunk *chunk)
{
    tlsf *t = st;
    size_t size = chunk->span.size & ~(t->unit - 1);
    tblock *b = NULL;
    bool ok = false;
    b = desc_get(t);
    if (b && size > 0 && mp__ptrs_reserve(&t->chunks))
        ok = !t->slab || mp__slab_attach(t->slab, chunk);
    if (!ok)
        goto oom;
    mp__ptrs_push(&t->chunks, chunk);
    b->addr = chunk->span.base;
    b->size = size;
    b->chunk = chunk;
    chunk->sdata = b;
    insert_free(t, b);
    t->free_bytes += size;
    return MP_OK;
oom:
    if (b)
        desc_put(t, b);
    return mp__fail(MP_ERR_OUT_OF_MEMORY, "no host memory for the bookkeeping of a %zu-byte chunk", chunk->span.size);
}

static inline uint8_t *state_of(const tlsf *t, const tblock *b)
{
    return b->chunk->span.smap ? b->chunk->span.smap + ((b->addr - b->chunk->span.base) >> t->unit_log2) : NULL;
}

/* The descriptor of the live block at p in chunk, or NULL. */
static tblock *live_block(tlsf *t, const mp__chunk *chunk, uintptr_t p)
{
    tblock *b = mp__ptrmap_get(&t->live, p);
    if (!b || b->chunk != chunk)
        return NULL;
    const uint8_t *byte = state_of(t, b);
    return !byte || mp__st_live(__atomic_load_n(byte, __ATOMIC_RELAXED)) ? b : NULL;
}

static bool tlsf_idle(void *st, const mp__chunk *chunk)
{
    (void)st;
    const tblock *b = chunk->sdata;
    return b->free && !b->next_phys;
}

static void tlsf_detach(void *st, mp__chunk *chunk)
{
    tlsf *t = st;
    tblock *b = chunk->sdata;
    /* A trim detaches an idle chunk; a pool's destroy detaches every chunk,
     * blocks and all, just before tlsf_destroy: then a live first block is
     * in no list, and only the chunk list matters. */
    if (tlsf_idle(st, chunk)) {
        remove_free(t, b);
        t->free_bytes -= b->size;
        desc_put(t, b);
    }
    if (t->slab)
        mp__slab_detach(t->slab, chunk);
    mp__ptrs_remove(&t->chunks, chunk);
    if (t->chunks.n == 0)
        release_bookkeeping(t);
}

/* A new descriptor for the first bytes of b, placed before it in its
 * chunk (b keeps the rest, and its place in any free list); NULL for want
 * of a descriptor. */
static tblock *split_before(tlsf *t, tblock *b, size_t bytes)
{
    tblock *n = desc_get(t);
    if (!n)
        return NULL;
    n->addr = b->addr;
    n->size = bytes;
    n->chunk = b->chunk;
    n->prev_phys = b->prev_phys;
    n->next_phys = b;
    if (n->prev_phys)
        n->prev_phys->next_phys = n;
    else
        b->chunk->sdata = n; /* the chunk's first block */
    b->prev_phys = n;
    b->addr += bytes;
    b->size -= bytes;
    return n;
}

/* Splits a free block of at least `need` units' bytes starting at a
 * multiple of align (a power of two) out of the free lists: the block,
 * no longer free, in no map and not counted; NULL when none fits. */
static tblock *take(tlsf *t, size_t need, size_t align)
{
    size_t extra = align > t->unit ? align - t->unit : 0;
    tblock *b = find_fit(t, (need + extra) >> t->unit_log2);
    if (!b)
        return NULL;
    MP__ASSERT(b->free && b->size >= need + extra);
    if (!extra && b->size - need >= t->unit && same_class(t, b->size - need, b->size)) {
        /* The rest stays where b is listed: b becomes the rest, a new
         * descriptor takes the front. */
        tblock *front = split_before(t, b, need);
        if (front) {
            t->free_bytes -= need;
            return front;
        }
    }
    remove_free(t, b);
    uintptr_t at = extra ? mp__align_up(b->addr, align) : b->addr;
    if (at != b->addr) { /* the gap before an aligned block stays free */
        tblock *gap = split_before(t, b, at - b->addr);
        if (!gap) {
            insert_free(t, b);
            return NULL;
        }
        insert_free(t, gap);
    }
    if (b->size - need >= t->unit) {
        tblock *rest = desc_get(t); /* without one, hand out the whole block */
        if (rest) {
            rest->addr = b->addr + need;
            rest->size = b->size - need;
            rest->chunk = b->chunk;
            rest->prev_phys = b;
            rest->next_phys = b->next_phys;
            if (rest->next_phys)
                rest->next_phys->prev_phys = rest;
            b->next_phys = rest;
            b->size = need;
            insert_free(t, rest);
        }
    }
    t->free_bytes -= b->size;
    return b;
}

/* Merges the no longer live block b with its free neighbours and lists
 * it: the inverse of take. */
static void put_back(tlsf *t, mp__chunk *chunk, tblock *b)
{
    t->free_bytes += b->size;
    tblock *next = b->next_phys;
    tblock *prev = b->prev_phys;
    if (next && next->free && !(prev && prev->free) && same_class(t, next->size + b->size, next->size)) {
        /* next absorbs b where it is listed. */
        next->addr = b->addr;
        next->size += b->size;
        next->prev_phys = prev;
        if (prev)
            prev->next_phys = next;
        else
            chunk->sdata = next;
        desc_put(t, b);
        return;
    }
    if (next && next->free) {
        remove_free(t, next);
        b->size += next->size;
        b->next_phys = next->next_phys;
        if (b->next_phys)
            b->next_phys->prev_phys = b;
        desc_put(t, next);
    }
    if (prev && prev->free) {
        remove_free(t, prev);
        prev->size += b->size;
        prev->next_phys = b->next_phys;
        if (prev->next_phys)
            prev->next_phys->prev_phys = prev;
        desc_put(t, b);
        b = prev;
    }
    insert_free(t, b);
}

/* The slab's pages (mp__slab_source). */
static uintptr_t page_take(void *ctx, size_t bytes, mp__chunk **chunk, void **page_data)
{
    tlsf *t = ctx;
    tblock *b = take(t, bytes, MP__SLAB_WIN);
    if (!b)
        return 0;
    b->page = true;
    *chunk = b->chunk;
    *page_data = b;
    return b->addr;
}

static void page_give(void *ctx, mp__chunk *chunk, void *page_data)
{
    tblock *b = page_data;
    b->page = false;
    put_back(ctx, chunk, b);
}

static void *alloc_large(tlsf *t, size_t size, size_t align, const mp__blockinfo *info, size_t *block_size)
{
    if (!mp__ptrmap_reserve(&t->live))
        return NULL;
    tblock *b = take(t, mp__align_up(size, t->unit), align);
    if (!b)
        return NULL;
    b->info = *info;
    if (b->chunk->span.smap)
        __atomic_store_n(state_of(t, b), MP__ST_LIVE, __ATOMIC_RELAXED);
    mp__ptrmap_put(&t->live, b->addr, b);
    t->live_blocks++;
    if (block_size)
        *block_size = b->size;
    return (void *)b->addr;
}

/* A small request with no page to be had (a chunk too small for one, or
 * full) takes a TLSF block like any other. */
/* A small block's size, for a caller that asks (only chunks mapped on
 * demand do, and they have no small-block pages: slab.h). */
static void *small_sized(tlsf *t, void *p, size_t *block_size)
{
    if (p && block_size) {
        mp__blockinfo info;
        *block_size = 0;
        for (size_t i = 0; i < t->chunks.n; i++) {
            const mp__chunk *c = t->chunks.v[i];
            if (mp__addr(p) - c->span.base < c->span.size) {
                mp__slab_lookup(t->slab, c, mp__addr(p), block_size, &info);
                break;
            }
        }
    }
    return p;
}

static void *tlsf_alloc(void *st, size_t size, const mp__blockinfo *info, size_t *block_size)
{
    tlsf *t = st;
    if (size <= t->small_max) {
        void *p = mp__slab_alloc(t->slab, size, t->unit, info);
        if (p)
            return small_sized(t, p, block_size);
    }
    return alloc_large(t, size, t->unit, info, block_size);
}

static void *tlsf_alloc_aligned(void *st, size_t size, size_t align, const mp__blockinfo *info, size_t *block_size)
{
    tlsf *t = st;
    void *p = size <= t->small_max ? mp__slab_alloc(t->slab, size, align, info) : NULL;
    return p ? small_sized(t, p, block_size) : alloc_large(t, size, align, info, block_size);
}

static mp_status tlsf_release(void *st, mp__chunk *chunk, uintptr_t p, mp__blockinfo *info, size_t *block_size)
{
    tlsf *t = st;
    if (chunk->small && mp__slab_page_of(chunk, p)) {
        if (block_size && !mp__slab_lookup(t->slab, chunk, p, block_size, info))
            return MP_ERR_INVALID_POINTER;
        return mp__slab_release(t->slab, chunk, p, info);
    }
    tblock *b = live_block(t, chunk, p);
    if (!b)
        return MP_ERR_INVALID_POINTER;
    if (block_size)
        *block_size = b->size;
    if (chunk->span.smap)
        __atomic_store_n(state_of(t, b), MP__ST_FREE, __ATOMIC_RELAXED);
    mp__ptrmap_remove(&t->live, p);
    *info = b->info;
    t->live_blocks--;
    put_back(t, chunk, b);
    return MP_OK;
}

static bool tlsf_lookup(void *st, const mp__chunk *chunk, uintptr_t p, size_t *block_size, mp__blockinfo *info)
{
    tlsf *t = st;
    if (chunk->small && mp__slab_page_of(chunk, p))
        return mp__slab_lookup(t->slab, chunk, p, block_size, info);
    tblock *b = live_block(t, chunk, p);
    if (!b)
        return false;
    *block_size = b->size;
    *info = b->info;
    return true;
}

static bool tlsf_retag(void *st, const mp__chunk *chunk, uintptr_t p, const mp__blockinfo *info)
{
    tlsf *t = st;
    if (chunk->small && mp__slab_page_of(chunk, p))
        return mp__slab_retag(t->slab, chunk, p, info);
    tblock *b = live_block(t, chunk, p);
    if (b)
        b->info = *info;
    return b != NULL;
}

/* Cuts the live block p after its first `size` bytes (a multiple of the
 * unit): the rest becomes a live block of its own (a stream's reuse,
 * pool.c). */
static bool tlsf_split(void *st, const mp__chunk *chunk, uintptr_t p, size_t size, const mp__blockinfo *front,
                       const mp__blockinfo *rest)
{
    tlsf *t = st;
    if (chunk->small && mp__slab_page_of(chunk, p))
        return false;
    tblock *b = live_block(t, chunk, p);
    if (!b || !size || (size & (t->unit - 1)) || size >= b->size || !mp__ptrmap_reserve(&t->live))
        return false;
    tblock *n = desc_get(t);
    if (!n)
        return false;
    n->addr = b->addr + size;
    n->size = b->size - size;
    n->chunk = b->chunk;
    n->info = *rest;
    n->prev_phys = b;
    n->next_phys = b->next_phys;
    if (n->next_phys)
        n->next_phys->prev_phys = n;
    b->next_phys = n;
    b->size = size;
    b->info = *front;
    if (chunk->span.smap)
        __atomic_store_n(state_of(t, n), MP__ST_LIVE, __ATOMIC_RELAXED);
    mp__ptrmap_put(&t->live, n->addr, n);
    t->live_blocks++;
    return true;
}

static bool tlsf_merge(void *st, const mp__chunk *chunk, uintptr_t p, uintptr_t next)
{
    tlsf *t = st;
    if (chunk->small && (mp__slab_page_of(chunk, p) || mp__slab_page_of(chunk, next)))
        return false;
    tblock *b = live_block(t, chunk, p), *n = live_block(t, chunk, next);
    if (!b || !n || b->next_phys != n)
        return false;
    b->size += n->size;
    b->next_phys = n->next_phys;
    if (n->next_phys)
        n->next_phys->prev_phys = b;
    if (chunk->span.smap)
        __atomic_store_n(state_of(t, n), MP__ST_FREE, __ATOMIC_RELAXED);
    mp__ptrmap_remove(&t->live, next);
    desc_put(t, n);
    t->live_blocks--;
    return true;
}

static uintptr_t tlsf_before(void *st, const mp__chunk *chunk, uintptr_t p)
{
    tblock *b = live_block(st, chunk, p);
    return b && b->prev_phys ? b->prev_phys->addr : 0;
}

static void tlsf_reset(void *st)
{
    tlsf *t = st;
    if (t->slab)
        mp__slab_reset(t->slab);
    mp__ptrmap_clear(&t->live);
    memset(t->heads, 0, sizeof t->heads);
    memset(t->sl_bitmap, 0, sizeof t->sl_bitmap);
    t->fl_bitmap = 0;
    t->free_bytes = 0;
    t->live_blocks = 0;
    for (size_t i = 0; i < t->chunks.n; i++) {
        mp__chunk *c = t->chunks.v[i];
        if (c->span.smap)
            memset(c->span.smap, 0, (c->span.size >> t->unit_log2) + 1);
        tblock *first = c->sdata;
        for (tblock *b = first->next_phys, *n; b; b = n) {
            n = b->next_phys;
            first->size += b->size;
            desc_put(t, b);
        }
        first->next_phys = NULL;
        first->page = false;
        insert_free(t, first);
        t->free_bytes += first->size;
    }
}

static void tlsf_usage(void *st, mp__usage *u)
{
    tlsf *t = st;
    size_t sfree = 0, slive = 0, pages = 0;
    if (t->slab)
        mp__slab_usage(t->slab, &sfree, &slive, &pages);
    u->live_blocks = t->live_blocks + slive;
    u->free_bytes = t->free_bytes + sfree;
    u->class_free = sfree;
    u->largest_free = 0;
    if (t->fl_bitmap) {
        unsigned fl = mp__fls(t->fl_bitmap);
        for (const tblock *b = t->heads[fl][mp__fls(t->sl_bitmap[fl])]; b; b = b->next_free)
            if (b->size > u->largest_free)
                u->largest_free = b->size;
    }
}

/* A walk of the chunk's blocks: O(blocks in it), and O(windows) for its
 * pages' classes. */
static void tlsf_chunk_usage(void *st, const mp__chunk *chunk, mp__chunk_usage *u, mp__class_usage *classes)
{
    const tlsf *t = st;
    *u = (mp__chunk_usage){0};
    for (const tblock *b = chunk->sdata; b; b = b->next_phys) {
        if (b->free) {
            u->free_bytes += b->size;
            if (b->size > u->largest_free)
                u->largest_free = b->size;
        } else if (b->page) {
            u->page_bytes += b->size;
        } else {
            u->live_blocks++;
        }
    }
    if (t->slab)
        u->live_blocks += mp__slab_chunk_usage(t->slab, chunk, classes);
}

static void tlsf_foreach_live(void *st, mp__live_fn fn, void *ctx)
{
    tlsf *t = st;
    for (size_t i = 0; t->live.slots && i <= t->live.mask; i++) {
        const tblock *b = t->live.slots[i].value;
        const uint8_t *s = t->live.slots[i].key ? state_of(t, b) : NULL;
        if (t->live.slots[i].key && (!s || mp__st_live(__atomic_load_n(s, __ATOMIC_RELAXED))))
            fn(ctx, b->addr, b->size, &b->info);
    }
    if (t->slab)
        mp__slab_foreach_live(t->slab, fn, ctx);
}

static void tlsf_flush(void *st)
{
    tlsf *t = st;
    if (t->slab)
        mp__slab_flush(t->slab);
}

static mp_status tlsf_check(void *st)
{
    tlsf *t = st;
    size_t free_bytes = 0, live = 0, nfree = 0, listed = 0, pages = 0;
    for (size_t i = 0; i < t->chunks.n; i++) {
        const mp__chunk *c = t->chunks.v[i];
        const tblock *b = c->sdata;
        uintptr_t at = c->span.base;
        if (b->prev_phys)
            return mp__fail(MP_ERR_CORRUPTION, "tlsf: chunk %zu's first block has a predecessor", i);
        for (; b; b = b->next_phys) {
            if (b->addr != at || b->size == 0 || (b->size & (t->unit - 1)) || b->chunk != c)
                return mp__fail(MP_ERR_CORRUPTION, "tlsf: block at %#lx (size %zu) breaks the tiling of chunk %zu",
                                (unsigned long)b->addr, b->size, i);
            if (b->next_phys && b->next_phys->prev_phys != b)
                return mp__fail(MP_ERR_CORRUPTION, "tlsf: broken physical links at %#lx", (unsigned long)b->addr);
            if (b->free && b->next_phys && b->next_phys->free)
                return mp__fail(MP_ERR_CORRUPTION, "tlsf: adjacent free blocks at %#lx were not coalesced",
                                (unsigned long)b->addr);
            const uint8_t *s = b->page ? NULL : state_of(t, b);
            if (b->page) {
                const mp__slab_page *pg = mp__slab_page_of(c, b->addr);
                if (b->free || !pg || pg->geo.base != b->addr || pg->page_data != b)
                    return mp__fail(MP_ERR_CORRUPTION, "tlsf: block %#lx is marked a page but no page starts there",
                                    (unsigned long)b->addr);
                pages++;
            }
            if (s && (__atomic_load_n(s, __ATOMIC_RELAXED) == MP__ST_FREE) != b->free)
                return mp__fail(MP_ERR_CORRUPTION, "tlsf: block %#lx is %s but its state byte is %#x",
                                (unsigned long)b->addr, b->free ? "free" : "live", *s);
            if (b->free) {
                free_bytes += b->size;
                nfree++;
            } else if (!b->page) {
                live++;
                if (mp__ptrmap_get(&t->live, b->addr) != b)
                    return mp__fail(MP_ERR_CORRUPTION, "tlsf: live block %#lx is missing from the map",
                                    (unsigned long)b->addr);
            }
            at += b->size;
        }
        if (at - c->span.base != (c->span.size & ~(t->unit - 1)))
            return mp__fail(MP_ERR_CORRUPTION, "tlsf: chunk %zu's blocks cover %zu of %zu bytes", i,
                            (size_t)(at - c->span.base), c->span.size);
    }
    for (unsigned fl = 0; fl < FL_COUNT; fl++) {
        for (unsigned sl = 0; sl < SL_COUNT; sl++) {
            bool bit = (t->sl_bitmap[fl] >> sl) & 1;
            if (bit != (t->heads[fl][sl] != NULL) || (bit && !((t->fl_bitmap >> fl) & 1)))
                return mp__fail(MP_ERR_CORRUPTION, "tlsf: bitmap disagrees with list (%u,%u)", fl, sl);
            for (const tblock *b = t->heads[fl][sl]; b; b = b->next_free) {
                unsigned bfl, bsl;
                mapping(b->size >> t->unit_log2, &bfl, &bsl);
                if (!b->free || bfl != fl || bsl != sl)
                    return mp__fail(MP_ERR_CORRUPTION, "tlsf: block %#lx of size %zu sits in list (%u,%u)",
                                    (unsigned long)b->addr, b->size, fl, sl);
                listed++;
            }
        }
        if (!t->sl_bitmap[fl] && ((t->fl_bitmap >> fl) & 1))
            return mp__fail(MP_ERR_CORRUPTION, "tlsf: first-level bit %u set over empty lists", fl);
    }
    if (listed != nfree || free_bytes != t->free_bytes || live != t->live_blocks || live != t->live.count)
        return mp__fail(MP_ERR_CORRUPTION, "tlsf: counts disagree (free %zu/%zu listed, %zu/%zu bytes, live %zu/%zu/%zu)",
                        nfree, listed, free_bytes, t->free_bytes, live, t->live_blocks, t->live.count);
    size_t sfree, slive, spages = 0;
    if (t->slab)
        mp__slab_usage(t->slab, &sfree, &slive, &spages);
    if (pages != spages)
        return mp__fail(MP_ERR_CORRUPTION, "tlsf: %zu blocks are pages but the slab counts %zu", pages, spages);
    return t->slab ? mp__slab_check(t->slab) : MP_OK;
}

const mp__strategy mp__strategy_tlsf = {
    .name = "variable",
    .uniform = false,
    .chunk_align = MP__SLAB_WIN,
    .create = tlsf_create,
    .destroy = tlsf_destroy,
    .grain = tlsf_grain,
    .chunk_size_for = tlsf_chunk_size_for,
    .attach = tlsf_attach,
    .idle = tlsf_idle,
    .detach = tlsf_detach,
    .alloc = tlsf_alloc,
    .alloc_aligned = tlsf_alloc_aligned,
    .release = tlsf_release,
    .lookup = tlsf_lookup,
    .retag = tlsf_retag,
    .split = tlsf_split,
    .merge = tlsf_merge,
    .before = tlsf_before,
    .keep_info = NULL, /* descriptors always carry the record */
    .reset = tlsf_reset,
    .flush = tlsf_flush,
    .usage = tlsf_usage,
    .chunk_usage = tlsf_chunk_usage,
    .foreach_live = tlsf_foreach_live,
    .check = tlsf_check,
};

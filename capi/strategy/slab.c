/* Small blocks from size-class pages: see slab.h for the layout.
 *
 * Classes are classes.h's spacing from the unit up to MP__SLAB_MAX_BLOCK
 * (16-byte steps to 128 bytes, then four per power of two: a request is
 * rounded up by at most 12.5% above 128 bytes). A page is one window
 * (64 KiB) for classes up to 4 KiB, else the fewest windows that hold 16
 * blocks, so the tail a page cannot use stays under 1/16 of it.
 *
 * Allocation: the class's first listed page (a page with a free block),
 * the newest of its recent frees, else the first clear bit from its hint;
 * a page is listed while it has a free block. No page listed: the class's
 * empty page, else a new one from the source (TLSF), which may fail: the
 * pool grows. Free: the page from the address (window arithmetic), the
 * index from the page's geometry (a multiply, no division), the live bit
 * must be set (so double, interior and foreign frees change nothing). A
 * page that empties stays as its class's spare when the class has none,
 * and otherwise goes back to the source at once, for any class or large
 * block to reuse; mp__slab_flush gives the spares back too.
 *
 * Invariants (mp__slab_check): a page's nlive is its bitmap's count; a
 * page is listed iff it has a free block; recent[] holds distinct clear
 * bits; the bits past the last block are set; records exist only where a
 * tracked block landed.
 *
 * State bytes (strategy.h): when the chunk keeps a state map, a block's
 * byte reads MP__ST_LIVE from its allocation (the lock-free layer then
 * writes its class), and a block whose byte says "held by a thread cache"
 * is not live to release and lookup, as in tlsf.c. */
#include "strategy/slab.h"

#include "strategy/classes.h"

#include "core/sidemem.h"

#include <stdlib.h>
#include <string.h>

#define CLASSES_MAX MP__CLASSES_MAX /* class indexes are what chunk_usage reports (strategy.h) */
#define WORDS (MP__SLAB_WIN / 16 / 64)

struct mp__slab {
    size_t unit;
    unsigned unit_log2;
    unsigned nclasses;
    size_t cls_size[CLASSES_MAX + 1];
    size_t cls_bytes[CLASSES_MAX + 1]; /* a page of the class */
    mp__slab_page *head[CLASSES_MAX + 1]; /* listed pages: a free block each */
    mp__slab_page *spare[CLASSES_MAX + 1]; /* an empty page kept for the class (also listed) */
    uint8_t *cls_of;                       /* (size - 1) >> unit_log2 -> class */
    mp__slab_source src;
    mp__ptrs chunks; /* the chunks with window records */
    size_t free_bytes, live_blocks, pages;
    uint64_t last_seq; /* the newest sequence number recorded */
};

/* Per-block records, once a tracked block lands in a page: one word a
 * block (a free touches one cache line for it), the requested size in the
 * low 16 bits (0: no record, an untracked block) and the low 48 bits of
 * the sequence number above; the number is whole again from the newest
 * one recorded (last_seq), for any block younger than 2^48 allocations. */
#define REC_SIZE_BITS 16
#define REC_SEQ_MASK ((UINT64_C(1) << (64 - REC_SIZE_BITS)) - 1)

static size_t windows_of(const mp__chunk *c)
{
    return ((c->span.base + c->span.size - 1) >> MP__SLAB_WIN_SHIFT) - (c->span.base >> MP__SLAB_WIN_SHIFT) + 1;
}

mp__slab *mp__slab_new(size_t unit, const mp__slab_source *src)
{
    mp__slab *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->unit = unit;
    s->unit_log2 = mp__fls(unit);
    s->src = *src;
    s->nclasses = unit <= MP__SLAB_MAX_BLOCK ? mp__classes(unit, MP__SLAB_MAX_BLOCK, s->cls_size, CLASSES_MAX) : 0;
    if (s->nclasses == 0)
        return s; /* no class fits: every request goes to TLSF */
    for (unsigned c = 1; c <= s->nclasses; c++) {
        size_t b = s->cls_size[c], wins = (16 * b + MP__SLAB_WIN - 1) / MP__SLAB_WIN;
        s->cls_bytes[c] = wins * MP__SLAB_WIN;
    }
    if (!(s->cls_of = malloc(s->cls_size[s->nclasses] >> s->unit_log2))) {
        free(s);
        return NULL;
    }
    mp__classes_index(s->cls_size, s->nclasses, unit, s->cls_of);
    return s;
}

void mp__slab_free(mp__slab *s)
{
    if (!s)
        return;
    free(s->cls_of);
    free(s->chunks.v);
    free(s);
}

size_t mp__slab_max(const mp__slab *s) { return s->nclasses ? s->cls_size[s->nclasses] : 0; }

static inline unsigned class_of(const mp__slab *s, size_t size) { return s->cls_of[(size - 1) >> s->unit_log2]; }

size_t mp__slab_page_bytes(const mp__slab *s, size_t size) { return s->cls_bytes[class_of(s, size)]; }

bool mp__slab_attach(mp__slab *s, mp__chunk *chunk)
{
    if (!s->nclasses)
        return true;
    size_t bytes = windows_of(chunk) * sizeof(mp__slab_page);
    /* Mapped, not allocated: untouched records cost no memory, and the
     * whole array goes back to the kernel with the chunk. */
    void *w = mp__side_map(bytes);
    if (!w || !mp__ptrs_push(&s->chunks, chunk)) {
        mp__side_unmap(w, bytes);
        return false;
    }
    chunk->small = w;
    return true;
}

static void records_free(mp__slab_page *pg)
{
    free(pg->records);
    pg->records = NULL;
}

void mp__slab_detach(mp__slab *s, mp__chunk *chunk)
{
    mp__slab_page *w = chunk->small;
    if (!w)
        return;
    size_t n = windows_of(chunk);
    /* A pool's destroy detaches chunks with pages in them. */
    for (size_t i = 0; i < n; i++)
        if (w[i].lead == i + 1)
            records_free(&w[i]);
    mp__side_unmap(w, n * sizeof *w);
    chunk->small = NULL;
    mp__ptrs_remove(&s->chunks, chunk);
}

/* ---- class lists ---- */

static void list_add(mp__slab *s, mp__slab_page *pg)
{
    MP__ASSERT(!pg->listed && pg->nlive < pg->nblocks);
    pg->prev = NULL;
    pg->next = s->head[pg->cls];
    if (pg->next)
        pg->next->prev = pg;
    s->head[pg->cls] = pg;
    pg->listed = true;
}

static void list_remove(mp__slab *s, mp__slab_page *pg)
{
    MP__ASSERT(pg->listed);
    if (pg->prev)
        pg->prev->next = pg->next;
    else
        s->head[pg->cls] = pg->next;
    if (pg->next)
        pg->next->prev = pg->prev;
    pg->listed = false;
}

/* ---- pages ---- */

static mp__slab_page *page_new(mp__slab *s, unsigned cls)
{
    mp__chunk *c;
    void *data;
    size_t bytes = s->cls_bytes[cls], bsize = s->cls_size[cls];
    uintptr_t base = s->src.take(s->src.ctx, bytes, &c, &data);
    if (!base)
        return NULL;
    mp__slab_page *w = c->small;
    size_t first = (base >> MP__SLAB_WIN_SHIFT) - (c->span.base >> MP__SLAB_WIN_SHIFT), n = bytes >> MP__SLAB_WIN_SHIFT;
    mp__slab_page *pg = &w[first];
    uint32_t nblocks = (uint32_t)(bytes / bsize);
    memset(pg, 0, offsetof(mp__slab_page, live));
    pg->nblocks = nblocks;
    pg->cls = (uint8_t)cls;
    pg->geo = mp__span_make(base, (size_t)nblocks * bsize, bsize);
    pg->geo.chunk = c;
    pg->page_data = data;
    /* Words past the last block's are never searched; the last one's tail
     * bits are set. */
    size_t words = (nblocks + 63) / 64;
    memset(pg->live, 0, words * sizeof *pg->live);
    if (nblocks % 64)
        pg->live[words - 1] = ~0ull << (nblocks % 64);
    for (size_t i = 0; i < n; i++)
        w[first + i].lead = (uint32_t)first + 1;
    s->pages++;
    s->free_bytes += (size_t)nblocks * bsize;
    return pg;
}

static void page_give_back(mp__slab *s, mp__slab_page *pg)
{
    MP__ASSERT(pg->nlive == 0);
    if (pg->listed)
        list_remove(s, pg);
    if (s->spare[pg->cls] == pg)
        s->spare[pg->cls] = NULL;
    mp__chunk *c = pg->geo.chunk;
    mp__slab_page *w = c->small;
    size_t first = (size_t)(pg - w), n = s->cls_bytes[pg->cls] >> MP__SLAB_WIN_SHIFT;
    s->pages--;
    s->free_bytes -= pg->geo.size;
    records_free(pg);
    void *data = pg->page_data;
    for (size_t i = 0; i < n; i++)
        w[first + i].lead = 0;
    s->src.give(s->src.ctx, c, data);
}

static inline uint8_t *state_of(const mp__slab_page *pg, uintptr_t p)
{
    return mp__span_state(&pg->geo.chunk->span, p);
}

/* The index of the live block starting at p, or SIZE_MAX. */
static inline size_t live_index(const mp__slab_page *pg, uintptr_t p)
{
    size_t i = mp__span_index(&pg->geo, p);
    if (i == SIZE_MAX || !((pg->live[i / 64] >> (i % 64)) & 1))
        return SIZE_MAX;
    const uint8_t *st = state_of(pg, p);
    return !st || mp__st_live(__atomic_load_n(st, __ATOMIC_RELAXED)) ? i : SIZE_MAX;
}

static bool record(mp__slab *s, mp__slab_page *pg, size_t i, const mp__blockinfo *info)
{
    uint64_t *r = pg->records;
    if (!info->tracked) {
        if (r)
            r[i] = 0;
        return true;
    }
    if (!r && !(r = pg->records = calloc(pg->nblocks, sizeof *r)))
        return false;
    MP__ASSERT(info->requested > 0 && info->requested < (1u << REC_SIZE_BITS));
    r[i] = (info->seq & REC_SEQ_MASK) << REC_SIZE_BITS | info->requested;
    if (info->seq > s->last_seq)
        s->last_seq = info->seq;
    return true;
}

static void info_of(const mp__slab *s, const mp__slab_page *pg, size_t i, mp__blockinfo *info)
{
    const uint64_t *r = pg->records;
    uint64_t w = r ? r[i] : 0;
    if (w & ((1u << REC_SIZE_BITS) - 1)) {
        uint64_t low = w >> REC_SIZE_BITS;
        *info = (mp__blockinfo){(size_t)(w & ((1u << REC_SIZE_BITS) - 1)),
                                s->last_seq - ((s->last_seq - low) & REC_SEQ_MASK), true};
    } else {
        *info = (mp__blockinfo){pg->geo.grain, 0, false};
    }
}

/* The class for size whose blocks start at multiples of align, or 0. */
static unsigned class_for(const mp__slab *s, size_t size, size_t align)
{
    if (size > mp__slab_max(s))
        return 0;
    unsigned c = class_of(s, size);
    if (align <= s->unit)
        return c;
    /* Pages start on a window: a class that is a multiple of align has
     * every block aligned (powers of two up to the largest class are
     * classes). */
    for (; c <= s->nclasses; c++)
        if (!(s->cls_size[c] & (align - 1)))
            return c;
    return 0;
}

void *mp__slab_alloc(mp__slab *s, size_t size, size_t align, const mp__blockinfo *info)
{
    unsigned c = class_for(s, size, align);
    if (!c)
        return NULL;
    mp__slab_page *pg = s->head[c];
    if (MP__UNLIKELY(!pg)) {
        if (!(pg = page_new(s, c)))
            return NULL;
        list_add(s, pg);
    }
    size_t i;
    if (pg->nrecent) {
        i = pg->recent[--pg->nrecent];
    } else {
        size_t w = pg->hint;
        while (!~pg->live[w])
            w++;
        pg->hint = (uint32_t)w;
        i = w * 64 + mp__ffs(~pg->live[w]);
    }
    MP__ASSERT(i < pg->nblocks && !((pg->live[i / 64] >> (i % 64)) & 1));
    if (MP__UNLIKELY(!record(s, pg, i, info))) {
        if (pg->nlive == 0 && s->spare[c] != pg)
            page_give_back(s, pg); /* a page made for this block */
        else if (pg->nrecent < MP__SLAB_RECENT)
            pg->recent[pg->nrecent++] = (uint16_t)i;
        return NULL;
    }
    pg->live[i / 64] |= 1ull << (i % 64);
    if (pg->nlive++ == 0 && s->spare[c] == pg)
        s->spare[c] = NULL;
    if (pg->nlive == pg->nblocks)
        list_remove(s, pg);
    s->live_blocks++;
    s->free_bytes -= pg->geo.grain;
    uintptr_t p = pg->geo.base + i * pg->geo.grain;
    uint8_t *st = state_of(pg, p);
    if (st)
        __atomic_store_n(st, MP__ST_LIVE, __ATOMIC_RELAXED);
    return (void *)p;
}

mp_status mp__slab_release(mp__slab *s, mp__chunk *chunk, uintptr_t p, mp__blockinfo *info)
{
    mp__slab_page *pg = mp__slab_page_of(chunk, p);
    size_t i = pg ? live_index(pg, p) : SIZE_MAX;
    if (i == SIZE_MAX)
        return MP_ERR_INVALID_POINTER;
    info_of(s, pg, i, info);
    uint8_t *st = state_of(pg, p);
    if (st)
        __atomic_store_n(st, MP__ST_FREE, __ATOMIC_RELAXED);
    pg->live[i / 64] &= ~(1ull << (i % 64));
    if (i / 64 < pg->hint)
        pg->hint = (uint32_t)(i / 64);
    if (pg->nrecent == MP__SLAB_RECENT) { /* the oldest stays free in the bitmap only */
        memmove(pg->recent, pg->recent + 1, (MP__SLAB_RECENT - 1) * sizeof *pg->recent);
        pg->nrecent--;
    }
    pg->recent[pg->nrecent++] = (uint16_t)i;
    s->live_blocks--;
    s->free_bytes += pg->geo.grain;
    if (pg->nlive-- == pg->nblocks)
        list_add(s, pg);
    if (pg->nlive == 0) {
        if (!s->spare[pg->cls])
            s->spare[pg->cls] = pg;
        else if (s->spare[pg->cls] != pg)
            page_give_back(s, pg);
    }
    return MP_OK;
}

bool mp__slab_lookup(mp__slab *s, const mp__chunk *chunk, uintptr_t p, size_t *block_size, mp__blockinfo *info)
{
    (void)s;
    const mp__slab_page *pg = mp__slab_page_of(chunk, p);
    size_t i = pg ? live_index(pg, p) : SIZE_MAX;
    if (i == SIZE_MAX)
        return false;
    *block_size = pg->geo.grain;
    info_of(s, pg, i, info);
    return true;
}

bool mp__slab_retag(mp__slab *s, const mp__chunk *chunk, uintptr_t p, const mp__blockinfo *info)
{
    mp__slab_page *pg = mp__slab_page_of(chunk, p);
    size_t i = pg ? live_index(pg, p) : SIZE_MAX;
    return i != SIZE_MAX && record(s, pg, i, info);
}

void mp__slab_flush(mp__slab *s)
{
    for (unsigned c = 1; c <= s->nclasses; c++)
        if (s->spare[c])
            page_give_back(s, s->spare[c]);
}

void mp__slab_reset(mp__slab *s)
{
    for (size_t k = 0; k < s->chunks.n; k++) {
        mp__chunk *c = s->chunks.v[k];
        mp__slab_page *w = c->small;
        size_t n = windows_of(c);
        for (size_t i = 0; i < n; i++) {
            if (w[i].lead == i + 1)
                records_free(&w[i]);
            w[i].lead = 0;
        }
    }
    memset(s->head, 0, sizeof s->head);
    memset(s->spare, 0, sizeof s->spare);
    s->free_bytes = s->live_blocks = s->pages = 0;
}

void mp__slab_usage(const mp__slab *s, size_t *free_bytes, size_t *live_blocks, size_t *pages)
{
    *free_bytes = s->free_bytes;
    *live_blocks = s->live_blocks;
    *pages = s->pages;
}

size_t mp__slab_chunk_usage(const mp__slab *s, const mp__chunk *chunk, mp__class_usage *classes)
{
    const mp__slab_page *w = chunk->small;
    size_t live = 0;
    for (size_t i = 0, n = w ? windows_of(chunk) : 0; i < n; i++) {
        const mp__slab_page *pg = &w[i];
        if (pg->lead != i + 1)
            continue; /* no page, or not its first window */
        live += pg->nlive;
        if (classes) {
            mp__class_usage *c = &classes[pg->cls];
            c->block_size = s->cls_size[pg->cls];
            c->pages++;
            c->page_bytes += s->cls_bytes[pg->cls];
            c->used_blocks += pg->nlive;
            c->free_blocks += pg->nblocks - pg->nlive;
        }
    }
    return live;
}

/* The page after position *k (chunk), *i (window), or NULL at the end:
 *     for (size_t k = 0, i = 0; (pg = next_page(s, &k, &i));) */
static mp__slab_page *next_page(const mp__slab *s, size_t *k, size_t *i)
{
    for (; *k < s->chunks.n; (*k)++, *i = 0) {
        const mp__chunk *c = s->chunks.v[*k];
        mp__slab_page *w = c->small;
        for (size_t n = windows_of(c); *i < n; (*i)++)
            if (w[*i].lead == *i + 1)
                return &w[(*i)++];
    }
    return NULL;
}

void mp__slab_foreach_live(mp__slab *s, mp__live_fn fn, void *ctx)
{
    mp__slab_page *pg;
    for (size_t k = 0, j = 0; (pg = next_page(s, &k, &j));) {
        for (size_t i = 0; i < pg->nblocks; i++) {
            uintptr_t p = pg->geo.base + i * pg->geo.grain;
            if (live_index(pg, p) != SIZE_MAX) {
                mp__blockinfo info;
                info_of(s, pg, i, &info);
                fn(ctx, p, pg->geo.grain, &info);
            }
        }
    }
}

mp_status mp__slab_check(mp__slab *s)
{
    size_t pages = 0, live = 0, free_bytes = 0;
    mp_status st = MP_OK;
    mp__slab_page *pg;
    for (size_t k = 0, j = 0; st == MP_OK && (pg = next_page(s, &k, &j));) {
        size_t words = (pg->nblocks + 63) / 64, count = 0;
        for (size_t w = 0; w < words; w++)
            count += (size_t)__builtin_popcountll(pg->live[w]);
        if (pg->nblocks % 64)
            count -= 64 - pg->nblocks % 64;
        bool listed = false;
        for (const mp__slab_page *q = s->head[pg->cls]; q; q = q->next)
            listed |= q == pg;
        if (count != pg->nlive)
            st = mp__fail(MP_ERR_CORRUPTION, "slab: page %#lx counts %u live blocks, its bitmap %zu",
                          (unsigned long)pg->geo.base, pg->nlive, count);
        else if (listed != (pg->nlive < pg->nblocks) || listed != pg->listed)
            st = mp__fail(MP_ERR_CORRUPTION, "slab: page %#lx (%u of %u live) is %slisted", (unsigned long)pg->geo.base,
                          pg->nlive, pg->nblocks, listed ? "" : "not ");
        else if (pg->nblocks % 64 && (pg->live[words - 1] >> (pg->nblocks % 64)) != ~0ull >> (pg->nblocks % 64))
            st = mp__fail(MP_ERR_CORRUPTION, "slab: page %#lx has a clear bit past its last block",
                          (unsigned long)pg->geo.base);
        for (unsigned r = 0; st == MP_OK && r < pg->nrecent; r++) {
            size_t i = pg->recent[r];
            bool dup = false;
            for (unsigned q = r + 1; q < pg->nrecent; q++)
                dup |= pg->recent[q] == i;
            if (i >= pg->nblocks || ((pg->live[i / 64] >> (i % 64)) & 1) || dup)
                st = mp__fail(MP_ERR_CORRUPTION, "slab: page %#lx lists block %zu as recently freed wrongly",
                              (unsigned long)pg->geo.base, i);
        }
        pages++;
        live += pg->nlive;
        free_bytes += (size_t)(pg->nblocks - pg->nlive) * pg->geo.grain;
    }
    if (st == MP_OK && (pages != s->pages || live != s->live_blocks || free_bytes != s->free_bytes))
        st = mp__fail(MP_ERR_CORRUPTION, "slab: counts disagree (pages %zu/%zu, live %zu/%zu, free bytes %zu/%zu)",
                      pages, s->pages, live, s->live_blocks, free_bytes, s->free_bytes);
    return st;
}

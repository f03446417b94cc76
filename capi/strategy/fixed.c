/* Fixed-size strategy: equal blocks of `stride` bytes carved from chunks.
 *
 * Algorithm. Each chunk is an array of blocks. Freed blocks go on one LIFO
 * stack (so the most recently freed, cache-warm block is reused first);
 * blocks never handed out yet are carved lazily from a chunk's carve mark,
 * so attaching a chunk and resetting cost O(chunks), not O(blocks).
 *
 * Bookkeeping lives outside the chunks: a state byte per block, which is
 * the chunk's state map (the pool's; pool.c) (strategy.h: 0 free, 1 live, MP__ST_LIVE live and
 * kept off the thread caches, MP__ST_CACHED | 1 held by a thread cache)
 * and, when asked for, an mp__blockinfo per block. That is what makes a
 * foreign, interior or double-freed pointer detectable in O(1) and keeps
 * GPU memory untouched.
 *
 * Invariants (checked by fixed_check; MP__ASSERT checks the counts at
 * each release): each block below a chunk's carve mark
 * is either live (cached counts as live here) or on the free stack, exactly once; blocks at or above the
 * mark are neither; live counts add up per chunk and in total; the stack has
 * room for every block of every chunk.
 *
 * Complexity: alloc O(1); release O(1) once the pool has found the chunk.
 */
#include "strategy/strategy.h"

#include <stdlib.h>
#include <string.h>

typedef struct fchunk {
    mp__chunk *chunk;
    size_t nblocks, carved, live;
    uint8_t *state;
    mp__blockinfo *info; /* NULL unless keep_info was ever on */
} fchunk;

typedef struct fentry {
    fchunk *fc;
    size_t idx;
} fentry;

typedef struct fixed {
    size_t stride;
    bool keep_info;
    fentry *stack;
    size_t top, stack_cap;
    mp__ptrs chunks; /* the fchunk records, in attach order */
    size_t carve; /* chunks below this index are fully carved */
    size_t live, total_blocks;
} fixed;

/* State bytes are read by the lock-free layer with no lock: every access
 * here is atomic (relaxed: the pool lock orders the rest). */
static inline uint8_t byte_get(const fchunk *fc, size_t i) { return __atomic_load_n(&fc->state[i], __ATOMIC_RELAXED); }
static inline void byte_set(fchunk *fc, size_t i, uint8_t v) { __atomic_store_n(&fc->state[i], v, __ATOMIC_RELAXED); }

static void *fixed_create(const mp__strategy_params *params)
{
    fixed *f = calloc(1, sizeof *f);
    if (f) {
        f->stride = params->stride;
        f->keep_info = params->keep_info;
    }
    return f;
}

static void fchunk_free(fchunk *fc)
{
    free(fc->info);
    free(fc);
}

static void fixed_destroy(void *st)
{
    fixed *f = st;
    for (size_t i = 0; i < f->chunks.n; i++)
        fchunk_free(f->chunks.v[i]);
    free(f->chunks.v);
    free(f->stack);
    free(f);
}

static size_t fixed_grain(const mp__strategy_params *params) { return params->stride; }

static size_t fixed_chunk_size_for(void *st, size_t size)
{
    (void)size;
    return ((fixed *)st)->stride;
}

static mp_status fixed_attach(void *st, mp__chunk *chunk)
{
    fixed *f = st;
    size_t n = chunk->span.size / f->stride;
    fchunk *fc = calloc(1, sizeof *fc);
    if (!fc || n == 0)
        goto oom;
    fc->chunk = chunk;
    fc->nblocks = n;
    fc->state = chunk->span.smap; /* n + 1 bytes: a stride-aligned offset in the tail reads 0 */
    if (f->keep_info && !(fc->info = calloc(n, sizeof *fc->info)))
        goto oom;
    bool ok1, ok2 = false;
    f->stack = mp__grow(f->stack, &f->stack_cap, f->total_blocks + n, sizeof *f->stack, &ok1);
    if (ok1)
        ok2 = mp__ptrs_push(&f->chunks, fc);
    if (!ok2)
        goto oom;
    f->total_blocks += n;
    chunk->sdata = fc;
    return MP_OK;
oom:
    if (fc)
        fchunk_free(fc);
    return mp__fail(MP_ERR_OUT_OF_MEMORY, "no host memory for the bookkeeping of a %zu-byte chunk", chunk->span.size);
}

static bool fixed_idle(void *st, const mp__chunk *chunk)
{
    (void)st;
    return ((const fchunk *)chunk->sdata)->live == 0;
}

static void fixed_detach(void *st, mp__chunk *chunk)
{
    fixed *f = st;
    fchunk *fc = chunk->sdata;
    size_t w = 0;
    for (size_t r = 0; r < f->top; r++)
        if (f->stack[r].fc != fc)
            f->stack[w++] = f->stack[r];
    f->top = w;
    mp__ptrs_remove(&f->chunks, fc);
    f->carve = 0;
    f->total_blocks -= fc->nblocks;
    fchunk_free(fc);
}

static void *fixed_alloc(void *st, size_t size, const mp__blockinfo *info, size_t *block_size)
{
    (void)size;
    fixed *f = st;
    if (block_size)
        *block_size = f->stride;
    fchunk *fc;
    size_t idx;
    if (MP__LIKELY(f->top > 0)) {
        fentry e = f->stack[--f->top];
        fc = e.fc;
        idx = e.idx;
        MP__ASSERT(idx < fc->carved && byte_get(fc, idx) == 0); /* a stacked block is carved and free */
    } else {
        while (f->carve < f->chunks.n && ((fchunk *)f->chunks.v[f->carve])->carved ==
                                             ((fchunk *)f->chunks.v[f->carve])->nblocks)
            f->carve++;
        if (f->carve == f->chunks.n)
            return NULL;
        fc = f->chunks.v[f->carve];
        idx = fc->carved++;
    }
    byte_set(fc, idx, 1);
    fc->live++;
    f->live++;
    if (fc->info)
        fc->info[idx] = *info;
    return (void *)(fc->chunk->span.base + idx * f->stride);
}

/* The index of the block starting at p, or SIZE_MAX if p starts none. */
static size_t block_index(const fixed *f, const mp__chunk *chunk, uintptr_t p)
{
    (void)f;
    const fchunk *fc = chunk->sdata;
    size_t idx = mp__span_index(&chunk->span, p); /* the grain is the stride */
    if (idx == SIZE_MAX || idx >= fc->carved || !mp__st_live(byte_get(fc, idx)))
        return SIZE_MAX;
    return idx;
}

static mp_status fixed_release(void *st, mp__chunk *chunk, uintptr_t p, mp__blockinfo *info, size_t *block_size)
{
    fixed *f = st;
    if (block_size)
        *block_size = f->stride;
    fchunk *fc = chunk->sdata;
    size_t idx = block_index(f, chunk, p);
    if (idx == SIZE_MAX)
        return MP_ERR_INVALID_POINTER;
    if (fc->info)
        *info = fc->info[idx];
    else
        memset(info, 0, sizeof *info);
    /* A live block is counted live, and the stack has room for every block. */
    MP__ASSERT(fc->live > 0 && f->live >= fc->live && f->top < f->total_blocks && f->total_blocks <= f->stack_cap);
    byte_set(fc, idx, 0);
    fc->live--;
    f->live--;
    f->stack[f->top++] = (fentry){fc, idx};
    return MP_OK;
}

static bool fixed_lookup(void *st, const mp__chunk *chunk, uintptr_t p, size_t *block_size, mp__blockinfo *info)
{
    fixed *f = st;
    const fchunk *fc = chunk->sdata;
    size_t idx = block_index(f, chunk, p);
    if (idx == SIZE_MAX)
        return false;
    *block_size = f->stride;
    if (fc->info)
        *info = fc->info[idx];
    else
        memset(info, 0, sizeof *info);
    return true;
}

static bool fixed_retag(void *st, const mp__chunk *chunk, uintptr_t p, const mp__blockinfo *info)
{
    fchunk *fc = chunk->sdata;
    size_t idx = block_index(st, chunk, p);
    if (idx != SIZE_MAX && fc->info)
        fc->info[idx] = *info;
    return idx != SIZE_MAX;
}

static mp_status fixed_keep_info(void *st, bool on)
{
    fixed *f = st;
    if (!on)
        return MP_OK; /* arrays stay: live blocks still need their records */
    for (size_t i = 0; i < f->chunks.n; i++) {
        fchunk *fc = f->chunks.v[i];
        if (!fc->info && !(fc->info = calloc(fc->nblocks, sizeof *fc->info)))
            return mp__fail(MP_ERR_OUT_OF_MEMORY, "no host memory for %zu allocation records", fc->nblocks);
    }
    f->keep_info = true;
    return MP_OK;
}

static void fixed_reset(void *st)
{
    fixed *f = st;
    for (size_t i = 0; i < f->chunks.n; i++) {
        fchunk *fc = f->chunks.v[i];
        memset(fc->state, 0, fc->carved);
        fc->carved = 0;
        fc->live = 0;
    }
    f->top = 0;
    f->carve = 0;
    f->live = 0;
}

static void fixed_usage(void *st, mp__usage *u)
{
    fixed *f = st;
    u->live_blocks = f->live;
    u->free_bytes = (f->total_blocks - f->live) * f->stride;
    u->largest_free = u->free_bytes ? f->stride : 0;
}

static void fixed_chunk_usage(void *st, const mp__chunk *chunk, mp__chunk_usage *u, mp__class_usage *classes)
{
    const fixed *f = st;
    const fchunk *fc = chunk->sdata;
    size_t nfree = fc->nblocks - fc->live;
    *u = (mp__chunk_usage){.free_bytes = nfree * f->stride, .largest_free = nfree ? f->stride : 0,
                           .live_blocks = fc->live};
    if (classes) {
        classes[1].block_size = f->stride;
        classes[1].used_blocks += fc->live;
        classes[1].free_blocks += nfree;
    }
}

static void fixed_foreach_live(void *st, mp__live_fn fn, void *ctx)
{
    fixed *f = st;
    static const mp__blockinfo none;
    for (size_t i = 0; i < f->chunks.n; i++) {
        const fchunk *fc = f->chunks.v[i];
        for (size_t b = 0; b < fc->carved; b++)
            if (mp__st_live(byte_get(fc, b)))
                fn(ctx, fc->chunk->span.base + b * f->stride, f->stride, fc->info ? &fc->info[b] : &none);
    }
}

static mp_status fixed_check(void *st)
{
    fixed *f = st;
    size_t live = 0, blocks = 0, onstack = 0;
    mp_status s = MP_OK;
    /* Mark stacked blocks 0xFF to find strays and duplicates, then unmark. */
    size_t marked = 0;
    for (; marked < f->top; marked++) {
        fentry e = f->stack[marked];
        if (e.idx >= e.fc->carved || byte_get(e.fc, e.idx) != 0) {
            s = mp__fail(MP_ERR_CORRUPTION, "fixed pool: free-stack entry %zu (block %zu) is live, uncarved "
                         "or listed twice", marked, e.idx);
            break;
        }
        byte_set(e.fc, e.idx, 0xFF);
    }
    for (size_t i = 0; s == MP_OK && i < f->chunks.n; i++) {
        const fchunk *fc = f->chunks.v[i];
        size_t l = 0, stacked = 0;
        for (size_t b = 0; b < fc->carved; b++) {
            uint8_t v = byte_get(fc, b);
            l += v != 0 && v != 0xFF;
            stacked += v == 0xFF;
        }
        if (l != fc->live || l + stacked != fc->carved || fc->carved > fc->nblocks)
            s = mp__fail(MP_ERR_CORRUPTION, "fixed pool: chunk %zu has %zu live and %zu free of %zu carved "
                         "blocks, but counts %zu live", i, l, stacked, fc->carved, fc->live);
        live += l;
        onstack += stacked;
        blocks += fc->nblocks;
    }
    for (size_t i = 0; i < marked; i++)
        byte_set(f->stack[i].fc, f->stack[i].idx, 0);
    if (s == MP_OK && (live != f->live || onstack != f->top || blocks != f->total_blocks ||
                       f->stack_cap < f->total_blocks))
        s = mp__fail(MP_ERR_CORRUPTION, "fixed pool: totals disagree (live %zu/%zu, stacked %zu/%zu, blocks %zu/%zu)",
                     live, f->live, onstack, f->top, blocks, f->total_blocks);
    return s;
}

const mp__strategy mp__strategy_fixed = {
    .name = "fixed",
    .uniform = true,
    .one_size = true,
    .state_map = true,
    .create = fixed_create,
    .destroy = fixed_destroy,
    .grain = fixed_grain,
    .chunk_size_for = fixed_chunk_size_for,
    .attach = fixed_attach,
    .idle = fixed_idle,
    .detach = fixed_detach,
    .alloc = fixed_alloc,
    .release = fixed_release,
    .lookup = fixed_lookup,
    .retag = fixed_retag,
    .keep_info = fixed_keep_info,
    .reset = fixed_reset,
    .usage = fixed_usage,
    .chunk_usage = fixed_chunk_usage,
    .foreach_live = fixed_foreach_live,
    .check = fixed_check,
};

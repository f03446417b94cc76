/* The strategy seam: how a pool carves chunks into blocks. A strategy keeps
 * all of its bookkeeping in host memory outside the chunks (they may be GPU
 * memory) and never touches the bytes it hands out. The pool serialises
 * calls. Adding a strategy = one file with one mp__strategy, and its line
 * in table.c. */
#ifndef MEMPOOL_STRATEGY_H
#define MEMPOOL_STRATEGY_H

#include "backend/backend.h"

#include <stddef.h>
#include <stdlib.h>

/* What the pool remembers about a live block. */
typedef struct mp__blockinfo {
    size_t requested; /* the caller's size (debug layouts need it) */
    uint64_t seq;     /* allocation sequence number */
    bool tracked;     /* allocated with tracking on: counted in the stats */
} mp__blockinfo;

struct mp__arena;

/* Where a chunk lies and how its state map is indexed: all that a reader
 * needs to find a block's state byte without the chunk record. The pool's
 * chunk table is an array of spans sorted by base (pool.c), and the
 * lock-free layer searches a copy of it (tcache.c), both with
 * mp__span_find. */
typedef struct mp__span {
    uintptr_t base;
    size_t size;
    size_t grain;   /* the bytes one state byte covers: every block starts on a multiple */
    uint64_t recip; /* ceil(2^64 / grain) when grain and size are below 2^32, else 0 */
    unsigned shift; /* log2(grain) when grain is a power of two, else 0 */
    bool front;     /* in the pool's own arena: the lock-free front may serve it */
    /* The state map, when params.state_map (fixed pools: always): one byte
     * per grain bytes of the chunk, owned by the pool (pool.c), kept by the
     * strategy, read by the lock-free layer (tcache.h) without the lock. */
    uint8_t *smap;
    struct mp__chunk *chunk; /* the record (pool.c); never read without the pool lock */
    struct mp__arena *arena; /* its arena (pool.c); likewise */
} mp__span;

_Static_assert(offsetof(mp__span, base) == 0, "mp__upper finds the base first");

_Static_assert(sizeof(mp__span) == 64, "a span is one cache line");

/* A chunk from a backend, owned by the pool's chunk table. What a free
 * reads (sdata, arena, the span's base, size and map) shares the first
 * cache line. */
typedef struct mp__chunk {
    void *sdata; /* the strategy's per-chunk state */
    struct mp__arena *arena;
    mp__span span;
    mp__extent extent;
    void *small; /* the small-block pages' window records (slab.h), or NULL */
    size_t mapped; /* bytes of physical memory behind the chunk: span.size, except where the
                    * backend maps memory on demand (backend.h) */
    struct mp__backed *backed; /* on demand: which granules are memory (core/backing.h); else NULL */
} mp__chunk;

/* The geometry of a chunk of size bytes at base cut in grain-byte units. */
static inline mp__span mp__span_make(uintptr_t base, size_t size, size_t grain)
{
    bool small = grain < ((size_t)1 << 32) && size < ((size_t)1 << 32);
    bool pow2 = (grain & (grain - 1)) == 0;
    return (mp__span){.base = base, .size = size, .grain = grain, .recip = small ? UINT64_MAX / grain + 1 : 0,
                      .shift = pow2 ? 63u - (unsigned)__builtin_clzll(grain) : 0};
}

/* The index of the grain starting at p, or SIZE_MAX when p lies outside
 * the span or off a grain boundary. A hardware divide costs tens of
 * cycles: for a power of two it is a shift, and for 32-bit offsets and
 * divisors the high half of off * ceil(2^64 / d) is the exact quotient
 * (Lemire, Kaser, Kurz 2019). The only division by a grain in the
 * library. */
static inline size_t mp__span_index(const mp__span *s, uintptr_t p)
{
    size_t off = (size_t)(p - s->base), idx;
    if (off >= s->size)
        return SIZE_MAX;
    if (s->shift || s->grain == 1)
        return off & (s->grain - 1) ? SIZE_MAX : off >> s->shift;
    idx = s->recip ? (size_t)(((unsigned __int128)s->recip * off) >> 64) : off / s->grain;
    return idx * s->grain == off ? idx : SIZE_MAX;
}

/* The state byte of the block that would start at p, or NULL when p is
 * not on a grain boundary of the span or the span keeps no map. */
static inline uint8_t *mp__span_state(const mp__span *s, uintptr_t p)
{
    size_t idx = s->smap ? mp__span_index(s, p) : SIZE_MAX;
    return idx != SIZE_MAX ? s->smap + idx : NULL;
}

/* The span of v[0..n) (sorted by base, disjoint) holding address a, or
 * NULL: O(log n). */
static inline const mp__span *mp__span_find(const mp__span *v, size_t n, uintptr_t a)
{
    size_t i = mp__upper(v, n, sizeof *v, a);
    return i && a - v[i - 1].base < v[i - 1].size ? &v[i - 1] : NULL;
}

/* State bytes. A block start reads MP__ST_FREE when no live block starts
 * there; 1..MP__ST_LIVE while the block is live (the strategy writes
 * MP__ST_LIVE, or 1 for a fixed pool, whose blocks are all of cache class
 * 1; the lock-free layer writes its class c); MP__ST_CACHED | c while a
 * thread cache holds it: live to the strategy, free to the user. */
#define MP__ST_FREE 0x00
#define MP__ST_LIVE 0x7F
#define MP__ST_CACHED 0x80

static inline bool mp__st_live(unsigned s) { return s - 1u < MP__ST_LIVE; }

/* A state map of n bytes, zeroed, with a hidden link before byte 0 (which
 * no reader of the map ever reads), so that a retired map can wait in a
 * list (tcache.c) without an allocation. */
typedef struct mp__map_link {
    struct mp__map_link *next;
} mp__map_link;

static inline uint8_t *mp__smap_new(size_t n)
{
    mp__map_link *l = calloc(1, sizeof *l + n);
    return l ? (uint8_t *)(l + 1) : NULL;
}

static inline mp__map_link *mp__smap_link(uint8_t *map) { return (mp__map_link *)(void *)map - 1; }

static inline void mp__smap_free(uint8_t *map)
{
    if (map)
        free(mp__smap_link(map));
}

typedef struct mp__strategy_params {
    size_t unit;     /* every block starts and ends at a multiple of unit */
    size_t stride;   /* fixed-size: bytes per block, a multiple of unit */
    bool keep_info;  /* remember requested size and sequence per block */
    bool state_map;  /* chunks have a state map (fixed pools always do) */
    bool small;      /* serve small requests from size-class pages (slab.h): CPU pools */
    bool best_fit;   /* variable pools: the smallest free block that fits, lowest address first,
                      * rather than the head of the next class (GPU pools: memory over speed) */
} mp__strategy_params;

typedef struct mp__usage {
    size_t free_bytes;
    size_t largest_free;
    size_t live_blocks;
    size_t class_free; /* of free_bytes, those that serve one size class only */
} mp__usage;

/* What one chunk holds (chunk_usage). Small-block pages (slab.h) count as
 * used by the chunk: their free blocks serve one size class, and appear in
 * the classes instead. */
typedef struct mp__chunk_usage {
    size_t free_bytes;   /* free blocks any request may use */
    size_t largest_free; /* the largest of them */
    size_t live_blocks;  /* blocks handed out in it, the pages' small blocks included */
    size_t page_bytes;   /* bytes of its small-block pages */
} mp__chunk_usage;

/* One size class summed over chunks (chunk_usage): its pages and their
 * blocks; a fixed-size strategy's one class is its block size, over its
 * chunks, with no pages. */
typedef struct mp__class_usage {
    size_t block_size; /* 0: the class has nothing yet */
    size_t pages, page_bytes;
    size_t used_blocks; /* handed out: to the user, or to a thread cache */
    size_t free_blocks;
} mp__class_usage;

#define MP__CLASSES_MAX 64 /* classes a strategy reports, indexed 1..MP__CLASSES_MAX */

typedef void (*mp__live_fn)(void *ctx, uintptr_t block, size_t block_size, const mp__blockinfo *info);

typedef struct mp__strategy {
    const char *name;
    bool uniform;   /* every free block serves every request: no fragmentation */
    bool one_size;  /* serves blocks of params.stride bytes only (mp_config.block_size) */
    bool state_map; /* needs a state map on every chunk (params.state_map always on) */
    size_t chunk_align; /* with params.small, chunks start on a multiple of it */
    void *(*create)(const mp__strategy_params *params);
    void (*destroy)(void *st);
    /* The bytes one state byte covers: every block starts on a multiple. */
    size_t (*grain)(const mp__strategy_params *params);
    /* Smallest chunk that can serve a request of size bytes. */
    size_t (*chunk_size_for)(void *st, size_t size);
    mp_status (*attach)(void *st, mp__chunk *chunk);
    bool (*idle)(void *st, const mp__chunk *chunk);
    /* The chunk is idle (a trim), or the pool is being destroyed, blocks
     * and all, and destroy follows. */
    void (*detach)(void *st, mp__chunk *chunk);
    /* NULL when no attached chunk has room: the pool grows and asks again.
     * *block_size (where not NULL): the bytes the block spans, at least
     * size (what a chunk mapped on demand must back). */
    void *(*alloc)(void *st, size_t size, const mp__blockinfo *info, size_t *block_size);
    /* The same for a block whose start is a multiple of align, a power of
     * two above the unit; NULL when the strategy cannot place one. */
    void *(*alloc_aligned)(void *st, size_t size, size_t align, const mp__blockinfo *info, size_t *block_size);
    /* MP_ERR_INVALID_POINTER, changing nothing, unless p starts a live block
     * of chunk. No detail is set: the pool knows the context. *block_size
     * as alloc's. */
    mp_status (*release)(void *st, mp__chunk *chunk, uintptr_t p, mp__blockinfo *info, size_t *block_size);
    bool (*lookup)(void *st, const mp__chunk *chunk, uintptr_t p, size_t *block_size, mp__blockinfo *info);
    /* Rewrites the record of the live block p (an in-place resize): false,
     * changing nothing, for want of memory or when p is no live block. NULL
     * when the strategy cannot. */
    bool (*retag)(void *st, const mp__chunk *chunk, uintptr_t p, const mp__blockinfo *info);
    /* Cuts the live block p after its first size bytes (a multiple of the
     * unit, less than the block): p keeps the front, recorded with front,
     * and the rest becomes a live block of its own, recorded with rest.
     * false, changing nothing, for want of memory or when p is no live
     * block the strategy can cut; NULL when it never can (fixed pools:
     * every block is one size). */
    bool (*split)(void *st, const mp__chunk *chunk, uintptr_t p, size_t size, const mp__blockinfo *front,
                  const mp__blockinfo *rest);
    /* The reverse: the live block next, which p's end touches, joins the
     * live block p, whose record stays. false, changing nothing, where
     * they are not two such blocks; NULL when the strategy never can. */
    bool (*merge)(void *st, const mp__chunk *chunk, uintptr_t p, uintptr_t next);
    /* Where the block (live or free) that ends at the live block p starts;
     * 0 when p is no live block or starts its chunk. NULL with merge. */
    uintptr_t (*before)(void *st, const mp__chunk *chunk, uintptr_t p);
    /* Start (or stop) keeping each block's mp__blockinfo, for tracking; NULL
     * when the strategy always keeps it. */
    mp_status (*keep_info)(void *st, bool on);
    void (*reset)(void *st);
    /* Gives back free memory the strategy keeps at hand (before a trim);
     * NULL when it keeps none. */
    void (*flush)(void *st);
    void (*usage)(void *st, mp__usage *usage);
    /* What chunk holds (O(its blocks)); with classes (MP__CLASSES_MAX + 1
     * entries, indexed by the strategy's class; NULL: not wanted), adds
     * its blocks of each class there. */
    void (*chunk_usage)(void *st, const mp__chunk *chunk, mp__chunk_usage *usage, mp__class_usage *classes);
    void (*foreach_live)(void *st, mp__live_fn fn, void *ctx);
    /* MP_ERR_CORRUPTION with the detail set when an invariant is broken. */
    mp_status (*check)(void *st);
} mp__strategy;

/* The strategies, one per mp_allocator_type (table.c): adding one is its
 * file plus its line in the table. NULL for a type with none. */
const mp__strategy *mp__strategy_for(mp_allocator_type type);

extern const mp__strategy mp__strategy_fixed;
extern const mp__strategy mp__strategy_tlsf;

#endif

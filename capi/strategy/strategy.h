/* The strategy seam: how a pool carves chunks into blocks. A strategy keeps
 * all of its bookkeeping in host memory outside the chunks (they may be GPU
 * memory) and never touches the bytes it hands out. The pool serialises
 * calls. Adding a strategy = one file with one mp__strategy. */
#ifndef MEMPOOL_STRATEGY_H
#define MEMPOOL_STRATEGY_H

#include "backend/backend.h"

#include <stdlib.h>

/* What the pool remembers about a live block. */
typedef struct mp__blockinfo {
    size_t requested; /* the caller's size (debug layouts need it) */
    uint64_t seq;     /* allocation sequence number */
    bool tracked;     /* allocated with tracking on: counted in the stats */
} mp__blockinfo;

struct mp__arena;

/* A chunk from a backend, owned by the pool's chunk table. */
typedef struct mp__chunk {
    uintptr_t base;
    size_t size;
    mp__extent extent;
    struct mp__arena *arena;
    void *sdata; /* the strategy's per-chunk state */
    /* The state map, when params.state_map (fixed pools: always): one byte
     * per grain bytes of the chunk, owned by the pool (pool.c), kept by the
     * strategy, read by the lock-free layer (tcache.h) without the lock. */
    uint8_t *smap;
    size_t grain;
    uint64_t magic; /* ceil(2^64 / grain) when grain < 2^32, else 0 */
} mp__chunk;

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

static inline uint64_t mp__magic(size_t d) { return d < ((size_t)1 << 32) ? UINT64_MAX / d + 1 : 0; }

/* off / d for d = the divisor of magic: a hardware divide costs tens of
 * cycles; for 32-bit offsets and divisors the high half of
 * off * ceil(2^64 / d) is the exact quotient (Lemire, Kaser, Kurz 2019). */
static inline size_t mp__div(size_t off, size_t d, uint64_t magic)
{
    return magic && off < ((size_t)1 << 32) ? (size_t)(((unsigned __int128)magic * off) >> 64) : off / d;
}

/* The state byte of the block that would start at p, or NULL when p is
 * not on a grain boundary of chunk c. */
static inline uint8_t *mp__chunk_state(const mp__chunk *c, uintptr_t p)
{
    size_t off = (size_t)(p - c->base), idx = mp__div(off, c->grain, c->magic);
    return c->smap && off < c->size && idx * c->grain == off ? c->smap + idx : NULL;
}

typedef struct mp__strategy_params {
    size_t unit;     /* every block starts and ends at a multiple of unit */
    size_t stride;   /* fixed-size: bytes per block, a multiple of unit */
    bool keep_info;  /* remember requested size and sequence per block */
    bool state_map;  /* chunks have a state map (fixed pools always do) */
} mp__strategy_params;

typedef struct mp__usage {
    size_t free_bytes;
    size_t largest_free;
    size_t live_blocks;
} mp__usage;

typedef void (*mp__live_fn)(void *ctx, uintptr_t block, size_t block_size, const mp__blockinfo *info);

typedef struct mp__strategy {
    const char *name;
    bool uniform; /* every free block serves every request: no fragmentation */
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
    /* NULL when no attached chunk has room: the pool grows and asks again. */
    void *(*alloc)(void *st, size_t size, const mp__blockinfo *info);
    /* MP_ERR_INVALID_POINTER, changing nothing, unless p starts a live block
     * of chunk. No detail is set: the pool knows the context. */
    mp_status (*release)(void *st, mp__chunk *chunk, uintptr_t p, mp__blockinfo *info);
    bool (*lookup)(void *st, const mp__chunk *chunk, uintptr_t p, size_t *block_size, mp__blockinfo *info);
    /* Start (or stop) keeping each block's mp__blockinfo, for tracking; NULL
     * when the strategy always keeps it. */
    mp_status (*keep_info)(void *st, bool on);
    void (*reset)(void *st);
    void (*usage)(void *st, mp__usage *usage);
    void (*foreach_live)(void *st, mp__live_fn fn, void *ctx);
    /* MP_ERR_CORRUPTION with the detail set when an invariant is broken. */
    mp_status (*check)(void *st);
} mp__strategy;

extern const mp__strategy mp__strategy_fixed;
extern const mp__strategy mp__strategy_tlsf;

#endif

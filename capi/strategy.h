/* The strategy seam: how a pool carves chunks into blocks. A strategy keeps
 * all of its bookkeeping in host memory outside the chunks (they may be GPU
 * memory) and never touches the bytes it hands out. The pool serialises
 * calls. Adding a strategy = one file with one mp__strategy. */
#ifndef MEMPOOL_STRATEGY_H
#define MEMPOOL_STRATEGY_H

#include "backend.h"

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
} mp__chunk;

typedef struct mp__strategy_params {
    size_t unit;     /* every block starts and ends at a multiple of unit */
    size_t stride;   /* fixed-size: bytes per block, a multiple of unit */
    bool keep_info;  /* remember requested size and sequence per block */
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
    /* Smallest chunk that can serve a request of size bytes. */
    size_t (*chunk_size_for)(void *st, size_t size);
    mp_status (*attach)(void *st, mp__chunk *chunk);
    bool (*idle)(void *st, const mp__chunk *chunk);
    void (*detach)(void *st, mp__chunk *chunk);
    /* NULL when no attached chunk has room: the pool grows and asks again. */
    void *(*alloc)(void *st, size_t size, const mp__blockinfo *info);
    /* MP_ERR_INVALID_POINTER, changing nothing, unless p starts a live block
     * of chunk. No detail is set: the pool knows the context. */
    mp_status (*release)(void *st, mp__chunk *chunk, uintptr_t p, mp__blockinfo *info);
    bool (*lookup)(void *st, const mp__chunk *chunk, uintptr_t p, size_t *block_size, mp__blockinfo *info);
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

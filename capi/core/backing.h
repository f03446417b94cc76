/* Physical backing of on-demand chunks (backend.h's reserve_space): a
 * chunk is address space, and a granule of it is memory only while a live
 * block lies on it, or while it waits idle for reuse. The pool reserves
 * one large span of address space and lets its strategy place blocks
 * there as in any chunk, so freed space coalesces across what would have
 * been chunk boundaries; what the device gives up is the granules under
 * live blocks plus the idle ones the release threshold lets it keep.
 *
 * Each granule counts the live blocks on it. The granules a block lacks
 * map as one physical allocation per run of them (the extent's runs), and
 * an allocation goes back whole, once every granule of it is idle. A
 * granule whose count drops to zero stays mapped (idle): the next blocks
 * placed there reuse it at no cost, which is what a training loop's steps
 * do. Idle memory above the
 * pool's release threshold goes back once it has stayed idle for
 * MP__DECAY_NS (jemalloc's dirty-page decay, for device memory): the pool
 * marks epoch boundaries, at most every half decay, each with an event on
 * its stream, and a granule idle since before a boundary that is a decay
 * old, whose event has completed, is unmapped. The event matters: work
 * queued on the stream before a free may still use the block, and
 * unmapping (unlike cudaFree) does not wait for it. Caller holds the pool
 * lock throughout. */
#ifndef MEMPOOL_BACKING_H
#define MEMPOOL_BACKING_H

#include "strategy/strategy.h"

#define MP__DECAY_NS 1000000000ull /* idle memory above the threshold goes back after a second */
#define MP__BACKED_MAPPED 0x80000000u /* in use[]: the granule is memory */
/* The most granules one physical allocation covers: it goes back whole, so
 * a small live block on it keeps all of it (32 MiB with 2 MiB granules, as
 * coarse as PyTorch's large expandable-segment pages), while its cost per
 * byte is already a seventeenth of a granule's own (bench/RESULTS.md). */
#define MP__BACKED_RUN 16

typedef struct mp__backed { /* per on-demand chunk */
    size_t granule;  /* a power of two */
    unsigned shift;  /* log2(granule): no division on the allocation path */
    size_t n;        /* granules */
    size_t lo;       /* granules [0, lo) are all mapped (blocks pack low): no look at them */
    uint32_t *use;   /* per granule: live blocks on it, | MP__BACKED_MAPPED */
    uint32_t *since; /* per idle granule: the release epoch in which it went idle */
} mp__backed;

/* An epoch boundary: granules that went idle before it have been idle
 * since at least t, and no work queued before a free that left them idle
 * runs once its event has completed. */
typedef struct mp__epoch_mark {
    uint32_t epoch; /* the epoch that began here */
    uint64_t t;     /* when (CLOCK_MONOTONIC, ns) */
    void *event;    /* recorded on the pool's stream then; NULL once dropped */
} mp__epoch_mark;

#define MP__MARKS 4

typedef struct mp__backing { /* per pool */
    size_t idle;      /* mapped bytes under no live block */
    size_t threshold; /* idle bytes kept mapped whatever their age (mp_pool_set_release_threshold) */
    uint32_t epoch;   /* the current epoch: granules going idle now get it */
    mp__epoch_mark mark[MP__MARKS]; /* the newest boundaries, oldest first */
    unsigned nmarks;
    unsigned tick;    /* frees past the threshold: the clock is read every 32nd */
    uint64_t maps, unmaps; /* granules mapped and unmapped over the pool's life */
} mp__backing;

mp__backed *mp__backed_new(size_t size, size_t granule);
void mp__backed_free(mp__backed *b);

/* The bytes [block, block + size) of c would map. */
size_t mp__backing_unbacked(const mp__chunk *c, uintptr_t block, size_t size);
/* Maps what [block, block + size) of chunk c needs and counts the block
 * on its granules; on failure nothing changed. *mapped: bytes newly
 * mapped (on failure: mapped, then given back; the device's peak saw
 * them). */
mp_status mp__backing_acquire(mp__backing *bk, const mp__backend *be, mp__chunk *c, int device, uintptr_t block,
                              size_t size, size_t *mapped);
/* acquire's common case: every granule of [block, block + size) mapped
 * already. Then counts the block on them and returns true; else changes
 * nothing and returns false. */
bool mp__backing_count_mapped(mp__backing *bk, mp__chunk *c, uintptr_t block, size_t size);
/* The block [block, block + size) of c is no longer live. */
void mp__backing_release(mp__backing *bk, mp__chunk *c, uintptr_t block, size_t size);
/* A live block of c was cut in two at address at: the granule on which
 * both halves lie, if any, counts one block more. */
void mp__backing_split(mp__backing *bk, mp__chunk *c, uintptr_t at);
/* The reverse: two live blocks of c that meet at address at became one. */
void mp__backing_merge(mp__backing *bk, mp__chunk *c, uintptr_t at);
/* Every block of c is gone (a reset): its mapped granules are all idle. */
void mp__backing_forget(mp__backing *bk, mp__chunk *c);
/* Whether c->mapped matches c's granules; adds its idle bytes to *idle. */
bool mp__backed_check(const mp__chunk *c, size_t *idle);
/* The idle bytes of c. */
size_t mp__backing_idle_of(const mp__chunk *c);
/* Unmaps the physical allocations of c whose granules all went idle in an
 * epoch before `before` (all: every idle one; the caller has waited for the
 * stream), highest first, while more than keep idle bytes stay: whole
 * allocations, so idle bytes may end below keep. Returns the bytes
 * unmapped. */
size_t mp__backing_unmap_idle(mp__backing *bk, const mp__backend *be, mp__chunk *c, int device, bool all,
                              uint32_t before, size_t keep);

#endif

/*
 * mempool_tcache.h: the thread cache's inline fast path, compiled into the
 * caller. Included by <mempool/mempool.h>; may also be included alone.
 *
 * A call into a shared library costs about as much as the whole fast path,
 * so mp_tcache_allocate and mp_tcache_deallocate run the library's own bin
 * steps in the caller, on the cache that mp_pool_thread_cache hands out.
 * Anything they cannot do goes to the exported mp_tcache_*_slow calls.
 *
 * The layout is everything the caller's compiled code relies on:
 *  - the types mp_tcache, mp_tcache_bin and mp_tcache_entry (described in
 *    capi/mempool.abi.lua, declared in mempool.h);
 *  - the state-byte encoding: a live block of class c has state c (1..nbins),
 *    a cached one c | MP_TCACHE_CACHED; anything else is not the fast path's;
 *  - the hot-chunk geometry (hot_base, hot_grains grains of 2^hot_shift
 *    bytes, one state byte each from hot_state);
 *  - the class table (class_of[(size - 1) >> class_shift], or class 1);
 *  - the sentinel bins: the nbins bins follow the struct, and the entry
 *    below each bin's first has p == NULL;
 *  - the code below.
 *
 * Invariant: an entry at or above a bin's top is never read; below it every
 * entry but the sentinel holds a cached block whose state byte is
 * class | MP_TCACHE_CACHED. Only the owning thread (owner == its thread
 * pointer) moves top and bumps the bin's frees (each block put), and only
 * the library moves supplied (the blocks it puts in and takes out); the
 * library sums them for the statistics (allocations = supplied + frees -
 * the blocks the bin holds). owner == 0 sends every call to the exported
 * path.
 */
#ifndef MEMPOOL_MEMPOOL_TCACHE_H
#define MEMPOOL_MEMPOOL_TCACHE_H

/* The layout's version: MAJOR * 100 + MINOR of the ABI version that brought
 * it (101: ABI 1.1; 103: ABI 1.3, whose bins count their blocks for the
 * statistics of counters-only pools). The versioning rule: any change to the layout (the
 * three types, or the code between the markers below, comments aside) is a
 * new layout, numbered after the unreleased ABI version that ships it.
 * abigen fingerprints the layout and refuses a change under a number that
 * capi/abi/tcache-layouts.lua has frozen; `abigen --release` freezes it.
 * The library serves its real caches only to callers of its own layout
 * (mp_pool_thread_cache_layout): any other caller gets a bypass cache whose
 * owner is 0, so that its inline calls all take the exported path, which
 * reads only owner, magic and pool. Those three never move. */
#define MP_TCACHE_LAYOUT 103 /* before mempool.h, which checks it */

#include "mempool.h"

/** The calling thread's cache of pool, checked against this header's layout
 *  (mp_pool_thread_cache_layout): MP_POOL_THREAD_CACHE(pool, &cache). */
#define MP_POOL_THREAD_CACHE(pool, out_cache) mp_pool_thread_cache_layout((pool), MP_TCACHE_LAYOUT, (out_cache))

#ifndef SWIG /* inline: compiled into the caller */

#ifdef __cplusplus
#  define MP__TC_STATIC_ASSERT(c, why) static_assert(c, why)
#else
#  define MP__TC_STATIC_ASSERT(c, why) _Static_assert(c, why) /* mempool.h needs C11 anyway */
#endif
/* What every layout of 1.x keeps: a caller of any layout reads owner; the
 * exported path reads magic and pool. */
MP__TC_STATIC_ASSERT(offsetof(mp_tcache, owner) == 0, "mp_tcache.owner stays at offset 0 in 1.x");
MP__TC_STATIC_ASSERT(offsetof(mp_tcache, magic) == 6 * sizeof(void *) + 12,
                     "mp_tcache.magic keeps its 1.1 offset in 1.x (60 on LP64)");
MP__TC_STATIC_ASSERT(offsetof(mp_tcache, pool) == 6 * sizeof(void *) + 16,
                     "mp_tcache.pool keeps its 1.1 offset in 1.x (64 on LP64)");

/* ---- the layout (fingerprinted by abigen) ---- */

/* Helpers of the two inline calls (not API): the owner test, and a bin's pop
 * and push, which keep the always-on checks: a free is taken only if the
 * block's state byte says "live, of a cached class"; anything else goes to
 * the exported path, which names the error. */
#if (defined(__x86_64__) || defined(__aarch64__)) && defined(__GNUC__)
#  define MP_TCACHE_INLINE 1
#else
#  define MP_TCACHE_INLINE 0 /* mp_tcache_allocate and mp_tcache_deallocate just call */
#endif
#if MP_TCACHE_INLINE
/* Always inlined: g++ at -O2 otherwise keeps the free out of line in a caller with many sites. */
#  define MP__TC_INLINE static inline __attribute__((always_inline))
#else
#  define MP__TC_INLINE static inline
#endif
#define MP_TCACHE_CACHED 0x80u /* state byte of a cached block: class | MP_TCACHE_CACHED */
#define MP_TCACHE_MAGIC 0x74636163u /* "tcac": mp_tcache.magic of a live cache */

#if MP_TCACHE_INLINE
#  if defined(__has_builtin)
#    if __has_builtin(__builtin_thread_pointer)
#      define MP__HAS_THREAD_POINTER 1
#    endif
#  endif
#  ifndef MP__HAS_THREAD_POINTER
#    define MP__HAS_THREAD_POINTER 0
#  endif
MP__TC_INLINE uintptr_t mp__tcache_self(void)
{
    /* A value the compiler knows is fixed for the thread, so a loop reads it
     * once (GCC before 11 has no such builtin on x86-64: the asm reads it
     * at every call). */
#  if defined(__x86_64__) && !MP__HAS_THREAD_POINTER
    uintptr_t tp;
    __asm__("mov %%fs:0, %0" : "=r"(tp)); /* the thread control block's self pointer */
    return tp;
#  else
    return (uintptr_t)__builtin_thread_pointer();
#  endif
}
#endif

#if defined(__GNUC__)
/* The steps every path shares: take block p, the top one of bin b (top is
 * b->top), for class c; and put block ptr with state byte st on top, below
 * end. The owner writes top and frees atomically (relaxed: plain stores):
 * statistics read them from other threads. A take counts nothing (the
 * library derives it), so an allocation pays nothing; a put counts on the
 * bin's own line, which it touches anyway. */
#if defined(__x86_64__) && defined(__GNUC__)
/* One add to memory (its load and its store are each single-copy atomic
 * on an aligned quadword, and the owner is the only writer): half the cost
 * of a relaxed load, add and store, which the compiler keeps apart. */
#  define MP__TCACHE_COUNT(n) __asm__ __volatile__("addq $1, %0" : "+m"(n))
#else
#  define MP__TCACHE_COUNT(n) __atomic_store_n(&(n), __atomic_load_n(&(n), __ATOMIC_RELAXED) + 1, __ATOMIC_RELAXED)
#endif
MP__TC_INLINE void *mp__tcache_take(mp_tcache_bin *b, mp_tcache_entry *top, void *p, unsigned c)
{
    uint8_t *st = top[-1].state;
    __atomic_store_n(&b->top, top - 1, __ATOMIC_RELAXED);
    __atomic_store_n(st, (uint8_t)c, __ATOMIC_RELAXED);
    return p;
}

MP__TC_INLINE void mp__tcache_put(mp_tcache_bin *b, mp_tcache_entry *top, void *ptr, uint8_t *st, unsigned c)
{
    __builtin_prefetch(ptr, 0); /* a freed block is taken again soon: have its line at hand */
    /* Two 8-byte stores, never merged into one 16-byte vector store: the next
     * take loads the halves back, and forwarding a vector store to them
     * stalls (1.6 ns a pair on Zen 4). */
    __atomic_store_n(&top->p, ptr, __ATOMIC_RELAXED);
    __atomic_store_n(&top->state, st, __ATOMIC_RELAXED);
    __atomic_store_n(st, (uint8_t)(c | MP_TCACHE_CACHED), __ATOMIC_RELAXED);
    __atomic_store_n(&b->top, top + 1, __ATOMIC_RELAXED);
    MP__TCACHE_COUNT(b->frees);
}

/* The cache's bins: they follow the struct, so no pointer is loaded to reach them. */
MP__TC_INLINE mp_tcache_bin *mp__tcache_bins(mp_tcache *t)
{
    return (mp_tcache_bin *)(void *)(t + 1);
}

/* The class (bin + 1) of a request of 1..max_size bytes. */
MP__TC_INLINE unsigned mp__tcache_class(const mp_tcache *t, size_t size)
{
    return t->class_of ? t->class_of[(size - 1) >> t->class_shift] : 1u;
}

MP__TC_INLINE void *mp__tcache_pop(mp_tcache *t, size_t size)
{
    if (__builtin_expect(size - 1 >= t->max_size, 0))
        return NULL;
    unsigned c = mp__tcache_class(t, size);
    mp_tcache_bin *b = mp__tcache_bins(t) + (c - 1);
    mp_tcache_entry *top = b->top;
    void *p = top[-1].p;
    if (__builtin_expect(p == NULL, 0))
        return NULL; /* empty: the sentinel */
    return mp__tcache_take(b, top, p, c);
}

MP__TC_INLINE int mp__tcache_push(mp_tcache *t, void *ptr)
{
    /* The grain's index, rotated: an offset that is no multiple of the grain
     * (an interior pointer) sets high bits and fails the one bound check with
     * an offset past the chunk. hot_grains is 0 once the pool's chunks
     * changed: the exported path refreshes hot_*. */
    uintptr_t off = (uintptr_t)ptr - t->hot_base;
    unsigned sh = t->hot_shift;
    uintptr_t i = off >> sh | off << ((0u - sh) & (8 * sizeof off - 1));
    if (__builtin_expect(i >= __atomic_load_n(&t->hot_grains, __ATOMIC_RELAXED), 0))
        return 0;
    uint8_t *st = t->hot_state + i;
    unsigned c = __atomic_load_n(st, __ATOMIC_RELAXED), nbins = t->nbins;
    if (__builtin_expect(c - 1u >= nbins, 0))
        return 0; /* free, cached (a double free), or not a cached class */
    /* One class: the bin must not wait for the state byte (a branch, not a
     * data dependency, as a select would be). */
    mp_tcache_bin *b = mp__tcache_bins(t);
    if (nbins != 1) {
        b += c - 1;
        __asm__("" : "+r"(b)); /* keeps the branch a branch */
    }
    mp_tcache_entry *top = b->top;
    if (__builtin_expect(top == b->end, 0))
        return 0;
    mp__tcache_put(b, top, ptr, st, c);
    return 1;
}
#endif

/** Allocates as mp_pool_allocate does on the cache's pool. Inline: a block of a cached class
 *  comes off the calling thread's bin with no lock, no atomic read-modify-write and no call;
 *  anything else calls mp_tcache_allocate_slow. Same statuses as mp_pool_allocate. */
MP__TC_INLINE mp_status mp_tcache_allocate(mp_tcache *cache, size_t size, void **out_ptr)
{
#if MP_TCACHE_INLINE
    if (__builtin_expect(cache && out_ptr && cache->owner == mp__tcache_self(), 1)) {
        void *p = mp__tcache_pop(cache, size);
        if (__builtin_expect(p != NULL, 1)) {
            *out_ptr = p;
            return MP_OK;
        }
    }
#endif
    /* Through a local, so that the caller's variable never escapes and can
     * stay in a register on the inline path. */
    void *q = NULL;
    mp_status s = mp_tcache_allocate_slow(cache, size, out_ptr ? &q : NULL);
    if (out_ptr)
        *out_ptr = q;
    return s;
}

/** Frees as mp_pool_deallocate does. Inline: a live block of a cached class in the cache's hot
 *  chunk goes onto the calling thread's bin; anything else, a double, foreign or interior
 *  free included, calls mp_tcache_deallocate_slow, which names the error. */
MP__TC_INLINE mp_status mp_tcache_deallocate(mp_tcache *cache, void *ptr)
{
#if MP_TCACHE_INLINE
    if (__builtin_expect(cache && cache->owner == mp__tcache_self(), 1) && mp__tcache_push(cache, ptr))
        return MP_OK;
#endif
    return mp_tcache_deallocate_slow(cache, ptr);
}
/* ---- end of the layout ---- */

#endif /* SWIG */
#endif /* MEMPOOL_MEMPOOL_TCACHE_H */

/* The lock-free layer's slow paths (tcache.h has the fast paths and what
 * is lock-free).
 *
 * Structure. Each (thread, pool) pair gets one cache: a LIFO bin per size
 * class (one class for a fixed pool; for a variable pool, four classes per
 * power of two up to max_cached, each a multiple of the unit). A bin that
 * runs dry pops a full magazine from its class's stack, or carves a batch
 * from the strategy under the pool lock; a bin that fills pushes its older
 * half as a magazine, or, past mag_limit magazines in the stack, hands it
 * back to the strategy under the lock (where TLSF coalesces it).
 *
 * ABA. Magazines live in segments that are never freed while the pool
 * lives and are named by a 32-bit index, so a stack head is one 64-bit word
 * (index + 1, and a 32-bit tag bumped by every push and pop): a pop that
 * read a stale "next" fails its compare-and-swap. A reader may read the
 * next field of a magazine that was popped meanwhile; it is atomic and the
 * memory stays valid.
 *
 * Life cycle. When a thread exits, a pthread key destructor hands its
 * caches' blocks back to the strategy and frees the caches for the next
 * thread. A pool's caches are listed under one process-wide mutex
 * (mp__lf_enter), taken before any pool lock. Reset empties every thread's
 * cache of the pool (the caller promises no concurrent use, as for any
 * reset); destroy frees them all, and each thread forgets its entry for
 * the pool (its uid is gone from the live list) on its next attach or exit.
 * A pool that one thread at a time uses has one solo cache instead, which
 * every thread calling uses in turn (mp__lf_solo): no thread attaches it,
 * none releases it, and its spills go to the strategy at once.
 *
 * Reclamation. The fast paths read a cache's hot chunk (its geometry is
 * copied into the cache; its state map is not) and the slow path searches
 * the current span table, all with no lock, while a trim on another thread
 * may drop a chunk. So a dropped chunk's map and a replaced table are not
 * freed at once but wait in the pool's limbo lists, and each cache
 * publishes what it may be reading (hazard pointers, as Michael 2004):
 *  - haz: the table its owner is searching, set before the search and
 *    checked against the current table (the store-load pattern, with
 *    sequentially consistent fences on both sides), cleared after it;
 *  - pub.hot_state: the map of its hot chunk, for as long as it is hot
 *    (an idle thread's cache keeps one map; exit clears it).
 * After every new table (pool locked), limbo entries that no cache names
 * are freed: a map waits while a hot_state names it, or while any cache
 * searches a replaced table; a table while a haz names it. So limbo holds
 * at most one map per cache and the tables being searched, and a grow/trim
 * cycle leaks nothing. The inline fast path pays nothing for this.
 *
 * Invariants (MP__ASSERT checks the counts at refill and spill):
 *  - A block of the lock-free layer is in exactly one place: the user's
 *    hands, one bin of one cache, one full magazine, or the strategy. Its
 *    state byte says which: MP__ST_CACHED | c in a bin or a magazine (live
 *    to the strategy, free to the user), c (1..nclasses) in the user's
 *    hands after a cache handed it out, 0 when the strategy has it free.
 *    Only a byte 1..nclasses lets a free skip the lock; a cached block goes
 *    back to the strategy with its byte set to c first (to_strategy).
 *  - A block of class c has at least cls_size[c] bytes; bin c of a cache
 *    holds 0..bin_cap[c] entries, below them a sentinel whose p is NULL; a
 *    bin refills only when empty and spills only when full, so a full
 *    magazine holds bin_cap[c] / 2 entries (sized by mag_bytes).
 *  - Only the owning thread changes a cache's bins; other threads read the
 *    counts (stats), and reset, destroy and thread exit empty them.
 *  - A magazine index is on one stack (empty, or full[c]) or held by the
 *    one thread that popped it; a head's tag changes on every push and pop.
 *    nfull[c] and gblocks[c] count full[c]'s magazines and their blocks;
 *    they move beside the push or pop, so they are exact when quiescent,
 *    and nfull[c] stays near mag_limit[c] (racing spills may pass it).
 *  - Lock order: tc_mutex (mp__lf_enter), then the pool lock; mag_mutex
 *    only guards adding a segment.
 *
 * Complexity. The inline allocate and free: O(1), no lock, no atomic
 * read-modify-write. A refill from a magazine or a spill to one: two
 * compare-and-swaps (retried under contention) and a copy of bin_cap[c] / 2
 * entries. A carve or a spill to the strategy: bin_cap[c] / 2 strategy
 * calls under the pool lock, each O(1) after an O(log chunks) chunk lookup.
 * Since refill and spill both leave a bin half full, a thread meets one at
 * most every bin_cap[c] / 2 operations of class c (while the strategy has
 * room): amortised O(1) per operation. A free outside the hot chunk: an
 * O(log chunks) search of the span table. Publishing a table: O(chunks +
 * caches), and reclaim O((caches + limbo) log caches). Attaching a thread:
 * O(caches of the pool + the thread's entries) under tc_mutex; thread exit:
 * one strategy release per cached block.
 *
 * Stats and mp_pool_check count cached blocks as free to the user; the
 * counts are exact when no other thread is inside the pool.
 *
 * Counting (stats.h). Each bin counts the blocks its owner put (frees:
 * every free the cache served, the inline ones included) and the blocks the
 * library moved in and out (supplied: refills, spills, exits, trims,
 * resets); its allocations follow, as supplied + frees - the blocks it
 * holds, so the inline allocation counts nothing. A counters-only pool
 * reads the sums (mp__lf_tally), and its gauge hears of each bin's net
 * count (allocations - frees, in bytes of the class) when the bin refills
 * or spills, or its cache is emptied: marks[c] is the net count last told.
 * Between two of those the net count moves with the bin's count of blocks,
 * so what the gauge has not heard is within a bin's capacity. */
#include "core/instrument.h"
#include "lockfree/tcache.h"
#include "strategy/classes.h"

#include <stdlib.h>
#include <string.h>

__thread char mp__tc_id; /* mp__thread_id's fallback */

/* Under tc_mutex: the live lock-free pools, and the next uid. */
static pthread_mutex_t tc_mutex = PTHREAD_MUTEX_INITIALIZER;
static mp__lf *live_pools;
static uint64_t next_uid = 1;

/* The calling thread's caches (slow paths and thread exit only). An entry
 * is valid while a live pool has its lf and uid. */
typedef struct mine_entry {
    mp__lf *lf;
    uint64_t uid;
    mp__tcache *tc;
} mine_entry;
static __thread mine_entry *mine;
static __thread size_t nmine, mine_cap;

static pthread_once_t tc_once = PTHREAD_ONCE_INIT;
static pthread_key_t tc_key;
static bool tc_key_ok;

void mp__lf_enter(void) { pthread_mutex_lock(&tc_mutex); }
void mp__lf_leave(void) { pthread_mutex_unlock(&tc_mutex); }
void mp__lf_after_fork(void) { pthread_mutex_init(&tc_mutex, NULL); }

/* ---- magazine stacks --------------------------------------------------- */

static inline mp__mag *mag_at(const mp__lf *lf, uint32_t i)
{
    return (mp__mag *)((char *)lf->dir[i / MP__TC_MAG_SEG] + (size_t)(i % MP__TC_MAG_SEG) * lf->mag_bytes);
}

static void stack_push(mp__lf *lf, _Atomic uint64_t *head, uint32_t i)
{
    mp__mag *m = mag_at(lf, i);
    uint64_t h = atomic_load_explicit(head, memory_order_relaxed), n;
    do {
        atomic_store_explicit(&m->next, (uint32_t)h, memory_order_relaxed);
        n = ((h >> 32) + 1) << 32 | (uint64_t)(i + 1);
    } while (!atomic_compare_exchange_weak_explicit(head, &h, n, memory_order_release, memory_order_relaxed));
}

static bool stack_pop(mp__lf *lf, _Atomic uint64_t *head, uint32_t *out)
{
    uint64_t h = atomic_load_explicit(head, memory_order_acquire), n;
    do {
        uint32_t top = (uint32_t)h;
        if (!top)
            return false;
        uint32_t next = atomic_load_explicit(&mag_at(lf, top - 1)->next, memory_order_relaxed);
        n = ((h >> 32) + 1) << 32 | next;
    } while (!atomic_compare_exchange_weak_explicit(head, &h, n, memory_order_acquire, memory_order_acquire));
    *out = (uint32_t)h - 1;
    return true;
}

/* An empty magazine: from the empty stack, else a new segment. */
static bool mag_get(mp__lf *lf, uint32_t *out)
{
    if (stack_pop(lf, &lf->empty, out))
        return true;
    pthread_mutex_lock(&lf->mag_mutex);
    bool ok = stack_pop(lf, &lf->empty, out);
    uint32_t seg = atomic_load_explicit(&lf->nsegs, memory_order_relaxed);
    void *mem = ok || seg == MP__TC_MAG_DIR ? NULL : calloc(MP__TC_MAG_SEG, lf->mag_bytes);
    if (mem) {
        lf->dir[seg] = mem;
        atomic_store_explicit(&lf->nsegs, seg + 1, memory_order_release);
        for (uint32_t i = 1; i < MP__TC_MAG_SEG; i++)
            stack_push(lf, &lf->empty, seg * MP__TC_MAG_SEG + i);
        *out = seg * MP__TC_MAG_SEG;
        ok = true;
    }
    pthread_mutex_unlock(&lf->mag_mutex);
    return ok;
}

/* ---- to and from the strategy (through the pool's batch calls) --------- */

/* Bin c of a cache holds base[0..n): base is end - bin_cap[c], and
 * base[-1] the sentinel (p NULL) that tells the inline pop it is empty. */
static inline mp__tentry *bin_base(const mp__lf *lf, const mp__tbin *b, unsigned c)
{
    return b->end - lf->bin_cap[c];
}

static inline uint32_t bin_count(const mp__lf *lf, const mp__tbin *b, unsigned c)
{
    return (uint32_t)(__atomic_load_n(&b->top, __ATOMIC_RELAXED) - bin_base(lf, b, c));
}

/* The library's moves of blocks into and out of a bin (refill, spill, exit,
 * trim, reset), which count in the bin's supplied, not as the owner's
 * allocations or frees. */
static inline void bin_set(const mp__lf *lf, mp__tbin *b, unsigned c, uint32_t n)
{
    uint64_t moved = (uint64_t)n - bin_count(lf, b, c);
    __atomic_store_n(&b->supplied, __atomic_load_n(&b->supplied, __ATOMIC_RELAXED) + moved, __ATOMIC_RELAXED);
    __atomic_store_n(&b->top, bin_base(lf, b, c) + n, __ATOMIC_RELAXED);
}

/* ---- counting ------------------------------------------------------------ */

/* A bin's count of blocks changes by -1 at each allocation, +1 at each
 * free, and by what the library moves (supplied); the inline put counts
 * the frees. So allocations = supplied + frees - count, and the blocks
 * the owner handed out and has not had back (its net count) = supplied -
 * count. */
static inline uint64_t bin_allocs(const mp__lf *lf, const mp__tbin *b, unsigned c)
{
    return __atomic_load_n(&b->supplied, __ATOMIC_RELAXED) + __atomic_load_n(&b->frees, __ATOMIC_RELAXED) -
           bin_count(lf, b, c);
}

static inline uint64_t bin_net(const mp__lf *lf, const mp__tbin *b, unsigned c)
{
    return __atomic_load_n(&b->supplied, __ATOMIC_RELAXED) - bin_count(lf, b, c);
}

/* Tells the gauge how far bin c's net count moved since it last did (the
 * owner, or a caller with no call of the owner running). */
static void tell_gauge(const mp__lf *lf, mp__tcache *tc, unsigned c)
{
    if (!lf->gauge)
        return;
    uint64_t net = bin_net(lf, &tc->bins[c - 1], c);
    uint64_t moved = net - tc->marks[c - 1];
    tc->marks[c - 1] = net;
    if (moved)
        mp__gauge_add(lf->gauge, moved * lf->cls_size[c]);
}

void mp__lf_tally(const mp__lf *lf, mp__tally *t)
{
    *t = (mp__tally){0};
    for (const mp__tcache *tc = atomic_load_explicit(&lf->caches, memory_order_acquire); tc; tc = tc->next) {
        for (unsigned c = 1; c <= tc->pub.nbins; c++) {
            const mp__tbin *b = &tc->bins[c - 1];
            uint64_t out = __atomic_load_n(&b->frees, __ATOMIC_RELAXED), in = bin_allocs(lf, b, c);
            t->allocs += in;
            t->frees += out;
            t->bytes_in += in * lf->cls_size[c];
            t->bytes_out += out * lf->cls_size[c];
        }
    }
}

static void give_back(const mp__lf *lf, const mp__tentry *e, uint32_t n)
{
    if (n)
        lf->src.give_back(lf->src.ctx, e, n);
}

static void bin_to_strategy(const mp__lf *lf, mp__tbin *b, unsigned c)
{
    give_back(lf, bin_base(lf, b, c), bin_count(lf, b, c));
    bin_set(lf, b, c, 0);
}

static void cache_to_strategy(const mp__lf *lf, mp__tcache *tc)
{
    for (unsigned c = 1; c <= tc->pub.nbins; c++) {
        bin_to_strategy(lf, &tc->bins[c - 1], c);
        tell_gauge(lf, tc, c);
    }
}

static uint32_t refill(mp__lf *lf, mp__tcache *tc, unsigned c)
{
    mp__tbin *b = &tc->bins[c - 1];
    mp__tentry *e = bin_base(lf, b, c);
    uint32_t i, n = 0;
    MP__ASSERT(bin_count(lf, b, c) == 0); /* only an empty bin refills */
    if (stack_pop(lf, &lf->full[c], &i)) {
        mp__mag *m = mag_at(lf, i);
        n = m->n;
        MP__ASSERT(n > 0 && n <= lf->bin_cap[c] / 2); /* a magazine holds half a bin */
        memcpy(e, m->e, n * sizeof *m->e);
        atomic_fetch_sub_explicit(&lf->nfull[c], 1, memory_order_relaxed);
        atomic_fetch_sub_explicit(&lf->gblocks[c], n, memory_order_relaxed);
        stack_push(lf, &lf->empty, i);
    } else {
        /* Carve a batch without growing: when the strategy has no room, the
         * caller takes the locked path, which grows and runs the policy. */
        n = lf->src.carve(lf->src.ctx, lf->cls_size[c], lf->bin_cap[c] / 2, e, (uint8_t)(c | MP__ST_CACHED));
        for (uint32_t j = 0; j < n / 2; j++) { /* lowest address on top */
            mp__tentry t = e[j];
            e[j] = e[n - 1 - j];
            e[n - 1 - j] = t;
        }
    }
    bin_set(lf, b, c, n);
    return n;
}

static void spill(mp__lf *lf, mp__tcache *tc, unsigned c)
{
    mp__tbin *b = &tc->bins[c - 1];
    mp__tentry *e = bin_base(lf, b, c);
    uint32_t k = lf->bin_cap[c] / 2, i; /* the older half, at the bottom */
    MP__ASSERT(bin_count(lf, b, c) == lf->bin_cap[c]); /* only a full bin spills */
    MP__ASSERT(sizeof(mp__mag) + k * sizeof *e <= lf->mag_bytes);
    if (atomic_load_explicit(&lf->nfull[c], memory_order_relaxed) < lf->mag_limit[c] && mag_get(lf, &i)) {
        mp__mag *m = mag_at(lf, i);
        memcpy(m->e, e, k * sizeof *e);
        m->n = k;
        atomic_fetch_add_explicit(&lf->gblocks[c], k, memory_order_relaxed);
        atomic_fetch_add_explicit(&lf->nfull[c], 1, memory_order_relaxed);
        stack_push(lf, &lf->full[c], i);
    } else {
        give_back(lf, e, k);
    }
    uint32_t n = bin_count(lf, b, c) - k;
    memmove(e, e + k, n * sizeof *e);
    bin_set(lf, b, c, n);
}

/* ---- spans -------------------------------------------------------------- */

static bool search_span(mp__tcache *tc, const mp__spantab *tab, uint64_t gen, uintptr_t a);

/* The current table, named by tc's hazard, and its generation. */
static const mp__spantab *hazard_current(mp__tcache *tc, uint64_t *gen)
{
    mp__lf *lf = tc->lf;
    const mp__spantab *tab;
    do {
        *gen = atomic_load_explicit(&lf->gen, memory_order_acquire);
        tab = atomic_load_explicit(&lf->tab, memory_order_acquire);
        atomic_store_explicit(&tc->haz, tab, memory_order_seq_cst);
    } while (atomic_load_explicit(&lf->tab, memory_order_seq_cst) != tab);
    return tab;
}

/* Makes the span holding a (from the current table) tc's hot chunk. */
static bool find_span(mp__tcache *tc, uintptr_t a)
{
    uint64_t gen;
    const mp__spantab *tab = hazard_current(tc, &gen);
    bool found = tab && search_span(tc, tab, gen, a);
    atomic_store_explicit(&tc->haz, NULL, memory_order_release); /* hot_state pins the map now */
    return found;
}

static bool search_span(mp__tcache *tc, const mp__spantab *tab, uint64_t gen, uintptr_t a)
{
    const mp__span *span = mp__span_find(tab->s, tab->n, a);
    if (!span)
        return false;
    tc->hot = *span;
    tc->gen = gen;
    /* The inline free checks the hot chunk itself when its grain is a
     * power of two; otherwise it calls, and the slow path divides. */
    bool inline_ok = !tc->lf->tooled && (tc->hot.shift || tc->hot.grain == 1);
    tc->pub.hot_base = tc->hot.base;
    __atomic_store_n(&tc->pub.hot_state, tc->hot.smap, __ATOMIC_RELEASE);
    tc->pub.hot_shift = tc->hot.shift;
    __atomic_store_n(&tc->pub.hot_grains, inline_ok ? tc->hot.size >> tc->hot.shift : 0, __ATOMIC_RELAXED);
    /* Against mp__lf_publish (the store-load pattern, fences on both sides):
     * either this load sees the new table, or the publisher's zero lands
     * after the count stored above. */
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load_explicit(&tc->lf->tab, memory_order_relaxed) != tab)
        __atomic_store_n(&tc->pub.hot_grains, 0, __ATOMIC_RELAXED);
    return true;
}

static void spantab_free(mp__spantab *t)
{
    while (t) {
        mp__spantab *r = t->retired;
        free(t);
        t = r;
    }
}

static void free_limbo(mp__lf *lf)
{
    spantab_free(lf->limbo_tabs);
    lf->limbo_tabs = NULL;
    for (mp__map_link *m = lf->limbo_maps, *n; m; m = n) {
        n = m->next;
        free(m);
    }
    lf->limbo_maps = NULL;
}

static int by_address(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t) * (const void *const *)a, y = (uintptr_t) * (const void *const *)b;
    return (x > y) - (x < y);
}

static bool named(const void **v, size_t n, const void *p)
{
    return n && bsearch(&p, v, n, sizeof *v, by_address) != NULL;
}

/* Frees what no cache names any more (see "Reclamation"). Pool locked,
 * after a new table was published and the caches were told (fence).
 * O((caches + limbo) log caches). */
static void reclaim(mp__lf *lf)
{
    if (!lf->limbo_tabs && !lf->limbo_maps)
        return;
    /* Caches are pushed at the head: one added after this snapshot attached
     * after the new table was published, so it names nothing in limbo. */
    mp__tcache *head = atomic_load_explicit(&lf->caches, memory_order_acquire);
    size_t ncaches = 0;
    for (mp__tcache *tc = head; tc; tc = tc->next)
        ncaches++;
    const void **tabs = malloc((2 * ncaches + 1) * sizeof *tabs);
    if (!tabs)
        return; /* no memory to look: free them at a later publish */
    const void **maps = tabs + ncaches;
    size_t ntabs = 0, nmaps = 0;
    bool searching_old = false;
    const mp__spantab *cur = atomic_load_explicit(&lf->tab, memory_order_relaxed);
    for (mp__tcache *tc = head; tc; tc = tc->next) {
        const mp__spantab *h = atomic_load_explicit(&tc->haz, memory_order_seq_cst); /* before hot_state */
        const uint8_t *m = __atomic_load_n(&tc->pub.hot_state, __ATOMIC_ACQUIRE);
        if (h) {
            tabs[ntabs++] = h;
            searching_old = searching_old || h != cur;
        }
        if (m)
            maps[nmaps++] = m;
    }
    qsort(tabs, ntabs, sizeof *tabs, by_address);
    qsort(maps, nmaps, sizeof *maps, by_address);
    for (mp__spantab **pp = &lf->limbo_tabs; *pp;) {
        mp__spantab *t = *pp;
        if (named(tabs, ntabs, t)) {
            pp = &t->retired;
        } else {
            *pp = t->retired;
            free(t);
        }
    }
    for (mp__map_link **pp = &lf->limbo_maps; *pp && !searching_old;) {
        mp__map_link *m = *pp;
        if (named(maps, nmaps, m + 1)) {
            pp = &m->next;
        } else {
            *pp = m->next;
            free(m);
        }
    }
    free(tabs);
}

void mp__lf_retire_map(mp__lf *lf, uint8_t *map)
{
    if (!map)
        return;
    mp__map_link *l = mp__smap_link(map);
    l->next = lf->limbo_maps;
    lf->limbo_maps = l;
}

void mp__lf_publish(mp__lf *lf, const mp__span *spans, size_t n)
{
    mp__spantab *old = atomic_load_explicit(&lf->tab, memory_order_relaxed);
    /* Without a table every free takes the lock until the next publish. */
    mp__spantab *t = malloc(sizeof *t + n * sizeof(mp__span));
    if (t) {
        t->n = 0;
        t->retired = NULL;
        for (size_t i = 0; i < n; i++)
            if (spans[i].front && spans[i].smap) /* the other arenas take the lock */
                t->s[t->n++] = spans[i];
    }
    if (old) {
        old->retired = lf->limbo_tabs;
        lf->limbo_tabs = old;
    }
    atomic_store_explicit(&lf->tab, t, memory_order_release);
    atomic_fetch_add_explicit(&lf->gen, 1, memory_order_release);
    /* Every cache's inline free now calls, and its slow path refreshes
     * hot_* from the new table (find_span). */
    atomic_thread_fence(memory_order_seq_cst);
    for (mp__tcache *tc = atomic_load_explicit(&lf->caches, memory_order_acquire); tc; tc = tc->next)
        __atomic_store_n(&tc->pub.hot_grains, 0, __ATOMIC_RELAXED);
    reclaim(lf);
}

/* ---- threads ------------------------------------------------------------ */

static bool is_live(const mp__lf *lf, uint64_t uid) /* under tc_mutex */
{
    for (const mp__lf *l = live_pools; l; l = l->next_live)
        if (l == lf)
            return l->uid == uid;
    return false;
}

/* Gives the cache's blocks back and frees it for the next thread. Under
 * tc_mutex; the pool is live. */
static void release_cache(mp__lf *lf, mp__tcache *tc)
{
    cache_to_strategy(lf, tc);
    /* Its owner is done with the hot chunk: the map is no hazard now. */
    __atomic_store_n(&tc->pub.hot_grains, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&tc->pub.hot_state, NULL, __ATOMIC_RELEASE);
    tc->gen = 0;
    unsigned h = mp__tc_slot(mp__tc_owner(tc));
    if (atomic_load_explicit(&lf->slot[h], memory_order_relaxed) == tc)
        atomic_store_explicit(&lf->slot[h], NULL, memory_order_relaxed);
    __atomic_store_n(&tc->pub.owner, 0, __ATOMIC_RELEASE);
}

static void tc_thread_exit(void *arg)
{
    (void)arg;
    mp__lf_enter();
    for (size_t i = 0; i < nmine; i++)
        if (is_live(mine[i].lf, mine[i].uid))
            release_cache(mine[i].lf, mine[i].tc);
    mp__lf_leave();
    free(mine);
    mine = NULL;
    nmine = mine_cap = 0;
}

static void tc_key_init(void) { tc_key_ok = pthread_key_create(&tc_key, tc_thread_exit) == 0; }

/* The calling thread's cache of lf from its own list, or NULL. */
static mp__tcache *own_cache(const mp__lf *lf)
{
    for (size_t i = 0; i < nmine; i++)
        if (mine[i].lf == lf && mine[i].uid == lf->uid)
            return mine[i].tc;
    return NULL;
}

/* A new cache of lf, no thread's yet, pushed on lf's list; NULL for want
 * of memory. Under tc_mutex, or before lf is shared. */
static mp__tcache *cache_new(mp__lf *lf)
{
    size_t nb = lf->nclasses, entries = 0;
    for (unsigned c = 1; c <= nb; c++)
        entries += 1 + lf->bin_cap[c]; /* the sentinel, then the room */
    /* The entries start 640 bytes (mod 4096) past the first bin, not a
     * multiple of 4096 as they would with a bin half full of 256 or 1024
     * entries right behind it: a load of the top entry would then wait for
     * the store of the bin's count (4K aliasing; 0.6 ns a pair on Zen 4). */
    size_t head = offsetof(mp__tcache, bins), gap = mp__align_up(nb * sizeof(mp__tbin), 64);
    gap += (640 - gap % 4096 + 4096) % 4096;
    size_t marks = mp__align_up(head + gap + entries * sizeof(mp__tentry), 64);
    size_t bytes = mp__align_up(marks + nb * sizeof(uint64_t), 64);
    mp__tcache *tc = aligned_alloc(64, bytes);
    if (!tc)
        return NULL;
    memset(tc, 0, bytes);
    tc->marks = (uint64_t *)(void *)((char *)tc + marks);
    mp__tentry *e = (mp__tentry *)(void *)((char *)tc->bins + gap);
    for (unsigned c = 1; c <= nb; c++) {
        e++; /* the sentinel: zeroed */
        tc->bins[c - 1] = (mp__tbin){e, e + lf->bin_cap[c], 0, 0};
        e += lf->bin_cap[c];
    }
    tc->pub = (mp_tcache){.pool = lf->handle, .max_size = lf->tooled ? 0 : lf->max_cached,
                          .class_of = lf->fixed ? NULL : lf->cls_of, .class_shift = lf->shift,
                          .nbins = (uint32_t)nb, .magic = MP_TCACHE_MAGIC};
    tc->lf = lf;
    tc->next = atomic_load_explicit(&lf->caches, memory_order_relaxed);
    atomic_store_explicit(&lf->caches, tc, memory_order_release); /* mp__lf_publish walks it unlocked */
    return tc;
}

static mp__tcache *attach(mp__lf *lf)
{
    mp__tcache *tc = own_cache(lf);
    if (tc)
        return tc; /* its slot belongs to another thread: the slow way it is */
    pthread_once(&tc_once, tc_key_init);
    if (!tc_key_ok || pthread_setspecific(tc_key, (void *)1) != 0) /* non-NULL: the destructor runs */
        return NULL;
    uintptr_t id = mp__thread_id();
    mp__lf_enter();
    /* Forget the entries of pools that are gone, then make room. */
    size_t w = 0;
    for (size_t i = 0; i < nmine; i++)
        if (is_live(mine[i].lf, mine[i].uid))
            mine[w++] = mine[i];
    nmine = w;
    bool ok = true;
    mine = mp__grow(mine, &mine_cap, nmine + 1, sizeof *mine, &ok);
    for (tc = atomic_load_explicit(&lf->caches, memory_order_relaxed);
         ok && tc && __atomic_load_n(&tc->pub.owner, __ATOMIC_ACQUIRE); tc = tc->next)
        ;
    if (ok && !tc)
        tc = cache_new(lf);
    if (ok && tc) {
        __atomic_store_n(&tc->pub.owner, id, __ATOMIC_RELAXED);
        _Atomic(mp__tcache *) *slot = &lf->slot[mp__tc_slot(id)];
        mp__tcache *held = atomic_load_explicit(slot, memory_order_relaxed);
        if (!held || !mp__tc_owner(held))
            atomic_store_explicit(slot, tc, memory_order_release); /* mp__tc_mine reads its set-up */
        mine[nmine++] = (mine_entry){lf, lf->uid, tc};
    }
    mp__lf_leave();
    return ok ? tc : NULL; /* NULL: the locked path serves this thread */
}

/* ---- what the pool calls --------------------------------------------------------- */

mp__lf *mp__lf_new(mp_pool *handle, const mp__lf_source *src, bool fixed, size_t unit, size_t stride, bool tooled,
                   mp__gauge *gauge)
{
    mp__lf *lf = calloc(1, sizeof *lf);
    if (!lf)
        return NULL;
    lf->handle = handle;
    lf->gauge = gauge;
    lf->src = *src;
    lf->fixed = fixed;
    lf->tooled = tooled;
    if (fixed) {
        lf->nclasses = 1;
        lf->cls_size[1] = lf->max_cached = stride;
    } else {
        /* The shared spacing (classes.h), up to 4096 units or 1 MiB. */
        lf->shift = mp__fls(unit);
        size_t top = unit << 12 < ((size_t)1 << 20) ? unit << 12 : (size_t)1 << 20;
        if (top < unit)
            top = unit;
        lf->nclasses = mp__classes(unit, top, lf->cls_size, MP__TC_CLASSES_MAX);
        lf->max_cached = lf->cls_size[lf->nclasses];
        if (!(lf->cls_of = malloc(lf->max_cached >> lf->shift))) {
            free(lf);
            return NULL;
        }
        mp__classes_index(lf->cls_size, lf->nclasses, unit, lf->cls_of);
    }
    /* A bin holds about 64 KiB of its class (256 KiB for a fixed pool), up
     * to 1024 blocks (2048): a batch of a thousand small blocks stays in
     * the thread's cache. It holds at least 64 blocks while that is at most
     * 256 KiB, and at least 16: the count of a bin under churn wanders like
     * a random walk, and refills (the slow allocations) fall with the
     * square of the room (4 KiB blocks of a 16-4096-byte churn: 0.46% of
     * allocations refilled with 16, 0.06% with 64). The stacks may hold
     * about 256 KiB of each class (at least 4 magazines) before spills go
     * back to the strategy, where pages and TLSF reuse them for any class.
     * Measured 2026-11-28 (bench/RESULTS.md): a Lua state's peak RSS on a
     * lock-free pool was 89 MiB with 4 MiB a class, 79 with 1 MiB, 73 with
     * 256 KiB (the locked pool: 70); cpu_bench's churn is about 10% slower
     * with 256 KiB than with 4 MiB. Memory won. */
    size_t room = lf->fixed ? (size_t)256 << 10 : (size_t)64 << 10, most = lf->fixed ? 2048 : 1024, mag = 0;
    for (unsigned c = 1; c <= lf->nclasses; c++) {
        size_t cap = room / lf->cls_size[c], least = ((size_t)256 << 10) / lf->cls_size[c];
        least = least > 64 ? 64 : least < 16 ? 16 : least;
        cap = (cap < least ? least : cap > most ? most : cap) & ~(size_t)1;
        lf->bin_cap[c] = (uint32_t)cap;
        mag = cap / 2 > mag ? cap / 2 : mag;
        size_t m = ((size_t)256 << 10) / (cap / 2 * lf->cls_size[c]);
        lf->mag_limit[c] = (uint32_t)(m < 4 ? 4 : m > 4096 ? 4096 : m);
    }
    lf->mag_bytes = mp__align_up(sizeof(mp__mag) + mag * sizeof(mp__tentry), 64);
    pthread_mutex_init(&lf->mag_mutex, NULL);
    mp__lf_enter();
    lf->uid = next_uid++;
    lf->next_live = live_pools;
    live_pools = lf;
    mp__lf_leave();
    return lf;
}

void mp__lf_free(mp__lf *lf)
{
    mp__lf_enter();
    for (mp__lf **pp = &live_pools; *pp; pp = &(*pp)->next_live) {
        if (*pp == lf) {
            *pp = lf->next_live;
            break;
        }
    }
    mp__lf_leave();
    for (mp__tcache *tc = atomic_load_explicit(&lf->caches, memory_order_relaxed), *n; tc; tc = n) {
        n = tc->next;
        tc->pub.magic = 0;
        free(tc);
    }
    for (uint32_t s = 0; s < atomic_load_explicit(&lf->nsegs, memory_order_relaxed); s++)
        free(lf->dir[s]);
    spantab_free(atomic_load_explicit(&lf->tab, memory_order_relaxed));
    free_limbo(lf);
    pthread_mutex_destroy(&lf->mag_mutex);
    free(lf->cls_of);
    free(lf);
}

void mp__lf_reset(mp__lf *lf)
{
    for (mp__tcache *tc = atomic_load_explicit(&lf->caches, memory_order_relaxed); tc; tc = tc->next) {
        for (unsigned c = 1; c <= tc->pub.nbins; c++) {
            bin_set(lf, &tc->bins[c - 1], c, 0);
            /* The pool zeroes the gauge: from here it hears what moves next. */
            tc->marks[c - 1] = bin_net(lf, &tc->bins[c - 1], c);
        }
        /* No call is in flight (the reset contract): no hazard either. */
        __atomic_store_n(&tc->pub.hot_grains, 0, __ATOMIC_RELAXED);
        __atomic_store_n(&tc->pub.hot_state, NULL, __ATOMIC_RELEASE);
        tc->gen = 0;
    }
    for (unsigned c = 1; c <= lf->nclasses; c++) {
        atomic_store_explicit(&lf->full[c], 0, memory_order_relaxed);
        atomic_store_explicit(&lf->nfull[c], 0, memory_order_relaxed);
        atomic_store_explicit(&lf->gblocks[c], 0, memory_order_relaxed);
    }
    atomic_store_explicit(&lf->empty, 0, memory_order_relaxed);
    uint32_t nmags = atomic_load_explicit(&lf->nsegs, memory_order_relaxed) * MP__TC_MAG_SEG;
    for (uint32_t i = 0; i < nmags; i++)
        stack_push(lf, &lf->empty, i);
    free_limbo(lf);
}

void mp__lf_drain(mp__lf *lf)
{
    mp__tcache *own = lf->solo ? lf->solo : own_cache(lf);
    if (own)
        cache_to_strategy(lf, own);
    for (unsigned c = 1; c <= lf->nclasses; c++) {
        uint32_t i;
        while (stack_pop(lf, &lf->full[c], &i)) {
            mp__mag *m = mag_at(lf, i);
            give_back(lf, m->e, m->n);
            atomic_fetch_sub_explicit(&lf->nfull[c], 1, memory_order_relaxed);
            atomic_fetch_sub_explicit(&lf->gblocks[c], m->n, memory_order_relaxed);
            stack_push(lf, &lf->empty, i);
        }
    }
}

/* The list is walked as mp__lf_publish walks it (acquire: a cache pushed
 * meanwhile is seen whole), so a reader without tc_mutex is safe; inside
 * it, no drain or exit moves blocks meanwhile. */
void mp__lf_cached_classes(const mp__lf *lf, size_t *blocks)
{
    for (unsigned c = 1; c <= lf->nclasses; c++)
        blocks[c] = atomic_load_explicit(&lf->gblocks[c], memory_order_relaxed);
    for (const mp__tcache *tc = atomic_load_explicit(&lf->caches, memory_order_acquire); tc; tc = tc->next)
        for (unsigned c = 1; c <= tc->pub.nbins; c++)
            blocks[c] += bin_count(lf, &tc->bins[c - 1], c);
}

void mp__lf_cached(const mp__lf *lf, size_t *blocks, size_t *bytes)
{
    size_t per[MP__TC_CLASSES_MAX + 1], nb = 0, nbytes = 0;
    mp__lf_cached_classes(lf, per);
    for (unsigned c = 1; c <= lf->nclasses; c++) {
        nb += per[c];
        nbytes += per[c] * lf->cls_size[c];
    }
    *blocks = nb;
    *bytes = nbytes;
}

/* ---- the slow halves of the fast paths ---------------------------------- */

static void *tc_alloc(mp__lf *lf, mp__tcache *tc, size_t size)
{
    unsigned c = mp__tcache_class(&tc->pub, size);
    mp__tbin *b = &tc->bins[c - 1];
    bool refilled = b->top[-1].p == NULL;
    if (refilled && !refill(lf, tc, c))
        return NULL;
    mp__tentry *top = b->top;
    void *p = mp__tcache_take(b, top, top[-1].p, c);
    if (refilled)
        tell_gauge(lf, tc, c);
    if (lf->tooled)
        mp__tool_alloc(p, size);
    return p;
}

static bool tc_free(mp__lf *lf, mp__tcache *tc, void *ptr)
{
    uintptr_t a = (uintptr_t)ptr;
    bool hot = tc->gen == atomic_load_explicit(&lf->gen, memory_order_acquire) && a - tc->hot.base < tc->hot.size;
    if (!hot && !find_span(tc, a))
        return false;
    uint8_t *state = mp__span_state(&tc->hot, a);
    unsigned c = state ? __atomic_load_n(state, __ATOMIC_RELAXED) : 0;
    if (c - 1u >= tc->pub.nbins)
        return false; /* the locked path names the error, or frees a larger block */
    mp__tbin *b = &tc->bins[c - 1];
    bool spilled = b->top == b->end;
    if (spilled)
        spill(lf, tc, c); /* moves top down */
    mp__tcache_put(b, b->top, ptr, state, c);
    if (spilled)
        tell_gauge(lf, tc, c);
    if (lf->tooled)
        mp__tool_free(ptr, lf->cls_size[c]);
    return true;
}

/* The calling thread's cache of a lock-free pool, attached on first use. */
static mp__tcache *mine_or_attach(mp__lf *lf)
{
    mp__tcache *tc = mp__tc_mine(lf);
    return tc ? tc : attach(lf);
}

void *mp__tc_alloc(mp__lf *lf, size_t size)
{
    mp__tcache *tc = mine_or_attach(lf);
    return tc ? tc_alloc(lf, tc, size) : NULL; /* NULL: the locked path serves this thread */
}

bool mp__tc_free(mp__lf *lf, void *ptr)
{
    mp__tcache *tc = mine_or_attach(lf);
    return tc && tc_free(lf, tc, ptr);
}

mp__tcache *mp__tc_attach(mp__lf *lf) { return mine_or_attach(lf); }

void *mp__tc_alloc_in(mp__tcache *tc, size_t size) { return tc_alloc(tc->lf, tc, size); }

bool mp__tc_free_in(mp__tcache *tc, void *ptr) { return tc_free(tc->lf, tc, ptr); }

mp__tcache *mp__lf_solo(mp__lf *lf)
{
    mp__lf_enter();
    mp__tcache *tc = cache_new(lf);
    if (tc) {
        __atomic_store_n(&tc->pub.owner, MP__TC_SOLO, __ATOMIC_RELAXED);
        for (unsigned c = 1; c <= lf->nclasses; c++)
            lf->mag_limit[c] = 0;
        lf->solo = tc;
    }
    mp__lf_leave();
    return tc;
}

mp__tcache *mp__tc_bypass_new(mp_pool *handle)
{
    mp__tcache *tc = aligned_alloc(64, sizeof *tc);
    if (tc) {
        memset(tc, 0, sizeof *tc);
        tc->pub.pool = handle;
        tc->pub.magic = MP_TCACHE_MAGIC;
    }
    return tc;
}

void mp__tc_bypass_free(mp__tcache *tc)
{
    if (tc)
        tc->pub.magic = 0;
    free(tc);
}

void mp__lf_fork_lock(mp__lf *lf) { pthread_mutex_lock(&lf->mag_mutex); }
void mp__lf_fork_unlock(mp__lf *lf) { pthread_mutex_unlock(&lf->mag_mutex); }
void mp__lf_fork_child(mp__lf *lf) { pthread_mutex_init(&lf->mag_mutex, NULL); }

/* Handles: what an mp_pool * really is.
 *
 * A pool lives in a slot of one table that is never unmapped, so reading a
 * slot is always safe, whatever the handle. The handle a caller holds is
 * the slot's address with the slot's generation in its top 16 bits; the
 * generation changes when the pool is destroyed. So every entry point can
 * tell, in a few instructions and with no extra dependent load on the fast
 * path:
 *  - a pointer that is no slot (garbage, a stack or malloc address, a raw
 *    slot address without its generation): not a pool;
 *  - a handle whose generation is not the slot's: its pool was destroyed
 *    (the slot may serve a newer pool, which the old handle never reaches).
 * Generations run 1..65535 per slot and free slots are reused last in,
 * first out: an old handle is mistaken for a new pool only if its slot was
 * reused exactly a multiple of 65535 times in between.
 *
 * What the check cannot cover: a pool destroyed while another thread is
 * inside a call on it. The caller must order destroy after every call
 * (the managed bindings do it for their users). */
#ifndef MEMPOOL_HANDLE_H
#define MEMPOOL_HANDLE_H

#include "core/core.h"

#include <stdatomic.h>
#include <stddef.h>

#define MP__SLOT_SIZE 1024          /* a power of two, at least sizeof(mp__pool) */
#define MP__SLOTS_MAX 65536         /* pools alive at once (less if the reservation must shrink) */
#define MP__HANDLE_GEN_SHIFT 48     /* user addresses fit below 2^48 on x86-64 and AArch64 */
#define MP__HANDLE_ADDR (((uintptr_t)1 << MP__HANDLE_GEN_SHIFT) - 1)

/* What a slot holds: a pool, a router or a tracker (handles of the ABI). */
typedef enum mp__slot_kind { MP__SLOT_POOL = 1, MP__SLOT_ROUTER = 2, MP__SLOT_TRACKER = 3 } mp__slot_kind;

/* The head of every slot; the object's own fields follow (pool.h, router.c). */
typedef struct mp__slot {
    /* kind << 16 | the generation live handles carry; 0 while nothing is
     * alive here, so one compare checks liveness, kind and generation. */
    _Atomic uint32_t tag;
    uint32_t last_gen; /* the generation of the newest object this slot held */
    struct mp__slot *next_free;
} mp__slot;

_Static_assert((uint64_t)MP__SLOTS_MAX * MP__SLOT_SIZE <= ((uint64_t)1 << 32), "slot offsets fit 32 bits");

/* The table: base, and a mask of the offset bits that must be zero (those
 * at or above the table's size, a power of two, below the generation, and
 * those inside a slot). Before the table exists, base is a dummy slot that
 * never holds anything and the mask is all ones. mask is stored (release)
 * after base and read (acquire) before it. */
extern uintptr_t mp__slots_base;
extern _Atomic uintptr_t mp__slots_mask;

/* The live slot of that kind a handle names, or NULL: no slot, another
 * kind, or a stale generation. About seven instructions: the fast paths
 * call it on every allocate and free. */
static inline mp__slot *mp__slot_of(const void *handle, mp__slot_kind kind)
{
    uintptr_t v = (uintptr_t)handle;
    uintptr_t mask = atomic_load_explicit(&mp__slots_mask, memory_order_acquire);
    uintptr_t off = v - mp__slots_base; /* a borrow from the generation bits sets bit 47 */
    if (MP__UNLIKELY(off & mask))
        return NULL;
    mp__slot *s = (mp__slot *)(mp__slots_base + (uint32_t)off);
    if (!s)
        __builtin_unreachable(); /* base is never 0: spares the callers a NULL test */
    uint32_t want = (uint32_t)kind << 16 | (uint32_t)(v >> MP__HANDLE_GEN_SHIFT);
    return MP__LIKELY(atomic_load_explicit(&s->tag, memory_order_acquire) == want) ? s : NULL;
}

/* Why handle names no live slot of the kind, as a failure with its detail. */
mp_status mp__slot_refuse(const void *handle, mp__slot_kind kind);

/* A free slot with every byte after the head zeroed, and the handle it
 * will have once published (under a new generation); or MP_ERR_OUT_OF_MEMORY. */
mp_status mp__slot_take(mp__slot **out, void **out_handle);
/* Makes the slot live: from now on its handle passes mp__slot_of. */
void mp__slot_publish(mp__slot *s, mp__slot_kind kind);
/* Ends the handle's life: every later check of it fails. */
void mp__slot_revoke(mp__slot *s);
/* Returns a revoked (or never published) slot to the free list. */
void mp__slot_give_back(mp__slot *s);
/* Calls fn for every live slot of the kind; the caller holds the table's
 * lock (fork.c). */
void mp__slots_foreach(mp__slot_kind kind, void (*fn)(mp__slot *s, void *ctx), void *ctx);
void mp__slots_lock(void);
void mp__slots_unlock(void);
void mp__slots_after_fork(void); /* the child: a fresh lock (fork.c) */

#endif

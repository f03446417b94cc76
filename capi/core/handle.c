

/* The slot table behind pool handles (handle.h has the scheme).
 *
 * One anonymous mapping, reserved on first use and never unmapped: pages
 * are committed only as slots are first used, and a reservation the
 * address-space limit refuses is halved until it fits. Free slots form a
 * LIFO list, so a program that creates and destroys pools in a loop keeps
 * touching the same few pages. */
#include "core/handle.h"
#include "core/instrument.h"

#include <pthread.h>
#include <string.h>
#include <sys/mman.h>

static mp__slot dummy; /* tag 0: no handle ever names it */
uintptr_t mp__slots_base = (uintptr_t)&dummy;
_Atomic uintptr_t mp__slots_mask = UINTPTR_MAX;

static pthread_mutex_t slots_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t slots_once = PTHREAD_ONCE_INIT;
static size_t nslots, nused; /* capacity; slots ever handed out (the rest are untouched) */
static mp__slot *free_list;

static void reserve(void)
{
    for (size_t n = MP__SLOTS_MAX; n >= 64; n /= 2) {
        void *m = mmap(NULL, n * MP__SLOT_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                       -1, 0);
        if (m != MAP_FAILED) {
            mp__slots_base = (uintptr_t)m;
            nslots = n;
            mp__tool_root(m, n * MP__SLOT_SIZE);
            uintptr_t mask = (~(uintptr_t)(n * MP__SLOT_SIZE - 1) & MP__HANDLE_ADDR) | (MP__SLOT_SIZE - 1);
            atomic_store_explicit(&mp__slots_mask, mask, memory_order_release);
            return;
        }
    }
}

static inline mp__slot *slot_at(size_t i) { return (mp__slot *)(mp__slots_base + i * MP__SLOT_SIZE); }

void mp__slots_lock(void) { pthread_mutex_lock(&slots_lock); }
void mp__slots_unlock(void) { pthread_mutex_unlock(&slots_lock); }
void mp__slots_after_fork(void) { pthread_mutex_init(&slots_lock, NULL); }

mp_status mp__slot_take(mp__slot **out, void **out_handle)
{
    pthread_once(&slots_once, reserve);
    pthread_mutex_lock(&slots_lock);
    mp__slot *s = free_list;
    if (s)
        free_list = s->next_free;
    else if (nused < nslots)
        s = slot_at(nused++);
    pthread_mutex_unlock(&slots_lock);
    if (!s)
        return mp__fail(MP_ERR_OUT_OF_MEMORY, nslots ? "%zu handles (pools, routers, trackers) are alive: no room for another" :
                        "no address space for the pool table (%zu slots)", nslots);
    /* Only the head may be read by others meanwhile (a stale handle's check). */
    memset((char *)s + sizeof *s, 0, MP__SLOT_SIZE - sizeof *s);
    s->next_free = NULL;
    s->last_gen = s->last_gen % 0xFFFF + 1; /* 1..65535 */
    *out = s;
    *out_handle = (void *)((uintptr_t)s | (uintptr_t)s->last_gen << MP__HANDLE_GEN_SHIFT);
    return MP_OK;
}

void mp__slot_publish(mp__slot *s, mp__slot_kind kind)
{
    atomic_store_explicit(&s->tag, (uint32_t)kind << 16 | s->last_gen, memory_order_release);
}

void mp__slot_revoke(mp__slot *s) { atomic_store_explicit(&s->tag, 0, memory_order_release); }

void mp__slot_give_back(mp__slot *s)
{
    atomic_store_explicit(&s->tag, 0, memory_order_release);
    pthread_mutex_lock(&slots_lock);
    s->next_free = free_list;
    free_list = s;
    pthread_mutex_unlock(&slots_lock);
}

void mp__slots_foreach(mp__slot_kind kind, void (*fn)(mp__slot *s, void *ctx), void *ctx)
{
    for (size_t i = 0; i < nused; i++)
        if (atomic_load_explicit(&slot_at(i)->tag, memory_order_acquire) >> 16 == (uint32_t)kind)
            fn(slot_at(i), ctx);
}

mp_status mp__slot_refuse(const void *handle, mp__slot_kind kind)
{
    static const char *const names[] = {"handle", "pool", "router", "tracker"};
    const char *what = names[kind];
    if (!handle)
        return mp__fail(MP_ERR_INVALID_ARGUMENT, "%s is NULL", what);
    uintptr_t mask = atomic_load_explicit(&mp__slots_mask, memory_order_acquire);
    uintptr_t off = (uintptr_t)handle - mp__slots_base;
    if (!(off & mask) && ((uintptr_t)handle >> MP__HANDLE_GEN_SHIFT) != 0) {
        uint32_t tag = atomic_load_explicit(&((mp__slot *)(mp__slots_base + (uint32_t)off))->tag,
                                            memory_order_acquire);
        if (tag >> 16 != 0 && tag >> 16 != (uint32_t)kind && tag >> 16 <= MP__SLOT_TRACKER &&
            (tag & 0xFFFF) == (uintptr_t)handle >> MP__HANDLE_GEN_SHIFT)
            return mp__fail(MP_ERR_INVALID_ARGUMENT, "%p is a %s handle, not a %s handle", handle, names[tag >> 16],
                            what);
        return mp__fail(MP_ERR_INVALID_ARGUMENT, "%s handle %p is stale: its %s was destroyed", what, handle, what);
    }
    return mp__fail(MP_ERR_INVALID_ARGUMENT, "%p is not a %s handle", handle, what);
}

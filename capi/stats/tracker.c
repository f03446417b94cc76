/* Standalone statistics trackers (mp_tracker_*): the seed's MemoryStats
 * used on its own, and the copies that the bindings' stats objects become
 * when copied (mp_tracker_from_pool). The counters are a pool's
 * (stats.h: the same restart rule); the records, one per tracked pointer,
 * are an array that a pointer map indexes, so a free is O(1) and a listing
 * sorts a copy by sequence. A tracker lives in a handle slot (handle.h): a
 * destroyed or foreign handle is refused, never followed. One lock guards
 * it; fork.c takes every tracker's lock around fork(). */
#include "core/config.h"
#include "core/fork.h"
#include "core/handle.h"
#include "core/pool.h"
#include "core/ptrmap.h"
#include "core/sync.h"
#include "stats/format.h"
#include "stats/stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct tracker {
    mp__slot slot; /* first: the handle's slot head */
    mp_tracker *handle;
    mp__lock lock;
    mp__counters c;           /* tracked_live: allocs - frees */
    uint64_t untracked;       /* a copy of a pool: its live blocks that no count covers (tracking was off) */
    mp_stats frozen;          /* a copy of a pool: the pool's other figures; else zero */
    char *head_text, *head_json; /* a copy of a pool: the pool's own line and JSON members; else NULL */
    bool tracking;
    bool fork_locked; /* its lock was taken by the fork handlers (trackers_prepare) */
    uint64_t next_seq;
    mp_allocation_info *recs; /* the records, in no order */
    size_t nrecs, recs_cap;
    mp__ptrmap index;         /* ptr -> its index in recs + 1 */
} tracker;

_Static_assert(sizeof(tracker) <= MP__SLOT_SIZE, "a tracker fits its handle slot");

/* Counts an allocation of size bytes unless that would wrap a counter.
 * Lock held. */
static mp_status count_alloc(tracker *t, size_t size)
{
    if (t->c.current + size < t->c.current || t->c.total + size < t->c.total)
        return mp__fail(MP_ERR_INVALID_ARGUMENT, "tracker: %zu more bytes would wrap its counters (%llu in use, "
                        "%llu in all)", size, (unsigned long long)t->c.current, (unsigned long long)t->c.total);
    mp__stats_on_alloc(&t->c, size);
    return MP_OK;
}

/* size 0, or beyond what any pool hands out. */
static mp_status bad_size(size_t size, const char *what)
{
    return size == 0 ? mp__fail(MP_ERR_INVALID_ARGUMENT, "tracker: %s of 0 bytes recorded", what)
                     : mp__fail(MP_ERR_INVALID_ARGUMENT, "tracker: %s of %zu bytes recorded, beyond the 2^48-byte "
                                "limit of any block", what, size);
}

static mp_status get(const mp_tracker *handle, tracker **out)
{
    tracker *t = (tracker *)(void *)mp__slot_of(handle, MP__SLOT_TRACKER);
    if (!t)
        return mp__slot_refuse(handle, MP__SLOT_TRACKER);
    *out = t;
    return MP_OK;
}

static void trackers_prepare(void);
static void trackers_parent(void);
static void trackers_child(void);

static mp_status make(tracker **out)
{
    mp__slot *slot;
    void *h;
    mp_status s = mp__slot_take(&slot, &h);
    if (s != MP_OK)
        return s;
    tracker *t = (tracker *)(void *)slot;
    t->handle = h;
    t->tracking = true;
    t->next_seq = 1;
    mp__lock_init(&t->lock, true);
    static const mp__fork_pools hooks = {trackers_prepare, trackers_parent, trackers_child};
    mp__fork_init_trackers(&hooks); /* fork.c takes every tracker's lock around fork() */
    *out = t;
    return MP_OK;
}

static void drop(tracker *t)
{
    free(t->recs);
    free(t->head_text);
    free(t->head_json);
    mp__ptrmap_fini(&t->index);
    mp__slot_give_back(&t->slot);
}

/* Adds a record (room reserved in recs and index). Lock held. */
static void add_record(tracker *t, const void *ptr, size_t size, uint64_t seq)
{
    t->recs[t->nrecs] = (mp_allocation_info){.struct_size = sizeof(mp_allocation_info), .ptr = (void *)ptr,
                                              .size = size, .sequence = seq};
    mp__ptrmap_put(&t->index, mp__addr(ptr), (void *)(uintptr_t)++t->nrecs);
}

/* Room for one more record. Lock held. */
static bool record_room(tracker *t)
{
    bool ok;
    t->recs = mp__grow(t->recs, &t->recs_cap, t->nrecs + 1, sizeof *t->recs, &ok);
    return ok && mp__ptrmap_reserve(&t->index);
}

mp_status mp_tracker_create(mp_tracker **out_tracker)
{
    if (!out_tracker)
        return mp__fail(MP_ERR_INVALID_ARGUMENT, "out_tracker is NULL");
    tracker *t;
    mp_status s = make(&t);
    if (s != MP_OK)
        return s;
    mp__slot_publish(&t->slot, MP__SLOT_TRACKER);
    *out_tracker = t->handle;
    return MP_OK;
}

/* The pool's own line and JSON members, marked as a copy. */
static mp_status copy_heads(tracker *t, mp__pool *pool)
{
    mp__pool_desc desc;
    mp__pool_describe(pool, &desc);
    char *text = NULL, *json = NULL;
    if (mp__pool_head(&text, &desc, false) < 0 || mp__pool_head(&json, &desc, true) < 0) {
        free(text);
        return mp__fail(MP_ERR_OUT_OF_MEMORY, "pool '%s': no memory to copy its stats", desc.name);
    }
    /* "pool 'x': ..." becomes "copy of pool 'x': ..."; the JSON gains "copy":true */
    if (asprintf(&t->head_text, "copy of %s", text) < 0)
        t->head_text = NULL;
    if (asprintf(&t->head_json, "%s,\"copy\":true", json) < 0)
        t->head_json = NULL;
    free(text);
    free(json);
    return t->head_text && t->head_json ? MP_OK
                                        : mp__fail(MP_ERR_OUT_OF_MEMORY, "pool '%s': no memory to copy its stats",
                                                   desc.name);
}

mp_status mp_tracker_from_pool(const mp_pool *handle, mp_tracker **out_tracker)
{
    mp__pool *pool;
    mp_status s = mp__pool_get(handle, &pool);
    if (s != MP_OK)
        return s;
    if (!out_tracker)
        return mp__fail(MP_ERR_INVALID_ARGUMENT, "out_tracker is NULL");
    mp_stats st;
    uint64_t tracked_live;
    bool tracking;
    mp_allocation_info *recs = NULL;
    size_t count = 0;
    if ((s = mp__pool_copy_stats(pool, &st, &tracked_live, &tracking, &recs, &count)) != MP_OK)
        return s; /* the figures and the records of one moment (one lock) */
    tracker *t;
    if ((s = make(&t)) != MP_OK) {
        free(recs);
        return s;
    }
    t->frozen = st;
    t->tracking = tracking;
    t->c = (mp__counters){.total = st.total_allocated, .current = st.current_used, .peak = st.peak_usage,
                          .allocs = st.allocation_count, .frees = st.deallocation_count,
                          .failed = st.failed_allocations, .tracked_live = tracked_live};
    t->untracked = st.live_allocations > tracked_live ? st.live_allocations - tracked_live : 0;
    t->recs = recs; /* the pool's array, ours now */
    t->recs_cap = count;
    for (size_t i = 0; s == MP_OK && i < count; i++) {
        if (!mp__ptrmap_reserve(&t->index))
            s = mp__fail(MP_ERR_OUT_OF_MEMORY, "pool '%s': no memory to copy its records", mp__pool_name(pool));
        else
            mp__ptrmap_put(&t->index, mp__addr(recs[i].ptr), (void *)(uintptr_t)(i + 1));
        if (recs[i].sequence >= t->next_seq)
            t->next_seq = recs[i].sequence + 1;
    }
    t->nrecs = count;
    if (s == MP_OK)
        s = copy_heads(t, pool);
    if (s != MP_OK) {
        drop(t);
        return s;
    }
    mp__slot_publish(&t->slot, MP__SLOT_TRACKER);
    *out_tracker = t->handle;
    return MP_OK;
}

mp_status mp_tracker_clone(const mp_tracker *handle, mp_tracker **out_tracker)
{
    tracker *from, *t;
    mp_status s = get(handle, &from);
    if (s != MP_OK)
        return s;
    if (!out_tracker)
        return mp__fail(MP_ERR_INVALID_ARGUMENT, "out_tracker is NULL");
    if ((s = make(&t)) != MP_OK)
        return s;
    mp__lock_acquire(&from->lock);
    t->c = from->c;
    t->untracked = from->untracked;
    t->frozen = from->frozen;
    t->tracking = from->tracking;
    t->next_seq = from->next_seq;
    t->head_text = from->head_text ? strdup(from->head_text) : NULL;
    t->head_json = from->head_json ? strdup(from->head_json) : NULL;
    bool ok = !from->head_text == !t->head_text && !from->head_json == !t->head_json;
    for (size_t i = 0; ok && i < from->nrecs; i++)
        if ((ok = record_room(t)))
            add_record(t, from->recs[i].ptr, from->recs[i].size, from->recs[i].sequence);
    mp__lock_release(&from->lock);
    if (!ok) {
        drop(t);
        return mp__fail(MP_ERR_OUT_OF_MEMORY, "no memory to copy a tracker");
    }
    mp__slot_publish(&t->slot, MP__SLOT_TRACKER);
    *out_tracker = t->handle;
    return MP_OK;
}

mp_status mp_tracker_destroy(mp_tracker *handle)
{
    tracker *t;
    mp_status s = get(handle, &t);
    if (s != MP_OK)
        return s;
    mp__slot_revoke(&t->slot);
    drop(t);
    return MP_OK;
}

mp_status mp_tracker_record_allocation(mp_tracker *handle, size_t size)
{
    tracker *t;
    mp_status s = get(handle, &t);
    if (s != MP_OK)
        return s;
    if (size == 0 || size > MP__MAX_REQUEST)
        return bad_size(size, "an allocation");
    mp__lock_acquire(&t->lock);
    s = count_alloc(t, size);
    mp__lock_release(&t->lock);
    return s;
}

/* Counts a deallocation of size bytes unless that would break the counts.
 * Lock held. */
static mp_status count_free(tracker *t, size_t size)
{
    if (t->c.tracked_live == 0)
        return mp__fail(MP_ERR_INVALID_ARGUMENT, "tracker: a deallocation recorded with no allocation live "
                        "(%llu allocations, %llu deallocations)", (unsigned long long)t->c.allocs,
                        (unsigned long long)t->c.frees);
    if (size > t->c.current)
        return mp__fail(MP_ERR_INVALID_ARGUMENT, "tracker: a deallocation of %zu bytes recorded with %llu bytes "
                        "in use", size, (unsigned long long)t->c.current);
    mp__stats_on_free(&t->c, size);
    return MP_OK;
}

mp_status mp_tracker_record_deallocation(mp_tracker *handle, size_t size)
{
    tracker *t;
    mp_status s = get(handle, &t);
    if (s != MP_OK)
        return s;
    if (size == 0 || size > MP__MAX_REQUEST)
        return bad_size(size, "a deallocation");
    mp__lock_acquire(&t->lock);
    s = count_free(t, size);
    mp__lock_release(&t->lock);
    return s;
}

mp_status mp_tracker_track_allocation(mp_tracker *handle, const void *ptr, size_t size)
{
    tracker *t;
    mp_status s = get(handle, &t);
    if (s != MP_OK)
        return s;
    if (!ptr)
        return mp__fail(MP_ERR_INVALID_POINTER, "tracker: ptr is NULL");
    if (size == 0 || size > MP__MAX_REQUEST)
        return bad_size(size, "an allocation");
    mp__lock_acquire(&t->lock);
    if (!t->tracking)
        ;
    else if (mp__ptrmap_get(&t->index, mp__addr(ptr)))
        s = mp__fail(MP_ERR_INVALID_POINTER, "tracker: %p is tracked already (a second allocation of a live block)",
                     ptr);
    else if (!record_room(t))
        s = mp__fail(MP_ERR_OUT_OF_MEMORY, "tracker: no memory for the record of %p", ptr);
    else if ((s = count_alloc(t, size)) == MP_OK)
        add_record(t, ptr, size, t->next_seq++);
    mp__lock_release(&t->lock);
    return s;
}

mp_status mp_tracker_track_deallocation(mp_tracker *handle, const void *ptr)
{
    tracker *t;
    mp_status s = get(handle, &t);
    if (s != MP_OK)
        return s;
    if (!ptr)
        return mp__fail(MP_ERR_INVALID_POINTER, "tracker: ptr is NULL");
    mp__lock_acquire(&t->lock);
    size_t i = (size_t)(uintptr_t)mp__ptrmap_get(&t->index, mp__addr(ptr));
    if (!i) {
        if (t->tracking)
            s = mp__fail(MP_ERR_INVALID_POINTER, "tracker: %p is not tracked (never tracked, or freed already)", ptr);
    } else if ((s = count_free(t, t->recs[i - 1].size)) == MP_OK) {
        mp__ptrmap_remove(&t->index, mp__addr(ptr));
        if (i != t->nrecs) { /* the last record fills the hole */
            t->recs[i - 1] = t->recs[t->nrecs - 1];
            mp__ptrmap_remove(&t->index, mp__addr(t->recs[i - 1].ptr));
            mp__ptrmap_put(&t->index, mp__addr(t->recs[i - 1].ptr), (void *)(uintptr_t)i);
        }
        t->nrecs--;
    }
    mp__lock_release(&t->lock);
    return s;
}

/* The tracker's mp_stats. Lock held. */
static mp_stats stats_of(const tracker *t)
{
    mp_stats st = t->frozen;
    st.struct_size = sizeof st;
    st.total_allocated = t->c.total;
    st.current_used = t->c.current;
    st.peak_usage = t->c.peak;
    st.allocation_count = t->c.allocs;
    st.deallocation_count = t->c.frees;
    st.failed_allocations = t->c.failed;
    st.live_allocations = t->c.tracked_live + t->untracked;
    return st;
}

mp_status mp_tracker_get_stats(const mp_tracker *handle, mp_stats *out_stats)
{
    tracker *t;
    mp_status s = get(handle, &t);
    if (s != MP_OK)
        return s;
    mp__lock_acquire(&t->lock);
    mp_stats st = stats_of(t);
    mp__lock_release(&t->lock);
    return mp__struct_out(out_stats, &st, MP__STATS_SIZE_1_0, sizeof st, "out_stats");
}

mp_status mp_tracker_get_allocations(const mp_tracker *handle, mp_allocation_info *out, size_t capacity,
                                     size_t *out_count)
{
    tracker *t;
    mp_status s = get(handle, &t);
    if (s != MP_OK)
        return s;
    if (!out_count)
        return mp__fail(MP_ERR_INVALID_ARGUMENT, "out_count is NULL");
    if ((s = mp__records_in(out, capacity, MP__ALLOCINFO_SIZE_1_0, "out", "mp_allocation_info", &(size_t){0})) != MP_OK)
        return s;
    mp__lock_acquire(&t->lock); /* a copy, sorted and written out after the lock */
    size_t count = t->nrecs;
    mp_allocation_info *recs = count ? malloc(count * sizeof *recs) : NULL;
    if (recs)
        memcpy(recs, t->recs, count * sizeof *recs);
    mp__lock_release(&t->lock);
    if (count && !recs)
        return mp__fail(MP_ERR_OUT_OF_MEMORY, "tracker: no memory to list %zu records", count);
    return mp__allocations_out("tracker", recs, count, out, capacity, out_count);
}

mp_status mp_tracker_has_leaks(const mp_tracker *handle, bool *out_leaks)
{
    tracker *t;
    mp_status s = get(handle, &t);
    if (s != MP_OK)
        return s;
    if (!out_leaks)
        return mp__fail(MP_ERR_INVALID_ARGUMENT, "out_leaks is NULL");
    mp__lock_acquire(&t->lock);
    *out_leaks = t->c.tracked_live + t->untracked > 0;
    mp__lock_release(&t->lock);
    return MP_OK;
}

mp_status mp_tracker_set_tracking(mp_tracker *handle, bool enabled)
{
    tracker *t;
    mp_status s = get(handle, &t);
    if (s != MP_OK)
        return s;
    mp__lock_acquire(&t->lock);
    t->tracking = enabled;
    mp__lock_release(&t->lock);
    return MP_OK;
}

mp_status mp_tracker_get_tracking(const mp_tracker *handle, bool *out_enabled)
{
    tracker *t;
    mp_status s = get(handle, &t);
    if (s != MP_OK)
        return s;
    if (!out_enabled)
        return mp__fail(MP_ERR_INVALID_ARGUMENT, "out_enabled is NULL");
    mp__lock_acquire(&t->lock);
    *out_enabled = t->tracking;
    mp__lock_release(&t->lock);
    return MP_OK;
}

mp_status mp_tracker_reset(mp_tracker *handle)
{
    tracker *t;
    mp_status s = get(handle, &t);
    if (s != MP_OK)
        return s;
    mp__lock_acquire(&t->lock);
    mp__stats_restart(&t->c);
    t->frozen.peak_reserved_bytes = t->frozen.reserved_bytes;
    mp__lock_release(&t->lock);
    return MP_OK;
}

static mp_status render(const mp_tracker *handle, char **out, const char *out_name, bool json)
{
    tracker *t;
    mp_status s = get(handle, &t);
    if (s != MP_OK)
        return s;
    if (!out)
        return mp__fail(MP_ERR_INVALID_ARGUMENT, "%s is NULL", out_name);
    mp__lock_acquire(&t->lock);
    mp_stats st = stats_of(t);
    char *head;
    int n;
    if (json)
        n = t->head_json ? asprintf(&head, "%s", t->head_json)
                         : asprintf(&head, "\"tracker\":true,\"tracking\":%s", t->tracking ? "true" : "false");
    else
        n = t->head_text ? asprintf(&head, "%s", t->head_text)
                         : asprintf(&head, "tracker: tracking %s\n", t->tracking ? "on" : "off");
    mp__lock_release(&t->lock);
    if (n >= 0) {
        n = json ? mp__stats_json(out, head, &st) : mp__stats_text(out, head, &st);
        free(head);
    }
    return n < 0 ? mp__fail(MP_ERR_OUT_OF_MEMORY, "tracker: no memory for its stats text") : MP_OK;
}

mp_status mp_tracker_stats_string(const mp_tracker *handle, char **out_string)
{
    return render(handle, out_string, "out_string", false);
}

mp_status mp_tracker_stats_json(const mp_tracker *handle, char **out_json)
{
    return render(handle, out_json, "out_json", true);
}

/* ---- fork (fork.c) -------------------------------------------------------- */

/* A tracker that became live after prepare (its slot published meanwhile)
 * was not locked, and the parent leaves it alone, as pool.c does pools. */
static void lock_one(mp__slot *s, void *ctx)
{
    (void)ctx;
    tracker *t = (tracker *)(void *)s;
    mp__lock_acquire(&t->lock);
    t->fork_locked = true;
}

static void unlock_one(mp__slot *s, void *ctx)
{
    (void)ctx;
    tracker *t = (tracker *)(void *)s;
    if (!t->fork_locked)
        return;
    t->fork_locked = false;
    mp__lock_release(&t->lock);
}

static void renew_one(mp__slot *s, void *ctx)
{
    (void)ctx;
    tracker *t = (tracker *)(void *)s;
    t->fork_locked = false;
    mp__lock_init(&t->lock, true);
}

static void trackers_prepare(void) { mp__slots_foreach(MP__SLOT_TRACKER, lock_one, NULL); }
static void trackers_parent(void) { mp__slots_foreach(MP__SLOT_TRACKER, unlock_one, NULL); }
static void trackers_child(void) { mp__slots_foreach(MP__SLOT_TRACKER, renew_one, NULL); }

/* The record of a failed allocation (snapshot.h): the largest chunks at
 * that moment, and the detail that says what the pool held. The pool calls
 * these on its out-of-memory path, with its lock held: they work on the
 * record alone and call nothing back.
 *
 * The detail is the failed call's own message (which names the pool and
 * the reason), then the request and the pool's state (where memory is
 * mapped on demand, the address space and the idle memory beside what is
 * reserved), then the largest chunks while they fit: MP__DETAIL_MAX bytes
 * at most, as the thread's last-error buffer, a cut list ending in " ...". */
#include "stats/snapshot.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void mp__oom_keep_chunk(void *record, const mp__chunk_view *c)
{
    mp__oom_record *r = record;
    size_t n = r->nlisted, at = 0;
    while (at < n && r->chunks[at].size >= c->size)
        at++; /* equal sizes keep address order */
    if (at == MP__OOM_CHUNKS)
        return;
    if (n == MP__OOM_CHUNKS)
        n--; /* the smallest goes */
    memmove(&r->chunks[at + 1], &r->chunks[at], (n - at) * sizeof *r->chunks);
    r->chunks[at] = *c;
    r->nlisted = n + 1;
}

/* Appends fmt's text to buf (cap bytes, *len used) if it fits whole: false
 * (buf as it was) when it does not. */
static bool put(char *buf, size_t cap, size_t *len, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static bool put(char *buf, size_t cap, size_t *len, const char *fmt, ...)
{
    if (*len >= cap) /* a cap below what is written: nothing fits */
        return false;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + *len, cap - *len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= cap - *len) {
        buf[*len] = 0;
        return false;
    }
    *len += (size_t)n;
    return true;
}

void mp__oom_describe(mp__oom_record *r, const char *reason)
{
    const mp__pool_view *v = &r->view;
    char *d = r->detail, limit[48], space[96] = "";
    size_t cap = sizeof r->detail;
    if (v->max_size)
        snprintf(limit, sizeof limit, "max_size %zu", v->max_size);
    else
        snprintf(limit, sizeof limit, "no max_size");
    if (v->address_space != v->reserved || v->idle) /* memory mapped on demand: address space is not memory */
        snprintf(space, sizeof space, " of %zu address space, %zu idle", v->address_space, v->idle);
    char nums[MP__DETAIL_MAX];
    snprintf(nums, sizeof nums,
             "; request %zu bytes aligned %zu: reserved %zu%s (peak %zu, %s), in use %zu in %zu blocks, free %zu "
             "(largest block %zu), cached %zu in %zu blocks, pending on streams %zu in %zu blocks; %zu chunk%s",
             r->request, r->alignment, v->reserved, space, v->peak_reserved, limit, (size_t)mp__view_in_use(v),
             v->live_blocks, v->free_bytes, v->largest_free, v->cached_bytes, v->cached_blocks, v->pending_bytes,
             v->pending_blocks, v->nchunks, v->nchunks == 1 ? "" : "s");
    /* The reason whole if the numbers fit after it; else cut, marked "...",
     * so that they do (nums is shorter than cap: room >= 0). */
    size_t room = cap - 1 - strlen(nums), len = strlen(reason);
    bool cut = len > room;
    if (cut)
        len = room > 3 ? room - 3 : 0;
    memcpy(d, reason, len);
    if (cut && room >= 3) {
        memcpy(d + len, "...", 3);
        len += 3;
    }
    d[len] = 0;
    bool all = put(d, cap, &len, "%s", nums);
    for (size_t i = 0; all && i < r->nlisted; i++) {
        const mp__chunk_view *c = &r->chunks[i];
        all = put(d, cap - 4, &len, "%s%zu (free %zu, largest %zu)", /* room kept for " ..." */
                  i ? ", " : r->nlisted < v->nchunks ? ", largest: " : ": ", c->size, c->usage.free_bytes,
                  c->usage.largest_free);
        if (!all)
            put(d, cap, &len, " ...");
    }
}

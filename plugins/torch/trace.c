/* The allocation-trace writer (trace.h). Three pieces of state beside the
 * buffered FILE:
 *  - live: an open-addressing map from block address to trace id, linear
 *    probing at most half full, deletion by backward shift (no tombstones),
 *    so a lookup never scans more than the cluster it hashes into;
 *  - a stack of freed ids, popped before a new id is minted: ids stay below
 *    the highest number of blocks live at once (lines stay short);
 *  - the streams seen, in order of first use, each with a flag "freed on
 *    since the last s line".
 * Invariant: live.count + free_ids.count == next_id (every id minted is
 * either on a live block or on the stack). A failed bookkeeping allocation
 * stops the recording (the trace would lie from then on) and is reported by
 * mpt__trace_flush. */
#define _POSIX_C_SOURCE 200809L
#include "trace.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    uintptr_t key; /* block address; 0 = empty slot */
    uint32_t id;
} slot;

struct mpt__trace {
    FILE *f;
    char *buf;        /* stdio buffer, ours so that it outlives nothing */
    bool records;     /* a record was written: metadata must come before */
    const char *fail; /* the first failure, or NULL */
    slot *slots;
    size_t mask, count; /* capacity - 1, live blocks */
    uint32_t *free_ids;
    size_t nfree, free_cap;
    uint32_t next_id;
    void **streams;
    bool *freed_on;
    size_t nstreams, streams_cap;
};

enum { BUF_BYTES = 1 << 20, FIRST_SLOTS = 1024 };

static size_t hash(uintptr_t key, size_t mask)
{
    /* Blocks are at least 256-aligned: fold the low bits away, then mix. */
    uint64_t h = (uint64_t)(key >> 8) * 0x9E3779B97F4A7C15u;
    return (size_t)(h >> 32) & mask;
}

static bool rehash(mpt__trace *t, size_t ncap)
{
    slot *n = calloc(ncap, sizeof *n);
    if (!n)
        return false;
    for (size_t i = 0; t->slots && i <= t->mask; i++) {
        if (!t->slots[i].key)
            continue;
        size_t j = hash(t->slots[i].key, ncap - 1);
        while (n[j].key)
            j = (j + 1) & (ncap - 1);
        n[j] = t->slots[i];
    }
    free(t->slots);
    t->slots = n;
    t->mask = ncap - 1;
    return true;
}

static size_t find(const mpt__trace *t, uintptr_t key)
{
    size_t i = hash(key, t->mask);
    while (t->slots[i].key && t->slots[i].key != key)
        i = (i + 1) & t->mask;
    return i;
}

/* Backward-shift deletion: later members of the cluster move up into the
 * hole unless their home slot lies cyclically in (hole, their slot]. */
static void erase(mpt__trace *t, size_t hole)
{
    size_t i = hole;
    for (;;) {
        i = (i + 1) & t->mask;
        if (!t->slots[i].key)
            break;
        size_t home = hash(t->slots[i].key, t->mask);
        bool stays = hole <= i ? (hole < home && home <= i) : (hole < home || home <= i);
        if (!stays) {
            t->slots[hole] = t->slots[i];
            hole = i;
        }
    }
    t->slots[hole].key = 0;
    t->count--;
}

static void stop(mpt__trace *t, const char *why)
{
    if (!t->fail)
        t->fail = why;
}

/* The stream's number, adding it on first use; SIZE_MAX for want of memory. */
static size_t stream_no(mpt__trace *t, void *stream)
{
    for (size_t i = 0; i < t->nstreams; i++)
        if (t->streams[i] == stream)
            return i;
    if (t->nstreams == t->streams_cap) {
        size_t ncap = t->streams_cap ? 2 * t->streams_cap : 8;
        void **s = realloc(t->streams, ncap * sizeof *s);
        if (s)
            t->streams = s;
        bool *f = s ? realloc(t->freed_on, ncap * sizeof *f) : NULL;
        if (f)
            t->freed_on = f;
        if (!s || !f)
            return SIZE_MAX;
        t->streams_cap = ncap;
    }
    t->streams[t->nstreams] = stream;
    t->freed_on[t->nstreams] = false;
    return t->nstreams++;
}

/* path with each "%p" replaced by the process id; NULL for want of memory. */
static char *expand(const char *path)
{
    char pid[24];
    snprintf(pid, sizeof pid, "%ld", (long)getpid());
    size_t n = 1;
    for (const char *p = path; *p; p++)
        n += (p[0] == '%' && p[1] == 'p') ? strlen(pid) : 1;
    char *out = malloc(n), *o = out;
    if (!out)
        return NULL;
    for (const char *p = path; *p; p++) {
        if (p[0] == '%' && p[1] == 'p') {
            o += sprintf(o, "%s", pid);
            p++;
        } else {
            *o++ = *p;
        }
    }
    *o = 0;
    return out;
}

mpt__trace *mpt__trace_open(const char *path, void *pool_stream, char *why, size_t why_cap)
{
    mpt__trace *t = calloc(1, sizeof *t);
    char *file = expand(path);
    if (!t || !file || !rehash(t, FIRST_SLOTS) || stream_no(t, pool_stream) != 0) {
        snprintf(why, why_cap, "trace '%s': no host memory for its bookkeeping", path);
        free(file);
        mpt__trace_close(t);
        return NULL;
    }
    t->f = fopen(file, "w");
    if (!t->f) {
        snprintf(why, why_cap, "trace '%s': cannot create it: %s", file, strerror(errno));
        free(file);
        mpt__trace_close(t);
        return NULL;
    }
    free(file);
    t->buf = malloc(BUF_BYTES);
    if (t->buf)
        setvbuf(t->f, t->buf, _IOFBF, BUF_BYTES);
    fputs("# mempool-trace 1\n", t->f);
    return t;
}

void mpt__trace_meta(mpt__trace *t, const char *key, const char *value)
{
    if (t->records)
        stop(t, "metadata written after the first record");
    else
        fprintf(t->f, "# %s %s\n", key, value);
}

void mpt__trace_alloc(mpt__trace *t, const void *ptr, size_t size, void *stream)
{
    if (t->fail)
        return;
    size_t sn = stream_no(t, stream);
    if (sn == SIZE_MAX || ((t->count + 1) * 2 > t->mask + 1 && !rehash(t, 2 * (t->mask + 1)))) {
        stop(t, "no host memory for the trace's bookkeeping; recording stopped");
        return;
    }
    size_t i = find(t, (uintptr_t)ptr);
    if (t->slots[i].key) { /* never freed as far as the trace knows: the trace would lie */
        stop(t, "an address was allocated twice without a free between; recording stopped");
        return;
    }
    uint32_t id = t->nfree ? t->free_ids[--t->nfree] : t->next_id++;
    t->slots[i] = (slot){(uintptr_t)ptr, id};
    t->count++;
    t->records = true;
    fprintf(t->f, "a %u %zu %zu\n", id, size, sn);
}

void mpt__trace_free(mpt__trace *t, const void *ptr, void *stream)
{
    if (t->fail)
        return;
    size_t i = find(t, (uintptr_t)ptr);
    if (!t->slots[i].key)
        return;
    size_t sn = stream_no(t, stream);
    if (sn != SIZE_MAX && t->nfree == t->free_cap) {
        size_t ncap = t->free_cap ? 2 * t->free_cap : 256;
        uint32_t *n = realloc(t->free_ids, ncap * sizeof *n);
        if (n) {
            t->free_ids = n;
            t->free_cap = ncap;
        }
    }
    if (sn == SIZE_MAX || t->nfree == t->free_cap) {
        stop(t, "no host memory for the trace's bookkeeping; recording stopped");
        return;
    }
    uint32_t id = t->slots[i].id;
    erase(t, i);
    t->free_ids[t->nfree++] = id;
    t->freed_on[sn] = true;
    fprintf(t->f, "f %u %zu\n", id, sn);
}

void mpt__trace_synchronized(mpt__trace *t)
{
    if (t->fail)
        return;
    for (size_t i = 0; i < t->nstreams; i++) {
        if (t->freed_on[i]) {
            fprintf(t->f, "s %zu\n", i);
            t->freed_on[i] = false;
        }
    }
}

bool mpt__trace_flush(mpt__trace *t, char *why, size_t why_cap)
{
    if (fflush(t->f) != 0 || ferror(t->f)) {
        snprintf(why, why_cap, "trace: a write failed: %s", strerror(errno));
        return false;
    }
    if (t->fail) {
        snprintf(why, why_cap, "trace: %s", t->fail);
        return false;
    }
    return true;
}

void mpt__trace_close(mpt__trace *t)
{
    if (!t)
        return;
    if (t->f)
        fclose(t->f);
    free(t->buf);
    free(t->slots);
    free(t->free_ids);
    free(t->streams);
    free(t->freed_on);
    free(t);
}

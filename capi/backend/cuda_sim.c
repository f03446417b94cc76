/* The host-side stand-in for CUDA devices (cuda_sim.h). One mutex guards
 * it all: it serves tests and trace replays, not speed. */
#include "backend/cuda_sim.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>

#define SIM_DEVICES 8

typedef struct sim_block { /* a simulated cudaMalloc */
    void *p;
    size_t size;
    int device;
} sim_block;

typedef struct sim_dep { /* the stream's work after its event `after` waits for ticket of stream `on` */
    size_t on;
    uint64_t ticket, after;
} sim_dep;

typedef struct sim_stream { /* events recorded and completed on one stream */
    void *stream;
    uint64_t recorded, completed;
    sim_dep *deps; /* what its queued work waits for */
    size_t ndeps, deps_cap;
} sim_stream;

typedef struct sim_range { /* a mapped granule run (test hooks) */
    uintptr_t va;
    size_t size;
} sim_range;

typedef struct sim_watch { /* work on stream up to ticket uses [va, va + size) (test hooks) */
    uintptr_t va;
    size_t size, stream;
    uint64_t ticket;
} sim_watch;

typedef struct sim_event {
    size_t stream; /* index in streams */
    uint64_t ticket;
} sim_event;

static struct {
    bool on;
    mp__sim_config cfg;
    mp__sim_usage use[SIM_DEVICES];
    sim_block *blocks;
    size_t nblocks, blocks_cap;
    sim_stream *streams;
    size_t nstreams, streams_cap;
    uint64_t next_handle;
    uint64_t clock;
    sim_range *maps;
    size_t nmaps, maps_cap;
    sim_watch *watches;
    size_t nwatches, watches_cap;
    unsigned pass_waits, fail_waits; /* test hook: stream waits to let through, then to fail */
    unsigned pass_maps, fail_maps;   /* test hook: cuMemCreate calls to let through, then to fail */
    unsigned pass_records, fail_records; /* test hook: event records to let through, then to fail */
    unsigned pass_syncs, fail_syncs;     /* test hook: the library's stream syncs to let through, then to fail */
} sim;

static pthread_mutex_t sim_lock = PTHREAD_MUTEX_INITIALIZER;

/* A child forked while another thread was inside the stand-in gets it
 * unlocked, as the library's own locks are (core/fork.c). */
static void sim_prepare(void) { pthread_mutex_lock(&sim_lock); }
static void sim_parent(void) { pthread_mutex_unlock(&sim_lock); }
static void sim_child(void) { pthread_mutex_init(&sim_lock, NULL); }
static void sim_install(void) { pthread_atfork(sim_prepare, sim_parent, sim_child); }

void mp__sim_begin(const mp__sim_config *config)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, sim_install);
    pthread_mutex_lock(&sim_lock);
    free(sim.blocks);
    free(sim.streams);
    free(sim.maps);
    free(sim.watches);
    sim = (__typeof__(sim)){.on = true, .cfg = *config};
    if (sim.cfg.devices > SIM_DEVICES)
        sim.cfg.devices = SIM_DEVICES;
    pthread_mutex_unlock(&sim_lock);
}

void mp__sim_end(void)
{
    pthread_mutex_lock(&sim_lock);
    for (size_t i = 0; i < sim.nblocks; i++)
        munmap(sim.blocks[i].p, sim.blocks[i].size);
    for (size_t i = 0; i < sim.nstreams; i++)
        free(sim.streams[i].deps);
    free(sim.blocks);
    free(sim.streams);
    free(sim.maps);
    free(sim.watches);
    sim = (__typeof__(sim)){.on = false};
    pthread_mutex_unlock(&sim_lock);
}

bool mp__sim_on(void) { return __atomic_load_n(&sim.on, __ATOMIC_RELAXED); }

void mp__sim_usage_get(int device, mp__sim_usage *out)
{
    pthread_mutex_lock(&sim_lock);
    *out = device >= 0 && device < SIM_DEVICES ? sim.use[device] : (mp__sim_usage){0};
    pthread_mutex_unlock(&sim_lock);
}

int mp__sim_device_count(void) { return sim.cfg.devices; }

size_t mp__sim_device_memory(int device) { return device >= 0 && device < sim.cfg.devices ? sim.cfg.memory : 0; }

/* Takes size bytes of device memory, or says why not. Lock held. */
static mp_status take(int device, size_t size, const char *what)
{
    if (device < 0 || device >= sim.cfg.devices)
        return mp__fail(MP_ERR_INVALID_ARGUMENT, "%s of %zu bytes on device %d failed: cudaErrorInvalidDevice "
                        "(simulated)", what, size, device);
    mp__sim_usage *u = &sim.use[device];
    if (size > sim.cfg.memory - u->in_use)
        return mp__fail(MP_ERR_OUT_OF_MEMORY, "%s of %zu bytes on device %d failed: cudaErrorMemoryAllocation "
                        "(simulated: %zu of %zu bytes in use)", what, size, device, u->in_use, sim.cfg.memory);
    u->in_use += size;
    if (u->in_use > u->peak)
        u->peak = u->in_use;
    return MP_OK;
}

/* Address space the host never touches. */
static void *space(size_t size)
{
    void *p = mmap(NULL, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

mp_status mp__sim_malloc(int device, size_t size, void **out)
{
    pthread_mutex_lock(&sim_lock);
    mp_status s = take(device, size, "cudaMalloc");
    bool ok = true;
    if (s == MP_OK)
        sim.blocks = mp__grow(sim.blocks, &sim.blocks_cap, sim.nblocks + 1, sizeof *sim.blocks, &ok);
    void *p = s == MP_OK && ok ? space(size) : NULL;
    if (s == MP_OK && !p) {
        sim.use[device].in_use -= size;
        s = mp__fail(MP_ERR_OUT_OF_MEMORY, "cudaMalloc of %zu bytes on device %d failed: no host address space "
                     "for the simulation", size, device);
    }
    if (s == MP_OK) {
        sim.blocks[sim.nblocks++] = (sim_block){p, size, device};
        sim.use[device].mallocs++;
        *out = p;
    }
    pthread_mutex_unlock(&sim_lock);
    return s;
}

void mp__sim_free(void *p)
{
    pthread_mutex_lock(&sim_lock);
    for (size_t i = 0; i < sim.nblocks; i++)
        if (sim.blocks[i].p == p) {
            sim.use[sim.blocks[i].device].in_use -= sim.blocks[i].size;
            sim.use[sim.blocks[i].device].frees++;
            munmap(p, sim.blocks[i].size);
            sim.blocks[i] = sim.blocks[--sim.nblocks];
            break;
        }
    pthread_mutex_unlock(&sim_lock);
}

size_t mp__sim_vmm_granule(int device)
{
    return device >= 0 && device < sim.cfg.devices ? sim.cfg.granule : 0;
}

mp_status mp__sim_vmm_reserve(int device, size_t size, size_t alignment, void **out)
{
    (void)device;
    size_t extra = alignment > 4096 ? alignment : 0;
    char *raw = space(size + extra);
    if (!raw)
        return mp__fail(MP_ERR_OUT_OF_MEMORY, "cuMemAddressReserve of %zu bytes failed (simulated: no host "
                        "address space)", size);
    char *base = (char *)mp__align_up(mp__addr(raw), extra ? alignment : 1);
    if (base > raw)
        munmap(raw, (size_t)(base - raw));
    if (extra && base + size < raw + size + extra)
        munmap(base + size, (size_t)(raw + size + extra - (base + size)));
    *out = base;
    return MP_OK;
}

static bool overlaps(uintptr_t a, size_t an, uintptr_t b, size_t bn) { return a < b + bn && b < a + an; }

#include <stdio.h>
static void violation_at(const char *what, uintptr_t va)
{
    if (getenv("MP_SIM_DEBUG"))
        fprintf(stderr, "sim violation: %s at %#lx\n", what, (unsigned long)va);

    for (int d = 0; d < SIM_DEVICES; d++)
        sim.use[d].violations++;
}

void mp__sim_vmm_free(void *va, size_t size)
{
    pthread_mutex_lock(&sim_lock);
    for (size_t i = 0; i < sim.nmaps; i++)
        if (overlaps(sim.maps[i].va, sim.maps[i].size, mp__addr(va), size))
            violation_at("address space freed with memory mapped", sim.maps[i].va);
    pthread_mutex_unlock(&sim_lock);
    munmap(va, size);
}

mp_status mp__sim_vmm_map(int device, void *va, size_t size, uint64_t *handle)
{
    pthread_mutex_lock(&sim_lock);
    if (sim.fail_maps && !sim.pass_maps) {
        sim.fail_maps--;
        pthread_mutex_unlock(&sim_lock);
        return mp__fail(MP_ERR_CUDA, "cuMemCreate of %zu bytes on device %d failed: cudaErrorLaunchFailure "
                        "(simulated)", size, device);
    }
    if (sim.fail_maps)
        sim.pass_maps--;
    mp_status s = take(device, size, "cuMemCreate");
    bool ok = true;
    if (s == MP_OK) {
        for (size_t i = 0; i < sim.nmaps; i++)
            if (overlaps(sim.maps[i].va, sim.maps[i].size, mp__addr(va), size))
                violation_at("mapped twice", mp__addr(va));
        sim.maps = mp__grow(sim.maps, &sim.maps_cap, sim.nmaps + 1, sizeof *sim.maps, &ok);
        if (ok)
            sim.maps[sim.nmaps++] = (sim_range){mp__addr(va), size};
    }
    if (s == MP_OK) {
        sim.use[device].maps++;
        *handle = ((uint64_t)device << 56) | ++sim.next_handle; /* the device, for the unmap's count */
    }
    pthread_mutex_unlock(&sim_lock);
    return s;
}

static bool watch_done(const sim_watch *w) { return sim.streams[w->stream].completed >= w->ticket; }

void mp__sim_vmm_unmap(void *va, size_t size, uint64_t handle)
{
    pthread_mutex_lock(&sim_lock);
    size_t k = 0;
    while (k < sim.nmaps && !(sim.maps[k].va == mp__addr(va) && sim.maps[k].size == size))
        k++;
    if (k < sim.nmaps)
        sim.maps[k] = sim.maps[--sim.nmaps];
    else
        violation_at("unmapped, not mapped", mp__addr(va));
    for (size_t i = 0; i < sim.nwatches; i++)
        if (overlaps(sim.watches[i].va, sim.watches[i].size, mp__addr(va), size) && !watch_done(&sim.watches[i]))
        {
            violation_at("unmapped under pending work", mp__addr(va));
            if (getenv("MP_SIM_DEBUG"))
                fprintf(stderr, "  watch %#lx+%zu on stream %p ticket %llu (completed %llu recorded %llu)\n",
                        (unsigned long)sim.watches[i].va, sim.watches[i].size, sim.streams[sim.watches[i].stream].stream,
                        (unsigned long long)sim.watches[i].ticket,
                        (unsigned long long)sim.streams[sim.watches[i].stream].completed,
                        (unsigned long long)sim.streams[sim.watches[i].stream].recorded);
            if (getenv("MP_SIM_ABORT"))
                abort();
        }
    int device = (int)(handle >> 56);
    if (device < SIM_DEVICES) {
        sim.use[device].in_use -= size;
        sim.use[device].unmaps++;
    }
    pthread_mutex_unlock(&sim_lock);
}

/* The record of stream, made on first use. Lock held. */
static sim_stream *stream_of(void *stream, size_t *index)
{
    for (size_t i = 0; i < sim.nstreams; i++)
        if (sim.streams[i].stream == stream) {
            *index = i;
            return &sim.streams[i];
        }
    bool ok;
    sim.streams = mp__grow(sim.streams, &sim.streams_cap, sim.nstreams + 1, sizeof *sim.streams, &ok);
    if (!ok)
        return NULL;
    *index = sim.nstreams;
    sim.streams[sim.nstreams] = (sim_stream){.stream = stream};
    return &sim.streams[sim.nstreams++];
}

/* Whether the next event record fails (mp__sim_fail_records). Lock held. */
static bool record_fails(void)
{
    if (sim.fail_records && !sim.pass_records) {
        sim.fail_records--;
        return true;
    }
    if (sim.fail_records)
        sim.pass_records--;
    return false;
}

mp_status mp__sim_event_record(int device, void *stream, void **event)
{
    (void)device;
    pthread_mutex_lock(&sim_lock);
    if (record_fails()) {
        pthread_mutex_unlock(&sim_lock);
        return mp__fail(MP_ERR_CUDA, "cudaEventRecord failed: cudaErrorLaunchFailure (simulated)");
    }
    size_t i;
    sim_stream *st = stream_of(stream, &i);
    sim_event *e = st ? malloc(sizeof *e) : NULL;
    if (e) {
        *e = (sim_event){i, ++st->recorded};
        sim.use[0].events++;
    }
    pthread_mutex_unlock(&sim_lock);
    if (!e)
        return mp__fail(MP_ERR_OUT_OF_MEMORY, "cudaEventRecord failed: no host memory for the simulation");
    *event = e;
    return MP_OK;
}

mp_status mp__sim_event_rerecord(void *stream, void *event)
{
    sim_event *e = event;
    pthread_mutex_lock(&sim_lock);
    if (record_fails()) {
        pthread_mutex_unlock(&sim_lock);
        return mp__fail(MP_ERR_CUDA, "cudaEventRecord failed: cudaErrorLaunchFailure (simulated)");
    }
    size_t i;
    sim_stream *st = stream_of(stream, &i);
    if (st) {
        *e = (sim_event){i, ++st->recorded};
        sim.use[0].events++;
    }
    pthread_mutex_unlock(&sim_lock);
    return st ? MP_OK : mp__fail(MP_ERR_OUT_OF_MEMORY, "cudaEventRecord failed: no host memory for the simulation");
}

bool mp__sim_event_done(void *event)
{
    const sim_event *e = event;
    pthread_mutex_lock(&sim_lock);
    sim.use[0].queries++;
    bool done = e->stream < sim.nstreams && sim.streams[e->stream].completed >= e->ticket;
    pthread_mutex_unlock(&sim_lock);
    return done;
}

void mp__sim_event_drop(void *event) { free(event); }

/* Completes stream i's work up to its event `ticket` (all: and every wait
 * queued after it), and what that work waited for. Lock held. */
static void complete(size_t i, uint64_t ticket, bool all)
{
    sim_stream *st = &sim.streams[i];
    if (st->completed < ticket)
        st->completed = ticket;
    for (size_t k = 0; k < st->ndeps;) {
        if (!all && st->deps[k].after >= ticket) {
            k++;
            continue;
        }
        sim_dep d = st->deps[k];
        st->deps[k] = st->deps[--st->ndeps];
        complete(d.on, d.ticket, false);
        st = &sim.streams[i];
        k = 0; /* the recursion may have changed the list */
    }
}

mp_status mp__sim_stream_wait(void *stream, void *event)
{
    const sim_event *e = event;
    pthread_mutex_lock(&sim_lock);
    size_t i;
    if (sim.fail_waits && !sim.pass_waits) {
        sim.fail_waits--;
        pthread_mutex_unlock(&sim_lock);
        return mp__fail(MP_ERR_CUDA, "cudaStreamWaitEvent failed: cudaErrorLaunchFailure (simulated)");
    }
    if (sim.pass_waits)
        sim.pass_waits--;
    sim_stream *st = stream_of(stream, &i);
    bool ok = st != NULL;
    sim.use[0].waits++;
    if (ok && e->stream != i && sim.streams[e->stream].completed < e->ticket) {
        st->deps = mp__grow(st->deps, &st->deps_cap, st->ndeps + 1, sizeof *st->deps, &ok);
        if (ok)
            st->deps[st->ndeps++] = (sim_dep){e->stream, e->ticket, st->recorded};
    }
    pthread_mutex_unlock(&sim_lock);
    return ok ? MP_OK : mp__fail(MP_ERR_OUT_OF_MEMORY, "cudaStreamWaitEvent failed: no host memory for the simulation");
}

void mp__sim_sync(void *stream)
{
    pthread_mutex_lock(&sim_lock);
    size_t i;
    sim_stream *st = stream_of(stream, &i);
    if (st)
        complete(i, st->recorded, true); /* the host waits for every queued wait too */
    for (int d = 0; d < sim.cfg.devices; d++)
        sim.use[d].syncs++;
    pthread_mutex_unlock(&sim_lock);
}

/* Whether the library's next sync fails (mp__sim_fail_syncs). */
static bool sync_fails(void)
{
    pthread_mutex_lock(&sim_lock);
    bool fails = sim.fail_syncs && !sim.pass_syncs;
    if (fails)
        sim.fail_syncs--;
    else if (sim.fail_syncs)
        sim.pass_syncs--;
    pthread_mutex_unlock(&sim_lock);
    return fails;
}

mp_status mp__sim_stream_sync(void *stream)
{
    if (sync_fails())
        return mp__fail(MP_ERR_CUDA, "cudaStreamSynchronize failed: cudaErrorLaunchFailure (simulated)");
    mp__sim_sync(stream);
    return MP_OK;
}

mp_status mp__sim_device_sync(void)
{
    if (sync_fails())
        return mp__fail(MP_ERR_CUDA, "cudaDeviceSynchronize failed: cudaErrorLaunchFailure (simulated)");
    mp__sim_sync_all();
    return MP_OK;
}

void mp__sim_fail_syncs(unsigned after, unsigned n)
{
    pthread_mutex_lock(&sim_lock);
    sim.pass_syncs = n ? after : 0;
    sim.fail_syncs = n;
    pthread_mutex_unlock(&sim_lock);
}

void mp__sim_sync_all(void)
{
    pthread_mutex_lock(&sim_lock);
    for (size_t i = 0; i < sim.nstreams; i++)
        complete(i, sim.streams[i].recorded, true);
    pthread_mutex_unlock(&sim_lock);
}

uint64_t mp__sim_clock_ns(void) { return __atomic_load_n(&sim.clock, __ATOMIC_RELAXED); }

void mp__sim_advance(uint64_t ns) { __atomic_add_fetch(&sim.clock, ns, __ATOMIC_RELAXED); }

/* ---- test hooks ---------------------------------------------------------- */

void mp__sim_fail_waits(unsigned after, unsigned n)
{
    pthread_mutex_lock(&sim_lock);
    sim.pass_waits = n ? after : 0;
    sim.fail_waits = n;
    pthread_mutex_unlock(&sim_lock);
}

void mp__sim_fail_records(unsigned after, unsigned n)
{
    pthread_mutex_lock(&sim_lock);
    sim.pass_records = n ? after : 0;
    sim.fail_records = n;
    pthread_mutex_unlock(&sim_lock);
}

void mp__sim_fail_maps(unsigned after, unsigned n)
{
    pthread_mutex_lock(&sim_lock);
    sim.pass_maps = n ? after : 0;
    sim.fail_maps = n;
    pthread_mutex_unlock(&sim_lock);
}

size_t mp__sim_mappings(void **va, size_t *size, size_t max)
{
    pthread_mutex_lock(&sim_lock);
    size_t n = sim.nmaps;
    for (size_t i = 0; i < n && i < max; i++) {
        va[i] = (void *)sim.maps[i].va;
        size[i] = sim.maps[i].size;
    }
    pthread_mutex_unlock(&sim_lock);
    return n;
}

bool mp__sim_mapped(const void *va, size_t size)
{
    uintptr_t a = mp__addr(va);
    size_t covered = 0;
    pthread_mutex_lock(&sim_lock);
    for (size_t i = 0; i < sim.nblocks; i++)
        if (a >= mp__addr(sim.blocks[i].p) && a + size <= mp__addr(sim.blocks[i].p) + sim.blocks[i].size)
            covered = size;
    for (size_t i = 0; i < sim.nmaps && covered < size; i++) {
        uintptr_t lo = sim.maps[i].va > a ? sim.maps[i].va : a;
        uintptr_t hi = sim.maps[i].va + sim.maps[i].size < a + size ? sim.maps[i].va + sim.maps[i].size : a + size;
        if (lo < hi)
            covered += hi - lo; /* mapped runs never overlap (else a violation) */
    }
    pthread_mutex_unlock(&sim_lock);
    return covered >= size;
}

void mp__sim_watch(const void *va, size_t size, void *stream)
{
    pthread_mutex_lock(&sim_lock);
    for (size_t i = 0; i < sim.nwatches;) /* those done are done for good */
        if (watch_done(&sim.watches[i]))
            sim.watches[i] = sim.watches[--sim.nwatches];
        else
            i++;
    size_t si;
    sim_stream *st = stream_of(stream, &si);
    bool ok = st != NULL;
    if (ok)
        sim.watches = mp__grow(sim.watches, &sim.watches_cap, sim.nwatches + 1, sizeof *sim.watches, &ok);
    if (ok)
        sim.watches[sim.nwatches++] = (sim_watch){mp__addr(va), size, si, ++sim.streams[si].recorded};
    pthread_mutex_unlock(&sim_lock);
}

/* Whether completing stream i's work up to ticket (all: and every wait
 * queued after it) completes ticket `t` of stream `s` (complete()'s walk,
 * without the changes): a search of the wait graph, each stream expanded
 * once from the highest ticket it is reached at (a depth cap here once said
 * "no" to long chains of steals and fences that do reach). Lock held. */
typedef struct reach_node {
    size_t stream;
    uint64_t ticket;
    bool all;
} reach_node;

static bool reaches(size_t i, uint64_t ticket, bool all, size_t s, uint64_t t)
{
    size_t n = sim.nstreams, top = 0, cap = 64;
    uint64_t *seen = calloc(n, sizeof *seen);   /* highest ticket expanded from + 1; 0: never */
    bool *seen_all = calloc(n, sizeof *seen_all);
    reach_node *stack = malloc(cap * sizeof *stack);
    bool found = false;
    if (!seen || !seen_all || !stack)
        goto out;
    stack[top++] = (reach_node){i, ticket, all};
    while (top && !found) {
        reach_node at = stack[--top];
        if (at.stream == s && at.ticket >= t) {
            found = true;
            break;
        }
        if (seen_all[at.stream] || (!at.all && seen[at.stream] > at.ticket))
            continue; /* expanded already from as far or further */
        if (at.all)
            seen_all[at.stream] = true;
        if (seen[at.stream] < at.ticket + 1)
            seen[at.stream] = at.ticket + 1;
        const sim_stream *st = &sim.streams[at.stream];
        for (size_t k = 0; k < st->ndeps; k++) {
            if (!at.all && st->deps[k].after >= at.ticket)
                continue;
            if (top == cap) {
                reach_node *more = realloc(stack, 2 * cap * sizeof *stack);
                if (!more)
                    goto out;
                stack = more;
                cap *= 2;
            }
            stack[top++] = (reach_node){st->deps[k].on, st->deps[k].ticket, false};
        }
    }
out:
    free(seen);
    free(seen_all);
    free(stack);
    return found;
}

bool mp__sim_handout_safe(const void *va, size_t size, void *stream)
{
    pthread_mutex_lock(&sim_lock);
    size_t si;
    sim_stream *st = stream_of(stream, &si);
    bool safe = st != NULL;
    for (size_t i = 0; safe && i < sim.nwatches; i++) {
        const sim_watch *w = &sim.watches[i];
        if (overlaps(w->va, w->size, mp__addr(va), size) && !watch_done(w) &&
            !reaches(si, sim.streams[si].recorded, true, w->stream, w->ticket)) {
            safe = false;
            if (getenv("MP_SIM_DEBUG")) {
                fprintf(stderr, "handout %#lx+%zu to %p: watch %#lx+%zu stream %p ticket %llu\n",
                        (unsigned long)mp__addr(va), size, stream, (unsigned long)w->va, w->size,
                        sim.streams[w->stream].stream, (unsigned long long)w->ticket);
                for (size_t k = 0; k < sim.nstreams; k++) {
                    fprintf(stderr, "  stream %p recorded %llu completed %llu deps:", sim.streams[k].stream,
                            (unsigned long long)sim.streams[k].recorded, (unsigned long long)sim.streams[k].completed);
                    for (size_t d = 0; d < sim.streams[k].ndeps; d++)
                        fprintf(stderr, " [after %llu -> %p@%llu]", (unsigned long long)sim.streams[k].deps[d].after,
                                sim.streams[sim.streams[k].deps[d].on].stream,
                                (unsigned long long)sim.streams[k].deps[d].ticket);
                    fprintf(stderr, "\n");
                }
            }
        }
    }
    pthread_mutex_unlock(&sim_lock);
    return safe;
}

/* The PyTorch plug-in (mempool_torch.h): one mempool GPU pool per device
 * behind the callbacks of torch.cuda.memory.CUDAPluggableAllocator.
 *
 * State: g holds the configuration, the last error and one slot per device.
 * A slot's pool pointer is published with a release store after everything
 * the callbacks read beside it (the pool's stream, the trace, the timing
 * switch) is set, all under g.lock; callbacks read it with an acquire load
 * and never take g.lock once the pool exists. So the fast path is: range
 * check, acquire load, mp_pool_allocate, three relaxed counter updates (a
 * compare-exchange loop for the peak). Allocations for another stream than
 * the pool's go through mp_pool_allocate_on_stream, which takes a block
 * freed on that stream first, or makes the stream wait for the pool's when
 * a block freed in the pool stream's order may be handed out (PyTorch never
 * destroys its streams, so their handles name one stream each).
 *
 * Invariants of a slot: stream, trace and timed never change after the pool
 * is published; live_bytes is the sum of the sizes of blocks handed
 * out and not yet freed (as the callers pass them); peak_live_bytes >= every
 * value live_bytes has had.
 *
 * When tracing, one mutex is held across each allocator call and its record,
 * so that the trace orders a free before the allocation reusing its address;
 * tracing therefore serialises the device's callbacks. */
#define _POSIX_C_SOURCE 200809L
#include "internal.h"
#include "trace.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- presets ------------------------------------------------------------ */

typedef struct preset {
    const char *name;
    mp_status (*fill)(mp_config *c, int device);
} preset;

static mp_status fill_default(mp_config *c, int device)
{
    mp_status s = mp_config_default_gpu(c); /* device 0 by definition */
    c->device_id = device;
    return s;
}

static mp_status fill_high_performance(mp_config *c, int device)
{
    return mp_config_high_performance_gpu(c, device);
}

static const preset presets[] = {
    {"default", fill_default},
    {"high_performance", fill_high_performance},
};
enum { NPRESETS = sizeof presets / sizeof presets[0], ERR_CAP = 512 };

/* ---- state -------------------------------------------------------------- */

typedef struct slot {
    _Atomic(mp_pool *) pool;
    void *stream;       /* the pool's stream: its first allocation's */
    mpt__trace *trace;  /* non-NULL on the traced device only */
    bool timed;
    _Atomic uint64_t live_bytes, peak_live_bytes, allocations, frees, failed_allocations, failed_frees,
        other_stream_allocations, other_stream_frees, alloc_ns, free_ns;
} slot;

static struct {
    pthread_mutex_t lock; /* configuration, pool creation, reading the environment */
    size_t preset;
    size_t max_bytes;
    int pools;
    bool env_read, timing, traced;
    char *trace_path;
    uint64_t timer_overhead_ns;
    pthread_mutex_t trace_lock; /* see the file comment */
    pthread_mutex_t error_lock;
    char error[ERR_CAP];
    slot slots[MEMPOOL_TORCH_MAX_DEVICES];
} g = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .trace_lock = PTHREAD_MUTEX_INITIALIZER,
    .error_lock = PTHREAD_MUTEX_INITIALIZER,
};

#define RELAXED memory_order_relaxed

/* ---- errors ------------------------------------------------------------- */

/* Keeps the detail as the last error and in why (when given); returns s. */
static mp_status fail(char *why, size_t why_cap, mp_status s, const char *fmt, ...)
{
    char msg[ERR_CAP];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (why && why_cap)
        snprintf(why, why_cap, "%s", msg);
    pthread_mutex_lock(&g.error_lock);
    memcpy(g.error, msg, sizeof msg);
    pthread_mutex_unlock(&g.error_lock);
    return s;
}

const char *mempool_torch_last_error(void)
{
    static _Thread_local char copy[ERR_CAP];
    pthread_mutex_lock(&g.error_lock);
    memcpy(copy, g.error, sizeof copy);
    pthread_mutex_unlock(&g.error_lock);
    return copy;
}

/* ---- timing (MEMPOOL_TORCH_TIMING) -------------------------------------- */

static inline uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* What one timed region costs with nothing in it: the median of many. */
static uint64_t timer_overhead(void)
{
    enum { N = 1001 };
    static uint64_t d[N];
    for (int i = 0; i < N; i++) {
        uint64_t t0 = now_ns();
        d[i] = now_ns() - t0;
    }
    for (int i = 1; i < N; i++) /* insertion sort: small, runs once */
        for (int j = i; j > 0 && d[j - 1] > d[j]; j--) {
            uint64_t t = d[j];
            d[j] = d[j - 1];
            d[j - 1] = t;
        }
    return d[N / 2];
}

/* ---- configuration and pool creation ------------------------------------ */

int mempool_torch_configure(const char *name, size_t max_bytes)
{
    if (!name)
        return fail(NULL, 0, MP_ERR_INVALID_ARGUMENT, "mempool_torch_configure: preset is NULL");
    size_t i = 0;
    while (i < NPRESETS && strcmp(presets[i].name, name) != 0)
        i++;
    if (i == NPRESETS)
        return fail(NULL, 0, MP_ERR_INVALID_ARGUMENT,
                    "mempool_torch_configure: unknown preset '%s' (known: default, high_performance)", name);
    pthread_mutex_lock(&g.lock);
    mp_status s = MP_OK;
    if (g.pools)
        s = fail(NULL, 0, MP_ERR_INVALID_OPERATION,
                 "mempool_torch_configure: %d pool(s) exist already with preset '%s'; configure before the "
                 "first CUDA allocation",
                 g.pools, presets[g.preset].name);
    else {
        g.preset = i;
        g.max_bytes = max_bytes;
    }
    pthread_mutex_unlock(&g.lock);
    return s;
}

/* Under g.lock: MEMPOOL_TORCH_TRACE and MEMPOOL_TORCH_TIMING, once. */
static void read_env(void)
{
    if (g.env_read)
        return;
    g.env_read = true;
    const char *trace = getenv("MEMPOOL_TORCH_TRACE");
    if (trace && *trace)
        g.trace_path = strdup(trace);
    const char *timing = getenv("MEMPOOL_TORCH_TIMING");
    g.timing = timing && *timing && strcmp(timing, "0") != 0;
    if (g.timing)
        g.timer_overhead_ns = timer_overhead();
}

static void flush_trace_at_exit(void)
{
    (void)mempool_torch_trace_flush();
}

/* Opens the trace for the device's pool: the header's metadata. */
static mp_status open_trace(int device, const mp_config *c, void *stream, mpt__trace **out, char *why,
                            size_t why_cap)
{
    char reason[ERR_CAP], value[64];
    mpt__trace *t = mpt__trace_open(g.trace_path, stream, reason, sizeof reason);
    if (!t)
        return fail(why, why_cap, MP_ERR_INVALID_OPERATION, "mempool_torch: MEMPOOL_TORCH_TRACE: %s", reason);
    mpt__trace_meta(t, "recorder", "mempool_torch");
    mpt__trace_meta(t, "mempool", mp_version_string());
    mpt__trace_meta(t, "preset", presets[g.preset].name);
    snprintf(value, sizeof value, "%zu", c->max_size);
    mpt__trace_meta(t, "max_bytes", value);
    snprintf(value, sizeof value, "%d", device);
    mpt__trace_meta(t, "cuda_device", value);
    *out = t;
    return MP_OK;
}

/* The device's pool, created on first use from the configured preset. */
static mp_status create(int device, slot *d, cudaStream_t stream, mp_pool **out, char *why, size_t why_cap)
{
    pthread_mutex_lock(&g.lock);
    mp_pool *pool = atomic_load_explicit(&d->pool, RELAXED);
    if (pool) { /* another thread created it meanwhile */
        pthread_mutex_unlock(&g.lock);
        *out = pool;
        return MP_OK;
    }
    read_env();
    const preset *p = &presets[g.preset];
    mp_config c = MP_CONFIG_INIT;
    char name[MP_NAME_MAX + 1];
    snprintf(name, sizeof name, "torch_gpu%d", device);
    mp_status s = p->fill(&c, device);
    if (s == MP_OK && g.max_bytes) {
        c.max_size = g.max_bytes;
        if (c.initial_size > c.max_size) /* a cap below the preset's first chunk lowers it */
            c.initial_size = c.max_size;
    }
    if (s == MP_OK)
        s = mp_pool_create(name, MP_MEMORY_GPU, &c, &pool);
    if (s == MP_OK)
        s = mp_pool_set_stream(pool, stream);
    if (s != MP_OK)
        s = fail(why, why_cap, s, "mempool_torch: creating the '%s' pool of device %d failed (%s): %s", p->name,
                 device, mp_status_name(s), mp_last_error_message());
    mpt__trace *trace = NULL;
    if (s == MP_OK && g.trace_path && !g.traced) {
        s = open_trace(device, &c, stream, &trace, why, why_cap);
        if (s == MP_OK) {
            g.traced = true;
            atexit(flush_trace_at_exit);
        }
    }
    if (s != MP_OK) {
        if (pool)
            mp_pool_destroy(pool);
        pthread_mutex_unlock(&g.lock);
        return s;
    }
    d->stream = stream;
    d->trace = trace;
    d->timed = g.timing;
    g.pools++;
    atomic_store_explicit(&d->pool, pool, memory_order_release);
    pthread_mutex_unlock(&g.lock);
    *out = pool;
    return MP_OK;
}

static mp_status slot_of(int device, slot **out, char *why, size_t why_cap)
{
    if (device < 0 || device >= MEMPOOL_TORCH_MAX_DEVICES)
        return fail(why, why_cap, MP_ERR_INVALID_ARGUMENT, "mempool_torch: device %d is out of range (0 .. %d)",
                    device, MEMPOOL_TORCH_MAX_DEVICES - 1);
    *out = &g.slots[device];
    return MP_OK;
}

/* The existing pool of device, or MP_ERR_NOT_FOUND. */
static mp_status pool_of(int device, const char *what, mp_pool **out)
{
    slot *d = NULL;
    mp_status s = slot_of(device, &d, NULL, 0);
    if (s != MP_OK)
        return s;
    *out = atomic_load_explicit(&d->pool, memory_order_acquire);
    if (!*out)
        return fail(NULL, 0, MP_ERR_NOT_FOUND, "%s: device %d has no pool (nothing allocated there yet)", what,
                    device);
    return MP_OK;
}

/* ---- the callbacks ------------------------------------------------------ */

/* Whether stream is capturing a CUDA graph. An allocation for it is
 * refused: waiting there on an event recorded outside the capture breaks
 * the capture, and the blocks of a captured graph must outlive their frees. */
static bool capturing(cudaStream_t stream)
{
    enum cudaStreamCaptureStatus capture = cudaStreamCaptureStatusNone;
    if (cudaStreamIsCapturing(stream, &capture) != cudaSuccess) {
        cudaGetLastError(); /* a stream the pool cannot use either: its call reports it */
        return false;
    }
    return capture != cudaStreamCaptureStatusNone;
}

static void count_peak(slot *d, uint64_t live)
{
    uint64_t peak = atomic_load_explicit(&d->peak_live_bytes, RELAXED);
    while (live > peak && !atomic_compare_exchange_weak_explicit(&d->peak_live_bytes, &peak, live, RELAXED, RELAXED)) {
    }
}

mp_status mpt__allocate(size_t size, int device, cudaStream_t stream, void **out, char *why, size_t why_cap)
{
    *out = NULL;
    if (size == 0) /* as PyTorch's own allocators: an empty tensor has no storage */
        return MP_OK;
    slot *d = NULL;
    mp_status s = slot_of(device, &d, why, why_cap);
    if (s != MP_OK)
        return s;
    mp_pool *pool = atomic_load_explicit(&d->pool, memory_order_acquire);
    if (!pool && (s = create(device, d, stream, &pool, why, why_cap)) != MP_OK) {
        atomic_fetch_add_explicit(&d->failed_allocations, 1, RELAXED);
        return s;
    }
    bool other = stream != (cudaStream_t)d->stream;
    if (d->trace)
        pthread_mutex_lock(&g.trace_lock);
    const char *detail = NULL;
    if (other && capturing(stream)) {
        s = MP_ERR_UNSUPPORTED;
        detail = "the stream is capturing a CUDA graph, which the plug-in does not support";
    } else {
        /* Another stream than the pool's: the pool makes it wait for the
         * pool's stream when a block freed in that order may be handed out. */
        uint64_t t0 = d->timed ? now_ns() : 0;
        s = other ? mp_pool_allocate_on_stream(pool, size, stream, out) : mp_pool_allocate(pool, size, out);
        if (d->timed)
            atomic_fetch_add_explicit(&d->alloc_ns, now_ns() - t0, RELAXED);
    }
    if (s != MP_OK)
        s = fail(why, why_cap, s, "mempool_torch: allocating %zu bytes on device %d for stream %p failed (%s): %s",
                 size, device, (void *)stream, mp_status_name(s), detail ? detail : mp_last_error_message());
    if (s == MP_OK && d->trace)
        mpt__trace_alloc(d->trace, *out, size, stream);
    if (d->trace)
        pthread_mutex_unlock(&g.trace_lock);
    if (s != MP_OK) {
        atomic_fetch_add_explicit(&d->failed_allocations, 1, RELAXED);
        return s;
    }
    atomic_fetch_add_explicit(&d->allocations, 1, RELAXED);
    if (other)
        atomic_fetch_add_explicit(&d->other_stream_allocations, 1, RELAXED);
    count_peak(d, atomic_fetch_add_explicit(&d->live_bytes, size, RELAXED) + size);
    return MP_OK;
}

void *mempool_torch_malloc(size_t size, int device, cudaStream_t stream)
{
    void *p = NULL;
    mpt__allocate(size, device, stream, &p, NULL, 0);
    return p;
}

void mempool_torch_free(void *ptr, size_t size, int device, cudaStream_t stream)
{
    if (!ptr)
        return;
    slot *d = NULL;
    mp_pool *pool;
    if (slot_of(device, &d, NULL, 0) != MP_OK)
        return;
    if (!(pool = atomic_load_explicit(&d->pool, memory_order_acquire))) {
        fail(NULL, 0, MP_ERR_INVALID_POINTER, "mempool_torch: free of %p on device %d, which has no pool", ptr,
             device);
        atomic_fetch_add_explicit(&d->failed_frees, 1, RELAXED);
        return;
    }
    bool other = stream != (cudaStream_t)d->stream;
    if (d->trace)
        pthread_mutex_lock(&g.trace_lock);
    uint64_t t0 = d->timed ? now_ns() : 0;
    mp_status s = other ? mp_pool_deallocate_on_stream(pool, ptr, stream) : mp_pool_deallocate(pool, ptr);
    if (d->timed)
        atomic_fetch_add_explicit(&d->free_ns, now_ns() - t0, RELAXED);
    if (s == MP_OK && d->trace)
        mpt__trace_free(d->trace, ptr, stream);
    if (d->trace)
        pthread_mutex_unlock(&g.trace_lock);
    if (s != MP_OK) {
        fail(NULL, 0, s, "mempool_torch: freeing %p (%zu bytes) on device %d failed (%s): %s", ptr, size, device,
             mp_status_name(s), mp_last_error_message());
        atomic_fetch_add_explicit(&d->failed_frees, 1, RELAXED);
        return;
    }
    atomic_fetch_add_explicit(&d->frees, 1, RELAXED);
    if (other)
        atomic_fetch_add_explicit(&d->other_stream_frees, 1, RELAXED);
    atomic_fetch_sub_explicit(&d->live_bytes, size, RELAXED);
}

/* ---- diagnostics -------------------------------------------------------- */

int mempool_torch_stats(int device, mp_stats *out)
{
    mp_pool *pool;
    mp_status s = pool_of(device, "mempool_torch_stats", &pool);
    if (s == MP_OK && (s = mp_pool_get_stats(pool, out)) != MP_OK)
        fail(NULL, 0, s, "mempool_torch_stats: %s", mp_last_error_message());
    return s;
}

int mempool_torch_trim(int device)
{
    mp_pool *pool;
    mp_status s = pool_of(device, "mempool_torch_trim", &pool);
    if (s == MP_ERR_NOT_FOUND)
        return MP_OK;
    if (s == MP_OK && (s = mp_pool_trim(pool, 0)) != MP_OK)
        fail(NULL, 0, s, "mempool_torch_trim: %s", mp_last_error_message());
    return s;
}

static uint64_t get(_Atomic uint64_t *v)
{
    return atomic_load_explicit(v, RELAXED);
}

/* One device's object of mempool_torch_pools_json. */
static mp_status device_json(FILE *f, int device, slot *d, mp_pool *pool)
{
    char *stats = NULL;
    mp_status s = mp_pool_stats_json(pool, &stats);
    if (s != MP_OK)
        return fail(NULL, 0, s, "mempool_torch_pools_json: device %d: %s", device, mp_last_error_message());
    mp_config c = MP_CONFIG_INIT;
    mp_pool_get_config(pool, &c);
    fprintf(f,
            "{\"device\":%d,\"preset\":\"%s\",\"max_bytes\":%zu,\"stream\":\"0x%" PRIxPTR "\",\"traced\":%s,"
            "\"counters\":{\"live_bytes\":%" PRIu64 ",\"peak_live_bytes\":%" PRIu64 ",\"allocations\":%" PRIu64
            ",\"frees\":%" PRIu64 ",\"failed_allocations\":%" PRIu64 ",\"failed_frees\":%" PRIu64
            ",\"other_stream_allocations\":%" PRIu64 ",\"other_stream_frees\":%" PRIu64 ",\"timed\":%s"
            ",\"alloc_ns\":%" PRIu64 ",\"free_ns\":%" PRIu64 ",\"timer_overhead_ns\":%" PRIu64 "},\"stats\":%s}",
            device, presets[g.preset].name, c.max_size, (uintptr_t)d->stream, d->trace ? "true" : "false",
            get(&d->live_bytes), get(&d->peak_live_bytes), get(&d->allocations), get(&d->frees),
            get(&d->failed_allocations), get(&d->failed_frees), get(&d->other_stream_allocations),
            get(&d->other_stream_frees), d->timed ? "true" : "false", get(&d->alloc_ns), get(&d->free_ns),
            d->timed ? g.timer_overhead_ns : 0, stats);
    mp_string_free(stats);
    return MP_OK;
}

int mempool_torch_pools_json(char *buf, size_t cap)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) {
        fail(NULL, 0, MP_ERR_OUT_OF_MEMORY, "mempool_torch_pools_json: no host memory");
        return -1;
    }
    mp_status s = MP_OK;
    bool first = true;
    fputc('[', f);
    for (int i = 0; i < MEMPOOL_TORCH_MAX_DEVICES && s == MP_OK; i++) {
        mp_pool *pool = atomic_load_explicit(&g.slots[i].pool, memory_order_acquire);
        if (!pool)
            continue;
        if (!first)
            fputc(',', f);
        first = false;
        s = device_json(f, i, &g.slots[i], pool);
    }
    fputc(']', f);
    bool ok = fclose(f) == 0 && text && s == MP_OK;
    if (!ok && s == MP_OK)
        fail(NULL, 0, MP_ERR_OUT_OF_MEMORY, "mempool_torch_pools_json: no host memory");
    if (ok && len > (size_t)0x7fffffff) {
        fail(NULL, 0, MP_ERR_INVALID_OPERATION, "mempool_torch_pools_json: %zu bytes do not fit an int", len);
        ok = false;
    }
    if (ok && buf && cap)
        snprintf(buf, cap, "%s", text);
    free(text);
    return ok ? (int)len : -1;
}

/* ---- the trace ---------------------------------------------------------- */

/* The traced slot, or NULL. A slot's trace is set before its pool is
 * published, so the acquire load makes it visible. */
static slot *traced_slot(void)
{
    for (int i = 0; i < MEMPOOL_TORCH_MAX_DEVICES; i++)
        if (atomic_load_explicit(&g.slots[i].pool, memory_order_acquire) && g.slots[i].trace)
            return &g.slots[i];
    return NULL;
}

void mempool_torch_trace_synchronized(void)
{
    slot *d = traced_slot();
    if (!d)
        return;
    pthread_mutex_lock(&g.trace_lock);
    mpt__trace_synchronized(d->trace);
    pthread_mutex_unlock(&g.trace_lock);
}

int mempool_torch_trace_flush(void)
{
    slot *d = traced_slot();
    if (!d)
        return MP_OK;
    char why[ERR_CAP];
    pthread_mutex_lock(&g.trace_lock);
    bool ok = mpt__trace_flush(d->trace, why, sizeof why);
    pthread_mutex_unlock(&g.trace_lock);
    return ok ? MP_OK : fail(NULL, 0, MP_ERR_INVALID_OPERATION, "mempool_torch: %s", why);
}

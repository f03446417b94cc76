/* torch_trace_time: the allocator calls of a recorded trace, timed on each
 * allocator alone.
 *
 *   torch_trace_time TRACE [--passes N] [--json OUT] [--per-call]
 *
 * Replays every a/f/s record of TRACE (bench/traces/FORMAT.md) on the GPU
 * against mempool's "default" and "high_performance" GPU presets and against
 * cudaMallocAsync on the device's default memory pool (release threshold at
 * its maximum and reuse across streams by event dependencies, as PyTorch's
 * cudaMallocAsync backend sets it). Trace stream 0 is the pool's stream
 * (mp_pool_set_stream), every other trace stream a stream of its own. Calls
 * go where the trace says, as the plug-in makes them: on stream 0
 * mp_pool_allocate and mp_pool_deallocate, on another
 * mp_pool_allocate_on_stream and mp_pool_deallocate_on_stream;
 * cudaMallocAsync and cudaFreeAsync on that stream. An s line synchronises
 * its stream (untimed).
 *
 * What it measures: the host time of each allocate and each free call,
 * CLOCK_MONOTONIC read before and after it, summed; minus the cost of an
 * empty timed region (measured here, printed). No kernel runs, so the device
 * is idle: this is the allocators' own cost on the training's exact request
 * sequence, not their cost under a busy GPU. Pass 1 starts empty (the pool
 * grows, cudaMallocAsync maps memory: "cold"); passes 2..N reuse what the
 * earlier passes reserved ("warm", the steady state of a training loop).
 * Blocks the trace leaves live are freed untimed after each pass. With
 * --per-call it also prints percentiles of the last pass's allocations. */
#define _POSIX_C_SOURCE 200809L
#include <mempool/mempool.h>

#include <cuda_runtime_api.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct op {
    char kind; /* 'a', 'f', 's' */
    uint32_t id, stream;
    size_t size;
} op;

typedef struct trace {
    op *ops;
    size_t n, cap;
    uint32_t max_id, max_stream;
    size_t allocs, frees;
} trace;

typedef struct result {
    const char *name;
    double alloc_ns[2], free_ns[2]; /* [cold, warm]: mean per call, timer cost taken off */
    uint64_t reserved_after_cold;
    const char *error;
} result;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static double timer_cost_ns(void)
{
    enum { N = 100000 };
    uint64_t sum = 0;
    for (int i = 0; i < N; i++) {
        uint64_t t0 = now_ns();
        sum += now_ns() - t0;
    }
    return (double)sum / N;
}

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "torch_trace_time: %s: %s\n", what, detail);
    exit(1);
}

static void read_trace(const char *path, trace *t)
{
    FILE *f = fopen(path, "r");
    if (!f)
        die(path, "cannot open it");
    char line[512];
    size_t lineno = 0;
    memset(t, 0, sizeof *t);
    while (fgets(line, sizeof line, f)) {
        lineno++;
        if (lineno == 1 && strncmp(line, "# mempool-trace 1", 17) != 0)
            die(path, "not a mempool trace (first line)");
        if (line[0] == '#' || line[0] == '\n')
            continue;
        op o = {.kind = line[0]};
        unsigned long long size = 0;
        int got = o.kind == 'a'   ? sscanf(line + 1, " %u %llu %u", &o.id, &size, &o.stream) - 3
                  : o.kind == 'f' ? sscanf(line + 1, " %u %u", &o.id, &o.stream) - 2
                  : o.kind == 's' ? sscanf(line + 1, " %u", &o.stream) - 1
                                  : -1;
        if (got != 0) {
            fprintf(stderr, "torch_trace_time: %s:%zu: malformed record: %s", path, lineno, line);
            exit(1);
        }
        o.size = (size_t)size;
        if (t->n == t->cap) {
            t->cap = t->cap ? 2 * t->cap : 4096;
            t->ops = realloc(t->ops, t->cap * sizeof *t->ops);
            if (!t->ops)
                die(path, "out of host memory");
        }
        t->ops[t->n++] = o;
        if (o.id > t->max_id)
            t->max_id = o.id;
        if (o.stream > t->max_stream)
            t->max_stream = o.stream;
        t->allocs += o.kind == 'a';
        t->frees += o.kind == 'f';
    }
    fclose(f);
}

/* One allocator behind two calls, so that the replay loop is shared. */
typedef struct alloc_api {
    const char *name;
    int (*alloc)(void *self, size_t size, cudaStream_t stream, bool pool_stream, void **out);
    int (*free)(void *self, void *p, cudaStream_t stream, bool pool_stream);
    void *self;
} alloc_api;

static int mp_alloc(void *self, size_t size, cudaStream_t stream, bool pool_stream, void **out)
{
    mp_status s = pool_stream ? mp_pool_allocate(self, size, out) : mp_pool_allocate_on_stream(self, size, stream, out);
    return s == MP_OK ? 0 : -1;
}

static int mp_free(void *self, void *p, cudaStream_t stream, bool pool_stream)
{
    mp_status s = pool_stream ? mp_pool_deallocate(self, p) : mp_pool_deallocate_on_stream(self, p, stream);
    return s == MP_OK ? 0 : -1;
}

static int async_alloc(void *self, size_t size, cudaStream_t stream, bool pool_stream, void **out)
{
    (void)self;
    (void)pool_stream;
    return cudaMallocAsync(out, size, stream) == cudaSuccess ? 0 : -1;
}

static int async_free(void *self, void *p, cudaStream_t stream, bool pool_stream)
{
    (void)self;
    (void)pool_stream;
    return cudaFreeAsync(p, stream) == cudaSuccess ? 0 : -1;
}

/* --per-call: each warm allocation's time, for percentiles. */
static uint32_t *per_call;
static size_t per_calls;

static int by_value(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* Where the warm allocations' time went: percentiles (the timer's cost
 * included), and the share of calls of 1 us and more. */
static void per_call_report(const char *name)
{
    if (!per_calls)
        return;
    double total = 0, slow = 0;
    size_t nslow = 0;
    for (size_t i = 0; i < per_calls; i++) {
        total += per_call[i];
        if (per_call[i] >= 1000) {
            slow += per_call[i];
            nslow++;
        }
    }
    qsort(per_call, per_calls, sizeof *per_call, by_value);
    printf("per-call %s: %zu warm allocations, p10 %u ns, p50 %u, p90 %u, p99 %u, max %u; %zu of 1 us and more "
           "hold %.0f%% of the time\n",
           name, per_calls, per_call[per_calls / 10], per_call[per_calls / 2], per_call[per_calls * 9 / 10],
           per_call[per_calls * 99 / 100], per_call[per_calls - 1], nslow, 100 * slow / total);
    per_calls = 0;
}

/* One pass over the trace; sums of call times into alloc_sum, free_sum. */
static const char *replay_pass(const trace *t, const alloc_api *api, cudaStream_t *streams, void **ptr,
                               uint64_t *alloc_sum, uint64_t *free_sum, bool sample)
{
    for (size_t i = 0; i < t->n; i++) {
        const op *o = &t->ops[i];
        cudaStream_t s = streams[o->stream];
        if (o->kind == 'a') {
            if (ptr[o->id])
                return "an a record names a live id";
            uint64_t t0 = now_ns();
            int rc = api->alloc(api->self, o->size, s, o->stream == 0, &ptr[o->id]);
            uint64_t dt = now_ns() - t0;
            *alloc_sum += dt;
            if (sample && per_call)
                per_call[per_calls++] = dt > UINT32_MAX ? UINT32_MAX : (uint32_t)dt;
            if (rc)
                return "an allocation failed";
        } else if (o->kind == 'f') {
            if (!ptr[o->id])
                return "an f record names no live id";
            uint64_t t0 = now_ns();
            int rc = api->free(api->self, ptr[o->id], s, o->stream == 0);
            *free_sum += now_ns() - t0;
            ptr[o->id] = NULL;
            if (rc)
                return "a free failed";
        } else {
            cudaStreamSynchronize(s);
        }
    }
    for (uint32_t id = 0; id <= t->max_id; id++) { /* what the trace leaves live, untimed */
        if (ptr[id] && api->free(api->self, ptr[id], streams[0], true))
            return "freeing the blocks left live failed";
        ptr[id] = NULL;
    }
    return cudaDeviceSynchronize() == cudaSuccess ? NULL : "cudaDeviceSynchronize failed";
}

static void replay(const trace *t, const alloc_api *api, cudaStream_t *streams, int passes, double timer,
                   uint64_t (*reserved)(void *), result *r)
{
    void **ptr = calloc((size_t)t->max_id + 1, sizeof *ptr);
    double warm_alloc = 0, warm_free = 0;
    r->name = api->name;
    for (int p = 0; p < passes && !r->error; p++) {
        uint64_t as = 0, fs = 0;
        r->error = replay_pass(t, api, streams, ptr, &as, &fs, p == passes - 1);
        double a = (double)as / (double)t->allocs - timer, f = (double)fs / (double)(t->frees ? t->frees : 1) - timer;
        if (p == 0) {
            r->alloc_ns[0] = a;
            r->free_ns[0] = f;
            r->reserved_after_cold = reserved(api->self);
        } else {
            warm_alloc += a / (passes - 1);
            warm_free += f / (passes - 1);
        }
    }
    r->alloc_ns[1] = warm_alloc;
    r->free_ns[1] = warm_free;
    per_call_report(api->name);
    free(ptr);
}

static uint64_t mp_reserved(void *pool)
{
    mp_stats s = MP_STATS_INIT;
    return mp_pool_get_stats(pool, &s) == MP_OK ? s.reserved_bytes : 0;
}

static uint64_t async_reserved(void *unused)
{
    (void)unused;
    cudaMemPool_t pool;
    uint64_t v = 0;
    if (cudaDeviceGetDefaultMemPool(&pool, 0) == cudaSuccess)
        cudaMemPoolGetAttribute(pool, cudaMemPoolAttrReservedMemHigh, &v);
    return v;
}

static void run_mempool(const trace *t, const char *preset, cudaStream_t *streams, int passes, double timer,
                        result *r)
{
    mp_config c = MP_CONFIG_INIT;
    mp_status s = strcmp(preset, "default") == 0 ? mp_config_default_gpu(&c) : mp_config_high_performance_gpu(&c, 0);
    mp_pool *pool = NULL;
    const char *name = strcmp(preset, "default") == 0 ? "mempool-default" : "mempool-high_performance";
    static char detail[2][512];
    char *why = detail[strcmp(preset, "default") != 0];
    if (s == MP_OK)
        s = mp_pool_create(name, MP_MEMORY_GPU, &c, &pool);
    if (s == MP_OK)
        s = mp_pool_set_stream(pool, streams[0]);
    if (s != MP_OK) {
        snprintf(why, sizeof detail[0], "%s", mp_last_error_message());
        r->name = name;
        r->error = why;
        return;
    }
    alloc_api api = {name, mp_alloc, mp_free, pool};
    replay(t, &api, streams, passes, timer, mp_reserved, r);
    if (r->error)
        fprintf(stderr, "torch_trace_time: %s: %s (%s)\n", name, r->error, mp_last_error_message());
    mp_pool_destroy(pool);
}

static void run_async(const trace *t, cudaStream_t *streams, int passes, double timer, result *r)
{
    cudaMemPool_t pool;
    uint64_t max = UINT64_MAX, zero = 0;
    int on = 1;
    if (cudaDeviceGetDefaultMemPool(&pool, 0) != cudaSuccess ||
        cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &max) != cudaSuccess) {
        r->name = "cudaMallocAsync";
        r->error = "no default memory pool";
        return;
    }
    /* As PyTorch's backend: keep memory, reuse across streams by event dependencies. */
    cudaMemPoolSetAttribute(pool, cudaMemPoolReuseFollowEventDependencies, &on);
    cudaMemPoolSetAttribute(pool, cudaMemPoolReuseAllowOpportunistic, &on);
    cudaMemPoolSetAttribute(pool, cudaMemPoolReuseAllowInternalDependencies, &on);
    cudaMemPoolTrimTo(pool, 0);
    cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReservedMemHigh, &zero);
    alloc_api api = {"cudaMallocAsync", async_alloc, async_free, NULL};
    replay(t, &api, streams, passes, timer, async_reserved, r);
    cudaMemPoolTrimTo(pool, 0);
}

int main(int argc, char **argv)
{
    const char *path = NULL, *json = NULL;
    int passes = 4;
    bool usage = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--passes") == 0 && i + 1 < argc)
            passes = atoi(argv[++i]);
        else if (strcmp(argv[i], "--json") == 0 && i + 1 < argc)
            json = argv[++i];
        else if (strcmp(argv[i], "--per-call") == 0)
            per_call = (uint32_t *)1; /* allocated once the trace is read */
        else if (!path && argv[i][0] != '-')
            path = argv[i];
        else
            usage = true;
    }
    if (usage || !path || passes < 2) {
        fprintf(stderr, "usage: torch_trace_time TRACE [--passes N>=2] [--json OUT] [--per-call]\n");
        return 2;
    }
    trace t;
    read_trace(path, &t); /* before the device check: a bad trace fails everywhere */
    if (!t.allocs)
        die(path, "no allocation in it");
    if (per_call && !(per_call = malloc(t.allocs * sizeof *per_call)))
        die(path, "no host memory for --per-call");
    int devices = 0;
    if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
        printf("SKIP: no CUDA device (the trace parsed: %zu allocations, %zu frees)\n", t.allocs, t.frees);
        return 77;
    }
    cudaStream_t *streams = calloc((size_t)t.max_stream + 1, sizeof *streams);
    for (uint32_t i = 0; i <= t.max_stream; i++)
        if (cudaStreamCreateWithFlags(&streams[i], cudaStreamNonBlocking) != cudaSuccess)
            die("cudaStreamCreateWithFlags", "failed");
    double timer = timer_cost_ns();
    result r[3] = {{0}};
    run_mempool(&t, "default", streams, passes, timer, &r[0]);
    run_mempool(&t, "high_performance", streams, passes, timer, &r[1]);
    run_async(&t, streams, passes, timer, &r[2]);

    printf("%zu allocations, %zu frees, %u streams, %d passes (1 cold, %d warm); timer %.1f ns taken off\n", t.allocs,
           t.frees, t.max_stream + 1, passes, passes - 1, timer);
    printf("%-26s %12s %12s %12s %12s %16s\n", "allocator", "alloc cold", "alloc warm", "free cold", "free warm",
           "reserved (cold)");
    for (int i = 0; i < 3; i++) {
        if (r[i].error)
            printf("%-26s failed: %s\n", r[i].name, r[i].error);
        else
            printf("%-26s %9.1f ns %9.1f ns %9.1f ns %9.1f ns %16llu\n", r[i].name, r[i].alloc_ns[0], r[i].alloc_ns[1],
                   r[i].free_ns[0], r[i].free_ns[1], (unsigned long long)r[i].reserved_after_cold);
    }
    if (json) {
        FILE *f = fopen(json, "w");
        if (!f)
            die(json, "cannot create it");
        fprintf(f, "{\"trace\":\"%s\",\"allocations\":%zu,\"frees\":%zu,\"streams\":%u,\"passes\":%d,\"timer_ns\":%.1f,"
                   "\"results\":[",
                path, t.allocs, t.frees, t.max_stream + 1, passes, timer);
        for (int i = 0; i < 3; i++) {
            fprintf(f, "%s{\"allocator\":\"%s\"", i ? "," : "", r[i].name);
            if (r[i].error)
                fprintf(f, ",\"error\":\"%s\"}", r[i].error);
            else
                fprintf(f, ",\"alloc_ns_cold\":%.1f,\"alloc_ns_warm\":%.1f,\"free_ns_cold\":%.1f,\"free_ns_warm\":%.1f,"
                           "\"reserved_after_cold\":%llu}",
                        r[i].alloc_ns[0], r[i].alloc_ns[1], r[i].free_ns[0], r[i].free_ns[1],
                        (unsigned long long)r[i].reserved_after_cold);
        }
        fprintf(f, "]}\n");
        fclose(f);
    }
    return r[0].error || r[1].error || r[2].error ? 1 : 0;
}

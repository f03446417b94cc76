/* Replays allocation traces (bench/traces/FORMAT.md) against a GPU pool on
 * the host-side stand-in for device memory (backend/cuda_sim.h), so that
 * what a workload recorded once on a GPU machine tests the pool's reserve
 * efficiency on every machine.
 *
 *   trace_replay [--preset default|high_performance] [--threshold BYTES]
 *                [--passes N] [--check] [--quiet] TRACE...
 *
 * For each trace it prints the peak of live bytes (the requests), the
 * pool's peak reserved bytes (mp_stats.peak_reserved_bytes: device memory
 * mapped), their ratio (the reserve efficiency) beside the baselines the
 * trace carries, and the granules mapped and unmapped. With --check it
 * exits 1 unless the pool's ratio is no larger than that of every
 * cudaMallocAsync and expandable-segments baseline in the trace (the
 * issue's bar), and 2 on a malformed trace or a failed call. With
 * --passes N it replays the trace N times on the same pool (what the trace
 * left live freed and every stream synchronised between passes, as a
 * training loop's next step finds it) and also prints the peak after all
 * of them, the steady state, which --check holds to the same bar. */
#define _POSIX_C_SOURCE 200809L
#include "backend/cuda_sim.h"
#include "mempool/mempool.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_STREAMS 64

typedef struct baseline {
    char name[64];
    double reserved, live;
} baseline;

typedef struct replay {
    void **ptr;   /* by id */
    size_t *size;
    int *stream;
    size_t cap;
    size_t live, peak_live;
    uint64_t allocs, frees;
    double alloc_ns;
    baseline base[16];
    int nbase;
    size_t device_memory;
} replay;

static void *stream_ptr(int s) { return s == 0 ? NULL : (void *)(uintptr_t)(0x1000 + s); }

static int grow_ids(replay *r, size_t id)
{
    if (id < r->cap)
        return 0;
    size_t cap = r->cap ? r->cap : 1024;
    while (cap <= id)
        cap *= 2;
    void **p = realloc(r->ptr, cap * sizeof *p);
    size_t *z = p ? realloc(r->size, cap * sizeof *z) : NULL;
    int *st = z ? realloc(r->stream, cap * sizeof *st) : NULL;
    if (p)
        r->ptr = p;
    if (z)
        r->size = z;
    if (!st)
        return -1;
    r->stream = st;
    memset(r->ptr + r->cap, 0, (cap - r->cap) * sizeof *r->ptr);
    r->cap = cap;
    return 0;
}

static double now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e9 + t.tv_nsec;
}

/* Reads the trace's header for baselines and the device's memory. */
static void read_meta(replay *r, const char *line)
{
    char name[64];
    double res, live;
    unsigned long long mem;
    if (sscanf(line, "# baseline %63s peak_reserved %lf peak_live %lf", name, &res, &live) == 3 && r->nbase < 16) {
        snprintf(r->base[r->nbase].name, sizeof r->base[r->nbase].name, "%s", name);
        r->base[r->nbase].reserved = res;
        r->base[r->nbase].live = live;
        r->nbase++;
    } else if (sscanf(line, "# device_memory %llu", &mem) == 1) {
        r->device_memory = (size_t)mem;
    }
}

static int run(const char *path, const char *preset, long long threshold, int passes, bool check, bool quiet)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        return 2;
    }
    replay r = {0};
    char line[512];
    /* The header first: the device's size decides the simulated device. */
    long body = 0;
    while (fgets(line, sizeof line, f) && line[0] == '#') {
        read_meta(&r, line);
        body = ftell(f);
    }
    fseek(f, body, SEEK_SET);
    mp__sim_begin(&(mp__sim_config){.devices = 1,
                                     .memory = r.device_memory ? r.device_memory : (size_t)141 << 30,
                                     .granule = (size_t)2 << 20});
    mp_config cfg = {.struct_size = sizeof cfg};
    mp_status s = strcmp(preset, "high_performance") == 0 ? mp_config_high_performance_gpu(&cfg, 0)
                                                          : mp_config_default_gpu(&cfg);
    mp_pool *pool = NULL;
    if (s == MP_OK)
        s = mp_pool_create("replay", MP_MEMORY_GPU, &cfg, &pool);
    if (s == MP_OK && threshold >= 0)
        s = mp_pool_set_release_threshold(pool, (uint64_t)threshold);
    if (s != MP_OK) {
        fprintf(stderr, "%s: %s\n", path, mp_last_error_message());
        fclose(f);
        mp__sim_end();
        return 2;
    }
    int rc = 0;
    unsigned long lineno = 0;
    uint64_t first_peak = 0;
    for (int pass = 0; pass < passes && rc == 0; pass++) {
    if (pass > 0) { /* the next step: what the last one left live goes, its work done */
        mp_stats st = {.struct_size = sizeof st};
        mp_pool_get_stats(pool, &st);
        if (pass == 1)
            first_peak = st.peak_reserved_bytes;
        for (size_t i = 0; i < r.cap; i++)
            if (r.ptr[i]) {
                mp_pool_deallocate(pool, r.ptr[i]);
                r.ptr[i] = NULL;
            }
        mp__sim_sync_all();
        r.live = 0;
        lineno = 0;
        fseek(f, body, SEEK_SET);
    }
    while (rc == 0 && fgets(line, sizeof line, f)) {
        lineno++;
        unsigned long long id, size;
        int st;
        if (line[0] == '#' || line[0] == '\n')
            continue;
        if (sscanf(line, "a %llu %llu %d", &id, &size, &st) == 3 && st >= 0 && st < MAX_STREAMS) {
            if (grow_ids(&r, id) || r.ptr[id]) {
                fprintf(stderr, "%s:%lu: id %llu is live already\n", path, lineno, id);
                rc = 2;
                break;
            }
            double t0 = now_ns();
            s = st == 0 ? mp_pool_allocate(pool, size, &r.ptr[id])
                        : mp_pool_allocate_on_stream(pool, size, stream_ptr(st), &r.ptr[id]);
            if (pass == 0)
                r.alloc_ns += now_ns() - t0;
            if (s != MP_OK) {
                fprintf(stderr, "%s:%lu: allocating %llu bytes: %s\n", path, lineno, size, mp_last_error_message());
                rc = 2;
                break;
            }
            r.size[id] = size;
            r.stream[id] = st;
            r.live += size;
            r.allocs += pass == 0;
            if (r.live > r.peak_live)
                r.peak_live = r.live;
        } else if (sscanf(line, "f %llu %d", &id, &st) == 2 && st >= 0 && st < MAX_STREAMS) {
            if (id >= r.cap || !r.ptr[id]) {
                fprintf(stderr, "%s:%lu: id %llu is not live\n", path, lineno, id);
                rc = 2;
                break;
            }
            /* Ordered on the pool's stream, else behind an event on st. */
            s = st == 0 ? mp_pool_deallocate(pool, r.ptr[id]) : mp_pool_deallocate_on_stream(pool, r.ptr[id], stream_ptr(st));
            if (s != MP_OK) {
                fprintf(stderr, "%s:%lu: freeing id %llu: %s\n", path, lineno, id, mp_last_error_message());
                rc = 2;
                break;
            }
            r.ptr[id] = NULL;
            r.live -= r.size[id];
            r.frees += pass == 0;
        } else if (sscanf(line, "s %d", &st) == 1 && st >= 0 && st < MAX_STREAMS) {
            mp__sim_sync(stream_ptr(st));
        } else {
            fprintf(stderr, "%s:%lu: not a trace record: %s", path, lineno, line);
            rc = 2;
        }
    }
    }
    fclose(f);
    if (rc == 0 && mp_pool_check(pool) != MP_OK) {
        fprintf(stderr, "%s: %s\n", path, mp_last_error_message());
        rc = 2;
    }
    mp_stats stats = {.struct_size = sizeof stats};
    mp_pool_get_stats(pool, &stats);
    mp__sim_usage use;
    mp__sim_usage_get(0, &use);
    const uint64_t peak = passes > 1 ? first_peak : stats.peak_reserved_bytes; /* the first pass's */
    double ratio = r.peak_live ? (double)peak / (double)r.peak_live : 0;
    if (rc == 0) {
        const char *name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
        if (!quiet)
            printf("%s (%s preset): %llu allocations, peak live %.1f MiB, peak reserved %.1f MiB, ratio %.4f; "
                   "reserved at the end %.1f MiB; physical allocations mapped %llu, unmapped %llu; events %llu, stream waits %llu, queries %llu; "
                   "%.0f ns per allocate (simulated device)\n",
                   name, preset, (unsigned long long)r.allocs, r.peak_live / 1048576.0, peak / 1048576.0, ratio, stats.reserved_bytes / 1048576.0,
                   (unsigned long long)use.maps, (unsigned long long)use.unmaps, (unsigned long long)use.events,
                   (unsigned long long)use.waits, (unsigned long long)use.queries, r.alloc_ns / (double)r.allocs);
        if (use.peak != stats.peak_reserved_bytes) {
            fprintf(stderr, "%s: the pool's peak reserved (%llu) is not the device's peak use (%zu)\n", name,
                    (unsigned long long)stats.peak_reserved_bytes, use.peak);
            rc = 1;
        }
        if (passes > 1 && !quiet)
            printf("    after %d passes: peak reserved %.1f MiB, ratio %.4f (the steady state; calls counted over all "
                   "passes)\n",
                   passes, stats.peak_reserved_bytes / 1048576.0,
                   r.peak_live ? (double)stats.peak_reserved_bytes / (double)r.peak_live : 0);
        for (int i = 0; i < r.nbase; i++) {
            double b = r.base[i].live > 0 ? r.base[i].reserved / r.base[i].live : 0;
            /* The bar (issue 22): no larger than cudaMallocAsync, nor PyTorch's expandable segments. */
            bool bar = strncmp(r.base[i].name, "cudaMallocAsync", 15) == 0 || strstr(r.base[i].name, "expandable");
            if (!quiet)
                printf("    baseline %-28s ratio %.4f%s\n", r.base[i].name, b,
                       bar ? (ratio <= b ? "  (pool no larger: ok)" : "  (pool LARGER)") : "");
            if (check && bar && ratio > b)
                rc = 1;
            if (check && bar && passes > 1 && stats.peak_reserved_bytes > peak &&
                (double)stats.peak_reserved_bytes / (double)r.peak_live > b) {
                fprintf(stderr, "%s: after %d passes the pool's ratio passed %s's\n", name, passes, r.base[i].name);
                rc = 1;
            }
        }
    }
    for (size_t i = 0; i < r.cap; i++)
        if (r.ptr[i])
            mp_pool_deallocate(pool, r.ptr[i]);
    mp_pool_destroy(pool);
    mp__sim_end();
    free(r.ptr);
    free(r.size);
    free(r.stream);
    return rc;
}

int main(int argc, char **argv)
{
    const char *preset = "default";
    long long threshold = -1;
    bool check = false, quiet = false;
    int rc = 0, traces = 0, passes = 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--preset") == 0 && i + 1 < argc)
            preset = argv[++i];
        else if (strcmp(argv[i], "--threshold") == 0 && i + 1 < argc)
            threshold = atoll(argv[++i]);
        else if (strcmp(argv[i], "--passes") == 0 && i + 1 < argc)
            passes = atoi(argv[++i]) > 1 ? atoi(argv[i]) : 1;
        else if (strcmp(argv[i], "--check") == 0)
            check = true;
        else if (strcmp(argv[i], "--quiet") == 0)
            quiet = true;
        else {
            int r = run(argv[i], preset, threshold, passes, check, quiet);
            rc = r > rc ? r : rc;
            traces++;
        }
    }
    if (!traces) {
        fprintf(stderr, "usage: trace_replay [--preset default|high_performance] [--threshold BYTES] [--passes N] "
                        "[--check] [--quiet] TRACE...\n");
        return 2;
    }
    return rc;
}

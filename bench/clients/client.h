/* What the real-client benchmarks share: the allocator named on the command
 * line (the process's malloc, or a mempool preset), the clock, and the one
 * result line that bench/clients/run.sh reads:
 *
 *   client=lua allocator=glibc seconds=1.234 peak_kib=65432 checksum=0123456789abcdef
 *
 * usage of a client: CLIENT [-s SCALE] [-l LABEL] ALLOCATOR
 *   ALLOCATOR  malloc (the process's malloc: glibc, or a peer put in front of
 *              it with LD_PRELOAD), or a mempool preset: default, fast, general
 *   SCALE      workload size, 1 = the benchmark's (default), 0.02 = a smoke test
 *   LABEL      the allocator's name on the result line (default: ALLOCATOR) */
#ifndef MEMPOOL_BENCH_CLIENT_H
#define MEMPOOL_BENCH_CLIENT_H

#define _POSIX_C_SOURCE 200809L
#include <mempool/mempool.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

/* The general-purpose preset is being added to the ABI (issue 21). Until the
 * library has it, this weak reference is NULL and the preset says so; once
 * it exists it is used as is, with no edit here. */
extern mp_status mp_config_general_purpose_cpu(mp_config *config) __attribute__((weak));

/* The presets a client can run on: one line each. The pool is used as the
 * preset makes it (thread_safe included: the README does not recommend
 * turning it off for single-threaded use). */
static const struct {
    const char *name;
    const char *function;
    mp_status (*make)(mp_config *config);
} client_presets[] = {
    {"default", "mp_config_default_cpu", mp_config_default_cpu},
    {"fast", "mp_config_high_performance_cpu", mp_config_high_performance_cpu},
    {"general", "mp_config_general_purpose_cpu", mp_config_general_purpose_cpu},
};

typedef struct {
    const char *client, *allocator, *label;
    double scale;
    mp_pool *pool; /* NULL: malloc */
    struct timespec t0;
} client_run;

static void client_usage(const char *client)
{
    fprintf(stderr, "usage: %s_client [-s SCALE] [-l LABEL] malloc|default|fast|general\n", client);
    exit(2);
}

static client_run client_args(const char *client, int argc, char **argv)
{
    client_run r = {client, NULL, NULL, 1.0, NULL, {0, 0}};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-s") == 0 && i + 1 < argc)
            r.scale = strtod(argv[++i], NULL);
        else if (strcmp(argv[i], "-l") == 0 && i + 1 < argc)
            r.label = argv[++i];
        else if (argv[i][0] != '-' && r.allocator == NULL)
            r.allocator = argv[i];
        else
            client_usage(client);
    }
    if (r.allocator == NULL || !(r.scale > 0))
        client_usage(client);
    if (r.label == NULL)
        r.label = r.allocator;
    return r;
}

/* Starts the clock and, for a preset, makes the pool (its creation is part
 * of the time, as malloc's first use is). Exits with a message on failure. */
static void client_start(client_run *r)
{
    clock_gettime(CLOCK_MONOTONIC, &r->t0);
    if (strcmp(r->allocator, "malloc") == 0)
        return;
    for (size_t i = 0; i < sizeof client_presets / sizeof client_presets[0]; i++) {
        if (strcmp(r->allocator, client_presets[i].name) != 0)
            continue;
        if (client_presets[i].make == NULL) {
            fprintf(stderr, "%s_client: preset %s: %s is not in this libmempool\n", r->client, r->allocator,
                    client_presets[i].function);
            exit(3);
        }
        mp_config c = MP_CONFIG_INIT;
        if (client_presets[i].make(&c) != MP_OK || mp_pool_create(r->client, MP_MEMORY_CPU, &c, &r->pool) != MP_OK) {
            fprintf(stderr, "%s_client: preset %s: %s\n", r->client, r->allocator, mp_last_error_message());
            exit(1);
        }
        return;
    }
    fprintf(stderr, "%s_client: unknown allocator %s\n", r->client, r->allocator);
    client_usage(r->client);
}

/* Checks that the client freed every block, destroys the pool, stops the
 * clock and prints the result line. */
static int client_finish(client_run *r, uint64_t checksum)
{
    int status = 0;
    if (r->pool) {
        mp_stats s = MP_STATS_INIT;
        if (mp_pool_get_stats(r->pool, &s) != MP_OK || s.live_allocations != 0 || mp_pool_check(r->pool) != MP_OK) {
            fprintf(stderr, "%s_client: the pool holds %" PRIu64 " live blocks at the end (%s)\n", r->client,
                    s.live_allocations, mp_last_error_message());
            status = 1;
        }
        mp_pool_destroy(r->pool);
    }
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double secs = (double)(t1.tv_sec - r->t0.tv_sec) + (double)(t1.tv_nsec - r->t0.tv_nsec) / 1e9;
    printf("client=%s allocator=%s seconds=%.4f peak_kib=%ld checksum=%016" PRIx64 "\n", r->client, r->label, secs,
           ru.ru_maxrss, checksum);
    return status;
}

#endif

/* The PyTorch plug-in (plugins/torch) without PyTorch. Four suites in one
 * binary, each its own ctest:
 *   test_torch_plugin trace        the trace writer alone (compiled in): ids,
 *                                  stream numbers, s lines, and a model check
 *                                  of its address map under heavy churn
 *   test_torch_plugin nodevice     the plug-in where no device is: failures
 *                                  return NULL with the reason, foreign frees
 *                                  change nothing; skips (77) with a device
 *   test_torch_plugin device       the plug-in on device 0: one pool for
 *                                  racing threads, counters, other-stream
 *                                  frees and allocations, out of memory, trim;
 *                                  skips (77) without a device
 *   test_torch_plugin devicetrace  MEMPOOL_TORCH_TRACE and MEMPOOL_TORCH_TIMING
 *                                  in a fresh process: the exact trace text
 * The plug-in's state lives as long as the process (as under PyTorch), so
 * the device tests run in this process, in order, each leaving no live block. */
#define _GNU_SOURCE /* mkdtemp, asprintf */
#include "mempool_torch.h"
#include "trace.h"

#include <check.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SKIP 77
#define MIB ((size_t)1 << 20)

#ifdef MEMPOOL_TEST_KERNELS
int mpt_spin(void *p, double ms, void *stream);
#endif

#define ck_error_has(text)                                                                         \
    ck_assert_msg(strstr(mempool_torch_last_error(), (text)) != NULL, "last error \"%s\" lacks \"%s\"", \
                  mempool_torch_last_error(), (text))

/* ---- helpers ------------------------------------------------------------- */

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    char *text = NULL;
    size_t cap = 0;
    ssize_t n = getdelim(&text, &cap, '\0', f);
    fclose(f);
    ck_assert_msg(n >= 0, "cannot read %s", path);
    return text;
}

static char *temp_path(const char *name)
{
    static char dir[] = "/tmp/mempool_torch_test_XXXXXX";
    static bool made;
    if (!made) {
        ck_assert_ptr_nonnull(mkdtemp(dir));
        made = true;
    }
    char *p;
    ck_assert_int_ge(asprintf(&p, "%s/%s", dir, name), 0);
    return p;
}

/* The plug-in's JSON, whole. */
static char *pools_json(void)
{
    int n = mempool_torch_pools_json(NULL, 0);
    ck_assert_msg(n >= 2, "mempool_torch_pools_json: %d (%s)", n, mempool_torch_last_error());
    char *buf = malloc((size_t)n + 1);
    ck_assert_int_eq(mempool_torch_pools_json(buf, (size_t)n + 1), n);
    ck_assert_uint_eq(strlen(buf), (size_t)n);
    return buf;
}

/* The unsigned number after "key": in json (the first one), or UINT64_MAX. */
static uint64_t json_u64(const char *json, const char *key)
{
    char pat[96];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *at = strstr(json, pat);
    return at ? strtoull(at + strlen(pat), NULL, 10) : UINT64_MAX;
}

static uint64_t counter(const char *key)
{
    char *json = pools_json();
    uint64_t v = json_u64(json, key);
    free(json);
    ck_assert_msg(v != UINT64_MAX, "no \"%s\" in the pools' JSON", key);
    return v;
}

static mp_stats pool_stats(void)
{
    mp_stats s = MP_STATS_INIT;
    ck_assert_msg(mempool_torch_stats(0, &s) == MP_OK, "mempool_torch_stats: %s", mempool_torch_last_error());
    return s;
}

/* ---- the trace writer alone ---------------------------------------------- */

#define P(n) ((const void *)(uintptr_t)(0x7f0000000000u + (uintptr_t)(n) * 256u))
#define S(n) ((void *)(uintptr_t)(0x5000u + (uintptr_t)(n)))

static mpt__trace *open_trace(const char *name, char **path)
{
    char why[256] = "";
    *path = temp_path(name);
    mpt__trace *t = mpt__trace_open(*path, S(0), why, sizeof why);
    ck_assert_msg(t != NULL, "mpt__trace_open: %s", why);
    return t;
}

static char *close_and_read(mpt__trace *t, char *path)
{
    char why[256] = "";
    ck_assert_msg(mpt__trace_flush(t, why, sizeof why), "flush: %s", why);
    mpt__trace_close(t);
    char *text = slurp(path);
    free(path);
    return text;
}

START_TEST(the_trace_has_the_header_then_metadata_then_records)
{
    char *path;
    mpt__trace *t = open_trace("header.trace", &path);
    mpt__trace_meta(t, "workload", "unit test");
    mpt__trace_alloc(t, P(1), 1000, S(0));
    mpt__trace_free(t, P(1), S(0));
    char *text = close_and_read(t, path);
    ck_assert_str_eq(text, "# mempool-trace 1\n# workload unit test\na 0 1000 0\nf 0 0\n");
    free(text);
}
END_TEST

START_TEST(ids_of_freed_blocks_are_reused_last_freed_first)
{
    char *path;
    mpt__trace *t = open_trace("ids.trace", &path);
    mpt__trace_alloc(t, P(1), 10, S(0));
    mpt__trace_alloc(t, P(2), 20, S(0));
    mpt__trace_alloc(t, P(3), 30, S(0));
    mpt__trace_free(t, P(2), S(0));
    mpt__trace_free(t, P(1), S(0));
    mpt__trace_alloc(t, P(4), 40, S(0)); /* id 0, freed last */
    mpt__trace_alloc(t, P(2), 50, S(0)); /* id 1: the address is new again */
    mpt__trace_alloc(t, P(5), 60, S(0)); /* id 3 */
    char *text = close_and_read(t, path);
    ck_assert_str_eq(text, "# mempool-trace 1\na 0 10 0\na 1 20 0\na 2 30 0\nf 1 0\nf 0 0\n"
                           "a 0 40 0\na 1 50 0\na 3 60 0\n");
    free(text);
}
END_TEST

START_TEST(streams_are_numbered_in_order_of_first_use_the_pools_first)
{
    char *path;
    mpt__trace *t = open_trace("streams.trace", &path);
    mpt__trace_alloc(t, P(1), 1, S(7)); /* first record on another stream: still 1 */
    mpt__trace_alloc(t, P(2), 2, S(0));
    mpt__trace_alloc(t, P(3), 3, S(9));
    mpt__trace_free(t, P(3), S(7));
    char *text = close_and_read(t, path);
    ck_assert_str_eq(text, "# mempool-trace 1\na 0 1 1\na 1 2 0\na 2 3 2\nf 2 1\n");
    free(text);
}
END_TEST

START_TEST(a_synchronisation_names_the_streams_freed_on_since_the_last)
{
    char *path;
    mpt__trace *t = open_trace("sync.trace", &path);
    mpt__trace_alloc(t, P(1), 1, S(0));
    mpt__trace_alloc(t, P(2), 2, S(1));
    mpt__trace_alloc(t, P(3), 3, S(2));
    mpt__trace_synchronized(t); /* nothing freed yet: no line */
    mpt__trace_free(t, P(3), S(2));
    mpt__trace_free(t, P(1), S(0));
    mpt__trace_synchronized(t);
    mpt__trace_synchronized(t); /* nothing since: no line */
    mpt__trace_free(t, P(2), S(1));
    mpt__trace_synchronized(t);
    char *text = close_and_read(t, path);
    ck_assert_str_eq(text, "# mempool-trace 1\na 0 1 0\na 1 2 1\na 2 3 2\nf 2 2\nf 0 0\ns 0\ns 2\nf 1 1\ns 1\n");
    free(text);
}
END_TEST

START_TEST(frees_of_unseen_blocks_are_not_written)
{
    char *path;
    mpt__trace *t = open_trace("unseen.trace", &path);
    mpt__trace_free(t, P(1), S(0));
    mpt__trace_alloc(t, P(1), 5, S(0));
    mpt__trace_free(t, P(1), S(0));
    mpt__trace_free(t, P(1), S(0));
    char *text = close_and_read(t, path);
    ck_assert_str_eq(text, "# mempool-trace 1\na 0 5 0\nf 0 0\n");
    free(text);
}
END_TEST

START_TEST(a_trace_that_would_lie_stops_and_says_why)
{
    char *path, why[256] = "";
    mpt__trace *t = open_trace("lie.trace", &path);
    mpt__trace_alloc(t, P(1), 5, S(0));
    mpt__trace_alloc(t, P(1), 5, S(0)); /* the same address twice, no free between */
    mpt__trace_alloc(t, P(2), 5, S(0));
    ck_assert(!mpt__trace_flush(t, why, sizeof why));
    ck_assert_msg(strstr(why, "allocated twice") != NULL, "%s", why);
    mpt__trace_close(t);
    char *text = slurp(path);
    ck_assert_str_eq(text, "# mempool-trace 1\na 0 5 0\n");
    free(text);
    free(path);

    t = open_trace("late-meta.trace", &path);
    mpt__trace_alloc(t, P(1), 5, S(0));
    mpt__trace_meta(t, "late", "key");
    ck_assert(!mpt__trace_flush(t, why, sizeof why));
    ck_assert_msg(strstr(why, "metadata") != NULL, "%s", why);
    mpt__trace_close(t);
    free(path);
}
END_TEST

START_TEST(percent_p_in_the_path_is_the_process_id)
{
    char why[256] = "", *pattern = temp_path("pid-%p.trace"), *expect;
    ck_assert_int_ge(asprintf(&expect, "%.*s%ld.trace", (int)(strstr(pattern, "%p") - pattern), pattern,
                              (long)getpid()),
                     0);
    mpt__trace *t = mpt__trace_open(pattern, S(0), why, sizeof why);
    ck_assert_msg(t != NULL, "%s", why);
    mpt__trace_close(t);
    ck_assert_int_eq(access(expect, R_OK), 0);
    free(pattern);
    free(expect);
    ck_assert_ptr_null(mpt__trace_open("/nonexistent-dir/x.trace", S(0), why, sizeof why));
    ck_assert_msg(strstr(why, "cannot create") != NULL, "%s", why);
}
END_TEST

/* Heavy churn over clustered addresses (many share a hash bucket's
 * neighbourhood): every f line must name the id its block got, no live id is
 * handed out twice, and ids stay below the most blocks live at once. */
START_TEST(the_address_map_survives_heavy_churn)
{
    enum { N = 20000, ROUNDS = 200000 };
    char *path;
    mpt__trace *t = open_trace("churn.trace", &path);
    uintptr_t *addr = malloc(N * sizeof *addr);
    bool *live = calloc(N, sizeof *live);
    int *ops = malloc(ROUNDS * sizeof *ops); /* +k: allocate block k, -k-1: free it */
    for (int k = 0; k < N; k++) /* runs of neighbours, spread by a large stride */
        addr[k] = 0x7f0000000000u + (uintptr_t)(k % 64) * 256u + (uintptr_t)(k / 64) * (1u << 24);
    unsigned seed = 12345;
    int nlive = 0, peak = 0;
    for (int r = 0; r < ROUNDS; r++) {
        int k = (int)(rand_r(&seed) % N);
        if (live[k]) {
            mpt__trace_free(t, (const void *)addr[k], S(0));
            ops[r] = -k - 1;
            nlive--;
        } else {
            mpt__trace_alloc(t, (const void *)addr[k], (size_t)k + 1, S(0));
            ops[r] = k;
            if (++nlive > peak)
                peak = nlive;
        }
        live[k] = !live[k];
    }
    char *text = close_and_read(t, path);
    int *id_of = malloc(N * sizeof *id_of);
    bool *id_live = calloc(N + 1, sizeof *id_live);
    char *line = strchr(text, '\n') + 1;
    for (int r = 0; r < ROUNDS; r++) {
        unsigned id;
        size_t size, stream;
        int k = ops[r] >= 0 ? ops[r] : -ops[r] - 1;
        if (ops[r] >= 0) {
            ck_assert_msg(line[0] == 'a', "round %d: %.20s", r, line);
            id = (unsigned)strtoul(line + 2, &line, 10);
            size = strtoull(line, &line, 10);
            stream = strtoull(line, &line, 10);
            ck_assert_uint_eq(stream, 0);
            ck_assert_uint_eq(size, (size_t)k + 1);
            ck_assert_msg(id < (unsigned)peak, "id %u, at most %d live at once", id, peak);
            ck_assert_msg(!id_live[id], "round %d: id %u handed out while live", r, id);
            id_live[id] = true;
            id_of[k] = (int)id;
        } else {
            ck_assert_msg(line[0] == 'f', "round %d: %.20s", r, line);
            id = (unsigned)strtoul(line + 2, &line, 10);
            stream = strtoull(line, &line, 10);
            ck_assert_uint_eq(stream, 0);
            ck_assert_msg((int)id == id_of[k], "round %d: free of block %d names id %u, not %d", r, k, id, id_of[k]);
            id_live[id] = false;
        }
        ck_assert_int_eq(*line++, '\n');
    }
    ck_assert_str_eq(line, "");
    free(text);
    free(addr);
    free(live);
    free(ops);
    free(id_of);
    free(id_live);
}
END_TEST

/* ---- the plug-in without a device ---------------------------------------- */

START_TEST(unknown_presets_are_refused_with_the_known_ones_named)
{
    ck_assert_int_eq(mempool_torch_configure("fastest", 0), MP_ERR_INVALID_ARGUMENT);
    ck_error_has("unknown preset 'fastest'");
    ck_error_has("high_performance");
    ck_assert_int_eq(mempool_torch_configure(NULL, 0), MP_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(mempool_torch_configure("high_performance", 64 * MIB), MP_OK);
    ck_assert_int_eq(mempool_torch_configure("default", 0), MP_OK); /* no pool yet: may change */
}
END_TEST

START_TEST(without_a_device_an_allocation_is_null_with_the_reason)
{
    ck_assert_ptr_null(mempool_torch_malloc(MIB, 0, NULL));
    ck_error_has("device 0");
    ck_error_has("MP_ERR_UNSUPPORTED");
    ck_assert_ptr_null(mempool_torch_malloc(MIB, -1, NULL));
    ck_error_has("device -1 is out of range");
    ck_assert_ptr_null(mempool_torch_malloc(MIB, MEMPOOL_TORCH_MAX_DEVICES, NULL));
    ck_error_has("out of range");
    /* Zero bytes is an empty tensor: NULL, and not a failure. */
    ck_assert_ptr_null(mempool_torch_malloc(0, 0, NULL));
    ck_error_has("out of range");
    char *json = pools_json();
    ck_assert_str_eq(json, "[]");
    free(json);
}
END_TEST

START_TEST(frees_of_foreign_pointers_change_nothing_and_say_so)
{
    int local;
    mempool_torch_free(&local, sizeof local, 0, NULL);
    ck_error_has("has no pool");
    mempool_torch_free(&local, sizeof local, 1000, NULL);
    ck_error_has("device 1000 is out of range");
    mempool_torch_free(NULL, 0, 0, NULL); /* nothing, not even an error */
    ck_error_has("device 1000 is out of range");
}
END_TEST

START_TEST(diagnostics_without_a_pool)
{
    mp_stats s = MP_STATS_INIT;
    ck_assert_int_eq(mempool_torch_stats(0, &s), MP_ERR_NOT_FOUND);
    ck_error_has("device 0 has no pool");
    ck_assert_int_eq(mempool_torch_stats(-3, &s), MP_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(mempool_torch_trim(0), MP_OK); /* nothing reserved, nothing to trim */
    char one[1] = {'x'};
    ck_assert_int_eq(mempool_torch_pools_json(one, sizeof one), 2); /* "[]": snprintf's answer */
    ck_assert_int_eq(one[0], '\0');
    ck_assert_int_eq(mempool_torch_trace_flush(), MP_OK);
    mempool_torch_trace_synchronized();
}
END_TEST

/* ---- the plug-in on a device ---------------------------------------------- */

enum { RACERS = 8 };
static pthread_barrier_t start_line;

static void *race_first_allocation(void *out)
{
    pthread_barrier_wait(&start_line);
    *(void **)out = mempool_torch_malloc(MIB, 0, NULL);
    return NULL;
}

START_TEST(threads_racing_to_allocate_first_get_one_pool)
{
    ck_assert_int_eq(mempool_torch_configure("default", 512 * MIB), MP_OK);
    pthread_t th[RACERS];
    void *got[RACERS];
    pthread_barrier_init(&start_line, NULL, RACERS);
    for (int i = 0; i < RACERS; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, race_first_allocation, &got[i]), 0);
    for (int i = 0; i < RACERS; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&start_line);
    for (int i = 0; i < RACERS; i++) {
        ck_assert_msg(got[i] != NULL, "thread %d: %s", i, mempool_torch_last_error());
        for (int j = 0; j < i; j++)
            ck_assert_ptr_ne(got[i], got[j]);
    }
    char *json = pools_json();
    ck_assert_msg(strstr(json, "\"device\":0") && !strstr(strstr(json, "\"device\":0") + 1, "\"device\":"),
                  "one pool expected: %s", json);
    ck_assert_msg(strstr(json, "\"preset\":\"default\"") && strstr(json, "\"name\":\"torch_gpu0\""), "%s", json);
    free(json);
    mp_stats s = pool_stats();
    ck_assert_uint_eq(s.allocation_count, RACERS);
    ck_assert_uint_eq(s.live_allocations, RACERS);
    for (int i = 0; i < RACERS; i++)
        mempool_torch_free(got[i], MIB, 0, NULL);
    ck_assert_uint_eq(pool_stats().live_allocations, 0);
}
END_TEST

START_TEST(configuration_is_refused_once_a_pool_exists)
{
    ck_assert_int_eq(mempool_torch_configure("high_performance", 0), MP_ERR_INVALID_OPERATION);
    ck_error_has("exist already with preset 'default'");
}
END_TEST

START_TEST(blocks_are_device_memory_and_counted)
{
    uint64_t allocs = counter("allocations"), frees = counter("frees");
    unsigned char *p = mempool_torch_malloc(4 * MIB, 0, NULL);
    void *q = mempool_torch_malloc(100, 0, NULL);
    ck_assert_ptr_nonnull(p);
    ck_assert_ptr_nonnull(q);
    ck_assert_uint_eq((uintptr_t)p % 256, 0);
    ck_assert_int_eq(cudaMemset(p, 0x5A, 4 * MIB), cudaSuccess);
    unsigned char back[64];
    ck_assert_int_eq(cudaMemcpy(back, p + 4 * MIB - sizeof back, sizeof back, cudaMemcpyDeviceToHost), cudaSuccess);
    for (size_t i = 0; i < sizeof back; i++)
        ck_assert_uint_eq(back[i], 0x5A);
    ck_assert_uint_eq(counter("live_bytes"), 4 * MIB + 100);
    ck_assert_uint_ge(counter("peak_live_bytes"), 4 * MIB + 100);
    ck_assert_uint_eq(counter("allocations"), allocs + 2);
    mempool_torch_free(p, 4 * MIB, 0, NULL);
    mempool_torch_free(q, 100, 0, NULL);
    ck_assert_uint_eq(counter("live_bytes"), 0);
    ck_assert_uint_eq(counter("frees"), frees + 2);
    ck_assert_uint_eq(counter("other_stream_allocations"), 0);
}
END_TEST

START_TEST(foreign_and_double_frees_change_nothing)
{
    void *keep = mempool_torch_malloc(MIB, 0, NULL), *p = mempool_torch_malloc(MIB, 0, NULL);
    ck_assert_ptr_nonnull(keep);
    ck_assert_ptr_nonnull(p);
    mempool_torch_free(p, MIB, 0, NULL);
    mp_stats before = pool_stats();
    uint64_t failed = counter("failed_frees"), live = counter("live_bytes");
    mempool_torch_free(p, MIB, 0, NULL); /* twice */
    ck_error_has("MP_ERR_INVALID_POINTER");
    int local;
    mempool_torch_free(&local, sizeof local, 0, NULL); /* never ours */
    ck_error_has("MP_ERR_INVALID_POINTER");
    mempool_torch_free((char *)keep + 256, MIB, 0, NULL); /* interior */
    mp_stats after = pool_stats();
    ck_assert_uint_eq(after.live_allocations, before.live_allocations);
    ck_assert_uint_eq(after.deallocation_count, before.deallocation_count);
    ck_assert_uint_eq(counter("failed_frees"), failed + 3);
    ck_assert_uint_eq(counter("live_bytes"), live);
    mempool_torch_free(keep, MIB, 0, NULL);
    ck_assert_uint_eq(pool_stats().live_allocations, 0);
}
END_TEST

#ifdef MEMPOOL_TEST_KERNELS
/* A block freed on another stream than the pool's (NULL here, the first
 * allocation's) waits behind an event there until that stream's work is done:
 * handed out before, it is handed out with the pool's stream waiting for it. */
START_TEST(a_free_on_another_stream_waits_for_that_stream)
{
    cudaStream_t side;
    ck_assert_int_eq(cudaStreamCreateWithFlags(&side, cudaStreamNonBlocking), cudaSuccess);
    void *p = mempool_torch_malloc(MIB, 0, side);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(counter("other_stream_allocations"), 1);
    ck_assert_int_eq(mpt_spin(p, 300.0, side), 0);
    mempool_torch_free(p, MIB, 0, side);
    ck_assert_uint_eq(counter("other_stream_frees"), 1);
    ck_assert_uint_eq(pool_stats().pending_frees, 1);
    void *q = mempool_torch_malloc(MIB, 0, NULL);
    ck_assert_ptr_nonnull(q);
    if (q == p) { /* reused early: the pool's stream must wait for the kernel */
        ck_assert_int_eq(cudaStreamSynchronize(NULL), cudaSuccess);
        ck_assert_int_eq(cudaStreamQuery(side), cudaSuccess);
    }
    ck_assert_int_eq(cudaStreamSynchronize(side), cudaSuccess);
    mempool_torch_free(q, MIB, 0, NULL);
    q = mempool_torch_malloc(MIB, 0, NULL); /* allocations collect completed frees */
    ck_assert_uint_eq(pool_stats().pending_frees, 0);
    mempool_torch_free(q, MIB, 0, NULL);
    ck_assert_uint_eq(pool_stats().live_allocations, 0);
    cudaStreamDestroy(side);
}
END_TEST

/* A block freed on the pool's stream is free at once in the pool's eyes;
 * handed out for another stream, that stream must first wait for the pool's:
 * after synchronising only the other stream, the pool stream's kernel is done. */
START_TEST(an_allocation_on_another_stream_waits_for_the_pools_stream)
{
    cudaStream_t side;
    ck_assert_int_eq(cudaStreamCreateWithFlags(&side, cudaStreamNonBlocking), cudaSuccess);
    unsigned *p = mempool_torch_malloc(MIB, 0, NULL);
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(mpt_spin(p, 300.0, NULL), 0); /* writes p[0] when done */
    mempool_torch_free(p, MIB, 0, NULL);
    unsigned *q = mempool_torch_malloc(MIB, 0, side);
    ck_assert_ptr_nonnull(q);
    ck_assert_int_eq(cudaMemsetAsync(q, 0, sizeof *q, side), cudaSuccess);
    ck_assert_int_eq(cudaStreamSynchronize(side), cudaSuccess);
    ck_assert_int_eq(cudaStreamQuery(NULL), cudaSuccess); /* the spin finished before the memset ran */
    if (q == p) { /* the usual case: the memset came after the kernel's write */
        unsigned v = 1;
        ck_assert_int_eq(cudaMemcpy(&v, q, sizeof v, cudaMemcpyDeviceToHost), cudaSuccess);
        ck_assert_uint_eq(v, 0);
    }
    mempool_torch_free(q, MIB, 0, side);
    ck_assert_int_eq(cudaStreamSynchronize(side), cudaSuccess);
    cudaStreamDestroy(side);
}
END_TEST
#endif

START_TEST(out_of_memory_is_null_with_the_reason_and_harms_nothing)
{
    uint64_t failed = counter("failed_allocations");
    ck_assert_ptr_null(mempool_torch_malloc(1024 * MIB, 0, NULL)); /* the cap is 512 MiB */
    ck_error_has("allocating 1073741824 bytes on device 0 for stream");
    ck_error_has("MP_ERR_OUT_OF_MEMORY");
    ck_assert_uint_eq(counter("failed_allocations"), failed + 1);
    void *p = mempool_torch_malloc(MIB, 0, NULL);
    ck_assert_ptr_nonnull(p);
    mempool_torch_free(p, MIB, 0, NULL);
}
END_TEST

START_TEST(trim_hands_idle_memory_back)
{
    void *big[3];
    for (int i = 0; i < 3; i++)
        ck_assert_ptr_nonnull(big[i] = mempool_torch_malloc(32 * MIB, 0, NULL));
    for (int i = 0; i < 3; i++)
        mempool_torch_free(big[i], 32 * MIB, 0, NULL);
    mp_stats before = pool_stats();
    ck_assert_uint_ge(before.reserved_bytes, 96 * MIB);
    ck_assert_int_eq(mempool_torch_trim(0), MP_OK);
    mp_stats after = pool_stats(); /* no block is live: all of it was idle */
    ck_assert_uint_eq(after.live_allocations, 0);
    ck_assert_msg(after.reserved_bytes < before.reserved_bytes, "reserved %llu bytes after trim, %llu before",
                  (unsigned long long)after.reserved_bytes, (unsigned long long)before.reserved_bytes);
    ck_assert_uint_ge(after.peak_reserved_bytes, before.reserved_bytes);
}
END_TEST

/* ---- the trace and timing switches, in a fresh process -------------------- */

START_TEST(the_environment_switches_record_the_trace_and_time_the_calls)
{
    char *path = temp_path("device.trace");
    setenv("MEMPOOL_TORCH_TRACE", path, 1);
    setenv("MEMPOOL_TORCH_TIMING", "1", 1);
    cudaStream_t side;
    ck_assert_int_eq(cudaStreamCreateWithFlags(&side, cudaStreamNonBlocking), cudaSuccess);
    void *a = mempool_torch_malloc(1000, 0, NULL);
    void *b = mempool_torch_malloc(2000, 0, side);
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    mempool_torch_free(a, 1000, 0, NULL);
    void *c = mempool_torch_malloc(3000, 0, NULL);
    mempool_torch_free(b, 2000, 0, side);
    mempool_torch_trace_synchronized();
    mempool_torch_free(c, 3000, 0, NULL);
    ck_assert_int_eq(mempool_torch_trace_flush(), MP_OK);
    char *text = slurp(path), *expect;
    ck_assert_int_ge(asprintf(&expect,
                              "# mempool-trace 1\n# recorder mempool_torch\n# mempool %s\n# preset default\n"
                              "# max_bytes 0\n# cuda_device 0\na 0 1000 0\na 1 2000 1\nf 0 0\na 0 3000 0\n"
                              "f 1 1\ns 0\ns 1\nf 0 0\n",
                              mp_version_string()),
                     0);
    ck_assert_str_eq(text, expect);
    char *json = pools_json();
    ck_assert_msg(strstr(json, "\"traced\":true") && strstr(json, "\"timed\":true"), "%s", json);
    ck_assert_uint_gt(json_u64(json, "alloc_ns"), 0);
    ck_assert_uint_gt(json_u64(json, "free_ns"), 0);
    free(json);
    free(text);
    free(expect);
    free(path);
    cudaStreamSynchronize(side);
    cudaStreamDestroy(side);
}
END_TEST

/* ---- suites --------------------------------------------------------------- */

static Suite *suite_for(const char *mode)
{
    Suite *s = suite_create(mode);
    TCase *t = tcase_create(mode);
    tcase_set_timeout(t, 120);
    if (strcmp(mode, "trace") == 0) {
        tcase_add_test(t, the_trace_has_the_header_then_metadata_then_records);
        tcase_add_test(t, ids_of_freed_blocks_are_reused_last_freed_first);
        tcase_add_test(t, streams_are_numbered_in_order_of_first_use_the_pools_first);
        tcase_add_test(t, a_synchronisation_names_the_streams_freed_on_since_the_last);
        tcase_add_test(t, frees_of_unseen_blocks_are_not_written);
        tcase_add_test(t, a_trace_that_would_lie_stops_and_says_why);
        tcase_add_test(t, percent_p_in_the_path_is_the_process_id);
        tcase_add_test(t, the_address_map_survives_heavy_churn);
    } else if (strcmp(mode, "nodevice") == 0) {
        tcase_add_test(t, unknown_presets_are_refused_with_the_known_ones_named);
        tcase_add_test(t, without_a_device_an_allocation_is_null_with_the_reason);
        tcase_add_test(t, frees_of_foreign_pointers_change_nothing_and_say_so);
        tcase_add_test(t, diagnostics_without_a_pool);
    } else if (strcmp(mode, "device") == 0) {
        tcase_add_test(t, threads_racing_to_allocate_first_get_one_pool);
        tcase_add_test(t, configuration_is_refused_once_a_pool_exists);
        tcase_add_test(t, blocks_are_device_memory_and_counted);
        tcase_add_test(t, foreign_and_double_frees_change_nothing);
#ifdef MEMPOOL_TEST_KERNELS
        tcase_add_test(t, a_free_on_another_stream_waits_for_that_stream);
        tcase_add_test(t, an_allocation_on_another_stream_waits_for_the_pools_stream);
#endif
        tcase_add_test(t, out_of_memory_is_null_with_the_reason_and_harms_nothing);
        tcase_add_test(t, trim_hands_idle_memory_back);
    } else {
        tcase_add_test(t, the_environment_switches_record_the_trace_and_time_the_calls);
    }
    suite_add_tcase(s, t);
    return s;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    if (strcmp(mode, "trace") && strcmp(mode, "nodevice") && strcmp(mode, "device") && strcmp(mode, "devicetrace")) {
        fprintf(stderr, "usage: %s trace|nodevice|device|devicetrace\n", argv[0]);
        return 2;
    }
    if (strcmp(mode, "trace") != 0) {
        int devices = 0;
        if (cudaGetDeviceCount(&devices) != cudaSuccess)
            devices = 0;
        bool want = strcmp(mode, "nodevice") != 0;
        if (want && devices == 0) {
            printf("SKIP: no CUDA device found; the plug-in's %s suite runs on a machine with one\n", mode);
            return SKIP;
        }
        if (!want && devices > 0) {
            printf("SKIP: %d CUDA device(s) present; the no-device suite runs where there is none\n", devices);
            return SKIP;
        }
    }
    SRunner *sr = srunner_create(suite_for(mode));
    /* The plug-in's pools live as long as the process (and CUDA, once
     * initialised above, does not survive fork): the tests run here, in order. */
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

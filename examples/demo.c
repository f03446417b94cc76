/* mempool demo: a fixed-size and a variable-size CPU pool (and a GPU pool
 * when a CUDA device is present), some allocations, their statistics, what
 * the pool says about bad input, and a quick look next to malloc. The
 * numbers at the end are a demonstration; bench/ holds the benchmarks. */
#define _POSIX_C_SOURCE 200809L
#include <mempool/mempool.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHECK(call)                                                                                \
    do {                                                                                           \
        mp_status s_ = (call);                                                                     \
        if (s_ != MP_OK) {                                                                         \
            fprintf(stderr, "%s failed: %s: %s\n", #call, mp_status_name(s_), mp_last_error_message()); \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

static void print_stats(const mp_pool *pool)
{
    char *text = NULL;
    CHECK(mp_pool_stats_string(pool, &text));
    fputs(text, stdout);
    mp_string_free(text);
}

static double now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

/* ns per allocate+free pair of `size` bytes, through the pool or malloc. */
static double pair_ns(mp_pool *pool, size_t size, int rounds)
{
    void *volatile sink;
    double t0 = now_ns();
    for (int i = 0; i < rounds; i++) {
        void *p;
        if (pool) {
            mp_pool_allocate(pool, size, &p);
            sink = p;
            mp_pool_deallocate(pool, p);
        } else {
            p = malloc(size);
            sink = p;
            free(p);
        }
    }
    (void)sink;
    return (now_ns() - t0) / rounds;
}

int main(void)
{
    printf("mempool %s (header %d.%d.%d)\n\n", mp_version_string(), MP_VERSION_MAJOR, MP_VERSION_MINOR,
           MP_VERSION_PATCH);

    /* A fixed-size pool of 64-byte blocks, e.g. for list nodes. */
    mp_config cfg = MP_CONFIG_INIT;
    CHECK(mp_config_fixed_size_cpu(&cfg, 64));
    mp_pool *nodes = NULL;
    CHECK(mp_pool_create("nodes", MP_MEMORY_CPU, &cfg, &nodes));
    void *node[1000];
    for (int i = 0; i < 1000; i++)
        CHECK(mp_pool_allocate(nodes, 48, &node[i]));
    for (int i = 0; i < 1000; i += 2)
        CHECK(mp_pool_deallocate(nodes, node[i]));

    /* A variable-size pool through the registry, used by name. */
    CHECK(mp_config_default_cpu(&cfg));
    CHECK(mp_registry_create_cpu_pool("buffers", &cfg, NULL));
    void *buf[100];
    for (int i = 0; i < 100; i++) {
        CHECK(mp_allocate("buffers", (size_t)(i + 1) * 100, &buf[i]));
        memset(buf[i], i, (size_t)(i + 1) * 100);
    }
    for (int i = 0; i < 100; i += 3)
        CHECK(mp_deallocate("buffers", buf[i]));
    mp_pool *buffers = NULL;
    CHECK(mp_registry_get_cpu_pool("buffers", &buffers));

    print_stats(nodes);
    print_stats(buffers);

    /* Bad input is answered, never crashed on. */
    mp_status s = mp_pool_deallocate(nodes, node[0]);
    printf("\nfreeing a block twice:        %s: %s\n", mp_status_name(s), mp_last_error_message());
    s = mp_pool_deallocate(nodes, buf[1]);
    printf("freeing into the wrong pool:  %s: %s\n", mp_status_name(s), mp_last_error_message());
    void *big;
    s = mp_pool_allocate(nodes, 65, &big);
    printf("65 bytes from 64-byte blocks: %s: %s\n", mp_status_name(s), mp_last_error_message());

    /* GPU, when there is one. */
    int devices = 0;
    CHECK(mp_gpu_device_count(&devices));
    if (devices > 0) {
        mp_pool *gpu = NULL;
        CHECK(mp_registry_get_gpu_pool("default_gpu", &gpu));
        void *d = NULL;
        char msg[] = "hello from the device", back[sizeof msg];
        CHECK(mp_pool_allocate(gpu, sizeof msg, &d));
        CHECK(mp_pool_copy_host_to_device(gpu, d, msg, sizeof msg));
        CHECK(mp_pool_copy_device_to_host(gpu, back, d, sizeof msg));
        printf("\nGPU round trip: \"%s\"\n", back);
        CHECK(mp_pool_deallocate(gpu, d));
        print_stats(gpu);
    } else {
        printf("\nno CUDA device here: GPU pools answer MP_ERR_UNSUPPORTED\n");
    }

    /* A quick look next to malloc (single thread, no contention). */
    mp_config fast = MP_CONFIG_INIT;
    CHECK(mp_config_fixed_size_cpu(&fast, 64));
    fast.thread_safe = false;
    fast.track_stats = false;
    mp_pool *quick = NULL;
    CHECK(mp_pool_create("quick", MP_MEMORY_CPU, &fast, &quick));
    CHECK(mp_config_default_cpu(&fast));
    fast.track_stats = false;
    mp_pool *quickv = NULL;
    CHECK(mp_pool_create("quick-variable", MP_MEMORY_CPU, &fast, &quickv));
    enum { ROUNDS = 2000000 };
    pair_ns(quick, 64, ROUNDS / 10);
    pair_ns(NULL, 64, ROUNDS / 10);
    double fixed_ns = pair_ns(quick, 64, ROUNDS);
    double var_ns = pair_ns(quickv, 64, ROUNDS);
    double malloc_ns = pair_ns(NULL, 64, ROUNDS);
    printf("\n64-byte allocate+free pair (demo timing; see bench/ for the benchmark):\n");
    printf("  fixed pool, no lock: %6.1f ns\n  variable pool, mutex: %5.1f ns\n  glibc malloc/free:   %6.1f ns\n",
           fixed_ns, var_ns, malloc_ns);

    CHECK(mp_pool_destroy(quick));
    CHECK(mp_pool_destroy(quickv));
    CHECK(mp_pool_destroy(nodes));
    CHECK(mp_registry_destroy("buffers"));
    return 0;
}

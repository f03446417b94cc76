// GPU allocation benchmark, one process: mempool's GPU pools against
// cudaMalloc/cudaFree, cudaMallocAsync/cudaFreeAsync from a warmed pool
// (release threshold at max) and CUB's CachingDeviceAllocator (configured to
// cache every size measured), for 256 B, 4 KiB, 1 MiB and 64 MiB; and
// mempool's pinned pool against cudaMallocHost/cudaFreeHost.
//
// Workloads: "pair" (allocate then free, repeated) and "batch" (allocate 64
// blocks, then free them); ns per allocate+free, median of RUNS runs.
// usage: gpu_bench [results.json]
#include <cub/util_allocator.cuh>
#include <cuda_runtime.h>
#include <mempool/mempool.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#define CK(call)                                                                                   \
    do {                                                                                           \
        cudaError_t e_ = (call);                                                                   \
        if (e_ != cudaSuccess) {                                                                   \
            std::fprintf(stderr, "%s: %s\n", #call, cudaGetErrorString(e_));                      \
            std::exit(1);                                                                          \
        }                                                                                          \
    } while (0)
#define MP(call)                                                                                   \
    do {                                                                                           \
        mp_status s_ = (call);                                                                     \
        if (s_ != MP_OK) {                                                                         \
            std::fprintf(stderr, "%s: %s\n", #call, mp_last_error_message());                     \
            std::exit(1);                                                                          \
        }                                                                                          \
    } while (0)

static const int RUNS = 7, BATCH = 64;

static double median(std::vector<double> v)
{
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

// ns per allocate+free: n pairs, or n/BATCH batches of BATCH, median of RUNS.
template <typename A, typename F, typename S>
static double measure(bool batch, int n, A alloc, F release, S sync)
{
    std::vector<void *> ptrs(BATCH);
    std::vector<double> runs;
    for (int r = -1; r < RUNS; r++) { // run -1 warms up
        auto t0 = std::chrono::steady_clock::now();
        if (batch) {
            for (int i = 0; i < n / BATCH; i++) {
                for (int k = 0; k < BATCH; k++)
                    ptrs[k] = alloc();
                for (int k = 0; k < BATCH; k++)
                    release(ptrs[k]);
            }
        } else {
            for (int i = 0; i < n; i++)
                release(alloc());
        }
        sync();
        double ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count();
        if (r >= 0)
            runs.push_back(ns / (batch ? n / BATCH * BATCH : n));
    }
    return median(runs);
}

struct Row {
    std::string workload, allocator;
    size_t size;
    double ns;
};

int main(int argc, char **argv)
{
    cudaDeviceProp prop;
    CK(cudaGetDeviceProperties(&prop, 0));
    int driver = 0, runtime = 0;
    cudaDriverGetVersion(&driver);
    cudaRuntimeGetVersion(&runtime);
    std::printf("device: %s, driver %d, runtime %d, mempool %s\n", prop.name, driver, runtime, mp_version_string());

    cudaStream_t stream;
    CK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
    cudaMemPool_t cuda_pool;
    CK(cudaDeviceGetDefaultMemPool(&cuda_pool, 0));
    unsigned long long threshold = ~0ull;
    CK(cudaMemPoolSetAttribute(cuda_pool, cudaMemPoolAttrReleaseThreshold, &threshold));
    cub::CachingDeviceAllocator cub_alloc(2, 8, 27, ~size_t(0)); // bins 256 B .. 128 MiB, cache everything

    mp_config vc = MP_CONFIG_INIT;
    MP(mp_config_default_gpu(&vc));
    vc.initial_size = size_t(256) << 20;
    mp_pool *var = nullptr;
    MP(mp_pool_create("bench-variable", MP_MEMORY_GPU, &vc, &var));

    std::vector<Row> rows;
    const size_t sizes[] = {256, 4096, size_t(1) << 20, size_t(64) << 20};
    for (size_t size : sizes) {
        mp_config fc = MP_CONFIG_INIT;
        MP(mp_config_fixed_size_gpu(&fc, size, 0));
        fc.initial_size = size * BATCH;
        mp_pool *fixed = nullptr;
        MP(mp_pool_create("bench-fixed", MP_MEMORY_GPU, &fc, &fixed));
        bool big = size >= (size_t(64) << 20);
        for (bool batch : {false, true}) {
            const char *w = batch ? "batch" : "pair";
            int n_pool = big ? 20480 : 200000, n_cuda = big ? 256 : 4096, n_cached = big ? 20480 : 50000;
            auto nosync = [] {};
            rows.push_back({w, "mempool variable", size, measure(batch, n_pool, [&] {
                void *p; MP(mp_pool_allocate(var, size, &p)); return p; },
                [&](void *p) { MP(mp_pool_deallocate(var, p)); }, nosync)});
            rows.push_back({w, "mempool fixed", size, measure(batch, n_pool, [&] {
                void *p; MP(mp_pool_allocate(fixed, size, &p)); return p; },
                [&](void *p) { MP(mp_pool_deallocate(fixed, p)); }, nosync)});
            rows.push_back({w, "cudaMallocAsync", size, measure(batch, n_cached, [&] {
                void *p; CK(cudaMallocAsync(&p, size, stream)); return p; },
                [&](void *p) { CK(cudaFreeAsync(p, stream)); }, [&] { CK(cudaStreamSynchronize(stream)); })});
            rows.push_back({w, "CUB caching", size, measure(batch, n_cached, [&] {
                void *p; CK(cub_alloc.DeviceAllocate(&p, size)); return p; },
                [&](void *p) { CK(cub_alloc.DeviceFree(p)); }, nosync)});
            rows.push_back({w, "cudaMalloc", size, measure(batch, n_cuda, [&] {
                void *p; CK(cudaMalloc(&p, size)); return p; },
                [&](void *p) { CK(cudaFree(p)); }, nosync)});
        }
        mp_pool_destroy(fixed);
    }

    mp_config pc = MP_CONFIG_INIT;
    MP(mp_config_default_cpu(&pc));
    pc.use_pinned_memory = true;
    pc.initial_size = size_t(256) << 20;
    mp_pool *pinned = nullptr;
    MP(mp_pool_create("bench-pinned", MP_MEMORY_CPU, &pc, &pinned));
    for (size_t size : {size_t(4096), size_t(1) << 20, size_t(64) << 20}) {
        rows.push_back({"pinned pair", "mempool pinned", size, measure(false, 100000, [&] {
            void *p; MP(mp_pool_allocate(pinned, size, &p)); return p; },
            [&](void *p) { MP(mp_pool_deallocate(pinned, p)); }, [] {})});
        rows.push_back({"pinned pair", "cudaMallocHost", size, measure(false, size > (1 << 20) ? 16 : 200, [&] {
            void *p; CK(cudaMallocHost(&p, size)); return p; },
            [&](void *p) { CK(cudaFreeHost(p)); }, [] {})});
    }

    // Table: each row's ratio is its time over mempool's best in the same workload and size.
    std::printf("\n%-12s %-10s %-18s %14s %10s\n", "workload", "size", "allocator", "ns/alloc+free", "vs mempool");
    for (const Row &r : rows) {
        double best = 1e300;
        for (const Row &o : rows)
            if (o.workload == r.workload && o.size == r.size && o.allocator.rfind("mempool", 0) == 0)
                best = std::min(best, o.ns);
        char sz[16];
        if (r.size >= (1 << 20))
            std::snprintf(sz, sizeof sz, "%zu MiB", r.size >> 20);
        else if (r.size >= 1024)
            std::snprintf(sz, sizeof sz, "%zu KiB", r.size >> 10);
        else
            std::snprintf(sz, sizeof sz, "%zu B", r.size);
        std::printf("%-12s %-10s %-18s %14.1f %9.1fx\n", r.workload.c_str(), sz, r.allocator.c_str(), r.ns, r.ns / best);
    }
    if (argc > 1) {
        FILE *f = std::fopen(argv[1], "w");
        if (f) {
            std::fprintf(f, "{\"device\":\"%s\",\"driver\":%d,\"runtime\":%d,\"runs\":%d,\"results\":[", prop.name,
                         driver, runtime, RUNS);
            for (size_t i = 0; i < rows.size(); i++)
                std::fprintf(f, "%s{\"workload\":\"%s\",\"allocator\":\"%s\",\"size\":%zu,\"ns\":%.2f}", i ? "," : "",
                             rows[i].workload.c_str(), rows[i].allocator.c_str(), rows[i].size, rows[i].ns);
            std::fprintf(f, "]}\n");
            std::fclose(f);
        }
    }
    mp_pool_destroy(pinned);
    mp_pool_destroy(var);
    cudaStreamDestroy(stream);
    return 0;
}

// What the stream seam's CUDA calls cost the host, against one warm
// cudaMallocAsync (bench/RESULTS.md, "The four-stream bar"). One-off probe:
//   nvcc -O2 -arch=sm_90 -o event_cost tools/device/event_cost.cu
// then run it on the GPU machine (carry the binary). Each figure is the
// median (p90) of 2,000 rounds, each round timing 4 calls on 4 streams and
// dividing by 4; "completed" events were synchronised first, "pending"
// ones sit behind a 200 us kernel; cudaMallocAsync runs on the device's
// default pool at release threshold UINT64_MAX, so it never maps memory
// after the first round.
#include <cuda_runtime.h>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>
using C = std::chrono::steady_clock;
static double ns(C::time_point a, C::time_point b) { return std::chrono::duration<double, std::nano>(b - a).count(); }
__global__ void spin(long long cycles)
{
    long long t0 = clock64();
    while (clock64() - t0 < cycles) {
    }
}
struct Series {
    const char *name;
    std::vector<double> v;
    void print()
    {
        std::sort(v.begin(), v.end());
        std::printf("| %s | %.0f | %.0f |\n", name, v[v.size() / 2], v[v.size() * 9 / 10]);
    }
};
int main()
{
    const int streams = 4, rounds = 2000;
    cudaStream_t s[streams + 1];
    cudaEvent_t e[streams];
    for (int i = 0; i <= streams; i++)
        cudaStreamCreateWithFlags(&s[i], cudaStreamNonBlocking);
    for (int i = 0; i < streams; i++)
        cudaEventCreateWithFlags(&e[i], cudaEventDisableTiming);
    Series record{"cudaEventRecord, an event recorded before"}, query_done{"cudaEventQuery, completed"},
        query_pending{"cudaEventQuery, pending"}, wait_done{"cudaStreamWaitEvent, completed event"},
        wait_pending{"cudaStreamWaitEvent, pending event"}, malloc_async{"cudaMallocAsync, 1 MiB, pool kept warm"},
        free_async{"cudaFreeAsync, 1 MiB"};
    cudaMemPool_t pool; /* the device's default pool keeps what it holds between rounds: a warm allocation */
    cudaDeviceGetDefaultMemPool(&pool, 0);
    unsigned long long keep = ~0ull;
    cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &keep);
    void *p[streams];
    for (int r = 0; r < rounds; r++) {
        for (int i = 0; i < streams; i++)
            cudaEventRecord(e[i], s[i]);
        for (int i = 0; i < streams; i++)
            cudaStreamSynchronize(s[i]);
        auto t0 = C::now();
        for (int i = 0; i < streams; i++)
            cudaEventQuery(e[i]);
        auto t1 = C::now();
        for (int i = 0; i < streams; i++)
            cudaStreamWaitEvent(s[streams], e[i], 0);
        auto t2 = C::now();
        for (int i = 0; i < streams; i++)
            spin<<<1, 1, 0, s[i]>>>(200000);
        auto t3 = C::now();
        for (int i = 0; i < streams; i++)
            cudaEventRecord(e[i], s[i]);
        auto t4 = C::now();
        for (int i = 0; i < streams; i++)
            cudaEventQuery(e[i]);
        auto t5 = C::now();
        for (int i = 0; i < streams; i++)
            cudaStreamWaitEvent(s[streams], e[i], 0);
        auto t6 = C::now();
        for (int i = 0; i < streams; i++)
            cudaMallocAsync(&p[i], 1 << 20, s[i]);
        auto t7 = C::now();
        for (int i = 0; i < streams; i++)
            cudaFreeAsync(p[i], s[i]);
        auto t8 = C::now();
        cudaDeviceSynchronize();
        query_done.v.push_back(ns(t0, t1) / streams);
        wait_done.v.push_back(ns(t1, t2) / streams);
        record.v.push_back(ns(t3, t4) / streams);
        query_pending.v.push_back(ns(t4, t5) / streams);
        wait_pending.v.push_back(ns(t5, t6) / streams);
        if (r) { // the first round fills the pool
            malloc_async.v.push_back(ns(t6, t7) / streams);
            free_async.v.push_back(ns(t7, t8) / streams);
        }
    }
    cudaDeviceProp prop;
    cudaGetDeviceProperties(&prop, 0);
    std::printf("%s: host ns per call, median and p90 of %d rounds of %d\n\n| call | median | p90 |\n|---|---:|---:|\n",
                prop.name, rounds, streams);
    for (Series *x : {&record, &query_done, &query_pending, &wait_done, &wait_pending, &malloc_async, &free_async})
        x->print();
    return cudaGetLastError() == cudaSuccess ? 0 : 1;
}

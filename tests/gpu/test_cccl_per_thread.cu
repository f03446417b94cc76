// <mempool/mempool_cuda.hpp> compiled with --default-stream per-thread: a
// NULL stream here is this thread's default stream, which the library (whose
// NULL is the legacy stream) must be told by name. Otherwise a free "on the
// default stream" would be taken for one on the pool's stream and the block
// reused while this thread's work still uses it.
#include <mempool/mempool_cuda.hpp>

#include <cstdio>
#include <stdexcept>
#include <string>

#ifndef CUDA_API_PER_THREAD_DEFAULT_STREAM
#error "build this file with --default-stream per-thread"
#endif

using namespace mempool;

#define EXPECT(cond)                                                                               \
    do {                                                                                           \
        if (!(cond))                                                                               \
            throw std::runtime_error(std::string(__FILE__ ":") + std::to_string(__LINE__) + ": " #cond); \
    } while (0)

static mp_stats statsOf(mp_pool *p)
{
    mp_stats s{};
    s.struct_size = sizeof s;
    detail::check(mp_pool_get_stats(p, &s));
    return s;
}

__global__ static void spin(unsigned *p, long long cycles)
{
    long long t0 = clock64();
    while (clock64() - t0 < cycles) {
    }
    *p = 1;
}

int main()
{
    try {
        EXPECT(detail::libraryStream(nullptr) == cudaStreamPerThread);
        EXPECT(detail::libraryStream(cudaStreamLegacy) == nullptr);
        if (deviceCount() == 0) {
            std::printf("SKIP: no CUDA device (%s); the stream mapping checks passed\n", version().c_str());
            return 77;
        }
        GPUMemoryPool pool("cccl-per-thread", PoolConfig::DefaultGPU()); // on the legacy stream
        GPUMemoryResource res(pool);
        auto *p = static_cast<unsigned *>(res.allocate_async(4096, 256, cudaStream_t{}));
        spin<<<1, 1>>>(p, 400000000LL); // this thread's default stream, ~200 ms
        res.deallocate_async(p, 4096, 256, cudaStream_t{});
        EXPECT(statsOf(pool.handle()).pending_frees == 1); // waits behind the per-thread stream's work
        EXPECT(cudaStreamQuery(cudaStreamPerThread) == cudaErrorNotReady);
        EXPECT(cudaStreamSynchronize(cudaStreamPerThread) == cudaSuccess);
        detail::check(mp_pool_trim(pool.handle(), SIZE_MAX));
        mp_stats s = statsOf(pool.handle());
        EXPECT(s.pending_frees == 0 && s.live_allocations == 0);
    } catch (const std::exception &e) {
        std::printf("FAIL %s\n", e.what());
        return 1;
    }
    std::printf("PASS a NULL stream under --default-stream per-thread reaches the library as the per-thread stream\n");
    return 0;
}

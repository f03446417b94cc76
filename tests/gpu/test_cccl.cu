// The CUDA C++ adapters (<mempool/mempool_cuda.hpp>) under CCCL: a
// thrust::device_vector in a pool, thrust's and CUB's temporary storage from
// it (through a cuda::mr resource_ref), the stream order each call promises,
// and the errors bad input gets. Each test checks through mp_pool_get_stats
// that the pool served the allocations and that nothing is left live.
//
// Without a CUDA device it runs what needs none (a host pool is refused, the
// stream mapping) and exits 77 (ctest: skipped); the device tests are compiled
// and instantiated all the same, so the concept checks build wherever the
// toolkit is, CI included.
#include <mempool/mempool_cuda.hpp>

#include <cub/device/device_radix_sort.cuh>
#include <cub/device/device_reduce.cuh>
#include <thrust/copy.h>
#include <thrust/device_vector.h>
#include <thrust/execution_policy.h>
#include <thrust/fill.h>
#include <thrust/reduce.h>
#include <thrust/sort.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace mempool;
using DeviceAccessible = cuda::mr::device_accessible;

// ---- what the compiler checks (on every machine with the toolkit) ------------------------------

#if CCCL_VERSION >= 3001000
using SyncRef = cuda::mr::synchronous_resource_ref<DeviceAccessible>;
using AsyncRef = cuda::mr::resource_ref<DeviceAccessible>;
static void *refAllocate(AsyncRef &r, size_t n, cudaStream_t s) { return r.allocate(s, n); }
static void refDeallocate(AsyncRef &r, void *p, size_t n, cudaStream_t s) { r.deallocate(s, p, n); }
static void *refAllocateSync(SyncRef &r, size_t n) { return r.allocate_sync(n); }
static void refDeallocateSync(SyncRef &r, void *p, size_t n) { r.deallocate_sync(p, n); }
#else
using SyncRef = cuda::mr::resource_ref<DeviceAccessible>;
using AsyncRef = cuda::mr::async_resource_ref<DeviceAccessible>;
static void *refAllocate(AsyncRef &r, size_t n, cudaStream_t s) { return r.allocate_async(n, s); }
static void refDeallocate(AsyncRef &r, void *p, size_t n, cudaStream_t s) { r.deallocate_async(p, n, s); }
static void *refAllocateSync(SyncRef &r, size_t n) { return r.allocate(n); }
static void refDeallocateSync(SyncRef &r, void *p, size_t n) { r.deallocate(p, n); }
#endif

static_assert(std::is_constructible<SyncRef, GPUMemoryResource &>::value, "a resource_ref takes the resource");
static_assert(std::is_constructible<AsyncRef, GPUMemoryResource &>::value, "an async_resource_ref takes it");
static_assert(!std::is_constructible<cuda::mr::resource_ref<cuda::mr::host_accessible>, GPUMemoryResource &>::value,
              "the resource does not claim host access");
static_assert(std::is_nothrow_copy_constructible<GPUMemoryResource>::value &&
                  std::is_nothrow_move_constructible<GPUMemoryResource>::value,
              "a resource is a cheap value");
static_assert(std::is_same<thrust::device_vector<int, GPUAllocator<int>>::pointer, thrust::device_ptr<int>>::value,
              "a device_vector over the allocator holds device pointers (thrust runs on the device)");
static_assert(std::is_same<GPUAllocator<int>::rebind<double>::other, GPUAllocator<double>>::value, "rebinds");

// ---- harness ----------------------------------------------------------------------------------

static int passed, failed;

#define EXPECT(cond)                                                                               \
    do {                                                                                           \
        if (!(cond))                                                                               \
            throw std::runtime_error(std::string(__FILE__ ":") + std::to_string(__LINE__) + ": " #cond); \
    } while (0)

#define CUDA_OK(call)                                                                              \
    do {                                                                                           \
        cudaError_t e_ = (call);                                                                   \
        if (e_ != cudaSuccess)                                                                     \
            throw std::runtime_error(std::string(__FILE__ ":") + std::to_string(__LINE__) + ": " #call ": " + \
                                     cudaGetErrorString(e_));                                     \
    } while (0)

// expr throws E whose message holds `has`.
#define EXPECT_THROWS(E, expr, has)                                                                \
    do {                                                                                           \
        bool thrown_ = false;                                                                      \
        try {                                                                                      \
            (void)(expr);                                                                          \
        } catch (const E &e_) {                                                                    \
            thrown_ = true;                                                                        \
            if (!std::strstr(e_.what(), has))                                                      \
                throw std::runtime_error(std::string(__FILE__ ":") + std::to_string(__LINE__) + ": " #expr \
                                         " threw \"" + e_.what() + "\", without \"" has "\"");     \
        }                                                                                          \
        if (!thrown_)                                                                              \
            throw std::runtime_error(std::string(__FILE__ ":") + std::to_string(__LINE__) + ": " #expr \
                                     " did not throw " #E);                                        \
    } while (0)

static void run(const char *name, const std::function<void()> &test)
{
    try {
        test();
        passed++;
        std::printf("PASS %s\n", name);
    } catch (const std::exception &e) {
        failed++;
        std::printf("FAIL %s: %s\n", name, e.what());
    }
    std::fflush(stdout);
}

static mp_stats statsOf(mp_pool *p)
{
    mp_stats s{};
    s.struct_size = sizeof s;
    detail::check(mp_pool_get_stats(p, &s));
    return s;
}

static bool owns(mp_pool *p, const void *ptr)
{
    bool owned = false;
    detail::check(mp_pool_owns(p, ptr, &owned));
    return owned;
}

// Nothing live, nothing waiting on a stream once the device is idle (the trim
// collects completed stream frees and keeps every chunk).
static void expectAllFreed(mp_pool *p)
{
    CUDA_OK(cudaDeviceSynchronize());
    detail::check(mp_pool_trim(p, SIZE_MAX));
    mp_stats s = statsOf(p);
    EXPECT(s.live_allocations == 0);
    EXPECT(s.pending_frees == 0);
    EXPECT(s.allocation_count == s.deallocation_count);
    detail::check(mp_pool_check(p));
}

// A fixed-size GPU pool that holds exactly `blocks` blocks: which block the
// next allocation gets is then known. Blocks of BLOCK bytes, a device's
// mapping granule (2 MiB), so that max_size maps whole granules where the
// pool maps device memory on demand.
static const size_t BLOCK = size_t(2) << 20;
static mp_pool *fixedGpu(const char *name, size_t block, size_t blocks, int device = 0)
{
    mp_config c{};
    c.struct_size = sizeof c;
    detail::check(mp_config_fixed_size_gpu(&c, block, device));
    c.initial_size = c.max_size = block * blocks;
    mp_pool *p = nullptr;
    detail::check(mp_pool_create(name, MP_MEMORY_GPU, &c, &p));
    return p;
}

struct Stream {
    cudaStream_t s = nullptr;
    Stream() { CUDA_OK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking)); }
    ~Stream() { cudaStreamDestroy(s); }
    operator cudaStream_t() const { return s; }
    operator cuda::stream_ref() const { return cuda::stream_ref(s); }
};

static std::vector<unsigned> randomWords(size_t n, unsigned seed)
{
    std::mt19937 gen(seed);
    std::vector<unsigned> v(n);
    for (unsigned &x : v)
        x = static_cast<unsigned>(gen());
    return v;
}

__global__ static void spinThenStore(unsigned *p, long long cycles, unsigned value)
{
    long long t0 = clock64();
    while (clock64() - t0 < cycles) {
    }
    *p = value;
}

__global__ static void store(unsigned *p, unsigned value) { *p = value; }

// A kernel on s that writes value into *p after about ms milliseconds.
static void spinThenStoreOn(cudaStream_t s, unsigned *p, double ms, unsigned value)
{
    spinThenStore<<<1, 1, 0, s>>>(p, static_cast<long long>(ms * 2.0e6), value); // ~2 GHz SM clock
    CUDA_OK(cudaGetLastError());
}

static void storeOn(cudaStream_t s, unsigned *p, unsigned value)
{
    store<<<1, 1, 0, s>>>(p, value);
    CUDA_OK(cudaGetLastError());
}

static unsigned readWord(const unsigned *p)
{
    unsigned v = 0;
    CUDA_OK(cudaMemcpy(&v, p, sizeof v, cudaMemcpyDeviceToHost));
    return v;
}

static const size_t N = size_t(1) << 20;

// ---- without a device -----------------------------------------------------------------------------

static void aHostPoolIsRefusedWithTheReason()
{
    CPUMemoryPool cpu("cccl-host", PoolConfig::DefaultCPU());
    EXPECT_THROWS(InvalidArgumentException, GPUMemoryResource(cpu), "holds host memory");
    EXPECT_THROWS(InvalidArgumentException, GPUMemoryResource(static_cast<mp_pool *>(nullptr)), "NULL");
}

static void streamsReachTheLibraryAsItReadsThem()
{
    // The library reads NULL as the legacy default stream.
    EXPECT(detail::libraryStream(cudaStreamLegacy) == nullptr);
    EXPECT(detail::runtimeStream(nullptr) == cudaStreamLegacy);
#ifdef CUDA_API_PER_THREAD_DEFAULT_STREAM
    EXPECT(detail::libraryStream(nullptr) == cudaStreamPerThread);
#else
    EXPECT(detail::libraryStream(nullptr) == nullptr);
#endif
    EXPECT(detail::libraryStream(cudaStreamPerThread) == cudaStreamPerThread);
    cudaStream_t made = reinterpret_cast<cudaStream_t>(uintptr_t(0x1000));
    EXPECT(detail::libraryStream(made) == made);
    EXPECT(detail::runtimeStream(made) == made);
}

// ---- thrust -----------------------------------------------------------------------------------------

static void aDeviceVectorLivesInThePoolAndSortsAndReduces()
{
    GPUMemoryPool pool("cccl-vector", PoolConfig::DefaultGPU());
    GPUMemoryResource res(pool);
    GPUAllocator<int> alloc(res);
    std::mt19937 gen(22);
    std::uniform_int_distribution<int> dist(-1000000, 1000000);
    std::vector<int> host(N);
    for (int &x : host)
        x = dist(gen);
    long long hostSum = std::accumulate(host.begin(), host.end(), 0LL);
    mp_stats s0 = statsOf(pool.handle());
    {
        thrust::device_vector<int, GPUAllocator<int>> v(N, alloc);
        EXPECT(owns(pool.handle(), thrust::raw_pointer_cast(v.data())));
        mp_stats s1 = statsOf(pool.handle());
        EXPECT(s1.allocation_count == s0.allocation_count + 1);
        EXPECT(s1.current_used == s0.current_used + N * sizeof(int));
        thrust::fill(v.begin(), v.end(), 1);
        EXPECT(thrust::reduce(v.begin(), v.end(), 0LL) == static_cast<long long>(N));
        thrust::copy(host.begin(), host.end(), v.begin());
        thrust::sort(v.begin(), v.end());
        EXPECT(thrust::reduce(v.begin(), v.end(), 0LL) == hostSum);
        std::vector<int> back(N);
        thrust::copy(v.begin(), v.end(), back.begin());
        std::sort(host.begin(), host.end());
        EXPECT(back == host);

        // Copies keep the pool (the allocator propagates), and so does growth.
        thrust::device_vector<int, GPUAllocator<int>> w = v;
        EXPECT(w.get_allocator() == alloc);
        EXPECT(owns(pool.handle(), thrust::raw_pointer_cast(w.data())));
        w.resize(2 * N, 7);
        EXPECT(owns(pool.handle(), thrust::raw_pointer_cast(w.data())));
        EXPECT(thrust::reduce(w.begin(), w.end(), 0LL) == hostSum + 7LL * static_cast<long long>(N));
        EXPECT(statsOf(pool.handle()).live_allocations == s0.live_allocations + 2);
    }
    mp_stats s2 = statsOf(pool.handle());
    EXPECT(s2.allocation_count >= s0.allocation_count + 3); // v, w, w grown
    EXPECT(s2.deallocation_count - s0.deallocation_count == s2.allocation_count - s0.allocation_count);
    expectAllFreed(pool.handle());
}

static void thrustTakesItsScratchMemoryFromThePoolOnAStream()
{
    GPUMemoryPool pool("cccl-thrust-tmp", PoolConfig::DefaultGPU());
    GPUMemoryResource res(pool);
    Stream stream;
    GPUTemporaryAllocator tmp(res, stream);
    std::vector<unsigned> host = randomWords(N, 7);
    thrust::device_vector<unsigned, GPUAllocator<unsigned>> v(host.begin(), host.end(), GPUAllocator<unsigned>(res));

    mp_stats s0 = statsOf(pool.handle());
    thrust::sort(thrust::cuda::par_nosync(tmp).on(stream), v.begin(), v.end());
    mp_stats s1 = statsOf(pool.handle());
    EXPECT(s1.allocation_count > s0.allocation_count);   // the sort's scratch came from the pool
    EXPECT(s1.live_allocations == s0.live_allocations); // and went back to it, on the stream
    CUDA_OK(cudaStreamSynchronize(stream));
    std::vector<unsigned> back(N);
    thrust::copy(v.begin(), v.end(), back.begin());
    std::sort(host.begin(), host.end());
    EXPECT(back == host);

    unsigned long long sum = thrust::reduce(thrust::cuda::par(tmp).on(stream), v.begin(), v.end(), 0ULL);
    EXPECT(sum == std::accumulate(host.begin(), host.end(), 0ULL));
    mp_stats s2 = statsOf(pool.handle());
    EXPECT(s2.allocation_count > s1.allocation_count); // the reduction's scratch too
    EXPECT(s2.live_allocations == s0.live_allocations);
    v.clear();
    v.shrink_to_fit();
    expectAllFreed(pool.handle());
}

// ---- CUB through a resource_ref -----------------------------------------------------------------------

static void cubSortsAndReducesWithTemporaryStorageFromAResourceRef()
{
    GPUMemoryPool pool("cccl-cub", PoolConfig::DefaultGPU());
    GPUMemoryResource res(pool);
    SyncRef sync{res};
    AsyncRef ref{res};
    Stream stream;
    std::vector<unsigned> host = randomWords(N, 11);
    mp_stats s0 = statsOf(pool.handle());

    unsigned *in = static_cast<unsigned *>(refAllocateSync(sync, N * sizeof(unsigned)));
    unsigned *out = static_cast<unsigned *>(refAllocate(ref, N * sizeof(unsigned), stream));
    auto *sum = static_cast<unsigned long long *>(refAllocate(ref, sizeof(unsigned long long), stream));
    CUDA_OK(cudaMemcpyAsync(in, host.data(), N * sizeof(unsigned), cudaMemcpyHostToDevice, stream));

    size_t sortBytes = 0, sumBytes = 0;
    CUDA_OK(cub::DeviceRadixSort::SortKeys(nullptr, sortBytes, in, out, static_cast<int>(N), 0, 32, stream));
    void *sortTmp = refAllocate(ref, sortBytes, stream);
    CUDA_OK(cub::DeviceRadixSort::SortKeys(sortTmp, sortBytes, in, out, static_cast<int>(N), 0, 32, stream));
    refDeallocate(ref, sortTmp, sortBytes, stream); // while the sort may still run: it waits for the stream
    CUDA_OK(cub::DeviceReduce::Sum(nullptr, sumBytes, out, sum, static_cast<int>(N), stream));
    void *sumTmp = refAllocate(ref, sumBytes, stream);
    CUDA_OK(cub::DeviceReduce::Sum(sumTmp, sumBytes, out, sum, static_cast<int>(N), stream));
    refDeallocate(ref, sumTmp, sumBytes, stream);

    std::vector<unsigned> back(N);
    unsigned long long total = 0;
    CUDA_OK(cudaMemcpyAsync(back.data(), out, N * sizeof(unsigned), cudaMemcpyDeviceToHost, stream));
    CUDA_OK(cudaMemcpyAsync(&total, sum, sizeof total, cudaMemcpyDeviceToHost, stream));
    CUDA_OK(cudaStreamSynchronize(stream));
    EXPECT(total == std::accumulate(host.begin(), host.end(), 0ULL));
    std::sort(host.begin(), host.end());
    EXPECT(back == host);

    // The pool served exactly these five blocks, at the sizes asked for (0 counts as 1).
    mp_stats s1 = statsOf(pool.handle());
    EXPECT(s1.allocation_count - s0.allocation_count == 5);
    EXPECT(s1.total_allocated - s0.total_allocated ==
           2 * N * sizeof(unsigned) + sizeof(unsigned long long) + std::max<size_t>(sortBytes, 1) +
               std::max<size_t>(sumBytes, 1));
    EXPECT(s1.live_allocations == s0.live_allocations + 3);

    refDeallocate(ref, sum, sizeof(unsigned long long), stream);
    refDeallocate(ref, out, N * sizeof(unsigned), stream);
    refDeallocateSync(sync, in, N * sizeof(unsigned)); // its last use (the sort) is done: synchronised above
    expectAllFreed(pool.handle());
}

// ---- stream order ---------------------------------------------------------------------------------------

// A block freed on the pool's stream and taken at once for another stream:
// that stream waits for the pool's queued work, which still uses the block.
// poolStream nullptr leaves the pool on the legacy default stream.
static void aBlockReusedOnAnotherStreamWaitsForThePoolsStream(bool ownPoolStream)
{
    mp_pool *one = fixedGpu("cccl-order", BLOCK, 1);
    Stream own, other;
    if (ownPoolStream)
        detail::check(mp_pool_set_stream(one, own));
    cudaStream_t poolStream = ownPoolStream ? own.s : cudaStreamLegacy;
    {
        GPUMemoryResource res(one);
        auto *p = static_cast<unsigned *>(res.allocate_async(BLOCK, 256, poolStream));
        spinThenStoreOn(poolStream, p, 200.0, 0xAAAAu);
        res.deallocate_async(p, BLOCK, 256, poolStream); // reusable at once, in the pool stream's order
        EXPECT(statsOf(one).pending_frees == 0);
        auto *q = static_cast<unsigned *>(res.allocate_async(BLOCK, 256, other));
        EXPECT(q == p);                                                 // the pool's only block
        EXPECT(cudaStreamQuery(poolStream) == cudaErrorNotReady);      // still in use there
        storeOn(other, q, 0xBBBBu);
        EXPECT(cudaStreamQuery(other) == cudaErrorNotReady);           // other waits for the pool's stream
        CUDA_OK(cudaStreamSynchronize(other));
        EXPECT(readWord(q) == 0xBBBBu);                                 // so its store came last
        res.deallocate_async(q, BLOCK, 256, other);
    }
    expectAllFreed(one);
    mp_pool_destroy(one);
}

// The synchronous allocate returns memory that any stream may use at once:
// it waits for the pool's stream, where a reused block may still be in use.
static void aSynchronousAllocationIsReadyForAnyStream()
{
    mp_pool *one = fixedGpu("cccl-sync", BLOCK, 1);
    Stream own, other;
    detail::check(mp_pool_set_stream(one, own));
    {
        GPUMemoryResource res(one);
        auto *p = static_cast<unsigned *>(res.allocate_async(BLOCK, 256, own));
        spinThenStoreOn(own, p, 200.0, 0xAAAAu);
        res.deallocate_async(p, BLOCK, 256, own);
        auto *q = static_cast<unsigned *>(res.allocate(BLOCK));
        EXPECT(q == p);
        EXPECT(cudaStreamQuery(own) == cudaSuccess); // the kernel that used the block has finished
        storeOn(other, q, 0xBBBBu);
        CUDA_OK(cudaStreamSynchronize(other));
        EXPECT(readWord(q) == 0xBBBBu);
        res.deallocate(q, BLOCK);
    }
    expectAllFreed(one);
    mp_pool_destroy(one);
}

// A block freed on another stream than the pool's waits for that stream's
// work (mp_pool_deallocate_on_stream). When the pool is full, the library
// hands it out all the same, with the pool's stream made to wait for that
// work: what runs there on the block runs after it.
static void aBlockFreedOnAnotherStreamWaitsForItsWork()
{
    mp_pool *one = fixedGpu("cccl-defer", BLOCK, 1);
    Stream own, other;
    detail::check(mp_pool_set_stream(one, own));
    {
        GPUMemoryResource res(one);
        auto *p = static_cast<unsigned *>(res.allocate_async(BLOCK, 256, other));
        spinThenStoreOn(other, p, 200.0, 0xAAAAu);
        res.deallocate_async(p, BLOCK, 256, other);
        mp_stats s = statsOf(one);
        EXPECT(s.pending_frees == 1); // waits behind other's kernel
        EXPECT(s.live_allocations == 0);
        auto *q = static_cast<unsigned *>(res.allocate_async(BLOCK, 256, own));
        EXPECT(q == p);                                         // the only block, taken over
        EXPECT(cudaStreamQuery(other) == cudaErrorNotReady);   // while the kernel still runs
        storeOn(own, q, 0xBBBBu);
        EXPECT(cudaStreamQuery(own) == cudaErrorNotReady);     // so the pool's stream waits for it
        CUDA_OK(cudaStreamSynchronize(own));
        EXPECT(readWord(q) == 0xBBBBu);
        EXPECT(statsOf(one).pending_frees == 0);
        res.deallocate_async(q, BLOCK, 256, own);
    }
    expectAllFreed(one);
    mp_pool_destroy(one);
}

// Beyond the pool's alignment the block comes from mp_pool_allocate_aligned,
// and the resource itself makes another stream wait for the pool's: two
// 1.5 MiB blocks of a 2 MiB pool share the word at 1 MiB, wherever each lies.
static void anOverAlignedBlockReusedOnAnotherStreamWaitsForThePoolsStream()
{
    PoolConfig cfg = PoolConfig::DefaultGPU();
    cfg.initialSize = cfg.maxSize = BLOCK;
    GPUMemoryPool pool("cccl-order-aligned", cfg);
    Stream own, other;
    pool.setStream(own);
    const size_t bytes = BLOCK / 4 * 3, align = 4096;
    {
        GPUMemoryResource res(pool);
        auto *p = static_cast<char *>(res.allocate_async(bytes, align, own));
        EXPECT(reinterpret_cast<uintptr_t>(p) % align == 0);
        auto *word = reinterpret_cast<unsigned *>(p + BLOCK / 2);
        spinThenStoreOn(own, word, 200.0, 0xAAAAu);
        res.deallocate_async(p, bytes, align, own);
        auto *q = static_cast<char *>(res.allocate_async(bytes, align, other));
        EXPECT(reinterpret_cast<uintptr_t>(q) % align == 0);
        EXPECT(q <= reinterpret_cast<char *>(word) && reinterpret_cast<char *>(word) + sizeof(unsigned) <= q + bytes);
        EXPECT(cudaStreamQuery(own) == cudaErrorNotReady);
        storeOn(other, word, 0xBBBBu);
        EXPECT(cudaStreamQuery(other) == cudaErrorNotReady); // other waits for the pool's stream
        CUDA_OK(cudaStreamSynchronize(other));
        EXPECT(readWord(word) == 0xBBBBu);
        res.deallocate_async(q, bytes, align, other);
    }
    expectAllFreed(pool.handle());
}

// Threads on streams of their own, each ordered after the pool's stream:
// every block comes back, on the high-performance preset (lock-free thread
// caches, no counters) too.
static void threadsOnTheirOwnStreamsShareOnePool(bool lockFree)
{
    GPUMemoryPool pool("cccl-threads", lockFree ? PoolConfig::HighPerformanceGPU() : PoolConfig::DefaultGPU());
    GPUMemoryResource res(pool);
    std::vector<std::thread> threads;
    std::vector<int> errors(4, 0);
    for (int t = 0; t < 4; t++)
        threads.emplace_back([&, t] {
            try {
                Stream s;
                for (int i = 0; i < 200; i++) {
                    auto *p = static_cast<unsigned *>(res.allocate_async(4096u << (i % 8), 256, s));
                    storeOn(s, p, static_cast<unsigned>(i));
                    res.deallocate_async(p, 4096u << (i % 8), 256, s);
                }
                CUDA_OK(cudaStreamSynchronize(s));
            } catch (const std::exception &e) {
                std::printf("  thread %d: %s\n", t, e.what());
                errors[t] = 1;
            }
        });
    for (std::thread &th : threads)
        th.join();
    EXPECT(std::count(errors.begin(), errors.end(), 1) == 0);
    if (!lockFree)
        EXPECT(statsOf(pool.handle()).allocation_count == 800);
    expectAllFreed(pool.handle());
}

// A pool on device 1 used while device 0 is current: its default stream is
// device 1's, which a stream of device 0 waits for, and the caller's device is
// left as it was.
static void aPoolOnAnotherDeviceIsOrderedOnThatDevicesStream()
{
    int devices = 0;
    CUDA_OK(cudaGetDeviceCount(&devices));
    if (devices < 2) {
        std::printf("  (one device: the cross-device case needs two)\n");
        return;
    }
    mp_pool *one = fixedGpu("cccl-device1", BLOCK, 1, 1);
    GPUMemoryResource res(one);
    CUDA_OK(cudaSetDevice(1));
    auto *p = static_cast<unsigned *>(res.allocate_async(BLOCK, 256, cudaStreamLegacy)); // device 1's
    spinThenStoreOn(cudaStreamLegacy, p, 200.0, 0xAAAAu);
    res.deallocate_async(p, BLOCK, 256, cudaStreamLegacy); // the pool's stream: reusable at once
    CUDA_OK(cudaSetDevice(0));
    unsigned *mark = nullptr;
    CUDA_OK(cudaMalloc(&mark, sizeof *mark));
    {
        Stream onZero;
        void *q = res.allocate_async(BLOCK, 256, onZero);
        EXPECT(q == p);
        int current = -1;
        CUDA_OK(cudaGetDevice(&current));
        EXPECT(current == 0);
        storeOn(onZero, mark, 1u);
        EXPECT(cudaStreamQuery(onZero) == cudaErrorNotReady); // behind device 1's kernel
        CUDA_OK(cudaStreamSynchronize(onZero));
        res.deallocate(q, BLOCK); // its user (device 1's kernel) is done
        void *r = res.allocate(BLOCK); // synchronises device 1's default stream, from device 0
        CUDA_OK(cudaGetDevice(&current));
        EXPECT(current == 0);
        res.deallocate(r, BLOCK);
    }
    CUDA_OK(cudaFree(mark));
    expectAllFreed(one);
    mp_pool_destroy(one);
}

// ---- equality, alignment and bad input ------------------------------------------------------------------

static void resourcesAndAllocatorsAreEqualOverOnePool()
{
    GPUMemoryPool a("cccl-eq-a", PoolConfig::DefaultGPU()), b("cccl-eq-b", PoolConfig::DefaultGPU());
    GPUMemoryResource ra(a), ra2(a.handle()), rb(b);
    EXPECT(ra == ra2 && !(ra != ra2));
    EXPECT(ra != rb);
    AsyncRef refA{ra}, refA2{ra2}, refB{rb};
    EXPECT(refA == refA2);
    EXPECT(refA != refB);
    EXPECT(GPUAllocator<int>(ra) == GPUAllocator<double>(ra2));
    EXPECT(GPUAllocator<int>(ra) != GPUAllocator<int>(rb));
    EXPECT(GPUTemporaryAllocator(ra, nullptr) != GPUTemporaryAllocator(ra, cudaStreamPerThread));
    EXPECT(GPUTemporaryAllocator(ra, nullptr) == GPUTemporaryAllocator(ra2, cudaStreamLegacy)); // one stream
    // Either frees the other's blocks.
    void *p = ra.allocate(256);
    ra2.deallocate(p, 256);
    expectAllFreed(a.handle());
}

static void alignmentsBeyondThePoolsAreServedOrRefusedWithTheReason()
{
    GPUMemoryPool pool("cccl-align", PoolConfig::DefaultGPU());
    GPUMemoryResource res(pool);
    EXPECT(res.alignment() == MP_DEFAULT_GPU_ALIGNMENT);
    Stream stream;
    void *a = res.allocate(100, 4096);
    EXPECT(reinterpret_cast<uintptr_t>(a) % 4096 == 0);
    void *b = res.allocate_async(100, size_t(1) << 16, stream);
    EXPECT(reinterpret_cast<uintptr_t>(b) % (size_t(1) << 16) == 0);
    EXPECT(owns(pool.handle(), a) && owns(pool.handle(), b));
    res.deallocate(a, 100, 4096);
    res.deallocate_async(b, 100, size_t(1) << 16, stream);
    EXPECT_THROWS(InvalidArgumentException, res.allocate(64, 3), "not a power of two");
    EXPECT_THROWS(InvalidArgumentException, res.allocate(64, 0), "not a power of two");
    void *z = res.allocate(0); // a block of its own, as std::pmr's adapter gives
    EXPECT(z != nullptr && owns(pool.handle(), z));
    res.deallocate(z, 0);
    res.deallocate(nullptr, 16); // nothing, as cudaFree(nullptr)
    expectAllFreed(pool.handle());

    mp_pool *fixed = fixedGpu("cccl-align-fixed", 4096, 4);
    GPUMemoryResource fres(fixed);
    EXPECT_THROWS(InvalidArgumentException, fres.allocate(64, 8192), "a fixed pool");
    void *f = fres.allocate(64, 256);
    fres.deallocate(f, 64, 256);
    expectAllFreed(fixed);
    mp_pool_destroy(fixed);

    GPUMemoryPool debug("cccl-align-debug", PoolConfig::DebugGPU());
    GPUMemoryResource dres(debug);
    EXPECT_THROWS(UnsupportedException, dres.allocate(64, size_t(1) << 16), "debug pools");
    void *d = dres.allocate(64);
    dres.deallocate(d, 64);
    expectAllFreed(debug.handle());
}

static void aForeignOrTwiceFreedPointerIsTheLibrarysErrorAndChangesNothing()
{
    GPUMemoryPool pool("cccl-bad", PoolConfig::DefaultGPU());
    GPUMemoryResource res(pool);
    AsyncRef ref{res};
    Stream stream;
    void *keep = res.allocate(1024);
    void *foreign = nullptr;
    CUDA_OK(cudaMalloc(&foreign, 4096));
    int onStack = 0;
    mp_stats s0 = statsOf(pool.handle());
    EXPECT_THROWS(InvalidPointerException, res.deallocate(foreign, 4096), "was not allocated by this pool");
    EXPECT_THROWS(InvalidPointerException, res.deallocate_async(foreign, 4096, 256, stream),
                  "was not allocated by this pool");
    EXPECT_THROWS(InvalidPointerException, ref.deallocate_async(foreign, 4096, stream), "cccl-bad");
    EXPECT_THROWS(InvalidPointerException, res.deallocate(&onStack, sizeof onStack), "cccl-bad");
    EXPECT_THROWS(InvalidPointerException, res.deallocate(static_cast<char *>(keep) + 256, 16), "cccl-bad");
    try {
        res.deallocate(foreign, 4096);
    } catch (const MemoryPoolException &e) {
        EXPECT(e.status() == MP_ERR_INVALID_POINTER); // one catch for every mempool error
    }
    mp_stats s1 = statsOf(pool.handle());
    EXPECT(s1.live_allocations == s0.live_allocations && s1.current_used == s0.current_used);
    EXPECT(s1.deallocation_count == s0.deallocation_count && s1.pending_frees == 0);
    detail::check(mp_pool_check(pool.handle()));

    res.deallocate(keep, 1024);
    EXPECT_THROWS(InvalidPointerException, res.deallocate(keep, 1024), "cccl-bad");
    void *q = res.allocate_async(64, 256, stream);
    res.deallocate_async(q, 64, 256, stream);
    EXPECT_THROWS(InvalidPointerException, res.deallocate_async(q, 64, 256, stream), "cccl-bad");
    CUDA_OK(cudaFree(foreign));
    expectAllFreed(pool.handle());
}

static void aFullPoolThrowsOutOfMemoryThroughEveryAdapter()
{
    PoolConfig cfg = PoolConfig::DefaultGPU();
    cfg.initialSize = cfg.maxSize = BLOCK; // one mapping granule
    GPUMemoryPool pool("cccl-full", cfg);
    GPUMemoryResource res(pool);
    Stream stream;
    EXPECT_THROWS(OutOfMemoryException, res.allocate(2 * BLOCK), "cccl-full");
    EXPECT_THROWS(OutOfMemoryException, res.allocate_async(2 * BLOCK, 256, stream), "cccl-full");
    GPUAllocator<int> alloc(res);
    using Vector = thrust::device_vector<int, GPUAllocator<int>>;
    EXPECT_THROWS(OutOfMemoryException, Vector(BLOCK, alloc), "cccl-full"); // 4 bytes each
    EXPECT_THROWS(OutOfMemoryException, alloc.allocate(SIZE_MAX / 2), "");
    // thrust's sort needs scratch as large as its keys: the pool cannot hold both.
    Vector v(BLOCK / 4 * 3 / 4, alloc); // 3/4 of the pool
    GPUTemporaryAllocator tmp(res, stream);
    EXPECT_THROWS(OutOfMemoryException, thrust::sort(thrust::cuda::par(tmp).on(stream), v.begin(), v.end()),
                  "cccl-full");
    EXPECT(statsOf(pool.handle()).failed_allocations >= 4); // all but the size past 2^48, refused before it counts
    v.clear();
    v.shrink_to_fit();
    expectAllFreed(pool.handle());
}

int main()
{
    run("a host pool is refused with the reason", aHostPoolIsRefusedWithTheReason);
    run("streams reach the library as it reads them", streamsReachTheLibraryAsItReadsThem);
    int devices = deviceCount();
    if (devices == 0) {
        std::printf("SKIP: no CUDA device (%s); the CCCL device tests are compiled and run where there is "
                    "one (%d host checks passed, %d failed)\n",
                    version().c_str(), passed, failed);
        return failed ? 1 : 77;
    }
    run("a device_vector lives in the pool and sorts and reduces", aDeviceVectorLivesInThePoolAndSortsAndReduces);
    run("thrust takes its scratch memory from the pool on a stream", thrustTakesItsScratchMemoryFromThePoolOnAStream);
    run("CUB sorts and reduces with temporary storage from a resource_ref",
        cubSortsAndReducesWithTemporaryStorageFromAResourceRef);
    run("a block reused on another stream waits for the pool's own stream",
        [] { aBlockReusedOnAnotherStreamWaitsForThePoolsStream(true); });
    run("a block reused on another stream waits for the legacy default stream",
        [] { aBlockReusedOnAnotherStreamWaitsForThePoolsStream(false); });
    run("a synchronous allocation is ready for any stream", aSynchronousAllocationIsReadyForAnyStream);
    run("a block freed on another stream waits for its work", aBlockFreedOnAnotherStreamWaitsForItsWork);
    run("an over-aligned block reused on another stream waits for the pool's stream",
        anOverAlignedBlockReusedOnAnotherStreamWaitsForThePoolsStream);
    run("threads on their own streams share one pool", [] { threadsOnTheirOwnStreamsShareOnePool(false); });
    run("threads on their own streams share one lock-free pool", [] { threadsOnTheirOwnStreamsShareOnePool(true); });
    run("a pool on another device is ordered on that device's stream",
        aPoolOnAnotherDeviceIsOrderedOnThatDevicesStream);
    run("resources and allocators are equal over one pool", resourcesAndAllocatorsAreEqualOverOnePool);
    run("alignments beyond the pool's are served or refused with the reason",
        alignmentsBeyondThePoolsAreServedOrRefusedWithTheReason);
    run("a foreign or twice-freed pointer is the library's error and changes nothing",
        aForeignOrTwiceFreedPointerIsTheLibrarysErrorAndChangesNothing);
    run("a full pool throws OutOfMemoryException through every adapter", aFullPoolThrowsOutOfMemoryThroughEveryAdapter);
    std::printf("%d passed, %d failed (%d device(s))\n", passed, failed, devices);
    return failed ? 1 : 0;
}

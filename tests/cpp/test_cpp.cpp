// The C++ API, following the seed's reference section by section: enums,
// PoolConfig and its eight named constructors, IMemoryPool, MemoryStats,
// MemoryPoolManager, the global helpers and typed templates, GPUMemoryPool,
// and the exceptions thrown from the C statuses.
#include <mempool/mempool.hpp>

#include <cstdio>
#include <cstring>
#include <atomic>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <thread>
#include <type_traits>
#include <vector>

using namespace mempool;

static int passed, failed, skipped;

#define EXPECT(cond)                                                                               \
    do {                                                                                           \
        if (!(cond))                                                                               \
            throw std::runtime_error(std::string(__FILE__ ":") + std::to_string(__LINE__) + ": " #cond); \
    } while (0)

// Runs body; passes if it throws E and the detail contains word.
template <typename E> static void expectThrow(const std::function<void()> &body, const char *word)
{
    try {
        body();
    } catch (const E &e) {
        if (std::strstr(e.detail().c_str(), word) == nullptr)
            throw std::runtime_error(std::string("detail \"") + e.detail() + "\" lacks \"" + word + "\"");
        return;
    }
    throw std::runtime_error(std::string("expected an exception mentioning ") + word);
}

struct Skip {
    const char *why;
};

static void run(const char *name, const std::function<void()> &test)
{
    try {
        test();
        passed++;
        std::printf("PASS %s\n", name);
    } catch (const Skip &s) {
        skipped++;
        std::printf("SKIP %s: %s\n", name, s.why);
    } catch (const std::exception &e) {
        failed++;
        std::printf("FAIL %s: %s\n", name, e.what());
    }
}

static void enumsHaveTheSeedsValues()
{
    static_assert(static_cast<int>(AllocFlags::None) == 0 && static_cast<int>(AllocFlags::Pinned) == 1 &&
                      static_cast<int>(AllocFlags::Managed) == 2,
                  "AllocFlags as in the seed");
    static_assert(std::is_enum<AllocatorType>::value && std::is_enum<SyncType>::value &&
                      std::is_enum<MemoryType>::value,
                  "enum classes");
    EXPECT(static_cast<int>(MemoryType::GPU) == MP_MEMORY_GPU);
    EXPECT(DEFAULT_ALIGNMENT == 16);
}

static void poolConfigDefaultsAndPresets()
{
    PoolConfig d;
    EXPECT(d.allocatorType == AllocatorType::VariableSize && d.initialSize == 1024 * 1024 && d.blockSize == 256);
    EXPECT(d.threadSafe && d.syncType == SyncType::Mutex && d.trackStats && !d.enableDebugging);
    EXPECT(d.deviceId == 0 && !d.usePinnedMemory && !d.useManagedMemory);
    EXPECT(d.alignment == DEFAULT_ALIGNMENT && d.growthFactor == 2 && d.maxSize == 0);
    PoolConfig cpu = PoolConfig::DefaultCPU();
    EXPECT(cpu.initialSize == d.initialSize && cpu.alignment == d.alignment);
    EXPECT(PoolConfig::DefaultGPU().alignment == MP_DEFAULT_GPU_ALIGNMENT);
    PoolConfig f = PoolConfig::FixedSizeCPU(100);
    EXPECT(f.allocatorType == AllocatorType::FixedSize && f.blockSize == 100);
    PoolConfig fg = PoolConfig::FixedSizeGPU(4096, 2);
    EXPECT(fg.blockSize == 4096 && fg.deviceId == 2 && PoolConfig::FixedSizeGPU(64).deviceId == 0);
    EXPECT(PoolConfig::HighPerformanceCPU().syncType == SyncType::LockFree);
    EXPECT(!PoolConfig::HighPerformanceCPU().trackStats);
    EXPECT(PoolConfig::HighPerformanceGPU(1).deviceId == 1 && PoolConfig::HighPerformanceGPU().deviceId == 0);
    EXPECT(PoolConfig::DebugCPU().enableDebugging);
    EXPECT(PoolConfig::DebugGPU(3).deviceId == 3 && PoolConfig::DebugGPU().enableDebugging);
    PoolConfig gp = PoolConfig::GeneralPurposeCPU();
    EXPECT(gp.allocatorType == AllocatorType::VariableSize && gp.syncType == SyncType::LockFree && gp.threadSafe);
    EXPECT(gp.trackStats && gp.countersOnly && !gp.enableDebugging && gp.alignment == 16 && gp.growthFactor == 2);
    EXPECT(!d.countersOnly && !PoolConfig::DefaultCPU().countersOnly);
    expectThrow<InvalidArgumentException>([] { PoolConfig::FixedSizeCPU(0); }, "block_size");
    PoolConfig bad = PoolConfig::DefaultCPU();
    bad.alignment = 24;
    expectThrow<InvalidArgumentException>([&] { bad.validate(MemoryType::CPU); }, "alignment");
}

static void imemoryPoolInterface()
{
    std::unique_ptr<IMemoryPool> pool(new CPUMemoryPool("cpp-pool", PoolConfig::DefaultCPU()));
    char *a = static_cast<char *>(pool->allocate(100));
    std::memset(a, 7, 100);
    void *b = pool->allocate(200, AllocFlags::None);
    EXPECT(pool->getName() == "cpp-pool");
    EXPECT(pool->getMemoryType() == MemoryType::CPU);
    EXPECT(pool->getConfig().allocatorType == AllocatorType::VariableSize);
    const MemoryStats &stats = pool->getStats();
    EXPECT(stats.getAllocationCount() == 2 && stats.getCurrentUsed() == 300);
    pool->deallocate(a);
    EXPECT(stats.getDeallocationCount() == 1 && stats.getCurrentUsed() == 200);
    pool->reset();
    EXPECT(stats.getDeallocationCount() == 2 && stats.getCurrentUsed() == 0);
    expectThrow<InvalidPointerException>([&] { pool->deallocate(b); }, "cpp-pool");
}

/* The general-purpose preset makes a working pool: counters, no records. */
static void generalPurposePool()
{
    CPUMemoryPool pool("cpp-general", PoolConfig::GeneralPurposeCPU());
    EXPECT(pool.getConfig().countersOnly && pool.getConfig().trackStats);
    std::vector<void *> v;
    for (size_t n = 1; n <= 5000; n += 97)
        v.push_back(pool.allocate(n));
    const MemoryStats &s = pool.getStats();
    EXPECT(s.getAllocationCount() == v.size() && s.getCurrentUsed() > 0);
    for (void *p : v)
        pool.deallocate(p);
    EXPECT(s.getDeallocationCount() == v.size() && s.getCurrentUsed() == 0 && !s.hasMemoryLeaks());
    EXPECT(s.getStatsString().find("sync lock-free, tracking on (counters only)") != std::string::npos);
    expectThrow<InvalidOperationException>([&] { s.getActiveAllocations(); }, "counters only");
}

// Beyond the seed: mp_pool_reallocate and mp_pool_usable_size.
static void reallocateAndUsableSize()
{
    CPUMemoryPool fixed("cpp-realloc-fixed", PoolConfig::FixedSizeCPU(64));
    char *a = static_cast<char *>(fixed.allocate(10));
    std::memcpy(a, "ten bytes", 10);
    EXPECT(fixed.usableSize(a) == 64);
    EXPECT(fixed.reallocate(a, 64) == a); /* in place: the block has room */
    EXPECT(std::strcmp(a, "ten bytes") == 0);
    EXPECT(fixed.getStats().getAllocationCount() == 1 && fixed.getStats().getCurrentUsed() == 64);
    expectThrow<InvalidArgumentException>([&] { fixed.reallocate(a, 65); }, "fixed pool");
    expectThrow<InvalidArgumentException>([&] { fixed.reallocate(a, 0); }, "mp_pool_deallocate");
    EXPECT(fixed.owns(a) && std::strcmp(a, "ten bytes") == 0); /* refused: still live, unchanged */
    fixed.deallocate(a);
    expectThrow<InvalidPointerException>([&] { fixed.reallocate(a, 8); }, "cpp-realloc-fixed");
    expectThrow<InvalidPointerException>([&] { fixed.usableSize(a); }, "cpp-realloc-fixed");

    CPUMemoryPool variable("cpp-realloc", PoolConfig::DefaultCPU());
    char *b = static_cast<char *>(variable.reallocate(nullptr, 6)); /* nullptr: allocates */
    std::memcpy(b, "bytes", 6);
    char *c = static_cast<char *>(variable.reallocate(b, 100000));
    EXPECT(std::strcmp(c, "bytes") == 0 && variable.usableSize(c) >= 100000);
    EXPECT(variable.getStats().getAllocationCount() == 2 && variable.getStats().getDeallocationCount() == 1);
    expectThrow<InvalidPointerException>([&] { variable.reallocate(b, 8); }, "cpp-realloc");
    expectThrow<OutOfMemoryException>([&] { variable.reallocate(c, size_t(1) << 49); }, "2^48");
    EXPECT(std::strcmp(c, "bytes") == 0);
    variable.deallocate(c);
}

static void memoryStatsQueries()
{
    CPUMemoryPool pool("cpp-stats", PoolConfig::DefaultCPU());
    void *a = pool.allocate(10000); /* above the small-block classes: a hole before b */
    void *b = pool.allocate(12000);
    pool.deallocate(a);
    const MemoryStats &s = pool.getStats();
    EXPECT(s.getTotalAllocated() == 22000);
    EXPECT(s.getCurrentUsed() == 12000);
    EXPECT(s.getPeakUsage() == 22000);
    EXPECT(s.getAllocationCount() == 2);
    EXPECT(s.getDeallocationCount() == 1);
    EXPECT(s.getFragmentationRatio() > 0.0 && s.getFragmentationRatio() < 0.01);
    EXPECT(s.getPeakReservedBytes() == s.snapshot().reserved_bytes);
    std::vector<AllocationInfo> live = s.getActiveAllocations();
    EXPECT(live.size() == 1 && live[0].ptr == b && live[0].size == 12000 && live[0].sequence == 2);
    EXPECT(s.hasMemoryLeaks());
    EXPECT(s.getStatsString().find("pool 'cpp-stats'") != std::string::npos);
    EXPECT(s.isTrackingEnabled());
    pool.stats().setTrackingEnabled(false);
    EXPECT(!s.isTrackingEnabled());
    pool.stats().reset();
    // The counts start again from what is live, so frees never outnumber allocations.
    EXPECT(s.getAllocationCount() == 1 && s.getDeallocationCount() == 0 && s.getCurrentUsed() == 12000);
    pool.deallocate(b);
    EXPECT(!s.hasMemoryLeaks());
    EXPECT(s.getAllocationCount() == 1 && s.getDeallocationCount() == 1);
}

static void peakReservedBytes()
{
    PoolConfig c = PoolConfig::DefaultCPU();
    c.initialSize = 65536;
    CPUMemoryPool pool("cpp-peak-reserved", c);
    const MemoryStats &s = pool.getStats();
    EXPECT(s.getPeakReservedBytes() == 65536);
    void *big = pool.allocate(200000);
    size_t grown = static_cast<size_t>(s.snapshot().reserved_bytes);
    EXPECT(grown > 65536 + 200000 && s.getPeakReservedBytes() == grown);
    pool.deallocate(big);
    pool.trim(0);
    EXPECT(s.snapshot().reserved_bytes < grown && s.getPeakReservedBytes() == grown);
    pool.stats().reset();
    EXPECT(s.getPeakReservedBytes() == s.snapshot().reserved_bytes);
}

static void memorySnapshots()
{
    PoolConfig c = PoolConfig::DefaultCPU();
    c.growthFactor = 1;
    CPUMemoryPool pool("cpp-snapshot", c);
    void *small = pool.allocate(24);
    void *big = pool.allocate(1000000); /* past the first chunk */
    MemorySnapshot s = pool.memorySnapshot();
    mp_stats st = pool.getStats().snapshot();
    EXPECT(s.totals.reserved_bytes == st.reserved_bytes && s.totals.chunk_count == 2 && s.chunks.size() == 2);
    EXPECT(s.totals.live_blocks == 2 && s.totals.request_bytes == 0);
    EXPECT(s.totals.in_use_bytes + s.totals.free_bytes + s.totals.cached_bytes + s.totals.pending_bytes ==
           s.totals.address_space_bytes);
    EXPECT(s.chunks[0].base < s.chunks[1].base && s.chunks[0].backend == MP_BACKEND_HOST);
    EXPECT(s.classes.size() == 1 && s.classes[0].block_size == 32 && s.classes[0].used_blocks == 1);
    EXPECT(pool.snapshotJson().rfind("{\"pool\":\"cpp-snapshot\",\"kind\":\"now\",", 0) == 0);
    pool.deallocate(small);
    pool.deallocate(big);

    PoolConfig t = PoolConfig::DefaultCPU();
    t.initialSize = t.maxSize = 65536;
    CPUMemoryPool tight("cpp-oom", t);
    bool none = false;
    try {
        tight.memorySnapshot(SnapshotKind::LastOutOfMemory);
    } catch (const NotFoundException &) {
        none = true;
    }
    EXPECT(none);
    void *a = tight.allocate(40000);
    std::string said;
    try {
        tight.allocate(50000);
    } catch (const OutOfMemoryException &e) {
        said = e.what();
    }
    EXPECT(said.find("; request 50000 bytes aligned 16: reserved 65536 (peak 65536, max_size 65536), in use 40000 "
                     "in 1 blocks") != std::string::npos);
    MemorySnapshot f = tight.memorySnapshot(SnapshotKind::LastOutOfMemory);
    EXPECT(f.totals.request_bytes == 50000 && f.totals.in_use_bytes == 40000 && f.chunks.size() == 1 &&
           f.classes.empty());
    EXPECT(tight.snapshotJson(SnapshotKind::LastOutOfMemory).find("\"status\":\"MP_ERR_OUT_OF_MEMORY\"") !=
           std::string::npos);
    tight.deallocate(a);
}

static void managerFunctions()
{
    MemoryPoolManager &m = MemoryPoolManager::getInstance();
    EXPECT(&m == &MemoryPoolManager::getInstance());
    IMemoryPool *dflt = m.getCPUPool("default");
    EXPECT(dflt != nullptr && dflt->getName() == "default" && dflt == m.getCPUPool("default"));
    EXPECT(m.getCPUPool("missing") == nullptr);
    IMemoryPool *made = m.createCPUPool("cpp-made", PoolConfig::FixedSizeCPU(64));
    EXPECT(made == m.getCPUPool("cpp-made"));
    expectThrow<AlreadyExistsException>([&] { m.createCPUPool("cpp-made", PoolConfig::DefaultCPU()); }, "cpp-made");
    expectThrow<InvalidOperationException>([&] { m.getGPUPool("cpp-made"); }, "CPU pool");
    made->allocate(64);
    std::map<std::string, std::string> all = m.getAllStats();
    EXPECT(all.count("cpp-made") == 1 && all["cpp-made"].find("1 allocations") != std::string::npos);
    m.resetAllPools();
    EXPECT(made->getStats().getCurrentUsed() == 0);
    EXPECT(m.destroyPool("cpp-made"));
    EXPECT(!m.destroyPool("cpp-made"));
    EXPECT(m.getCPUPool("cpp-made") == nullptr);
}

static void statsPrint()
{
    MemoryPoolManager &m = MemoryPoolManager::getInstance();
    IMemoryPool *reg = m.createCPUPool("cpp-print-reg", PoolConfig::DefaultCPU());
    CPUMemoryPool own("cpp-print-own", PoolConfig::DefaultCPU());
    void *a = own.allocate(48);
    void *b = reg->allocate(64);
    std::string text = MemoryPoolManager::statsText();
    EXPECT(text.find("pool 'cpp-print-own'") != std::string::npos);
    EXPECT(text.find("pool 'cpp-print-reg'") != std::string::npos);
    EXPECT(text.find("size classes:") != std::string::npos);
    std::string json = MemoryPoolManager::statsText("json");
    EXPECT(json.rfind("{\"pools\":[", 0) == 0 && json.find("\"pool\":\"cpp-print-own\"") != std::string::npos);
    std::ostringstream os;
    MemoryPoolManager::printStats(os);
    EXPECT(os.str().find("pool 'cpp-print-own'") != std::string::npos);
    expectThrow<InvalidArgumentException>([] { MemoryPoolManager::statsText("xml"); }, "xml");
    own.deallocate(a);
    reg->deallocate(b);
    EXPECT(m.destroyPool("cpp-print-reg"));
}

static void globalHelpersAndTemplates()
{
    void *p = allocate(64);
    EXPECT(static_cast<CPUMemoryPool *>(MemoryPoolManager::getInstance().getCPUPool("default"))->owns(p));
    deallocate(p);
    expectThrow<InvalidPointerException>([&] { deallocate(p, "default"); }, "default");
    double *d = allocate<double>(10);
    for (int i = 0; i < 10; i++)
        d[i] = i * 0.5;
    EXPECT(d[9] == 4.5);
    deallocate(d);
    int *one = allocate<int>();
    *one = 42;
    deallocate<int>(one, "default");
    expectThrow<OutOfMemoryException>([] { allocate<double>(std::numeric_limits<size_t>::max() / 4); }, "bytes");
    expectThrow<NotFoundException>([] { allocate(8, "nowhere"); }, "nowhere");
    if (deviceCount() == 0) {
        expectThrow<CudaException>([] { allocateGPU(64); }, "");
        expectThrow<CudaException>([] { allocateGPU<float>(16); }, "");
    }
}

static void exceptionsFromStatuses()
{
    static_assert(std::is_base_of<MemoryPoolException, OutOfMemoryException>::value, "");
    static_assert(std::is_base_of<MemoryPoolException, InvalidOperationException>::value, "");
    static_assert(std::is_base_of<MemoryPoolException, InvalidPointerException>::value, "");
    static_assert(std::is_base_of<MemoryPoolException, CudaException>::value, "");
    static_assert(std::is_base_of<std::runtime_error, MemoryPoolException>::value, "");
    PoolConfig capped = PoolConfig::FixedSizeCPU(64);
    capped.initialSize = capped.maxSize = 4096;
    CPUMemoryPool pool("cpp-errors", capped);
    expectThrow<InvalidArgumentException>([&] { pool.allocate(0); }, "size 0");
    for (int i = 0; i < 64; i++)
        pool.allocate(64);
    try {
        pool.allocate(64);
        throw std::runtime_error("no exception");
    } catch (const OutOfMemoryException &e) {
        EXPECT(e.status() == MP_ERR_OUT_OF_MEMORY);
        EXPECT(std::string(e.what()).find("MP_ERR_OUT_OF_MEMORY: pool 'cpp-errors'") == 0);
    }
    CPUMemoryPool dbg("cpp-debug", PoolConfig::DebugCPU());
    char *b = static_cast<char *>(dbg.allocate(40));
    b[40] = 0;
    expectThrow<CorruptionException>([&] { dbg.check(); }, "overflow");
    expectThrow<CorruptionException>([&] { dbg.deallocate(b); }, "overflow");
    expectThrow<InvalidPointerException>([&] { dbg.deallocate(b); }, "double free");
}

static void gpuMemoryPool()
{
    if (deviceCount() == 0) {
        expectThrow<CudaUnavailableException>([] { GPUMemoryPool("cpp-gpu", PoolConfig::DefaultGPU()); }, "");
        throw Skip{"no CUDA device: GPUMemoryPool round trip not run"};
    }
    GPUMemoryPool gpu("cpp-gpu", PoolConfig::DefaultGPU());
    EXPECT(gpu.getMemoryType() == MemoryType::GPU && gpu.getDevice() == 0);
    gpu.setDevice(0);
    gpu.setStream(nullptr);
    EXPECT(gpu.getStream() == nullptr);
    void *s1 = gpu.allocate(1 << 20, cudaStream_t{});
    EXPECT(s1 != nullptr);
    gpu.deallocate(s1, cudaStream_t{});
    gpu.setReleaseThreshold(SIZE_MAX);
    EXPECT(gpu.getReleaseThreshold() == SIZE_MAX);
    expectThrow<InvalidArgumentException>([&] { gpu.allocate(0, cudaStream_t{}); }, "size 0");
    char host[64] = "mempool", back[64] = {0};
    void *d1 = gpu.allocate(64), *d2 = gpu.allocate(64);
    gpu.copyHostToDevice(d1, host, 64);
    gpu.copyDeviceToDevice(d2, d1, 64);
    gpu.copyDeviceToHost(back, d2, 64);
    EXPECT(std::strcmp(back, "mempool") == 0);
    gpu.deallocate(d1);
    gpu.deallocate(d2);
    IMemoryPool *dg = MemoryPoolManager::getInstance().getGPUPool("default_gpu");
    EXPECT(dynamic_cast<GPUMemoryPool *>(dg) != nullptr);
    float *f = allocateGPU<float>(256);
    deallocateGPU(f);
}

static mp_status growByFourPages(void *, mp_pool *, size_t need, size_t *out, char *, size_t)
{
    *out = need > 16384 ? need : 16384;
    return MP_OK;
}

static void routerAndPolicy()
{
    CPUMemoryPool small("cpp-small", PoolConfig::FixedSizeCPU(64));
    PoolConfig lazy = PoolConfig::DefaultCPU();
    lazy.initialSize = 0;
    CPUMemoryPool rest("cpp-rest", lazy);
    mp_policy policy{};
    policy.struct_size = sizeof policy;
    policy.grow = growByFourPages;
    rest.setPolicy(&policy);
    Router r("cpp-router");
    r.add(64, small);
    r.add(std::numeric_limits<size_t>::max(), rest);
    EXPECT(r.poolFor(1) == small.handle() && r.poolFor(65) == rest.handle());
    void *a = r.allocate(10), *b = r.allocate(100);
    EXPECT(small.owns(a) && rest.owns(b));
    EXPECT(rest.getStats().snapshot().reserved_bytes == 16384); /* the policy chose the chunk */
    r.deallocate(a);
    r.deallocate(b);
    expectThrow<InvalidPointerException>([&] { r.deallocate(a); }, "cpp-small"); // the owning pool says why
    rest.setPolicy(nullptr);
    rest.trimAuto();
    EXPECT(rest.getStats().snapshot().reserved_bytes == 0);
}

static void threadsShareAPool()
{
    CPUMemoryPool pool("cpp-threads", PoolConfig::DefaultCPU());
    std::vector<std::thread> ts;
    std::atomic<int> bad{0};
    for (int t = 0; t < 4; t++)
        ts.emplace_back([&, t] {
            for (int r = 0; r < 5000; r++) {
                size_t n = 1 + (r * 31 + t) % 300;
                unsigned char *p = static_cast<unsigned char *>(pool.allocate(n));
                std::memset(p, t + 1, n);
                for (size_t i = 0; i < n; i++)
                    bad += p[i] != t + 1;
                pool.deallocate(p);
            }
        });
    for (auto &t : ts)
        t.join();
    EXPECT(bad == 0);
    EXPECT(pool.getStats().getAllocationCount() == 20000 && pool.getStats().getDeallocationCount() == 20000);
    pool.check();
}

// ThreadCache: per thread, inline on a lock-free pool, the pool's own calls
// on a mutex pool; its errors are the pool's exceptions.
static void threadCaches()
{
    CPUMemoryPool fast("cpp-tcache", PoolConfig::HighPerformanceCPU());
    CPUMemoryPool plain("cpp-tcache-mutex", PoolConfig::DefaultCPU());
    std::vector<std::thread> ts;
    std::atomic<int> bad{0};
    for (int t = 0; t < 4; t++)
        ts.emplace_back([&, t] {
            ThreadCache cache(fast);
            std::vector<unsigned char *> held;
            for (int r = 0; r < 20000; r++) {
                size_t n = 1 + (r * 31 + t) % 500;
                auto *p = static_cast<unsigned char *>(cache.allocate(n));
                std::memset(p, t + 1, n < 64 ? n : 64);
                held.push_back(p);
                if (held.size() == 32) {
                    for (unsigned char *q : held) {
                        bad += q[0] != t + 1;
                        cache.deallocate(q);
                    }
                    held.clear();
                }
            }
            for (unsigned char *q : held)
                cache.deallocate(q);
        });
    for (auto &t : ts)
        t.join();
    EXPECT(bad == 0);
    EXPECT(fast.getStats().getCurrentUsed() == 0);
    fast.check();

    ThreadCache cache(fast), other(plain);
    EXPECT(cache.handle() != nullptr && other.handle() != nullptr);
    void *p = cache.allocate(100);
    cache.deallocate(p);
    expectThrow<InvalidPointerException>([&] { cache.deallocate(p); }, "cpp-tcache");
    void *q = other.allocate(100);
    EXPECT(plain.getStats().getCurrentUsed() == 100); // the mutex pool tracks it
    expectThrow<InvalidPointerException>([&] { cache.deallocate(q); }, "belongs to pool 'cpp-tcache-mutex'");
    other.deallocate(q);
    expectThrow<InvalidArgumentException>([&] { cache.allocate(0); }, "size");
}

static bool destroyFromHookRefused;

static mp_status growDestroysItsPool(void *, mp_pool *, size_t need, size_t *out, char *, size_t)
{
    try {
        MemoryPoolManager::getInstance().destroyPool("cpp-hooked");
    } catch (const InvalidOperationException &) {
        destroyFromHookRefused = true;
    }
    *out = need;
    return MP_OK;
}

/* A destroy the C library refuses (from the pool's own hook) leaves the
 * manager's object alive: the caller's IMemoryPool * stays valid. */
static void refusedDestroyKeepsThePool()
{
    MemoryPoolManager &m = MemoryPoolManager::getInstance();
    PoolConfig lazy = PoolConfig::DefaultCPU();
    lazy.initialSize = 0;
    IMemoryPool *p = m.createCPUPool("cpp-hooked", lazy);
    mp_policy pol{};
    pol.struct_size = sizeof pol;
    pol.grow = growDestroysItsPool;
    static_cast<BasicMemoryPool *>(p)->setPolicy(&pol);
    void *q = p->allocate(100); /* grows: the hook's destroyPool is refused */
    EXPECT(destroyFromHookRefused);
    p->deallocate(q); /* p is the same, live object */
    EXPECT(m.getCPUPool("cpp-hooked") == p);
    EXPECT(m.destroyPool("cpp-hooked"));
}

static void standaloneMemoryStats()
{
    MemoryStats s; // the seed's MemoryStats on its own
    s.recordAllocation(100);
    s.recordAllocation(300);
    s.recordDeallocation(100);
    EXPECT(s.getTotalAllocated() == 400 && s.getCurrentUsed() == 300 && s.getPeakUsage() == 400);
    EXPECT(s.getAllocationCount() == 2 && s.getDeallocationCount() == 1 && s.getFragmentationRatio() == 0.0);
    EXPECT(s.hasMemoryLeaks() && s.isTrackingEnabled());
    int a = 0, b = 0;
    s.trackAllocation(&a, 10);
    s.trackAllocation(&b, 20);
    std::vector<AllocationInfo> live = s.getActiveAllocations();
    EXPECT(live.size() == 2 && live[0].ptr == &a && live[1].ptr == &b && live[1].size == 20);
    s.trackDeallocation(&a);
    EXPECT(s.getCurrentUsed() == 320 && s.getActiveAllocations().size() == 1);
    EXPECT(s.getStatsString().find("tracker: tracking on") != std::string::npos);
    EXPECT(s.getStatsJson().find("\"current_used\":320") != std::string::npos);
    // Bad input: a clear exception, nothing counted.
    expectThrow<InvalidArgumentException>([&] { s.recordAllocation(0); }, "0 bytes");
    expectThrow<InvalidArgumentException>([&] { s.recordDeallocation(1000); }, "in use");
    expectThrow<InvalidPointerException>([&] { s.trackDeallocation(&a); }, "not tracked");
    expectThrow<InvalidPointerException>([&] { s.trackAllocation(&b, 4); }, "tracked already");
    expectThrow<InvalidPointerException>([&] { s.trackAllocation(nullptr, 4); }, "NULL");
    EXPECT(s.getCurrentUsed() == 320 && s.getAllocationCount() == 4 && s.getDeallocationCount() == 2);
    // reset keeps what is live counted: later frees never outnumber allocations.
    s.reset();
    EXPECT(s.getAllocationCount() == 2 && s.getDeallocationCount() == 0 && s.getTotalAllocated() == 320);
    s.trackDeallocation(&b);
    s.recordDeallocation(300);
    EXPECT(s.getAllocationCount() == s.getDeallocationCount() && !s.hasMemoryLeaks());
    // Tracking off: track calls count nothing.
    s.setTrackingEnabled(false);
    s.trackAllocation(&a, 5);
    s.trackDeallocation(&a);
    EXPECT(!s.isTrackingEnabled() && s.getAllocationCount() == 2);
    // Threads: exact counts.
    MemoryStats shared;
    std::vector<std::thread> ts;
    static int slots[4][32];
    for (int t = 0; t < 4; t++)
        ts.emplace_back([&shared, t] {
            for (int i = 0; i < 5000; i++) {
                shared.trackAllocation(&slots[t][i % 32], 8);
                shared.recordAllocation(2);
                shared.recordDeallocation(2);
                shared.trackDeallocation(&slots[t][i % 32]);
            }
        });
    for (std::thread &t : ts)
        t.join();
    EXPECT(shared.getAllocationCount() == 40000 && shared.getDeallocationCount() == 40000);
    EXPECT(shared.getTotalAllocated() == 200000 && shared.getCurrentUsed() == 0);
    // A copy is independent; a moved-from object refuses calls.
    MemoryStats copy = shared;
    copy.recordAllocation(7);
    EXPECT(copy.getCurrentUsed() == 7 && shared.getCurrentUsed() == 0);
    MemoryStats moved = std::move(copy);
    EXPECT(moved.getCurrentUsed() == 7);
    expectThrow<InvalidOperationException>([&] { copy.getCurrentUsed(); }, "moved from");
}

static void statsCopiesAreSnapshots()
{
    MemoryStats kept;
    void *b = nullptr;
    {
        CPUMemoryPool pool("cpp-snapshot", PoolConfig::DefaultCPU());
        void *a = pool.allocate(100);
        b = pool.allocate(200);
        MemoryStats before = pool.getStats(); // the seed's idiom: a snapshot
        EXPECT(!before.isLiveView() && pool.getStats().isLiveView());
        void *c = pool.allocate(300);
        EXPECT(before.getCurrentUsed() == 300 && before.getAllocationCount() == 2);
        EXPECT(pool.getStats().getCurrentUsed() == 600);
        EXPECT(before.getActiveAllocations().size() == 2);
        EXPECT(before.getStatsString().find("copy of pool 'cpp-snapshot'") != std::string::npos);
        kept = pool.getStats(); // assignment: a snapshot too
        pool.deallocate(a);
        pool.deallocate(c);
        // A pool's live view counts the pool's allocations only, and is not assigned to.
        expectThrow<InvalidOperationException>([&] { pool.stats().recordAllocation(8); }, "live stats");
        expectThrow<InvalidOperationException>([&] { pool.stats() = MemoryStats(); }, "assigned");
        MemoryStats mine;
        mine.recordAllocation(5);
        expectThrow<InvalidOperationException>([&] { pool.stats() = std::move(mine); }, "assigned");
        EXPECT(mine.getCurrentUsed() == 5); // a refused assignment leaves its source as it was
        expectThrow<InvalidOperationException>([&] { pool.stats() = mine; }, "assigned");
        EXPECT(mine.getCurrentUsed() == 5);
        EXPECT(pool.getStats().getCurrentUsed() == 200);
    } // the pool is gone; the snapshot reads and records on
    EXPECT(kept.getCurrentUsed() == 600 && kept.getActiveAllocations().size() == 3);
    kept.trackDeallocation(b);
    EXPECT(kept.getCurrentUsed() == 400);
}

static void nullIsFreedAsNothing()
{
    CPUMemoryPool pool("cpp-null", PoolConfig::DefaultCPU());
    pool.deallocate(nullptr);
    deallocate(nullptr);
    deallocate<int>(static_cast<int *>(nullptr));
    deallocateGPU(nullptr); // even without CUDA: nothing to do
    CPUMemoryPool small("cpp-null-small", PoolConfig::FixedSizeCPU(64));
    Router r("cpp-null-router");
    r.add(SIZE_MAX, small);
    r.deallocate(nullptr);
    ThreadCache tc(pool);
    tc.deallocate(nullptr);
    EXPECT(pool.getStats().getDeallocationCount() == 0);
    // The C ABI keeps its released rule.
    EXPECT(mp_pool_deallocate(pool.handle(), nullptr) == MP_ERR_INVALID_POINTER);
}

static void cudaErrorsAreCudaExceptions()
{
    static_assert(std::is_base_of<CudaException, CudaUnavailableException>::value, "");
    // MP_ERR_UNSUPPORTED of a CPU call stays UnsupportedException.
    CPUMemoryPool dbg("cpp-unsupported", PoolConfig::DebugCPU());
    try {
        dbg.allocateAligned(64, 4096);
        throw std::runtime_error("no exception");
    } catch (const CudaException &) {
        throw std::runtime_error("a CPU call's MP_ERR_UNSUPPORTED became a CudaException");
    } catch (const UnsupportedException &e) {
        EXPECT(e.status() == MP_ERR_UNSUPPORTED);
    }
    if (deviceCount() > 0)
        throw Skip{"a CUDA device is present: the no-device errors cannot be shown"};
    MemoryPoolManager &m = MemoryPoolManager::getInstance();
    int caught = 0;
    for (const std::function<void()> &f : std::vector<std::function<void()>>{
             [] { GPUMemoryPool("cpp-nogpu", PoolConfig::DefaultGPU()); },
             [&] { m.createGPUPool("cpp-nogpu", PoolConfig::DefaultGPU()); },
             [&] { m.getGPUPool("default_gpu"); },
             [] { allocateGPU(16); },
         }) {
        try {
            f();
        } catch (const CudaException &e) { // as the seed's reference tells callers to catch
            EXPECT(e.status() == MP_ERR_UNSUPPORTED && !e.detail().empty());
            caught++;
        }
    }
    EXPECT(caught == 4);
    EXPECT(m.getGPUPool("no-such-gpu-pool") == nullptr); // an unknown name: nullptr, CUDA or not
}

static void fragmentationAndSyncInForce()
{
    PoolConfig c = PoolConfig::DefaultCPU();
    CPUMemoryPool pool("cpp-frag", c);
    EXPECT(pool.getStats().getFragmentationRatio() == 0.0);
    void *a = pool.allocate(64 << 10), *b = pool.allocate(64 << 10), *d = pool.allocate(64 << 10);
    pool.deallocate(b);
    EXPECT(pool.getStats().getFragmentationRatio() > 0.0);
    pool.deallocate(a);
    pool.deallocate(d);
    EXPECT(pool.getStats().getFragmentationRatio() == 0.0);
    // LockFree asked: lock-free without records, under the lock with them; the text says which.
    PoolConfig fast = PoolConfig::HighPerformanceCPU();
    CPUMemoryPool lf("cpp-lockfree", fast);
    EXPECT(lf.getStats().getStatsString().find("sync lock-free") != std::string::npos);
    fast.trackStats = true;
    CPUMemoryPool locked("cpp-lockfree-tracked", fast);
    EXPECT(locked.getConfig().syncType == SyncType::LockFree);
    EXPECT(locked.getStats().getStatsString().find("sync mutex") != std::string::npos);
}

int main()
{
    run("enums have the seed's values", enumsHaveTheSeedsValues);
    run("PoolConfig defaults and the presets", poolConfigDefaultsAndPresets);
    run("the general-purpose preset", generalPurposePool);
    run("IMemoryPool interface", imemoryPoolInterface);
    run("reallocate and usableSize (beyond the seed)", reallocateAndUsableSize);
    run("MemoryStats queries", memoryStatsQueries);
    run("a standalone MemoryStats (the seed's record and track calls)", standaloneMemoryStats);
    run("copies of a pool's stats are snapshots", statsCopiesAreSnapshots);
    run("freeing nullptr does nothing", nullIsFreedAsNothing);
    run("GPU calls without CUDA throw CudaException", cudaErrorsAreCudaExceptions);
    run("fragmentation on empty pools, and the sync in force", fragmentationAndSyncInForce);
    run("peak reserved bytes (1.3)", peakReservedBytes);
    run("memory snapshots (1.3)", memorySnapshots);
    run("MemoryPoolManager functions", managerFunctions);
    run("mp_stats_print: statsText and printStats (1.3)", statsPrint);
    run("global helpers and typed templates", globalHelpersAndTemplates);
    run("exceptions from the C statuses", exceptionsFromStatuses);
    run("GPUMemoryPool device, stream and copies", gpuMemoryPool);
    run("router and policy (beyond the seed)", routerAndPolicy);
    run("threads share a pool", threadsShareAPool);
    run("thread caches (beyond the seed)", threadCaches);
    run("a refused destroyPool keeps the pool and its object", refusedDestroyKeepsThePool);
    std::printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
    return failed ? 1 : 0;
}

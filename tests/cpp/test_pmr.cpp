// mempool::PoolMemoryResource (<mempool/mempool_pmr.hpp>): std::pmr
// containers whose every block comes from a pool, the pool's statistics
// while they live and after, std::bad_alloc on failure, equality, and the
// standard pool resources stacked on it.
#include <mempool/mempool_pmr.hpp>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <memory_resource>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

using namespace mempool;

static int passed, failed;

#define EXPECT(cond)                                                                               \
    do {                                                                                           \
        if (!(cond))                                                                               \
            throw std::runtime_error(std::string(__FILE__ ":") + std::to_string(__LINE__) + ": " #cond); \
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
}

static mp_stats statsOf(mp_pool *p)
{
    mp_stats s{};
    s.struct_size = sizeof s;
    detail::check(mp_pool_get_stats(p, &s));
    return s;
}

// No block escapes to the default resource while a test runs: anything that
// would fall back to it throws instead.
struct NoDefaultResource {
    std::pmr::memory_resource *old = std::pmr::set_default_resource(std::pmr::null_memory_resource());
    ~NoDefaultResource() { std::pmr::set_default_resource(old); }
};

static void containersLiveInThePoolAndAllIsFreedAtTheEnd()
{
    CPUMemoryPool pool("pmr-containers", PoolConfig::DefaultCPU());
    PoolMemoryResource res(pool);
    NoDefaultResource guard;
    {
        std::pmr::vector<int> v(&res);
        for (int i = 0; i < 100000; i++)
            v.push_back(i);
        std::pmr::string s("a string too long for the small-string buffer: ", &res);
        for (int i = 0; i < 1000; i++)
            s += std::to_string(i);
        std::pmr::map<int, std::pmr::string> m(&res);
        for (int i = 0; i < 5000; i++)
            m[i].assign(static_cast<size_t>(i % 100) + 20, 'x'); // the strings take m's resource
        std::pmr::unordered_map<std::pmr::string, std::pmr::vector<int>> u(&res);
        for (int i = 0; i < 5000; i++) {
            std::pmr::string key("key number ", &res);
            key += std::to_string(i);
            key += " of the unordered map";
            u[key].assign(static_cast<size_t>(i % 50), i);
        }
        EXPECT(m.at(7).get_allocator().resource() == &res);
        EXPECT(u.begin()->first.get_allocator().resource() == &res);
        EXPECT(u.begin()->second.get_allocator().resource() == &res);
        EXPECT(v[99999] == 99999 && s.size() == 47 + 2890 && m.at(4999).size() == 119);
        EXPECT(u.size() == 5000 && 
               u.at(std::pmr::string("key number 4999 of the unordered map", &res)).size() == 49);

        mp_stats live = statsOf(pool.handle());
        EXPECT(live.live_allocations > 15000); // nodes, strings, buckets, vectors
        EXPECT(live.allocation_count >= live.live_allocations);
        EXPECT(live.current_used >= 100000 * sizeof(int));
        EXPECT(pool.owns(v.data()) && pool.owns(s.data()) && pool.owns(m.at(4999).data()));
        pool.check();
    }
    mp_stats end = statsOf(pool.handle());
    EXPECT(end.live_allocations == 0 && end.current_used == 0);
    EXPECT(end.allocation_count == end.deallocation_count && end.allocation_count > 15000);
    EXPECT(!pool.getStats().hasMemoryLeaks());
    EXPECT(res.refusedFrees() == 0);
    pool.check();
}

static void failureThrowsBadAllocAndLeavesThePoolIntact()
{
    PoolConfig c = PoolConfig::DefaultCPU();
    c.initialSize = 64 * 1024;
    c.maxSize = 256 * 1024;
    CPUMemoryPool pool("pmr-small", c);
    PoolMemoryResource res(pool);
    std::pmr::vector<char> keep(1000, 'k', &res);
    std::pmr::vector<char> v(&res);
    bool threw = false;
    try {
        v.reserve(1 << 20);
    } catch (const std::bad_alloc &e) {
        threw = true;
        EXPECT(std::strstr(e.what(), "MP_ERR_OUT_OF_MEMORY") != nullptr);
        EXPECT(dynamic_cast<const BadAlloc &>(e).status() == MP_ERR_OUT_OF_MEMORY);
    }
    EXPECT(threw && v.capacity() == 0);
    EXPECT(keep.size() == 1000 && keep[999] == 'k');
    EXPECT(statsOf(pool.handle()).live_allocations == 1);
    pool.check();

    // A fixed pool refuses a request over its block size the same way.
    CPUMemoryPool fixed("pmr-fixed", PoolConfig::FixedSizeCPU(64));
    PoolMemoryResource fres(fixed);
    void *small = fres.allocate(48);
    threw = false;
    try {
        (void)fres.allocate(65);
    } catch (const std::bad_alloc &e) {
        threw = std::strstr(e.what(), "MP_ERR_INVALID_ARGUMENT") != nullptr;
    }
    EXPECT(threw);
    fres.deallocate(small, 48);
    EXPECT(statsOf(fixed.handle()).live_allocations == 0);
}

static void alignmentUpToThePoolsIsServed()
{
    CPUMemoryPool pool("pmr-align", PoolConfig::HighPerformanceCPU());
    PoolMemoryResource res(pool);
    EXPECT(res.alignment() == 64);
    for (std::size_t a = 1; a <= 64; a *= 2) {
        void *p = res.allocate(24, a);
        EXPECT(reinterpret_cast<uintptr_t>(p) % a == 0);
        res.deallocate(p, 24, a);
    }
    void *zero = res.allocate(0);
    void *zero2 = res.allocate(0);
    EXPECT(zero != nullptr && zero != zero2);
    res.deallocate(zero, 0);
    res.deallocate(zero2, 0);
    // Over the pool's alignment: the pool places it (mp_pool_allocate_aligned).
    for (std::size_t a = 128; a <= (std::size_t(1) << 20); a *= 4) {
        void *p = res.allocate(100, a);
        EXPECT(reinterpret_cast<uintptr_t>(p) % a == 0);
        res.deallocate(p, 100, a);
    }
    EXPECT(statsOf(pool.handle()).live_allocations == 0);
    // A fixed pool cannot: std::bad_alloc with its reason.
    CPUMemoryPool fixed("pmr-align-fixed", PoolConfig::FixedSizeCPU(128));
    PoolMemoryResource fres(fixed);
    bool refused = false;
    try {
        void *p = fres.allocate(100, 4096);
        fres.deallocate(p, 100, 4096); /* not reached */
    } catch (const std::bad_alloc &e) {
        refused = std::strstr(e.what(), "fixed pool") != nullptr;
    }
    EXPECT(refused);
}

static void resourcesOverOnePoolAreEqual()
{
    CPUMemoryPool a("pmr-eq-a", PoolConfig::DefaultCPU());
    CPUMemoryPool b("pmr-eq-b", PoolConfig::DefaultCPU());
    PoolMemoryResource ra(a), ra2(a.handle()), rb(b);
    EXPECT(ra == ra && ra == ra2 && ra2 == ra);
    EXPECT(ra != rb && ra != *std::pmr::new_delete_resource());
    void *p = ra.allocate(100);
    ra2.deallocate(p, 100); // equal resources free each other's blocks
    EXPECT(statsOf(a.handle()).live_allocations == 0);
    // A block of another pool is refused by the pool, counted, and changes nothing.
    void *q = rb.allocate(100);
    ra.deallocate(q, 100);
    EXPECT(ra.refusedFrees() == 1 && statsOf(b.handle()).live_allocations == 1);
    rb.deallocate(q, 100);
    EXPECT(rb.refusedFrees() == 0 && statsOf(b.handle()).live_allocations == 0);
    // Containers with equal resources move storage instead of copying it.
    std::pmr::vector<int> v1({1, 2, 3}, &ra), v2(&ra2);
    const int *data = v1.data();
    v2 = std::move(v1);
    EXPECT(v2.data() == data);
}

static void badHandlesAndDeviceMemoryAreRefused()
{
    bool threw = false;
    try {
        PoolMemoryResource r(static_cast<mp_pool *>(nullptr));
    } catch (const InvalidArgumentException &) {
        threw = true;
    }
    EXPECT(threw);
    int devices = 0;
    if (mp_gpu_device_count(&devices) != MP_OK || devices == 0)
        return;
    auto *gpu = static_cast<BasicMemoryPool *>(
        MemoryPoolManager::getInstance().createGPUPool("pmr-gpu", PoolConfig::DefaultGPU()));
    threw = false;
    try {
        PoolMemoryResource r(*gpu);
    } catch (const InvalidArgumentException &e) {
        threw = std::strstr(e.what(), "device memory") != nullptr;
    }
    EXPECT(threw);
    MemoryPoolManager::getInstance().destroyPool("pmr-gpu");
}

static void standardPoolResourcesStackOnIt()
{
    CPUMemoryPool pool("pmr-upstream", PoolConfig::DefaultCPU());
    PoolMemoryResource res(pool);
    NoDefaultResource guard;
    {
        std::pmr::unsynchronized_pool_resource sub(&res);
        std::pmr::monotonic_buffer_resource mono(4096, &sub);
        {
            std::pmr::vector<std::pmr::string> words(&mono);
            for (int i = 0; i < 20000; i++)
                words.emplace_back("word number " + std::to_string(i) + ", long enough to allocate");
            EXPECT(words.back().get_allocator().resource() == &mono);
            EXPECT(words[19999].size() == 42);
        }
        EXPECT(statsOf(pool.handle()).live_allocations > 0); // the buffers stay until release
        mono.release();
        sub.release();
    }
    EXPECT(statsOf(pool.handle()).live_allocations == 0);
    pool.check();
}

static void threadsShareAThreadSafePool()
{
    CPUMemoryPool pool("pmr-threads", PoolConfig::HighPerformanceCPU());
    PoolMemoryResource res(pool);
    std::vector<std::thread> ts;
    std::vector<size_t> sizes(4);
    for (int t = 0; t < 4; t++)
        ts.emplace_back([&, t] {
            std::pmr::map<int, std::pmr::string> m(&res);
            for (int i = 0; i < 20000; i++)
                m[i].assign(static_cast<size_t>(i % 40) + 16, static_cast<char>('a' + t));
            for (int i = 0; i < 20000; i += 2)
                m.erase(i);
            sizes[static_cast<size_t>(t)] = m.size();
        });
    for (auto &t : ts)
        t.join();
    for (size_t n : sizes)
        EXPECT(n == 10000);
    EXPECT(statsOf(pool.handle()).live_allocations == 0);
    pool.check();
}

int main()
{
    run("std::pmr containers live in the pool, and all is freed at the end",
        containersLiveInThePoolAndAllIsFreedAtTheEnd);
    run("a failure throws std::bad_alloc and leaves the pool intact", failureThrowsBadAllocAndLeavesThePoolIntact);
    run("alignment up to the pool's is served", alignmentUpToThePoolsIsServed);
    run("resources over one pool are equal", resourcesOverOnePoolAreEqual);
    run("bad handles and device memory are refused", badHandlesAndDeviceMemoryAreRefused);
    run("the standard pool resources stack on it", standardPoolResourcesStackOnIt);
    run("threads share a thread-safe pool", threadsShareAThreadSafePool);
    std::printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}

// Written only from the seed's API reference: its names and signatures,
// inside `using namespace mempool;`. Built against the installed headers
// and library by tests/package/check_package.sh.
#include <mempool/mempool.hpp>

#include <cstdio>
#include <cstring>

using namespace mempool;

int main()
{
    MemoryPoolManager &manager = MemoryPoolManager::getInstance();
    IMemoryPool *pool = manager.createCPUPool("particles", PoolConfig::FixedSizeCPU(64));
    void *block = pool->allocate(48);
    std::memset(block, 0, 48);
    void *flagged = pool->allocate(16, AllocFlags::None);
    const MemoryStats &stats = pool->getStats();
    if (stats.getAllocationCount() != 2 || stats.getCurrentUsed() != 64 || !stats.hasMemoryLeaks())
        return 1;
    std::vector<AllocationInfo> live = stats.getActiveAllocations();
    pool->deallocate(block);
    pool->deallocate(flagged);
    if (live.size() != 2 || stats.getPeakUsage() != 64 || stats.getFragmentationRatio() != 0.0)
        return 2;

    float *values = allocate<float>(256);
    values[255] = 1.5f;
    deallocate(values);
    void *raw = allocate(1000, "default");
    deallocate(raw, "default");

    try {
        pool->deallocate(raw);
        return 3;
    } catch (const InvalidPointerException &e) {
        std::printf("caught: %s\n", e.what());
    } catch (const MemoryPoolException &) {
        return 4;
    }
    try {
        pool->allocate(65);
        return 5;
    } catch (const MemoryPoolException &e) {
        std::printf("caught: %s\n", e.what());
    }

    PoolConfig config = PoolConfig::DefaultGPU();
    config.maxSize = 64 * 1024 * 1024;
    try {
        IMemoryPool *gpu = manager.createGPUPool("gpu-particles", config);
        GPUMemoryPool *g = dynamic_cast<GPUMemoryPool *>(gpu);
        void *d = gpu->allocate(256);
        char msg[256] = "seed", back[256] = {0};
        g->copyHostToDevice(d, msg, sizeof msg);
        g->copyDeviceToHost(back, d, sizeof back);
        gpu->deallocate(d);
        std::printf("gpu round trip: %s on device %d\n", back, g->getDevice());
    } catch (const MemoryPoolException &e) { // no CUDA or no device here
        std::printf("no GPU: %s\n", e.what());
    }

    std::map<std::string, std::string> all = manager.getAllStats();
    pool->reset();
    manager.resetAllPools();
    bool destroyed = manager.destroyPool("particles");
    std::printf("%zu pools, destroyed: %d\n", all.size(), destroyed ? 1 : 0);
    return destroyed ? 0 : 6;
}

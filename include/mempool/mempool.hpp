// mempool C++ API: the seed's classes (IMemoryPool, MemoryPoolManager,
// PoolConfig, MemoryStats, GPUMemoryPool, the global helpers and the
// exceptions), header-only, over the C ABI of <mempool/mempool.h>.
//
// A thin layer: every operation is one C call, every non-OK status becomes
// the exception of its kind carrying the library's detail message, and no
// allocator rule is written here again.
#ifndef MEMPOOL_MEMPOOL_HPP
#define MEMPOOL_MEMPOOL_HPP

#include <mempool/mempool.h>
#include <mempool/mempool_errors.hpp>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <ostream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

// The CUDA runtime's stream type; the same declaration as cuda_runtime_api.h,
// so this header needs no CUDA and mixes with it in either order.
typedef struct CUstream_st *cudaStream_t;

namespace mempool {

// ---- enums and constants ------------------------------------------------------

enum class AllocatorType { FixedSize = MP_ALLOCATOR_FIXED_SIZE, VariableSize = MP_ALLOCATOR_VARIABLE_SIZE };
enum class SyncType { Mutex = MP_SYNC_MUTEX, LockFree = MP_SYNC_LOCK_FREE };
enum class MemoryType { CPU = MP_MEMORY_CPU, GPU = MP_MEMORY_GPU };
enum class AllocFlags { None = MP_ALLOC_NONE, Pinned = MP_ALLOC_PINNED, Managed = MP_ALLOC_MANAGED };

constexpr size_t DEFAULT_ALIGNMENT = MP_DEFAULT_ALIGNMENT;

// ---- exceptions -------------------------------------------------------------------
// MemoryPoolException, one subclass per failure status and detail::raise are
// generated from the status table: <mempool/mempool_errors.hpp>.

/// A GPU call failed for want of CUDA or of a device (MP_ERR_UNSUPPORTED while no device is
/// found): a CudaException, as the seed's reference has CUDA-related errors thrown.
class CudaUnavailableException : public CudaException {
public:
    using CudaException::CudaException;
};

namespace detail {

inline void check(mp_status s)
{
    if (s != MP_OK)
        raise(s);
}

/// check() for GPU calls: MP_ERR_UNSUPPORTED with no device found throws CudaUnavailableException;
/// MP_ERR_UNSUPPORTED for any other reason stays UnsupportedException.
inline void checkGPU(mp_status s)
{
    if (s != MP_ERR_UNSUPPORTED)
        return check(s);
    const std::string d = mp_last_error_message();
    int n = 0;
    if (mp_gpu_device_count(&n) != MP_OK || n == 0)
        throw CudaUnavailableException(s, d);
    throw UnsupportedException(s, d);
}

/// Copies a library string into a std::string and frees it.
inline std::string take(char *s)
{
    std::string out = s ? s : "";
    mp_string_free(s);
    return out;
}

} // namespace detail

// ---- configuration -------------------------------------------------------------------

/// Pool configuration. The defaults and the eight presets come from the C library.
struct PoolConfig {
    AllocatorType allocatorType = AllocatorType::VariableSize;
    size_t initialSize = 1024 * 1024;
    size_t blockSize = 256;
    bool threadSafe = true;
    SyncType syncType = SyncType::Mutex;
    bool trackStats = true;
    bool enableDebugging = false;

    // GPU-specific
    int deviceId = 0;
    bool usePinnedMemory = false;
    bool useManagedMemory = false;

    // Advanced
    size_t alignment = DEFAULT_ALIGNMENT;
    size_t growthFactor = 2;
    size_t maxSize = 0;
    bool countersOnly = false; ///< with trackStats: counters without per-allocation records (1.3)

    static PoolConfig DefaultCPU() { return preset([](mp_config *c) { return mp_config_default_cpu(c); }); }
    static PoolConfig DefaultGPU() { return preset([](mp_config *c) { return mp_config_default_gpu(c); }); }
    static PoolConfig FixedSizeCPU(size_t blockSize)
    {
        return preset([=](mp_config *c) { return mp_config_fixed_size_cpu(c, blockSize); });
    }
    static PoolConfig FixedSizeGPU(size_t blockSize, int deviceId = 0)
    {
        return preset([=](mp_config *c) { return mp_config_fixed_size_gpu(c, blockSize, deviceId); });
    }
    static PoolConfig HighPerformanceCPU()
    {
        return preset([](mp_config *c) { return mp_config_high_performance_cpu(c); });
    }
    static PoolConfig HighPerformanceGPU(int deviceId = 0)
    {
        return preset([=](mp_config *c) { return mp_config_high_performance_gpu(c, deviceId); });
    }
    /// A general-purpose heap: lock-free thread caches, counters without records, 64 MiB of address space up front.
    static PoolConfig GeneralPurposeCPU()
    {
        return preset([](mp_config *c) { return mp_config_general_purpose_cpu(c); });
    }
    static PoolConfig DebugCPU() { return preset([](mp_config *c) { return mp_config_debug_cpu(c); }); }
    static PoolConfig DebugGPU(int deviceId = 0)
    {
        return preset([=](mp_config *c) { return mp_config_debug_gpu(c, deviceId); });
    }

    /// Checks this configuration for a pool of the given type (throws on a bad field).
    void validate(MemoryType type) const
    {
        mp_config c = toC();
        detail::check(mp_config_validate(&c, static_cast<mp_memory_type>(type)));
    }

    mp_config toC() const
    {
        mp_config c{};
        c.struct_size = sizeof c;
        c.allocator_type = static_cast<mp_allocator_type>(allocatorType);
        c.initial_size = initialSize;
        c.block_size = blockSize;
        c.thread_safe = threadSafe;
        c.sync_type = static_cast<mp_sync_type>(syncType);
        c.track_stats = trackStats;
        c.enable_debugging = enableDebugging;
        c.device_id = deviceId;
        c.use_pinned_memory = usePinnedMemory;
        c.use_managed_memory = useManagedMemory;
        c.alignment = alignment;
        c.growth_factor = growthFactor;
        c.max_size = maxSize;
        c.counters_only = countersOnly;
        return c;
    }

    static PoolConfig fromC(const mp_config &c)
    {
        PoolConfig p;
        p.allocatorType = static_cast<AllocatorType>(c.allocator_type);
        p.initialSize = c.initial_size;
        p.blockSize = c.block_size;
        p.threadSafe = c.thread_safe;
        p.syncType = static_cast<SyncType>(c.sync_type);
        p.trackStats = c.track_stats;
        p.enableDebugging = c.enable_debugging;
        p.deviceId = c.device_id;
        p.usePinnedMemory = c.use_pinned_memory;
        p.useManagedMemory = c.use_managed_memory;
        p.alignment = c.alignment;
        p.growthFactor = c.growth_factor;
        p.maxSize = c.max_size;
        p.countersOnly = c.counters_only;
        return p;
    }

private:
    template <typename F> static PoolConfig preset(F fill)
    {
        mp_config c{};
        c.struct_size = sizeof c;
        detail::check(fill(&c));
        return fromC(c);
    }
};

// ---- statistics ---------------------------------------------------------------------------

/// One live allocation: the address, the requested size and its sequence number.
struct AllocationInfo {
    void *ptr;
    size_t size;
    uint64_t sequence;
};

/// Which moment a memory snapshot describes.
enum class SnapshotKind { Now = MP_SNAPSHOT_NOW, LastOutOfMemory = MP_SNAPSHOT_LAST_OOM };

/// Where a pool's memory is (mp_pool_memory_snapshot): the C library's totals (its
/// mp_memory_snapshot says what each counts), a record per chunk (address order; the 8
/// largest for a failure) and per size class (by block size).
struct MemorySnapshot {
    mp_memory_snapshot totals;
    std::vector<mp_chunk_info> chunks;
    std::vector<mp_class_info> classes;
};

namespace detail {

inline MemorySnapshot memorySnapshot(mp_pool *pool, SnapshotKind kind)
{
    MemorySnapshot s{};
    size_t nchunks = 0, nclasses = 0;
    for (;;) {
        s.totals = mp_memory_snapshot{};
        s.totals.struct_size = sizeof s.totals;
        s.chunks.assign(nchunks ? nchunks : 1, mp_chunk_info{});
        s.classes.assign(nclasses ? nclasses : 1, mp_class_info{});
        s.chunks[0].struct_size = sizeof(mp_chunk_info);
        s.classes[0].struct_size = sizeof(mp_class_info);
        mp_status st = mp_pool_memory_snapshot(pool, static_cast<mp_snapshot_kind>(kind), &s.totals, s.chunks.data(),
                                               nchunks, s.classes.data(), nclasses);
        if (st != MP_ERR_BUFFER_TOO_SMALL) {
            check(st);
            s.chunks.resize(static_cast<size_t>(s.totals.chunks_listed));
            s.classes.resize(static_cast<size_t>(s.totals.class_count));
            return s;
        }
        nchunks = static_cast<size_t>(s.totals.chunks_listed); // the pool grew meanwhile: room for what it has
        nclasses = static_cast<size_t>(s.totals.class_count);
    }
}

} // namespace detail

/// The seed's MemoryStats. Three kinds, one class:
///  - standalone (`MemoryStats()`): counts what the caller records and tracks (mp_tracker);
///  - a pool's live view (IMemoryPool::getStats()): each query asks the pool;
///  - a copy: of a view, a snapshot of the pool at the copy (mp_tracker_from_pool), which
///    outlives the pool; of a standalone or snapshot, an independent duplicate.
/// Standalone and snapshot objects can record; a pool's view counts the pool's own
/// allocations and refuses record/track calls (InvalidOperationException). Every object is
/// safe to use from any thread.
class MemoryStats {
public:
    MemoryStats() { detail::check(mp_tracker_create(&tracker_)); }
    explicit MemoryStats(mp_pool *pool) : pool_(pool) {}
    MemoryStats(const MemoryStats &other)
    {
        if (other.tracker_)
            detail::check(mp_tracker_clone(other.tracker_, &tracker_));
        else if (other.pool_)
            detail::check(mp_tracker_from_pool(other.pool_, &tracker_));
    }
    MemoryStats(MemoryStats &&other) noexcept : pool_(other.pool_), tracker_(other.tracker_)
    {
        other.tracker_ = nullptr; // a moved-from object holds nothing: its calls throw
        other.pool_ = nullptr;
    }
    /// Takes other's figures (a copy: a snapshot). A pool's live view cannot be assigned to:
    /// it stays its pool's (InvalidOperationException, and both sides stay as they were).
    MemoryStats &operator=(const MemoryStats &other)
    {
        refuseIfLiveView();
        if (this != &other) {
            MemoryStats copy(other);
            std::swap(pool_, copy.pool_);
            std::swap(tracker_, copy.tracker_);
        }
        return *this;
    }
    MemoryStats &operator=(MemoryStats &&other)
    {
        refuseIfLiveView();
        if (this != &other) {
            if (tracker_)
                mp_tracker_destroy(tracker_);
            pool_ = other.pool_;
            tracker_ = other.tracker_;
            other.pool_ = nullptr;
            other.tracker_ = nullptr;
        }
        return *this;
    }
    ~MemoryStats()
    {
        if (tracker_)
            mp_tracker_destroy(tracker_);
    }

    /// Counts an allocation / deallocation of size bytes (no pointer kept).
    void recordAllocation(size_t size) { detail::check(mp_tracker_record_allocation(own(), size)); }
    void recordDeallocation(size_t size) { detail::check(mp_tracker_record_deallocation(own(), size)); }
    /// Counts and records ptr (while tracking is on) / counts its free and drops the record.
    void trackAllocation(void *ptr, size_t size) { detail::check(mp_tracker_track_allocation(own(), ptr, size)); }
    void trackDeallocation(void *ptr) { detail::check(mp_tracker_track_deallocation(own(), ptr)); }

    size_t getTotalAllocated() const { return static_cast<size_t>(snapshot().total_allocated); }
    size_t getCurrentUsed() const { return static_cast<size_t>(snapshot().current_used); }
    size_t getPeakUsage() const { return static_cast<size_t>(snapshot().peak_usage); }
    size_t getAllocationCount() const { return static_cast<size_t>(snapshot().allocation_count); }
    size_t getDeallocationCount() const { return static_cast<size_t>(snapshot().deallocation_count); }
    /// 1 - largest free block / free bytes over the chunks holding a block; 0 when none is
    /// held, for fixed-size pools and for standalone stats (mp_stats).
    double getFragmentationRatio() const { return snapshot().fragmentation_ratio; }
    /// The highest reserved bytes seen since creation or reset (1.3).
    size_t getPeakReservedBytes() const { return static_cast<size_t>(snapshot().peak_reserved_bytes); }

    /// The whole snapshot at once (reserved bytes, chunks, failures, live blocks too).
    mp_stats snapshot() const
    {
        mp_stats s{};
        s.struct_size = sizeof s;
        detail::check(tracker_ ? mp_tracker_get_stats(tracker_, &s) : mp_pool_get_stats(pool(), &s));
        return s;
    }

    /// Live tracked allocations, oldest first.
    std::vector<AllocationInfo> getActiveAllocations() const
    {
        size_t n = 0;
        detail::check(list(nullptr, 0, &n));
        for (;;) {
            std::vector<mp_allocation_info> recs(n ? n : 1);
            recs[0].struct_size = sizeof(mp_allocation_info);
            mp_status s = list(recs.data(), n, &n);
            if (s == MP_ERR_BUFFER_TOO_SMALL)
                continue; // more were made meanwhile; n is the new count
            detail::check(s);
            std::vector<AllocationInfo> out;
            out.reserve(n);
            for (size_t i = 0; i < n; i++)
                out.push_back({recs[i].ptr, recs[i].size, recs[i].sequence});
            return out;
        }
    }

    bool hasMemoryLeaks() const
    {
        bool leaks = false;
        detail::check(tracker_ ? mp_tracker_has_leaks(tracker_, &leaks) : mp_pool_has_leaks(pool(), &leaks));
        return leaks;
    }

    std::string getStatsString() const
    {
        char *s = nullptr;
        detail::check(tracker_ ? mp_tracker_stats_string(tracker_, &s) : mp_pool_stats_string(pool(), &s));
        return detail::take(s);
    }

    std::string getStatsJson() const
    {
        char *s = nullptr;
        detail::check(tracker_ ? mp_tracker_stats_json(tracker_, &s) : mp_pool_stats_json(pool(), &s));
        return detail::take(s);
    }

    void setTrackingEnabled(bool enable)
    {
        detail::check(tracker_ ? mp_tracker_set_tracking(tracker_, enable) : mp_pool_set_tracking(pool(), enable));
    }

    bool isTrackingEnabled() const
    {
        bool on = false;
        detail::check(tracker_ ? mp_tracker_get_tracking(tracker_, &on) : mp_pool_get_tracking(pool(), &on));
        return on;
    }

    /// Starts the counts again from what is live: allocationCount becomes the live
    /// blocks, deallocationCount 0, totalAllocated and the peak the bytes in use.
    void reset() { detail::check(tracker_ ? mp_tracker_reset(tracker_) : mp_pool_reset_stats(pool())); }

    /// Whether this object is a pool's live view (not standalone, not a copy).
    bool isLiveView() const noexcept { return tracker_ == nullptr && pool_ != nullptr; }

private:
    void refuseIfLiveView() const
    {
        if (isLiveView())
            throw InvalidOperationException(MP_ERR_INVALID_OPERATION, "a pool's live stats cannot be assigned to");
    }
    mp_tracker *own() const
    {
        if (!tracker_)
            throw InvalidOperationException(MP_ERR_INVALID_OPERATION,
                                            pool_ ? "a pool's live stats count its own allocations; record into a "
                                                    "standalone MemoryStats or a copy"
                                                  : "this MemoryStats was moved from");
        return tracker_;
    }
    mp_pool *pool() const
    {
        if (!pool_)
            throw InvalidOperationException(MP_ERR_INVALID_OPERATION, "this MemoryStats was moved from");
        return pool_;
    }
    mp_status list(mp_allocation_info *out, size_t cap, size_t *n) const
    {
        return tracker_ ? mp_tracker_get_allocations(tracker_, out, cap, n) : mp_pool_get_allocations(pool(), out, cap, n);
    }

    mp_pool *pool_ = nullptr;
    mp_tracker *tracker_ = nullptr;
};

// ---- pools ----------------------------------------------------------------------------------

/// The seed's abstract pool.
class IMemoryPool {
public:
    virtual ~IMemoryPool() = default;

    virtual void *allocate(size_t size) = 0;
    virtual void deallocate(void *ptr) = 0;
    virtual void *allocate(size_t size, AllocFlags flags) = 0;
    virtual void reset() = 0;
    virtual const MemoryStats &getStats() const = 0;
    virtual MemoryType getMemoryType() const = 0;
    virtual std::string getName() const = 0;
    virtual const PoolConfig &getConfig() const = 0;
};

class MemoryPoolManager;

/// A pool over one mp_pool handle; standalone pools are destroyed with the object.
class BasicMemoryPool : public IMemoryPool {
public:
    BasicMemoryPool(const BasicMemoryPool &) = delete;
    BasicMemoryPool &operator=(const BasicMemoryPool &) = delete;
    ~BasicMemoryPool() override
    {
        if (owned_)
            mp_pool_destroy(pool_);
    }

    void *allocate(size_t size) override
    {
        void *p = nullptr;
        detail::check(mp_pool_allocate(pool_, size, &p));
        return p;
    }
    void *allocate(size_t size, AllocFlags flags) override
    {
        void *p = nullptr;
        detail::check(mp_pool_allocate_flags(pool_, size, static_cast<mp_alloc_flags>(flags), &p));
        return p;
    }
    /// size bytes at a multiple of alignment (a power of two), beyond the pool's own
    /// alignment if need be (mp_pool_allocate_aligned).
    void *allocateAligned(size_t size, size_t alignment)
    {
        void *p = nullptr;
        detail::check(mp_pool_allocate_aligned(pool_, size, alignment, &p));
        return p;
    }
    /// Frees ptr; nullptr does nothing, as with delete (the C ABI refuses NULL).
    void deallocate(void *ptr) override
    {
        if (ptr)
            detail::check(mp_pool_deallocate(pool_, ptr));
    }
    void reset() override { detail::check(mp_pool_reset(pool_)); }
    const MemoryStats &getStats() const override { return stats_; }
    MemoryType getMemoryType() const override
    {
        mp_memory_type t;
        detail::check(mp_pool_get_memory_type(pool_, &t));
        return static_cast<MemoryType>(t);
    }
    std::string getName() const override
    {
        const char *name = nullptr;
        detail::check(mp_pool_get_name(pool_, &name));
        return name;
    }
    const PoolConfig &getConfig() const override { return config_; }

    // Beyond the seed.
    /// Resizes the live block ptr (nullptr: allocates), in place when it has room; returns the
    /// block. On an exception ptr stays live and unchanged. newSize 0 throws
    /// InvalidArgumentException: free with deallocate (mp_pool_reallocate).
    void *reallocate(void *ptr, size_t newSize)
    {
        void *p = nullptr;
        detail::check(mp_pool_reallocate(pool_, ptr, newSize, &p));
        return p;
    }
    /// The bytes the caller may use in the live block ptr, at least the size asked for.
    size_t usableSize(const void *ptr) const
    {
        size_t n = 0;
        detail::check(mp_pool_usable_size(pool_, ptr, &n));
        return n;
    }
    /// Returns wholly free chunks while more than keepBytes stay reserved.
    void trim(size_t keepBytes) { detail::check(mp_pool_trim(pool_, keepBytes)); }
    /// Where the pool's memory is now, or when an allocation last failed (LastOutOfMemory: kept
    /// until the stats are reset; NotFoundException when none failed).
    MemorySnapshot memorySnapshot(SnapshotKind kind = SnapshotKind::Now) const
    {
        return detail::memorySnapshot(pool_, kind);
    }
    /// The same as one JSON object (mp_pool_memory_snapshot_json).
    std::string snapshotJson(SnapshotKind kind = SnapshotKind::Now) const
    {
        char *s = nullptr;
        detail::check(mp_pool_memory_snapshot_json(pool_, static_cast<mp_snapshot_kind>(kind), &s));
        return detail::take(s);
    }
    bool owns(const void *ptr) const
    {
        bool owned = false;
        detail::check(mp_pool_owns(pool_, ptr, &owned));
        return owned;
    }
    /// Verifies the allocator's invariants and debug guards; throws CorruptionException.
    void check() const { detail::check(mp_pool_check(pool_)); }
    mp_backend_kind getBackend() const
    {
        mp_backend_kind k;
        detail::check(mp_pool_get_backend(pool_, &k));
        return k;
    }
    /// Slow-path hooks (growth, out of memory, trim); nullptr clears them.
    void setPolicy(const mp_policy *policy) { detail::check(mp_pool_set_policy(pool_, policy)); }
    /// Trims to what the policy's trim hook keeps (without one: initialSize).
    void trimAuto() { detail::check(mp_pool_trim_auto(pool_)); }
    MemoryStats &stats() { return stats_; }
    mp_pool *handle() const noexcept { return pool_; }

protected:
    BasicMemoryPool(const std::string &name, MemoryType type, const PoolConfig &config)
        : pool_(create(name, type, config)), owned_(true), stats_(pool_), config_(fetchConfig(pool_)) {}
    explicit BasicMemoryPool(mp_pool *registryPool)
        : pool_(registryPool), owned_(false), stats_(pool_), config_(fetchConfig(pool_)) {}

private:
    friend class MemoryPoolManager;

    static mp_pool *create(const std::string &name, MemoryType type, const PoolConfig &config)
    {
        mp_config c = config.toC();
        mp_pool *p = nullptr;
        mp_status s = mp_pool_create(name.c_str(), static_cast<mp_memory_type>(type), &c, &p);
        type == MemoryType::GPU ? detail::checkGPU(s) : detail::check(s);
        return p;
    }
    static PoolConfig fetchConfig(mp_pool *p)
    {
        mp_config c{};
        c.struct_size = sizeof c;
        detail::check(mp_pool_get_config(p, &c));
        return PoolConfig::fromC(c);
    }

    mp_pool *pool_;
    bool owned_;
    MemoryStats stats_;
    PoolConfig config_;
};

/// A CPU pool (the seed names only the interface; this is its CPU side).
class CPUMemoryPool : public BasicMemoryPool {
public:
    CPUMemoryPool(const std::string &name, const PoolConfig &config)
        : BasicMemoryPool(name, MemoryType::CPU, config) {}

private:
    friend class MemoryPoolManager;
    explicit CPUMemoryPool(mp_pool *registryPool) : BasicMemoryPool(registryPool) {}
};

/// A GPU pool with the seed's device, stream and copy helpers.
class GPUMemoryPool : public BasicMemoryPool {
public:
    GPUMemoryPool(const std::string &name, const PoolConfig &config) : BasicMemoryPool(name, MemoryType::GPU, config) {}

    using BasicMemoryPool::allocate;
    using BasicMemoryPool::deallocate;

    void setDevice(int deviceId) { detail::checkGPU(mp_pool_set_device(handle(), deviceId)); }
    int getDevice() const
    {
        int d = 0;
        detail::checkGPU(mp_pool_get_device(handle(), &d));
        return d;
    }
    void setStream(cudaStream_t stream) { detail::checkGPU(mp_pool_set_stream(handle(), stream)); }
    cudaStream_t getStream() const
    {
        void *s = nullptr;
        detail::checkGPU(mp_pool_get_stream(handle(), &s));
        return static_cast<cudaStream_t>(s);
    }

    /// Idle device memory kept mapped whatever its age (mp_pool_set_release_threshold);
    /// what is above it goes back after a second idle. SIZE_MAX keeps everything until trim().
    void setReleaseThreshold(size_t bytes) { detail::checkGPU(mp_pool_set_release_threshold(handle(), bytes)); }
    size_t getReleaseThreshold() const
    {
        size_t n = 0;
        detail::checkGPU(mp_pool_get_release_threshold(handle(), &n));
        return n;
    }

    /// A block for work on stream (mp_pool_allocate_on_stream): ordered after earlier frees.
    void *allocate(size_t size, cudaStream_t stream)
    {
        void *p = nullptr;
        detail::checkGPU(mp_pool_allocate_on_stream(handle(), size, stream, &p));
        return p;
    }

    /// Frees a block that work on stream may still use; it is reused once that work is done.
    void deallocate(void *ptr, cudaStream_t stream)
    {
        if (ptr)
            detail::checkGPU(mp_pool_deallocate_on_stream(handle(), ptr, stream));
    }

    void copyHostToDevice(void *dst, const void *src, size_t size)
    {
        detail::checkGPU(mp_pool_copy_host_to_device(handle(), dst, src, size));
    }
    void copyDeviceToHost(void *dst, const void *src, size_t size)
    {
        detail::checkGPU(mp_pool_copy_device_to_host(handle(), dst, src, size));
    }
    void copyDeviceToDevice(void *dst, const void *src, size_t size)
    {
        detail::checkGPU(mp_pool_copy_device_to_device(handle(), dst, src, size));
    }

private:
    friend class MemoryPoolManager;
    explicit GPUMemoryPool(mp_pool *registryPool) : BasicMemoryPool(registryPool) {}
};

// ---- the registry ----------------------------------------------------------------------------

/// The registry of named pools. Pools live in the C registry; this object
/// keeps one C++ wrapper per registry pool so that IMemoryPool pointers stay
/// valid until destroyPool.
class MemoryPoolManager {
public:
    static MemoryPoolManager &getInstance()
    {
        static MemoryPoolManager instance;
        return instance;
    }

    /// The CPU pool of that name, or nullptr when no pool has that name; "default" is
    /// created on first use. A GPU pool of that name: InvalidOperationException.
    IMemoryPool *getCPUPool(const std::string &name) { return get(name, MemoryType::CPU); }
    /// The GPU pool of that name, or nullptr when no pool has that name; "default_gpu" is
    /// created on first use (CudaUnavailableException without CUDA or a device). A CPU pool
    /// of that name: InvalidOperationException.
    IMemoryPool *getGPUPool(const std::string &name) { return get(name, MemoryType::GPU); }

    IMemoryPool *createCPUPool(const std::string &name, const PoolConfig &config)
    {
        return create(name, config, MemoryType::CPU);
    }
    IMemoryPool *createGPUPool(const std::string &name, const PoolConfig &config)
    {
        return create(name, config, MemoryType::GPU);
    }

    /// Destroys the pool; false if there is none of that name.
    bool destroyPool(const std::string &name)
    {
        std::lock_guard<std::mutex> lock(mutex_);
        mp_status s = mp_registry_destroy(name.c_str());
        if (s == MP_OK || s == MP_ERR_NOT_FOUND) /* refused (a hook runs): the pool and its object live on */
            wrappers_.erase(name);
        if (s == MP_ERR_NOT_FOUND)
            return false;
        detail::check(s);
        return true;
    }

    void resetAllPools() { detail::check(mp_registry_reset_all()); }

    /// Each pool's human-readable statistics, by name.
    std::map<std::string, std::string> getAllStats() const
    {
        std::map<std::string, std::string> all;
        for (const std::string &name : poolNames()) {
            mp_pool *p = nullptr;
            if (mp_registry_find(name.c_str(), &p) != MP_OK)
                continue; // destroyed meanwhile
            char *s = nullptr;
            if (mp_pool_stats_string(p, &s) == MP_OK)
                all[name] = detail::take(s);
        }
        return all;
    }

    // Beyond the seed.
    std::vector<std::string> poolNames() const
    {
        char *s = nullptr;
        detail::check(mp_registry_names(&s));
        std::string all = detail::take(s);
        std::vector<std::string> names;
        for (size_t at = 0, nl; (nl = all.find('\n', at)) != std::string::npos; at = nl + 1)
            names.push_back(all.substr(at, nl - at));
        return names;
    }
    std::string getAllStatsJson() const
    {
        char *s = nullptr;
        detail::check(mp_registry_stats_json(&s));
        return detail::take(s);
    }

    /// Every live pool's stats, the registry's and those made directly
    /// (mp_stats_print): options nullptr or "text", or "json".
    static std::string statsText(const char *options = nullptr)
    {
        struct sink {
            std::string text;
            bool failed = false;
        } out;
        detail::check(mp_stats_print(
            [](void *o, const char *t) {
                sink *k = static_cast<sink *>(o);
                try {
                    k->text.append(t);
                } catch (...) { // no exception may cross the C library
                    k->failed = true;
                }
            },
            &out, options));
        if (out.failed)
            throw std::bad_alloc();
        return out.text;
    }
    /// statsText(options) written to os.
    static void printStats(std::ostream &os, const char *options = nullptr) { os << statsText(options); }

private:
    MemoryPoolManager() = default;

    IMemoryPool *wrap(const std::string &name, mp_pool *p, MemoryType type)
    {
        auto it = wrappers_.find(name);
        if (it != wrappers_.end() && static_cast<BasicMemoryPool *>(it->second.get())->handle() == p)
            return it->second.get();
        std::unique_ptr<IMemoryPool> w;
        if (type == MemoryType::GPU)
            w.reset(new GPUMemoryPool(p));
        else
            w.reset(new CPUMemoryPool(p));
        IMemoryPool *raw = w.get();
        wrappers_[name] = std::move(w);
        return raw;
    }

    IMemoryPool *get(const std::string &name, MemoryType type)
    {
        std::lock_guard<std::mutex> lock(mutex_);
        mp_pool *p = nullptr;
        mp_status s = type == MemoryType::GPU ? mp_registry_get_gpu_pool(name.c_str(), &p)
                                              : mp_registry_get_cpu_pool(name.c_str(), &p);
        if (s == MP_ERR_NOT_FOUND)
            return nullptr;
        type == MemoryType::GPU ? detail::checkGPU(s) : detail::check(s);
        return wrap(name, p, type);
    }

    IMemoryPool *create(const std::string &name, const PoolConfig &config, MemoryType type)
    {
        std::lock_guard<std::mutex> lock(mutex_);
        mp_config c = config.toC();
        mp_pool *p = nullptr;
        if (type == MemoryType::GPU)
            detail::checkGPU(mp_registry_create_gpu_pool(name.c_str(), &c, &p));
        else
            detail::check(mp_registry_create_cpu_pool(name.c_str(), &c, &p));
        return wrap(name, p, type);
    }

    std::mutex mutex_;
    std::map<std::string, std::unique_ptr<IMemoryPool>> wrappers_;
};

// ---- thread cache (beyond the seed) -------------------------------------------------------------

/// The calling thread's cache of a pool: on a lock-free pool, allocate and
/// deallocate are inline and take no lock (mp_tcache_allocate); on any other
/// pool they call the pool. Use it on the thread that made it; the pool must
/// outlive it.
class ThreadCache {
public:
    explicit ThreadCache(BasicMemoryPool &pool) { detail::check(mp_pool_thread_cache_layout(pool.handle(), MP_TCACHE_LAYOUT, &cache_)); }

    void *allocate(size_t size)
    {
        void *p = nullptr;
        detail::check(mp_tcache_allocate(cache_, size, &p));
        return p;
    }
    void deallocate(void *ptr)
    {
        if (ptr)
            detail::check(mp_tcache_deallocate(cache_, ptr));
    }
    mp_tcache *handle() const noexcept { return cache_; }

private:
    mp_tcache *cache_ = nullptr;
};

// ---- size-class router (beyond the seed) --------------------------------------------------------

/// Sends each request to a pool by size range: add ranges in increasing
/// order, SIZE_MAX last for the rest. The pools must outlive the router.
class Router {
public:
    explicit Router(const std::string &name) { detail::check(mp_router_create(name.c_str(), &router_)); }
    ~Router() { mp_router_destroy(router_); }
    Router(const Router &) = delete;
    Router &operator=(const Router &) = delete;

    void add(size_t maxSize, BasicMemoryPool &pool) { detail::check(mp_router_add(router_, maxSize, pool.handle())); }
    mp_pool *poolFor(size_t size) const
    {
        mp_pool *p = nullptr;
        detail::check(mp_router_pool_for(router_, size, &p));
        return p;
    }
    void *allocate(size_t size)
    {
        void *p = nullptr;
        detail::check(mp_router_allocate(router_, size, &p));
        return p;
    }
    void deallocate(void *ptr)
    {
        if (ptr)
            detail::check(mp_router_deallocate(router_, ptr));
    }

private:
    mp_router *router_ = nullptr;
};

// ---- global helpers ------------------------------------------------------------------------------

inline void *allocate(size_t size, const std::string &poolName = "default")
{
    void *p = nullptr;
    detail::check(mp_allocate(poolName.c_str(), size, &p));
    return p;
}

/// Frees ptr; nullptr does nothing.
inline void deallocate(void *ptr, const std::string &poolName = "default")
{
    if (ptr)
        detail::check(mp_deallocate(poolName.c_str(), ptr));
}

inline void *allocateGPU(size_t size, const std::string &poolName = "default_gpu")
{
    void *p = nullptr;
    detail::checkGPU(mp_allocate_gpu(poolName.c_str(), size, &p));
    return p;
}

/// Frees ptr; nullptr does nothing.
inline void deallocateGPU(void *ptr, const std::string &poolName = "default_gpu")
{
    if (ptr)
        detail::checkGPU(mp_deallocate_gpu(poolName.c_str(), ptr));
}

namespace detail {
template <typename T> size_t bytes(size_t count)
{
    // count * sizeof(T) must not wrap: ask for an impossible size instead,
    // which the library refuses with MP_ERR_OUT_OF_MEMORY.
    return count > std::numeric_limits<size_t>::max() / sizeof(T) ? std::numeric_limits<size_t>::max()
                                                                   : count * sizeof(T);
}
} // namespace detail

template <typename T> T *allocate(size_t count = 1, const std::string &poolName = "default")
{
    return static_cast<T *>(allocate(detail::bytes<T>(count), poolName));
}

template <typename T> T *allocateGPU(size_t count = 1, const std::string &poolName = "default_gpu")
{
    return static_cast<T *>(allocateGPU(detail::bytes<T>(count), poolName));
}

template <typename T> void deallocate(T *ptr, const std::string &poolName = "default")
{
    deallocate(static_cast<void *>(ptr), poolName);
}

template <typename T> void deallocateGPU(T *ptr, const std::string &poolName = "default_gpu")
{
    deallocateGPU(static_cast<void *>(ptr), poolName);
}

// ---- library queries (beyond the seed) -----------------------------------------------------------

inline std::string version() { return mp_version_string(); }
inline unsigned versionNumber() { return mp_version(); }
inline int deviceCount()
{
    int n = 0;
    detail::check(mp_gpu_device_count(&n));
    return n;
}
inline mp_status lastError() { return mp_last_error(); }
inline std::string lastErrorMessage() { return mp_last_error_message(); }
inline std::string statusString(mp_status s) { return mp_status_string(s); }

} // namespace mempool

#endif // MEMPOOL_MEMPOOL_HPP

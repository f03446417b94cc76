// mempool for CUDA C++ (CCCL), header-only, over the C ABI: a cuda::mr memory
// resource over a GPU pool, an allocator for thrust::device_vector, and a
// stream-bound byte allocator for thrust's temporary storage.
//
//   mempool::GPUMemoryPool pool("gpu", mempool::PoolConfig::DefaultGPU());
//   mempool::GPUMemoryResource res(pool);                  // cuda::mr resource and async resource
//   cuda::mr::async_resource_ref<cuda::mr::device_accessible> ref{res};
//   thrust::device_vector<int, mempool::GPUAllocator<int>> v(n, mempool::GPUAllocator<int>(res));
//   mempool::GPUTemporaryAllocator tmp(res, stream);      // thrust's scratch memory on stream
//   thrust::sort(thrust::cuda::par_nosync(tmp).on(stream), v.begin(), v.end());
//
// Streams. A pool hands blocks out in the order of its own stream (P,
// mp_pool_set_stream, the legacy default stream unless set): a block freed
// with mp_pool_deallocate may be reused at once by work on P. The resource
// keeps CCCL's contracts on top of that:
//  - allocate_async(bytes, alignment, S): mp_pool_allocate_on_stream, a
//    block ready for work on S: one freed on S itself first, with no CUDA
//    call. Otherwise, when S is not P and a block has been freed in P's
//    order since S last waited, S first waits (an event, not the host) for
//    the work queued on P, which covers any earlier use of a reused block.
//    Beyond the pool's alignment (no such call takes one) the block comes
//    from mp_pool_allocate_aligned and S waits for P each time.
//  - deallocate_async(p, bytes, alignment, S): mp_pool_deallocate_on_stream,
//    so the block is handed out again at once for work on S, to other
//    streams only once the work queued on S has run (on P itself: at once,
//    in P's order), or, by a pool that would otherwise grow, to P with P
//    made to wait for that work. Synchronise S before destroying it while
//    blocks freed on it may wait: the pool knows streams by handle.
//  - allocate(bytes, alignment): ready for any stream and, for pinned and
//    managed pools, the host: the pool's stream is synchronised after the
//    block is taken (cheap when P is idle; use allocate_async on hot paths).
//  - deallocate(p, bytes, alignment): the caller guarantees that no queued
//    work uses p any more (CCCL's contract); it is mp_pool_deallocate.
// Pass the stream the work runs on; NULL is this translation unit's default
// stream (the per-thread one under --default-stream per-thread), on the
// pool's device. Blocks in P's order carry no stream of their own, so a
// stream other than P that takes one waits for all of P's queued work, not
// only the block's: set the pool's stream to the one allocated on most.
//
// Alignment. Every block starts at a multiple of the pool's alignment (256
// bytes for the GPU presets, as cudaMalloc). A larger power of two goes to
// mp_pool_allocate_aligned: variable-size pools serve it; fixed-size pools
// refuse (InvalidArgumentException) and debug pools refuse
// (UnsupportedException), each with the pool's reason. An alignment that is
// not a power of two is an InvalidArgumentException.
//
// Errors throw the C++ API's exceptions (<mempool/mempool.hpp>), which carry
// the status and the library's detail message: OutOfMemoryException when the
// pool is full, InvalidPointerException for a foreign or twice-freed pointer
// (the pool is left as it was), CudaException for a failed stream call. Not
// std::bad_alloc: cuda::mr asks for no exception type, and CCCL's own
// resources throw cuda::cuda_error, a std::runtime_error, as these do. A
// refused free throws too, where the caller lets it: cuda::mr::resource_ref's
// deallocate and thrust's containers are noexcept, so there it ends the
// program (std::terminate, with the message) rather than go unnoticed.
// allocate(0) returns a block of its own; deallocate(nullptr, ...) does
// nothing, as cudaFree.
//
// The objects do not own the pool: it must outlive them and their blocks.
// Copies are cheap and compare equal over one pool (either frees the
// other's blocks). Thread safety is the pool's (a thread_safe pool serves
// any thread). Compiles with nvcc and with the host compiler alone (with
// the toolkit's include and include/cccl folders); link cudart.
#ifndef MEMPOOL_MEMPOOL_CUDA_HPP
#define MEMPOOL_MEMPOOL_CUDA_HPP

// CCCL 3.0 keeps <cuda/memory_resource> behind this switch, and its include
// guard makes it empty for good if it was included without it first.
#if !defined(LIBCUDACXX_ENABLE_EXPERIMENTAL_MEMORY_RESOURCE)
#  if defined(_CUDA_MEMORY_RESOURCE) || defined(_CUDA__MEMORY_RESOURCE_RESOURCE_H)
#    error "<cuda/memory_resource> came first, without LIBCUDACXX_ENABLE_EXPERIMENTAL_MEMORY_RESOURCE: define it"
#  endif
#  define LIBCUDACXX_ENABLE_EXPERIMENTAL_MEMORY_RESOURCE
#endif

#include <mempool/mempool.hpp>

#include <cuda/memory_resource>
#include <cuda/stream_ref>
#include <cuda_runtime_api.h>
#include <thrust/device_ptr.h>
#include <thrust/device_reference.h>

#include <cstddef>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

namespace mempool {

namespace detail {

/// A stream as the library takes it: NULL is the legacy default stream there,
/// while here NULL is per-thread under --default-stream per-thread.
inline void *libraryStream(cudaStream_t s) noexcept
{
    if (s == cudaStreamLegacy)
        return nullptr;
#ifdef CUDA_API_PER_THREAD_DEFAULT_STREAM
    if (s == nullptr)
        return cudaStreamPerThread;
#endif
    return s;
}

/// The library's stream as cudart takes it here, whatever this file's default stream.
inline cudaStream_t runtimeStream(void *s) noexcept { return s ? static_cast<cudaStream_t>(s) : cudaStreamLegacy; }

[[noreturn]] inline void throwCuda(cudaError_t e, const char *what, const std::string &pool)
{
    cudaGetLastError(); // clear this thread's last error, as the library does
    throw CudaException(MP_ERR_CUDA, std::string(what) + " for pool '" + pool + "' failed: " + cudaGetErrorName(e) +
                                         " (" + cudaGetErrorString(e) + ")");
}

/// Makes `device` current for a scope (the default streams are per device).
class DeviceScope {
public:
    explicit DeviceScope(int device) : device_(device)
    {
        cudaError_t e = cudaGetDevice(&prev_);
        if (e == cudaSuccess && prev_ != device)
            e = cudaSetDevice(device);
        status_ = e;
    }
    ~DeviceScope()
    {
        if (status_ == cudaSuccess && prev_ != device_)
            cudaSetDevice(prev_);
    }
    DeviceScope(const DeviceScope &) = delete;
    DeviceScope &operator=(const DeviceScope &) = delete;
    cudaError_t status() const noexcept { return status_; }

private:
    int device_;
    int prev_ = 0;
    cudaError_t status_;
};

/// One event per device for this thread, made on first use: what a stream
/// waits on to follow the pool's stream. No other thread records it, so
/// nothing moves it between the record and the wait.
inline cudaError_t threadEvent(int device, cudaEvent_t *out)
{
    struct Events {
        std::vector<cudaEvent_t> byDevice;
        ~Events()
        {
            for (cudaEvent_t e : byDevice)
                if (e)
                    cudaEventDestroy(e);
        }
    };
    thread_local Events events;
    if (device < 0)
        return cudaErrorInvalidDevice;
    if (events.byDevice.size() <= static_cast<size_t>(device))
        events.byDevice.resize(static_cast<size_t>(device) + 1, nullptr);
    cudaEvent_t &e = events.byDevice[static_cast<size_t>(device)];
    if (!e) {
        DeviceScope on(device);
        if (on.status() != cudaSuccess)
            return on.status();
        cudaError_t err = cudaEventCreateWithFlags(&e, cudaEventDisableTiming);
        if (err != cudaSuccess) {
            e = nullptr;
            return err;
        }
    }
    *out = e;
    return cudaSuccess;
}

} // namespace detail

/// A CUDA C++ memory resource over a GPU pool (device, pinned or managed
/// memory): it models cuda::mr::resource and cuda::mr::async_resource with the
/// device_accessible property, so cuda::mr::resource_ref and
/// async_resource_ref take it. Semantics: the comment at the top of this file.
class GPUMemoryResource {
public:
    /// CCCL's default alignment: what cudaMalloc guarantees.
    static constexpr std::size_t default_alignment = ::cuda::mr::default_cuda_malloc_alignment;

    /// A resource over pool, which must hold CUDA memory: a host pool throws
    /// InvalidArgumentException, a bad handle the pool's exception.
    explicit GPUMemoryResource(mp_pool *pool) : pool_(pool), alignment_(checkedAlignment(pool)) {}
    explicit GPUMemoryResource(BasicMemoryPool &pool) : GPUMemoryResource(pool.handle()) {}

    mp_pool *pool() const noexcept { return pool_; }
    /// The pool's alignment: the largest served without mp_pool_allocate_aligned.
    std::size_t alignment() const noexcept { return alignment_; }

    // ---- synchronous (cuda::mr::resource) -------------------------------------------------
    /// bytes at a multiple of alignment, ready for any stream when this returns.
    void *allocate(std::size_t bytes, std::size_t alignment = default_alignment)
    {
        void *own = poolStream();
        int device = poolDevice();
        void *p = take(bytes, alignment);
        cudaError_t e;
        {
            detail::DeviceScope on(device);
            e = on.status() == cudaSuccess ? cudaStreamSynchronize(detail::runtimeStream(own)) : on.status();
        }
        if (e != cudaSuccess)
            giveBack(p, e, "cudaStreamSynchronize on the pool's stream");
        return p;
    }

    /// Frees p, which no queued work may use any more.
    void deallocate(void *p, std::size_t bytes, std::size_t alignment = default_alignment)
    {
        (void)bytes;
        (void)alignment;
        if (p)
            detail::check(mp_pool_deallocate(pool_, p));
    }

    // ---- stream-ordered (cuda::mr::async_resource) ------------------------------------------
    /// bytes at a multiple of alignment, ready for the work queued on stream from now on.
    void *allocate_async(std::size_t bytes, std::size_t alignment, ::cuda::stream_ref stream)
    {
        void *s = detail::libraryStream(stream.get());
        void *p = nullptr;
        if (alignment - 1 < alignment_ && (alignment & (alignment - 1)) == 0) { // a power of two, up to the pool's
            detail::check(mp_pool_allocate_on_stream(pool_, bytes ? bytes : 1, s, &p));
            return p;
        }
        void *own = poolStream();
        int device = s != own ? poolDevice() : 0;
        p = take(bytes, alignment); // refuses an alignment that is no power of two
        if (s != own) {
            cudaError_t e = follow(stream.get(), own, device);
            if (e != cudaSuccess)
                giveBack(p, e, "ordering the stream after the pool's stream");
        }
        return p;
    }
    void *allocate_async(std::size_t bytes, ::cuda::stream_ref stream)
    {
        return allocate_async(bytes, default_alignment, stream);
    }

    /// Frees p once the work queued on stream so far has run (mp_pool_deallocate_on_stream).
    void deallocate_async(void *p, std::size_t bytes, std::size_t alignment, ::cuda::stream_ref stream)
    {
        (void)bytes;
        (void)alignment;
        if (p)
            detail::check(mp_pool_deallocate_on_stream(pool_, p, detail::libraryStream(stream.get())));
    }
    void deallocate_async(void *p, std::size_t bytes, ::cuda::stream_ref stream)
    {
        deallocate_async(p, bytes, default_alignment, stream);
    }

    // ---- the same under the names of CCCL 3.1 and later ---------------------------------------
    // (cuda::mr::synchronous_resource and the stream-first cuda::mr::resource).
    void *allocate_sync(std::size_t bytes, std::size_t alignment = default_alignment)
    {
        return allocate(bytes, alignment);
    }
    void deallocate_sync(void *p, std::size_t bytes, std::size_t alignment = default_alignment)
    {
        deallocate(p, bytes, alignment);
    }
    void *allocate(::cuda::stream_ref stream, std::size_t bytes, std::size_t alignment = default_alignment)
    {
        return allocate_async(bytes, alignment, stream);
    }
    void deallocate(::cuda::stream_ref stream, void *p, std::size_t bytes, std::size_t alignment = default_alignment)
    {
        deallocate_async(p, bytes, alignment, stream);
    }

    /// Equal over one pool: either frees the other's blocks.
    friend bool operator==(const GPUMemoryResource &a, const GPUMemoryResource &b) noexcept
    {
        return a.pool_ == b.pool_;
    }
    friend bool operator!=(const GPUMemoryResource &a, const GPUMemoryResource &b) noexcept { return !(a == b); }

    /// Device memory, pinned or managed: every block is device accessible.
    friend constexpr void get_property(const GPUMemoryResource &, ::cuda::mr::device_accessible) noexcept {}

private:
    static std::size_t checkedAlignment(mp_pool *pool)
    {
        mp_backend_kind kind;
        detail::check(mp_pool_get_backend(pool, &kind));
        if (kind == MP_BACKEND_HOST) {
            const char *name = "?";
            mp_pool_get_name(pool, &name);
            throw InvalidArgumentException(MP_ERR_INVALID_ARGUMENT,
                                           std::string("pool '") + name +
                                               "' holds host memory: a GPU memory resource needs a CUDA pool "
                                               "(device, pinned or managed memory)");
        }
        mp_config c{};
        c.struct_size = sizeof c;
        detail::check(mp_pool_get_config(pool, &c));
        return c.alignment;
    }

    // Up to the pool's alignment mp_pool_allocate_aligned is mp_pool_allocate; it also
    // refuses an alignment that is not a power of two, with the pool's name.
    void *take(std::size_t bytes, std::size_t alignment)
    {
        void *p = nullptr;
        detail::check(mp_pool_allocate_aligned(pool_, bytes ? bytes : 1, alignment, &p));
        return p;
    }

    // The pool's stream as the library holds it (it may change: mp_pool_set_stream), and device.
    void *poolStream() const
    {
        void *s = nullptr;
        detail::check(mp_pool_get_stream(pool_, &s));
        return s;
    }
    int poolDevice() const
    {
        int d = 0;
        detail::check(mp_pool_get_device(pool_, &d));
        return d;
    }

    // Makes stream wait for the work queued on the pool's stream so far. The pool's
    // stream is recorded on the pool's device (its default streams are that device's);
    // stream is waited on as the caller named it, on the caller's device.
    static cudaError_t follow(cudaStream_t stream, void *own, int device)
    {
        cudaEvent_t ev;
        cudaError_t e = detail::threadEvent(device, &ev);
        if (e != cudaSuccess)
            return e;
        {
            detail::DeviceScope on(device);
            e = on.status() == cudaSuccess ? cudaEventRecord(ev, detail::runtimeStream(own)) : on.status();
        }
        return e == cudaSuccess ? cudaStreamWaitEvent(stream, ev, 0) : e;
    }

    // A block no work has seen goes back before the CUDA failure is thrown.
    [[noreturn]] void giveBack(void *p, cudaError_t e, const char *what)
    {
        mp_pool_deallocate(pool_, p);
        const char *name = "?";
        mp_pool_get_name(pool_, &name);
        detail::throwCuda(e, what, name);
    }

    mp_pool *pool_;
    std::size_t alignment_;
};

#if CCCL_VERSION >= 3001000
static_assert(::cuda::mr::synchronous_resource_with<GPUMemoryResource, ::cuda::mr::device_accessible>,
              "GPUMemoryResource is a synchronous cuda::mr resource with device_accessible");
static_assert(::cuda::mr::resource_with<GPUMemoryResource, ::cuda::mr::device_accessible>,
              "GPUMemoryResource is a stream-ordered cuda::mr resource with device_accessible");
#else
static_assert(::cuda::mr::resource_with<GPUMemoryResource, ::cuda::mr::device_accessible>,
              "GPUMemoryResource is a cuda::mr resource with device_accessible");
static_assert(::cuda::mr::async_resource_with<GPUMemoryResource, ::cuda::mr::device_accessible>,
              "GPUMemoryResource is a cuda::mr async resource with device_accessible");
#endif

/// An allocator of T in a GPU pool for thrust::device_vector<T, GPUAllocator<T>>
/// (pointers are thrust::device_ptr<T>, so thrust runs its algorithms on the
/// device). allocate and deallocate are the resource's synchronous ones: the
/// memory is ready for any stream, and thrust frees a vector's memory only
/// when its own work on it is done. Copies, rebinds included, share the pool
/// and propagate with the container.
template <typename T> class GPUAllocator {
public:
    using value_type = T;
    using pointer = thrust::device_ptr<T>;
    using const_pointer = thrust::device_ptr<const T>;
    using void_pointer = thrust::device_ptr<void>;
    using const_void_pointer = thrust::device_ptr<const void>;
    using reference = thrust::device_reference<T>;
    using const_reference = thrust::device_reference<const T>;
    using size_type = std::size_t;
    using difference_type = std::ptrdiff_t;
    using propagate_on_container_copy_assignment = std::true_type;
    using propagate_on_container_move_assignment = std::true_type;
    using propagate_on_container_swap = std::true_type;
    using is_always_equal = std::false_type;
    template <typename U> struct rebind {
        using other = GPUAllocator<U>;
    };

    explicit GPUAllocator(const GPUMemoryResource &resource) noexcept : resource_(resource) {}
    template <typename U> GPUAllocator(const GPUAllocator<U> &other) noexcept : resource_(other.resource()) {}

    /// n objects' worth of memory; count * sizeof(T) past SIZE_MAX is an OutOfMemoryException.
    pointer allocate(size_type n)
    {
        return pointer(static_cast<T *>(resource_.allocate(detail::bytes<T>(n), alignof(T))));
    }
    void deallocate(pointer p, size_type n) { resource_.deallocate(p.get(), n * sizeof(T), alignof(T)); }
    size_type max_size() const noexcept { return std::numeric_limits<size_type>::max() / sizeof(T); }

    const GPUMemoryResource &resource() const noexcept { return resource_; }

    template <typename U> bool operator==(const GPUAllocator<U> &other) const noexcept
    {
        return resource_ == other.resource();
    }
    template <typename U> bool operator!=(const GPUAllocator<U> &other) const noexcept { return !(*this == other); }

private:
    GPUMemoryResource resource_;
};

/// Bytes in a GPU pool, ordered on one stream: thrust's temporary storage,
///   thrust::sort(thrust::cuda::par_nosync(tmp).on(stream), first, last);
/// (or par(tmp).on(stream)), so that the algorithm's scratch memory comes from
/// the pool. Give it the stream the algorithm runs on: blocks are
/// allocate_async'd and deallocate_async'd there, so a par_nosync algorithm
/// may return, and free its scratch, while its kernels still run. Blocks are
/// aligned as cudaMalloc's (256 bytes), which thrust expects of scratch memory.
class GPUTemporaryAllocator {
public:
    using value_type = char;
    using pointer = char *;
    using size_type = std::size_t;
    using difference_type = std::ptrdiff_t;

    explicit GPUTemporaryAllocator(const GPUMemoryResource &resource, cudaStream_t stream = nullptr) noexcept
        : resource_(resource), stream_(stream) {}

    char *allocate(std::size_t bytes)
    {
        return static_cast<char *>(resource_.allocate_async(bytes, GPUMemoryResource::default_alignment, stream_));
    }
    void deallocate(char *p, std::size_t bytes)
    {
        resource_.deallocate_async(p, bytes, GPUMemoryResource::default_alignment, stream_);
    }

    const GPUMemoryResource &resource() const noexcept { return resource_; }
    cudaStream_t stream() const noexcept { return stream_; }

    friend bool operator==(const GPUTemporaryAllocator &a, const GPUTemporaryAllocator &b) noexcept
    {
        return a.resource_ == b.resource_ &&
               detail::libraryStream(a.stream_) == detail::libraryStream(b.stream_); // cudaStreamLegacy is NULL
    }
    friend bool operator!=(const GPUTemporaryAllocator &a, const GPUTemporaryAllocator &b) noexcept
    {
        return !(a == b);
    }

private:
    GPUMemoryResource resource_;
    cudaStream_t stream_;
};

} // namespace mempool

#endif // MEMPOOL_MEMPOOL_CUDA_HPP

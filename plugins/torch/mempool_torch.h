/*
 * mempool_torch: mempool GPU pools as PyTorch's CUDA allocator.
 *
 * A small library (libmempool_torch.so) built on the public C ABI only
 * (<mempool/mempool.h>), linked with mempool's static library so that it
 * needs nothing but libc, libstdc++ and the driver where it runs. PyTorch
 * loads it through torch.cuda.memory.CUDAPluggableAllocator; the Python
 * helper python/mempool_torch does that (mempool_torch.use()).
 *
 *  - One pool per CUDA device, created on the device's first allocation from
 *    the preset chosen by mempool_torch_configure ("default" unless called).
 *    Creation is serialised: threads racing to allocate first on a device
 *    get one pool.
 *  - The pool's stream is the stream of that first allocation. A free on it
 *    is mp_pool_deallocate (stream order makes reuse safe at once); a free on
 *    any other stream is mp_pool_deallocate_on_stream (the block waits
 *    behind an event recorded there). An allocation for another stream is
 *    mp_pool_allocate_on_stream: the pool makes that stream wait for its own
 *    when a block freed in its stream's order may be handed out.
 *  - PyTorch passes every free the stream its block was allocated on, and
 *    tensor.record_stream() does nothing under a pluggable allocator (its
 *    Python API installs no record-stream callback): a tensor used on a
 *    second stream must be synchronised by the program before it is dropped.
 *  - Failures: the callbacks return pointers, not statuses. mempool_torch_malloc
 *    returns NULL and keeps the detail for mempool_torch_last_error().
 *    PyTorch does not check the pointer it gets (CUDAPluggableAllocator::malloc
 *    stores it as the tensor's data), so the helper installs
 *    mempool_torch_malloc_throw, which throws a C++ exception carrying the
 *    detail: PyTorch turns it into a RuntimeError at the Python call.
 *  - Nothing here prints. Frees of pointers no pool handed out change
 *    nothing and only set the last error.
 *  - CUDA graph capture is not supported: blocks freed after a capture would
 *    be reused under the graph. An allocation for a capturing stream other
 *    than the pool's fails (MP_ERR_UNSUPPORTED) rather than break the capture
 *    (PyTorch captures on a stream of its own).
 *  - MEMPOOL_TORCH_TRACE=<path> (read at the first allocation) records every
 *    allocation and free of the first device's pool into <path> (created or
 *    truncated; "%p" in it becomes the process id) in the format of
 *    bench/traces/FORMAT.md; tracing serialises the callbacks.
 *  - MEMPOOL_TORCH_TIMING=1 (read at the first allocation) times each
 *    mp_pool_allocate and free call with CLOCK_MONOTONIC (see the JSON).
 *
 * Statuses returned as int are mp_status values (0 = MP_OK).
 */
#ifndef MEMPOOL_TORCH_H
#define MEMPOOL_TORCH_H

#include <cuda_runtime_api.h>
#include <mempool/mempool.h>

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(MEMPOOL_TORCH_BUILDING)
#  define MPT_API __attribute__((visibility("default")))
#else
#  define MPT_API
#endif

/** Devices the plug-in serves: 0 .. MEMPOOL_TORCH_MAX_DEVICES - 1. */
#define MEMPOOL_TORCH_MAX_DEVICES 64

/* ---- The allocator callbacks (CUDAPluggableAllocator's signatures) ---- */

/** size bytes on device for work on stream. NULL for size 0 (as PyTorch's own
 *  allocators) and on failure, with the detail kept for mempool_torch_last_error. */
MPT_API void *mempool_torch_malloc(size_t size, int device, cudaStream_t stream);
/** As mempool_torch_malloc, but a failure throws (C++): an exception derived from
 *  std::bad_alloc when the pool is out of memory, std::runtime_error otherwise,
 *  what() carrying the detail. The callback the Python helper installs. */
MPT_API void *mempool_torch_malloc_throw(size_t size, int device, cudaStream_t stream);
/** Frees ptr (size bytes as allocated) on stream. NULL does nothing; a pointer
 *  no pool handed out changes nothing and sets the last error. */
MPT_API void mempool_torch_free(void *ptr, size_t size, int device, cudaStream_t stream);

/* ---- Configuration and diagnostics ------------------------------------- */

/** Chooses the preset of pools created from now on: "default"
 *  (mp_config_default_gpu) or "high_performance" (mp_config_high_performance_gpu);
 *  max_bytes > 0 caps each pool's reserved bytes (mp_config.max_size). Refused
 *  once a pool exists (MP_ERR_INVALID_OPERATION); an unknown preset is
 *  MP_ERR_INVALID_ARGUMENT. */
MPT_API int mempool_torch_configure(const char *preset, size_t max_bytes);
/** The detail of the plug-in's last failure on any thread ("" if none). The
 *  string is this thread's copy, valid until its next call here. */
MPT_API const char *mempool_torch_last_error(void);
/** The stats of device's pool (mp_pool_get_stats, written up to out->struct_size).
 *  MP_ERR_NOT_FOUND when the device has no pool yet. */
MPT_API int mempool_torch_stats(int device, mp_stats *out);
/** Hands the idle memory of device's pool back to CUDA now (mp_pool_trim to 0
 *  bytes kept). A device without a pool has nothing to trim: MP_OK. */
MPT_API int mempool_torch_trim(int device);
/** Every pool as a JSON array, one object per device with a pool: device,
 *  preset, max_bytes, the plug-in's own counters ("counters": requested bytes
 *  live and at peak, calls, other-stream calls, timing) and the pool's
 *  mp_pool_stats_json ("stats"). Writes at most cap bytes with a NUL (as
 *  snprintf) and returns the length of the whole text, or -1 on failure. */
MPT_API int mempool_torch_pools_json(char *buf, size_t cap);

/* ---- The allocation trace (MEMPOOL_TORCH_TRACE) ----------------------- */

/** Tells the trace that the host synchronised the device: writes an `s` line for
 *  each stream with frees still waiting since the last one. Does nothing
 *  without a trace. */
MPT_API void mempool_torch_trace_synchronized(void);
/** Flushes the trace file (also done at exit): MP_OK (also without a trace),
 *  or MP_ERR_INVALID_OPERATION when a write failed (detail in the last error). */
MPT_API int mempool_torch_trace_flush(void);

#ifdef __cplusplus
}
#endif

#endif /* MEMPOOL_TORCH_H */

/* Wrappers over cudart that turn cudaError_t into mp_status with the CUDA
 * error's name in the detail. Device out-of-memory maps to
 * MP_ERR_OUT_OF_MEMORY, a bad device id to MP_ERR_INVALID_ARGUMENT, a missing
 * driver or device to MP_ERR_UNSUPPORTED, anything else to MP_ERR_CUDA. */
#include "backend/cuda_rt.h"

#ifdef MEMPOOL_HAVE_CUDA
#include <cuda_runtime_api.h>
#include <stdatomic.h>

static mp_status cuda_fail(cudaError_t e, const char *what, size_t size, int device)
{
    mp_status s = MP_ERR_CUDA;
    if (e == cudaErrorMemoryAllocation)
        s = MP_ERR_OUT_OF_MEMORY;
    else if (e == cudaErrorInvalidDevice)
        s = MP_ERR_INVALID_ARGUMENT;
    else if (e == cudaErrorNoDevice || e == cudaErrorInsufficientDriver)
        s = MP_ERR_UNSUPPORTED;
    cudaGetLastError(); /* clear the sticky-free error state of this thread */
    return mp__fail(s, "%s of %zu bytes on device %d failed: %s (%s)", what, size, device,
                    cudaGetErrorName(e), cudaGetErrorString(e));
}

int mp__cuda_device_count(void)
{
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
        cudaGetLastError();
        return 0;
    }
    return n;
}

mp_status mp__cuda_check_device(int device)
{
    int n = mp__cuda_device_count();
    if (n == 0)
        return mp__fail(MP_ERR_UNSUPPORTED, "no CUDA device is available on this machine");
    if (device < 0 || device >= n)
        return mp__fail(MP_ERR_INVALID_ARGUMENT, "device %d does not exist (this machine has %d)", device, n);
    return MP_OK;
}

/* Runs the call on `device` and puts the caller's current device back. */
#define ON_DEVICE(device, call)                                                                    \
    int prev_ = 0;                                                                                 \
    cudaGetDevice(&prev_);                                                                         \
    cudaError_t e = cudaSetDevice(device);                                                         \
    if (e == cudaSuccess)                                                                          \
        e = (call);                                                                                \
    cudaSetDevice(prev_)

mp_status mp__cuda_malloc(int device, size_t size, void **out)
{
    ON_DEVICE(device, cudaMalloc(out, size));
    return e == cudaSuccess ? MP_OK : cuda_fail(e, "cudaMalloc", size, device);
}

mp_status mp__cuda_malloc_managed(int device, size_t size, void **out)
{
    ON_DEVICE(device, cudaMallocManaged(out, size, cudaMemAttachGlobal));
    return e == cudaSuccess ? MP_OK : cuda_fail(e, "cudaMallocManaged", size, device);
}

mp_status mp__cuda_malloc_host(size_t size, void **out)
{
    if (mp__cuda_device_count() == 0)
        return mp__fail(MP_ERR_UNSUPPORTED, "pinned memory needs a CUDA device; none is available");
    cudaError_t e = cudaHostAlloc(out, size, cudaHostAllocPortable);
    return e == cudaSuccess ? MP_OK : cuda_fail(e, "cudaHostAlloc", size, -1);
}

void mp__cuda_free(int device, void *p)
{
    int prev = 0;
    cudaGetDevice(&prev);
    cudaSetDevice(device);
    cudaFree(p);
    cudaSetDevice(prev);
}

void mp__cuda_free_host(void *p) { cudaFreeHost(p); }

/* The device whose memory p is (cudaMalloc'd), or -1: host, managed or
 * unknown memory. */
static int device_of(const void *p)
{
    struct cudaPointerAttributes a;
    if (cudaPointerGetAttributes(&a, p) != cudaSuccess) {
        cudaGetLastError();
        return -1;
    }
    return a.type == cudaMemoryTypeDevice ? a.device : -1;
}

/* Lets device reach peer's memory directly where the hardware can, once per
 * pair (0: not tried, 1: enabled, 2: not possible). Without it CUDA stages
 * a copy between the two through host memory. */
#define PEER_MAX 64
static _Atomic unsigned char peer_state[PEER_MAX][PEER_MAX];

static void enable_peer(int device, int peer)
{
    if (device >= PEER_MAX || peer >= PEER_MAX || atomic_load(&peer_state[device][peer]))
        return;
    int can = 0;
    unsigned char state = 2;
    if (cudaDeviceCanAccessPeer(&can, device, peer) == cudaSuccess && can) {
        ON_DEVICE(device, cudaDeviceEnablePeerAccess(peer, 0));
        if (e == cudaSuccess || e == cudaErrorPeerAccessAlreadyEnabled)
            state = 1;
    }
    cudaGetLastError();
    atomic_store(&peer_state[device][peer], state);
}

mp_status mp__cuda_copy(int device, void *stream, void *dst, const void *src, size_t size, mp__copy_kind kind)
{
    static const enum cudaMemcpyKind kinds[] = {cudaMemcpyHostToDevice, cudaMemcpyDeviceToHost,
                                                cudaMemcpyDeviceToDevice};
    static const char *names[] = {"cudaMemcpyAsync host-to-device", "cudaMemcpyAsync device-to-host",
                                  "cudaMemcpyAsync device-to-device"};
    int from = kind == MP__D2D ? device_of(src) : -1, to = kind == MP__D2D ? device_of(dst) : -1;
    bool peer = from >= 0 && to >= 0 && from != to;
    if (peer) { /* between two devices: directly where peer access is possible */
        enable_peer(to, from);
        enable_peer(from, to);
    }
    ON_DEVICE(device, peer ? cudaMemcpyPeerAsync(dst, to, src, from, size, (cudaStream_t)stream)
                           : cudaMemcpyAsync(dst, src, size, kinds[kind], (cudaStream_t)stream));
    if (e == cudaSuccess) {
        cudaSetDevice(device);
        e = cudaStreamSynchronize((cudaStream_t)stream);
        cudaSetDevice(prev_);
    }
    return e == cudaSuccess ? MP_OK : cuda_fail(e, peer ? "cudaMemcpyPeerAsync" : names[kind], size, device);
}

mp_status mp__cuda_event_record(int device, void *stream, void **event)
{
    cudaEvent_t ev = NULL;
    ON_DEVICE(device, cudaEventCreateWithFlags(&ev, cudaEventDisableTiming));
    if (e == cudaSuccess) {
        cudaSetDevice(device);
        e = cudaEventRecord(ev, (cudaStream_t)stream);
        cudaSetDevice(prev_);
        if (e != cudaSuccess)
            cudaEventDestroy(ev);
    }
    if (e != cudaSuccess)
        return cuda_fail(e, "cudaEventRecord", 0, device);
    *event = ev;
    return MP_OK;
}

bool mp__cuda_event_done(void *event)
{
    cudaError_t e = cudaEventQuery((cudaEvent_t)event);
    if (e != cudaSuccess && e != cudaErrorNotReady)
        cudaGetLastError();
    return e == cudaSuccess;
}

void mp__cuda_event_drop(void *event) { cudaEventDestroy((cudaEvent_t)event); }

#else /* built without CUDA */

static mp_status no_cuda(void)
{
    return mp__fail(MP_ERR_UNSUPPORTED, "mempool was built without CUDA; GPU memory is unavailable");
}

int mp__cuda_device_count(void) { return 0; }
mp_status mp__cuda_check_device(int device) { (void)device; return no_cuda(); }
mp_status mp__cuda_malloc(int device, size_t size, void **out) { (void)device; (void)size; (void)out; return no_cuda(); }
mp_status mp__cuda_malloc_host(size_t size, void **out) { (void)size; (void)out; return no_cuda(); }
mp_status mp__cuda_malloc_managed(int device, size_t size, void **out) { (void)device; (void)size; (void)out; return no_cuda(); }
void mp__cuda_free(int device, void *p) { (void)device; (void)p; }
mp_status mp__cuda_event_record(int device, void *stream, void **event)
{
    (void)device; (void)stream; (void)event;
    return no_cuda();
}
bool mp__cuda_event_done(void *event) { (void)event; return true; }
void mp__cuda_event_drop(void *event) { (void)event; }
void mp__cuda_free_host(void *p) { (void)p; }
mp_status mp__cuda_copy(int device, void *stream, void *dst, const void *src, size_t size, mp__copy_kind kind)
{
    (void)device; (void)stream; (void)dst; (void)src; (void)size; (void)kind;
    return no_cuda();
}

#endif

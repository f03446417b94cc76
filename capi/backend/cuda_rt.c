/* Wrappers over cudart that turn cudaError_t into mp_status with the CUDA
 * error's name in the detail. Device out-of-memory maps to
 * MP_ERR_OUT_OF_MEMORY, a bad device id to MP_ERR_INVALID_ARGUMENT, a missing
 * driver or device to MP_ERR_UNSUPPORTED, anything else to MP_ERR_CUDA. */
#include "backend/cuda_rt.h"
#include "backend/cuda_sim.h"

#include <time.h>

/* MP_OK if device is one of n, else why not. */
static mp_status device_in(int device, int n)
{
    if (n == 0)
        return mp__fail(MP_ERR_UNSUPPORTED, "no CUDA device is available on this machine");
    if (device < 0 || device >= n)
        return mp__fail(MP_ERR_INVALID_ARGUMENT, "device %d does not exist (this machine has %d)", device, n);
    return MP_OK;
}

#ifdef MEMPOOL_HAVE_CUDA
#include <cuda.h> /* the driver's types only: its calls come through cudaGetDriverEntryPointByVersion */
#include <cudaTypedefs.h>
#include <cuda_runtime_api.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

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

static int rt_device_count(void)
{
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
        cudaGetLastError();
        return 0;
    }
    return n;
}

static mp_status rt_check_device(int device) { return device_in(device, rt_device_count()); }

/* Runs the call on `device` and puts the caller's current device back. */
#define ON_DEVICE(device, call)                                                                    \
    int prev_ = 0;                                                                                 \
    cudaGetDevice(&prev_);                                                                         \
    cudaError_t e = prev_ == (device) ? cudaSuccess : cudaSetDevice(device);                       \
    if (e == cudaSuccess)                                                                          \
        e = (call);                                                                                \
    if (prev_ != (device))                                                                         \
    cudaSetDevice(prev_)

static mp_status rt_malloc(int device, size_t size, void **out)
{
    ON_DEVICE(device, cudaMalloc(out, size));
    return e == cudaSuccess ? MP_OK : cuda_fail(e, "cudaMalloc", size, device);
}

static mp_status rt_malloc_managed(int device, size_t size, void **out)
{
    ON_DEVICE(device, cudaMallocManaged(out, size, cudaMemAttachGlobal));
    return e == cudaSuccess ? MP_OK : cuda_fail(e, "cudaMallocManaged", size, device);
}

static mp_status rt_malloc_host(size_t size, void **out)
{
    if (rt_device_count() == 0)
        return mp__fail(MP_ERR_UNSUPPORTED, "pinned memory needs a CUDA device; none is available");
    cudaError_t e = cudaHostAlloc(out, size, cudaHostAllocPortable);
    return e == cudaSuccess ? MP_OK : cuda_fail(e, "cudaHostAlloc", size, -1);
}

static void rt_free(int device, void *p)
{
    int prev = 0;
    cudaGetDevice(&prev);
    cudaSetDevice(device);
    cudaFree(p);
    cudaSetDevice(prev);
}

static void rt_free_host(void *p) { cudaFreeHost(p); }

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

static mp_status rt_copy(int device, void *stream, void *dst, const void *src, size_t size, mp__copy_kind kind)
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

/* Events are kept for reuse, per device: a free on a stream records one,
 * and creating and destroying each (two more runtime calls) cost more than
 * the record. What the pool holds is one of these. */
typedef struct rt_event {
    cudaEvent_t ev;
    int device;
    struct rt_event *next;
} rt_event;

#define EVENT_DEVICES 64
#define EVENTS_KEPT 256 /* a device's spare events at most */
static pthread_mutex_t events_lock = PTHREAD_MUTEX_INITIALIZER;
static rt_event *spare_events[EVENT_DEVICES];
static unsigned nspare_events[EVENT_DEVICES];

/* A forked child has no CUDA context to use them in, and the lock may have
 * been held: it starts with none. */
static void events_child(void)
{
    pthread_mutex_init(&events_lock, NULL);
    memset(spare_events, 0, sizeof spare_events);
    memset(nspare_events, 0, sizeof nspare_events);
}
static pthread_once_t events_once = PTHREAD_ONCE_INIT;
static void events_init(void) { pthread_atfork(NULL, NULL, events_child); }

static rt_event *spare_event(int device)
{
    rt_event *w = NULL;
    if (device < 0 || device >= EVENT_DEVICES)
        return NULL;
    pthread_mutex_lock(&events_lock);
    if ((w = spare_events[device])) {
        spare_events[device] = w->next;
        nspare_events[device]--;
    }
    pthread_mutex_unlock(&events_lock);
    return w;
}

/* Records w (made first when new) on stream; on failure w's event is gone. */
static cudaError_t made_and_recorded(rt_event *w, bool made, void *stream)
{
    cudaError_t e = made ? cudaEventCreateWithFlags(&w->ev, cudaEventDisableTiming) : cudaSuccess;
    if (e == cudaSuccess && (e = cudaEventRecord(w->ev, (cudaStream_t)stream)) != cudaSuccess)
        cudaEventDestroy(w->ev);
    return e;
}

static mp_status rt_event_record(int device, void *stream, void **event)
{
    pthread_once(&events_once, events_init);
    rt_event *w = spare_event(device);
    bool made = !w;
    if (made && !(w = malloc(sizeof *w)))
        return mp__fail(MP_ERR_OUT_OF_MEMORY, "no host memory for a stream event");
    /* On the device: a NULL stream is the current device's. */
    ON_DEVICE(device, made_and_recorded(w, made, stream));
    if (e != cudaSuccess) {
        free(w);
        return cuda_fail(e, "cudaEventRecord", 0, device);
    }
    w->device = device;
    *event = w;
    return MP_OK;
}

static mp_status rt_event_rerecord(int device, void *stream, void *event)
{
    ON_DEVICE(device, cudaEventRecord(((rt_event *)event)->ev, (cudaStream_t)stream));
    return e == cudaSuccess ? MP_OK : cuda_fail(e, "cudaEventRecord", 0, device);
}

static bool rt_event_done(void *event)
{
    cudaError_t e = cudaEventQuery(((rt_event *)event)->ev);
    if (e != cudaSuccess && e != cudaErrorNotReady)
        cudaGetLastError();
    return e == cudaSuccess;
}

static void rt_event_drop(void *event)
{
    rt_event *w = event;
    bool kept = false;
    if (w->device >= 0 && w->device < EVENT_DEVICES) {
        pthread_mutex_lock(&events_lock);
        if ((kept = nspare_events[w->device] < EVENTS_KEPT)) {
            w->next = spare_events[w->device];
            spare_events[w->device] = w;
            nspare_events[w->device]++;
        }
        pthread_mutex_unlock(&events_lock);
    }
    if (!kept) {
        cudaEventDestroy(w->ev);
        free(w);
    }
}

static mp_status rt_stream_sync(int device, void *stream)
{
    ON_DEVICE(device, cudaStreamSynchronize((cudaStream_t)stream));
    return e == cudaSuccess ? MP_OK : cuda_fail(e, "cudaStreamSynchronize", 0, device);
}

static mp_status rt_stream_wait(int device, void *stream, void *event)
{
    ON_DEVICE(device, cudaStreamWaitEvent((cudaStream_t)stream, ((rt_event *)event)->ev, 0));
    return e == cudaSuccess ? MP_OK : cuda_fail(e, "cudaStreamWaitEvent", 0, device);
}

static mp_status rt_device_sync(int device)
{
    ON_DEVICE(device, cudaDeviceSynchronize());
    return e == cudaSuccess ? MP_OK : cuda_fail(e, "cudaDeviceSynchronize", 0, device);
}

static size_t rt_device_memory(int device)
{
    size_t free_b = 0, total = 0;
    ON_DEVICE(device, cudaMemGetInfo(&free_b, &total));
    if (e != cudaSuccess) {
        cudaGetLastError();
        return 0;
    }
    return total;
}

/* ---- virtual memory management: driver calls through cudart ---------- */

static struct {
    PFN_cuDeviceGetAttribute_v2000 get_attribute;
    PFN_cuMemGetAllocationGranularity_v10020 granularity;
    PFN_cuMemAddressReserve_v10020 reserve;
    PFN_cuMemAddressFree_v10020 free;
    PFN_cuMemCreate_v10020 create;
    PFN_cuMemRelease_v10020 release;
    PFN_cuMemMap_v10020 map;
    PFN_cuMemUnmap_v10020 unmap;
    PFN_cuMemSetAccess_v10020 set_access;
    bool ok;
} drv;
static pthread_once_t drv_once = PTHREAD_ONCE_INIT;

static void *entry(const char *name)
{
    void *fn = NULL;
    enum cudaDriverEntryPointQueryResult q;
    if (cudaGetDriverEntryPointByVersion(name, &fn, 12000, cudaEnableDefault, &q) != cudaSuccess ||
        q != cudaDriverEntryPointSuccess) {
        cudaGetLastError();
        return NULL;
    }
    return fn;
}

static void drv_load(void)
{
    drv.get_attribute = (PFN_cuDeviceGetAttribute_v2000)entry("cuDeviceGetAttribute");
    drv.granularity = (PFN_cuMemGetAllocationGranularity_v10020)entry("cuMemGetAllocationGranularity");
    drv.reserve = (PFN_cuMemAddressReserve_v10020)entry("cuMemAddressReserve");
    drv.free = (PFN_cuMemAddressFree_v10020)entry("cuMemAddressFree");
    drv.create = (PFN_cuMemCreate_v10020)entry("cuMemCreate");
    drv.release = (PFN_cuMemRelease_v10020)entry("cuMemRelease");
    drv.map = (PFN_cuMemMap_v10020)entry("cuMemMap");
    drv.unmap = (PFN_cuMemUnmap_v10020)entry("cuMemUnmap");
    drv.set_access = (PFN_cuMemSetAccess_v10020)entry("cuMemSetAccess");
    drv.ok = drv.get_attribute && drv.granularity && drv.reserve && drv.free && drv.create && drv.release &&
             drv.map && drv.unmap && drv.set_access;
}

static CUmemAllocationProp device_prop(int device)
{
    CUmemAllocationProp p;
    memset(&p, 0, sizeof p);
    p.type = CU_MEM_ALLOCATION_TYPE_PINNED;
    p.location.type = CU_MEM_LOCATION_TYPE_DEVICE;
    p.location.id = device;
    return p;
}

#define VMM_DEVICES 64
static _Atomic size_t vmm_granule[VMM_DEVICES]; /* 0: not asked yet; 1: cannot; else the granularity */

static size_t rt_vmm_granule(int device)
{
    if (device < 0 || device >= VMM_DEVICES || device >= rt_device_count())
        return 0;
    size_t g = atomic_load(&vmm_granule[device]);
    if (g)
        return g == 1 ? 0 : g;
    pthread_once(&drv_once, drv_load);
    int supported = 0;
    CUmemAllocationProp prop = device_prop(device);
    g = 1;
    if (drv.ok && drv.get_attribute(&supported, CU_DEVICE_ATTRIBUTE_VIRTUAL_MEMORY_MANAGEMENT_SUPPORTED, device) ==
                      CUDA_SUCCESS && supported) {
        size_t gran = 0;
        if (drv.granularity(&gran, &prop, CU_MEM_ALLOC_GRANULARITY_RECOMMENDED) == CUDA_SUCCESS && gran > 1)
            g = gran;
    }
    atomic_store(&vmm_granule[device], g);
    return g == 1 ? 0 : g;
}

static mp_status drv_fail(CUresult r, const char *what, size_t size, int device)
{
    return mp__fail(r == CUDA_ERROR_OUT_OF_MEMORY ? MP_ERR_OUT_OF_MEMORY : MP_ERR_CUDA,
                    "%s of %zu bytes on device %d failed: CUresult %d%s", what, size, device, (int)r,
                    r == CUDA_ERROR_OUT_OF_MEMORY ? " (CUDA_ERROR_OUT_OF_MEMORY)" : "");
}

static mp_status rt_vmm_reserve(int device, size_t size, size_t alignment, void **out)
{
    if (!rt_vmm_granule(device))
        return mp__fail(MP_ERR_UNSUPPORTED, "device %d cannot map memory on demand", device);
    CUdeviceptr va = 0;
    CUresult r = drv.reserve(&va, size, alignment, 0, 0);
    if (r != CUDA_SUCCESS)
        return drv_fail(r, "cuMemAddressReserve", size, device);
    *out = (void *)(uintptr_t)va;
    return MP_OK;
}

static void rt_vmm_free(void *va, size_t size) { drv.free((CUdeviceptr)(uintptr_t)va, size); }

static mp_status rt_vmm_map(int device, void *va, size_t size, uint64_t *handle)
{
    CUmemAllocationProp prop = device_prop(device);
    CUmemGenericAllocationHandle h;
    CUdeviceptr p = (CUdeviceptr)(uintptr_t)va;
    CUresult r = drv.create(&h, size, &prop, 0);
    if (r != CUDA_SUCCESS)
        return drv_fail(r, "cuMemCreate", size, device);
    if ((r = drv.map(p, size, 0, h, 0)) != CUDA_SUCCESS) {
        drv.release(h);
        return drv_fail(r, "cuMemMap", size, device);
    }
    /* The owner reads and writes it, and so does every device that can
     * reach it directly (peer copies and kernels, as with cudaMalloc once
     * peer access is on). */
    CUmemAccessDesc desc[VMM_DEVICES];
    size_t n = 0;
    int count = rt_device_count();
    for (int d = 0; d < count && d < VMM_DEVICES; d++) {
        int can = d == device;
        if (!can && cudaDeviceCanAccessPeer(&can, d, device) != cudaSuccess) {
            cudaGetLastError();
            can = 0;
        }
        if (can)
            desc[n++] = (CUmemAccessDesc){.location = {.type = CU_MEM_LOCATION_TYPE_DEVICE, .id = d},
                                          .flags = CU_MEM_ACCESS_FLAGS_PROT_READWRITE};
    }
    if ((r = drv.set_access(p, size, desc, n)) != CUDA_SUCCESS) {
        drv.unmap(p, size);
        drv.release(h);
        return drv_fail(r, "cuMemSetAccess", size, device);
    }
    *handle = (uint64_t)h;
    return MP_OK;
}

static void rt_vmm_unmap(void *va, size_t size, uint64_t handle)
{
    drv.unmap((CUdeviceptr)(uintptr_t)va, size);
    drv.release((CUmemGenericAllocationHandle)handle);
}

#else /* built without CUDA */

static mp_status no_cuda(void)
{
    return mp__fail(MP_ERR_UNSUPPORTED, "mempool was built without CUDA; GPU memory is unavailable");
}

static int rt_device_count(void) { return 0; }
static mp_status rt_check_device(int device) { (void)device; return no_cuda(); }
static mp_status rt_malloc(int device, size_t size, void **out) { (void)device; (void)size; (void)out; return no_cuda(); }
static mp_status rt_malloc_host(size_t size, void **out) { (void)size; (void)out; return no_cuda(); }
static mp_status rt_malloc_managed(int device, size_t size, void **out) { (void)device; (void)size; (void)out; return no_cuda(); }
static void rt_free(int device, void *p) { (void)device; (void)p; }
static mp_status rt_event_record(int device, void *stream, void **event)
{
    (void)device; (void)stream; (void)event;
    return no_cuda();
}
static mp_status rt_event_rerecord(int device, void *stream, void *event)
{
    (void)device; (void)stream; (void)event;
    return no_cuda();
}
static bool rt_event_done(void *event) { (void)event; return true; }
static void rt_event_drop(void *event) { (void)event; }
static void rt_free_host(void *p) { (void)p; }
static mp_status rt_copy(int device, void *stream, void *dst, const void *src, size_t size, mp__copy_kind kind)
{
    (void)device; (void)stream; (void)dst; (void)src; (void)size; (void)kind;
    return no_cuda();
}

static mp_status rt_stream_sync(int device, void *stream) { (void)device; (void)stream; return no_cuda(); }
static size_t rt_device_memory(int device) { (void)device; return 0; }
static mp_status rt_device_sync(int device) { (void)device; return no_cuda(); }
static mp_status rt_stream_wait(int device, void *stream, void *event)
{
    (void)device; (void)stream; (void)event;
    return no_cuda();
}
static size_t rt_vmm_granule(int device) { (void)device; return 0; }
static mp_status rt_vmm_reserve(int device, size_t size, size_t alignment, void **out)
{
    (void)device; (void)size; (void)alignment; (void)out;
    return no_cuda();
}
static void rt_vmm_free(void *va, size_t size) { (void)va; (void)size; }
static mp_status rt_vmm_map(int device, void *va, size_t size, uint64_t *handle)
{
    (void)device; (void)va; (void)size; (void)handle;
    return no_cuda();
}
static void rt_vmm_unmap(void *va, size_t size, uint64_t handle) { (void)va; (void)size; (void)handle; }

#endif

/* ---- the door: the runtime, or the host-side stand-in while it is on --- */

#define SIM mp__sim_on()

int mp__cuda_device_count(void) { return SIM ? mp__sim_device_count() : rt_device_count(); }

mp_status mp__cuda_check_device(int device)
{
    return SIM ? device_in(device, mp__sim_device_count()) : rt_check_device(device);
}

mp_status mp__cuda_malloc(int device, size_t size, void **out)
{
    return SIM ? mp__sim_malloc(device, size, out) : rt_malloc(device, size, out);
}

mp_status mp__cuda_malloc_managed(int device, size_t size, void **out)
{
    return SIM ? mp__sim_malloc(device, size, out) : rt_malloc_managed(device, size, out);
}

mp_status mp__cuda_malloc_host(size_t size, void **out)
{
    if (SIM)
        return mp__fail(MP_ERR_UNSUPPORTED, "pinned memory is not simulated");
    return rt_malloc_host(size, out);
}

void mp__cuda_free(int device, void *p)
{
    if (SIM)
        mp__sim_free(p);
    else
        rt_free(device, p);
}

void mp__cuda_free_host(void *p) { rt_free_host(p); }

mp_status mp__cuda_copy(int device, void *stream, void *dst, const void *src, size_t size, mp__copy_kind kind)
{
    return SIM ? MP_OK : rt_copy(device, stream, dst, src, size, kind); /* simulated memory holds no data */
}

mp_status mp__cuda_stream_sync(int device, void *stream)
{
    return SIM ? mp__sim_stream_sync(stream) : rt_stream_sync(device, stream);
}

mp_status mp__cuda_stream_wait(int device, void *stream, void *event)
{
    return SIM ? mp__sim_stream_wait(stream, event) : rt_stream_wait(device, stream, event);
}

uint64_t mp__cuda_clock_ns(void)
{
    if (SIM)
        return mp__sim_clock_ns();
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

mp_status mp__cuda_device_sync(int device)
{
    return SIM ? mp__sim_device_sync() : rt_device_sync(device);
}

size_t mp__cuda_device_memory(int device) { return SIM ? mp__sim_device_memory(device) : rt_device_memory(device); }

size_t mp__cuda_vmm_granule(int device) { return SIM ? mp__sim_vmm_granule(device) : rt_vmm_granule(device); }

mp_status mp__cuda_vmm_reserve(int device, size_t size, size_t alignment, void **out)
{
    return SIM ? mp__sim_vmm_reserve(device, size, alignment, out) : rt_vmm_reserve(device, size, alignment, out);
}

void mp__cuda_vmm_free(void *va, size_t size)
{
    if (SIM)
        mp__sim_vmm_free(va, size);
    else
        rt_vmm_free(va, size);
}

mp_status mp__cuda_vmm_map(int device, void *va, size_t size, uint64_t *handle)
{
    return SIM ? mp__sim_vmm_map(device, va, size, handle) : rt_vmm_map(device, va, size, handle);
}

void mp__cuda_vmm_unmap(void *va, size_t size, uint64_t handle)
{
    if (SIM)
        mp__sim_vmm_unmap(va, size, handle);
    else
        rt_vmm_unmap(va, size, handle);
}

mp_status mp__cuda_event_record(int device, void *stream, void **event)
{
    return SIM ? mp__sim_event_record(device, stream, event) : rt_event_record(device, stream, event);
}

mp_status mp__cuda_event_rerecord(int device, void *stream, void *event)
{
    return SIM ? mp__sim_event_rerecord(stream, event) : rt_event_rerecord(device, stream, event);
}

bool mp__cuda_event_done(void *event) { return SIM ? mp__sim_event_done(event) : rt_event_done(event); }

void mp__cuda_event_drop(void *event)
{
    if (SIM)
        mp__sim_event_drop(event);
    else
        rt_event_drop(event);
}


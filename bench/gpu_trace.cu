// Multi-stream GPU allocation workload, run in one process against each
// allocator on the same request sequence (bench/trace_workload.hpp builds it
// from a fixed seed; bench/trace_report.hpp prints and writes the results):
//
//   mempool, mp_config_default_gpu and mp_config_high_performance_gpu (frees on
//     a stream other than the pool's through mp_pool_deallocate_on_stream);
//   cudaMallocAsync / cudaFreeAsync on the device's default memory pool, with
//     its release threshold at the driver's default 0 and at UINT64_MAX;
//   CUB's CachingDeviceAllocator, power-of-two bins 256 B .. 32 MiB, caching
//     without limit (gpu_bench's configuration);
//   cudaMalloc / cudaFree, the reference.
//
// Phase single_stream: layers of 48 blocks on one stream, written, read by the
// next layer, freed two layers later. Phase multi_stream: four producer
// streams, each block read by a slow kernel on the next stream and freed
// there. Every block's words carry a signature of the allocation (its id and
// offset); each read checks all of them, and the slow read checks twice with a
// sleep between, so a block handed out again while a kernel still reads it is
// counted as an error, as are two live blocks that overlap.
//
// Measured per allocator and phase, each repetition on a fresh allocator
// (a new pool, a new CUB allocator, the default memory pool trimmed to 0 and
// its high watermark reset), repetitions interleaved across allocators:
//   wall time    first command to the end of the phase's last host sync, less
//                the time the benchmark spends reading reserve counters;
//   ns/alloc     host time inside the allocate calls only: each run of
//                consecutive allocations (a layer's 48, a producer's 12) is
//                timed as one interval, divided by its count;
//   ns/free      the same for the free calls; for CUB it includes the
//                deferral of cross-stream frees (below);
//   peak live    the highest sum of requested sizes allocated and not yet
//                freed, from the request sequence (the same for all);
//   peak reserved from each allocator's own counters: mempool's
//                mp_stats.peak_reserved_bytes; the memory pool's
//                cudaMemPoolAttrReservedMemHigh; CUB's cached_bytes free +
//                live, and for cudaMalloc device memory in use
//                (cudaMemGetInfo) over its value at the start, both read
//                after each run of allocations (inside a run they only grow,
//                so the peak is exact);
//   reserved after  the same counters once everything is freed and synced;
//   efficiency   peak reserved / peak live.
// Reported as the median over repetitions with min-max.
//
// CUB and cross-stream frees: DeviceFree records its reuse event on the stream
// the block was allocated on and lets that stream reuse the block at once,
// so freeing a block that another stream's kernel still reads is a race. A
// CUB user frees such a block only once that kernel has finished: here an
// event recorded on the consumer stream after the reads, DeviceFree when it
// has completed (polled before each run of allocations, all at a host sync).
// That adds no GPU dependency, so the kernels run as for the other allocators.
// cudaFree synchronises the device, which makes it safe everywhere.
//
// usage: gpu_trace [--json PATH] [--trace-dir DIR] [--trace-only] [--reps N]
//                  [--steps N] [--seed N] [--slow-us N] [--max-seconds S] [--quick]
//                  [--per-call] [--only A,B] [--phase NAME]
#include "trace_report.hpp"
#include "trace_workload.hpp"

#include <cub/util_allocator.cuh>
#include <cuda_runtime.h>
#include <mempool/mempool.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <deque>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

using trace::Cmd;
using trace::Entry;
using trace::Op;
using trace::Phase;
using trace::Rep;
using trace::RunInfo;
using trace::Workload;

namespace {

// ---- failures ---------------------------------------------------------------

struct Failure : std::runtime_error {
    using std::runtime_error::runtime_error;
};

void ck(cudaError_t e, const char *what)
{
    if (e != cudaSuccess)
        throw Failure(std::string(what) + ": " + cudaGetErrorString(e));
}
#define CK(call) ck((call), #call)

void mpck(mp_status s, const char *what)
{
    if (s != MP_OK)
        throw Failure(std::string(what) + ": " + mp_status_name(s) + ": " + mp_last_error_message());
}
#define MPCK(call) mpck((call), #call)

using Clock = std::chrono::steady_clock;
double ns_between(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double, std::nano>(b - a).count(); }

// ---- kernels ----------------------------------------------------------------

// Word i of block id holds (id + 1) << 32 | i: no two blocks, and no two
// offsets in one block, share a value (blocks are at most 2^22 words).
__host__ __device__ inline uint64_t tag_of(uint32_t id) { return uint64_t(id + 1) << 32; }

__device__ inline uint64_t global_ns()
{
    uint64_t t;
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
    return t;
}

__global__ void fill_kernel(uint64_t *p, uint64_t words, uint64_t tag)
{
    for (uint64_t i = blockIdx.x * uint64_t(blockDim.x) + threadIdx.x; i < words; i += uint64_t(gridDim.x) * blockDim.x)
        p[i] = tag | i;
}

// __ldcv: every load goes to memory (L1 is not coherent with other SMs'
// writes, and the second pass must see a writer that ran meanwhile).
__device__ uint64_t mismatches(const uint64_t *p, uint64_t words, uint64_t tag)
{
    uint64_t bad = 0;
    for (uint64_t i = blockIdx.x * uint64_t(blockDim.x) + threadIdx.x; i < words; i += uint64_t(gridDim.x) * blockDim.x)
        bad += __ldcv(p + i) != (tag | i);
    return bad;
}

// err[0]: words that held another signature; err[1]: id + 1 of the block that reported first.
__global__ void check_kernel(const uint64_t *p, uint64_t words, uint64_t tag, uint64_t sleep_ns,
                             unsigned long long *err)
{
    uint64_t bad = mismatches(p, words, tag);
    if (sleep_ns) {
        uint64_t t0 = global_ns();
        while (global_ns() - t0 < sleep_ns)
            __nanosleep(1000);
        bad += mismatches(p, words, tag);
    }
    if (bad) {
        atomicAdd(&err[0], (unsigned long long)bad);
        atomicCAS(&err[1], 0ull, (unsigned long long)(tag >> 32));
    }
}

unsigned grid_for(uint64_t words) { return (unsigned)std::min<uint64_t>(128, std::max<uint64_t>(1, words / 2048)); }

// ---- the GPU side shared by all allocators ----------------------------------

constexpr int MAX_STREAMS = 8, MAX_SLOTS = 8;

struct Gpu {
    cudaStream_t stream[MAX_STREAMS]; // trace stream k is stream[k]; stream[0] is the pool's
    cudaEvent_t slot[MAX_SLOTS];
    unsigned long long *err = nullptr; // cudaMalloc'd, outside every allocator measured
    uint64_t slow_ns = 20000;
    bool per_call = false;    // --per-call: the warm pass times each allocation on its own
    std::vector<double> call; // its times, ns
    struct Slow {
        double ns;
        size_t cmd;
        uint64_t size;
        int stream;
    };
    std::vector<Slow> slow;            // the warm pass's calls of 20 us and more
    uint64_t peak_first = 0, peak_both = 0; // peak reserved after the first pass, after both
};
Gpu g;

// ---- the allocators -----------------------------------------------------------
// Each: create() before the clock starts, alloc/free, sample() after a run of
// allocations, peak() and reserved() read once the phase is over, destroy();
// those with defers (CUB) also before_allocs() and synced(stream) after a
// host sync, which hand their deferred frees over.

struct Mempool {
    static constexpr bool defers = false;
    bool high_performance;
    mp_pool *pool = nullptr;

    void create()
    {
        mp_config c;
        std::memset(&c, 0, sizeof c);
        c.struct_size = sizeof c;
        MPCK(high_performance ? mp_config_high_performance_gpu(&c, 0) : mp_config_default_gpu(&c));
        MPCK(mp_pool_create(high_performance ? "trace-hp" : "trace-default", MP_MEMORY_GPU, &c, &pool));
        MPCK(mp_pool_set_stream(pool, g.stream[0]));
    }
    // A block for the stream that will use it: on the pool's stream (0) a
    // plain allocation, elsewhere mp_pool_allocate_on_stream, which orders
    // that stream after the pool's where a block freed there is reused.
    void *alloc(uint64_t n, int on)
    {
        void *p = nullptr;
        if (on == 0)
            MPCK(mp_pool_allocate(pool, n, &p));
        else
            MPCK(mp_pool_allocate_on_stream(pool, n, g.stream[on], &p));
        return p;
    }
    // Stream 0 is the pool's: a free there is stream-ordered. Elsewhere the
    // block waits behind an event recorded on the freeing stream.
    void free(void *p, int, int on)
    {
        if (on == 0)
            MPCK(mp_pool_deallocate(pool, p));
        else
            MPCK(mp_pool_deallocate_on_stream(pool, p, g.stream[on]));
    }
    mp_stats stats() const
    {
        mp_stats s;
        std::memset(&s, 0, sizeof s);
        s.struct_size = sizeof s;
        MPCK(mp_pool_get_stats(pool, &s));
        return s;
    }
    void sample() {} // mp_stats keeps the peak itself
    uint64_t peak() const { return stats().peak_reserved_bytes; }
    uint64_t reserved() const { return stats().reserved_bytes; }
    void destroy()
    {
        if (pool)
            mp_pool_destroy(pool);
        pool = nullptr;
    }
};

struct MallocAsync {
    static constexpr bool defers = false;
    uint64_t threshold;
    cudaMemPool_t mp{};

    void create()
    {
        CK(cudaDeviceGetDefaultMemPool(&mp, 0));
        CK(cudaMemPoolSetAttribute(mp, cudaMemPoolAttrReleaseThreshold, &threshold));
        CK(cudaMemPoolTrimTo(mp, 0));
        uint64_t zero = 0; // resets the high watermark to the current reservation
        CK(cudaMemPoolSetAttribute(mp, cudaMemPoolAttrReservedMemHigh, &zero));
    }
    void *alloc(uint64_t n, int s)
    {
        void *p = nullptr;
        CK(cudaMallocAsync(&p, n, g.stream[s]));
        return p;
    }
    void free(void *p, int, int on) { CK(cudaFreeAsync(p, g.stream[on])); }
    void sample() {}
    uint64_t attr(cudaMemPoolAttr a) const
    {
        uint64_t v = 0;
        CK(cudaMemPoolGetAttribute(mp, a, &v));
        return v;
    }
    uint64_t peak() { return attr(cudaMemPoolAttrReservedMemHigh); }
    uint64_t reserved() const { return attr(cudaMemPoolAttrReservedMemCurrent); }
    void destroy()
    {
        if (!mp)
            return;
        cudaDeviceSynchronize();
        cudaMemPoolTrimTo(mp, 0);
        uint64_t zero = 0;
        cudaMemPoolSetAttribute(mp, cudaMemPoolAttrReleaseThreshold, &zero);
    }
};

struct Cub {
    static constexpr bool defers = true;
    std::unique_ptr<cub::CachingDeviceAllocator> c;
    struct Deferred {
        void *p;
        cudaEvent_t ev;
    };
    std::deque<Deferred> lane[MAX_STREAMS]; // cross-stream frees whose reads may still run
    std::vector<cudaEvent_t> spare;
    uint64_t peak_seen = 0;
    int device = 0;

    void create()
    {
        CK(cudaGetDevice(&device));
        c.reset(new cub::CachingDeviceAllocator(2, 8, 25, cub::CachingDeviceAllocator::INVALID_SIZE));
    }
    void *alloc(uint64_t n, int s)
    {
        void *p = nullptr;
        CK(c->DeviceAllocate(&p, n, g.stream[s]));
        return p;
    }
    void free(void *p, int home, int on)
    {
        if (on == home) {
            CK(c->DeviceFree(p));
            return;
        }
        cudaEvent_t ev;
        if (spare.empty())
            CK(cudaEventCreateWithFlags(&ev, cudaEventDisableTiming));
        else {
            ev = spare.back();
            spare.pop_back();
        }
        CK(cudaEventRecord(ev, g.stream[on]));
        lane[on].push_back({p, ev});
    }
    // DeviceFree each block whose consumer has finished, oldest first per stream.
    void drain(int s, bool all)
    {
        while (!lane[s].empty()) {
            Deferred d = lane[s].front();
            if (!all) {
                cudaError_t e = cudaEventQuery(d.ev);
                if (e == cudaErrorNotReady)
                    break;
                CK(e);
            }
            CK(c->DeviceFree(d.p));
            spare.push_back(d.ev);
            lane[s].pop_front();
        }
    }
    void before_allocs()
    {
        for (int s = 0; s < MAX_STREAMS; s++)
            drain(s, false);
    }
    void synced(int s) { drain(s, true); }
    uint64_t reserved() const
    {
        auto it = c->cached_bytes.find(device);
        return it == c->cached_bytes.end() ? 0 : it->second.free + it->second.live;
    }
    void sample() { peak_seen = std::max(peak_seen, reserved()); }
    uint64_t peak()
    {
        sample();
        return peak_seen;
    }
    void destroy()
    {
        cudaDeviceSynchronize();
        if (c)
            for (int s = 0; s < MAX_STREAMS; s++)
                for (Deferred &d : lane[s])
                    c->DeviceFree(d.p);
        for (int s = 0; s < MAX_STREAMS; s++) {
            for (Deferred &d : lane[s])
                spare.push_back(d.ev);
            lane[s].clear();
        }
        for (cudaEvent_t e : spare)
            cudaEventDestroy(e);
        spare.clear();
        c.reset(); // frees every cached block
    }
};

struct Plain {
    static constexpr bool defers = false;
    size_t base = 0;
    uint64_t peak_seen = 0;

    size_t device_used() const
    {
        size_t free_b = 0, total = 0;
        CK(cudaMemGetInfo(&free_b, &total));
        return total - free_b;
    }
    void create() { base = device_used(); }
    void *alloc(uint64_t n, int)
    {
        void *p = nullptr;
        CK(cudaMalloc(&p, n));
        return p;
    }
    void free(void *p, int, int) { CK(cudaFree(p)); } // synchronises the device first
    uint64_t reserved() const
    {
        size_t u = device_used();
        return u > base ? u - base : 0;
    }
    void sample() { peak_seen = std::max(peak_seen, reserved()); }
    uint64_t peak()
    {
        sample();
        return peak_seen;
    }
    void destroy() {}
};

// ---- one repetition -----------------------------------------------------------


void launch(const Cmd &c, void *p, uint64_t size)
{
    uint64_t words = size / 8;
    cudaStream_t s = g.stream[c.stream];
    if (c.op == Op::write)
        fill_kernel<<<grid_for(words), 256, 0, s>>>(static_cast<uint64_t *>(p), words, tag_of(c.id));
    else
        check_kernel<<<grid_for(words), 256, 0, s>>>(static_cast<const uint64_t *>(p), words, tag_of(c.id),
                                                      c.op == Op::slow_read ? g.slow_ns : 0, g.err);
}

// Runs w's commands on a fresh A. A failure (an allocator's error status, an
// out-of-memory) throws after the live blocks are given back.
template <class A> Rep execute(A &a, const Workload &w)
{
    Rep r, warm;
    std::vector<void *> ptr(w.size.size(), nullptr);
    CK(cudaMemset(g.err, 0, 2 * sizeof *g.err));
    CK(cudaDeviceSynchronize());
    a.create();
    double excluded = 0;
    const size_t n = w.cmds.size();
    Clock::time_point start = Clock::now();
    try {
        // Two passes over the workload on the same allocator: the first
        // (fresh: whatever memory it maps is timed too) gives every figure
        // but one; the second gives warm ns/alloc, what a program that keeps
        // its allocator sees from its second step on.
        for (int pass = 0; pass < 2; pass++) {
            Rep &m = pass == 0 ? r : warm;
            if (pass == 1) {
                CK(cudaDeviceSynchronize());
                r.wall_ns = ns_between(start, Clock::now()) - excluded;
                r.peak_reserved = a.peak();
                r.reserved_after = a.reserved();
            }
            for (size_t i = 0; i < n;) {
                const Cmd &c = w.cmds[i];
                size_t j = i + 1;
                switch (c.op) {
                case Op::alloc: {
                    while (j < n && w.cmds[j].op == Op::alloc)
                        j++;
                    Clock::time_point t0 = Clock::now();
                    if constexpr (A::defers) {
                        a.before_allocs();
                        Clock::time_point t = Clock::now();
                        m.free_ns += ns_between(t0, t);
                        t0 = t;
                    }
                    if (pass == 1 && g.per_call)
                        for (size_t k = i; k < j; k++) {
                            Clock::time_point c0 = Clock::now();
                            ptr[w.cmds[k].id] = a.alloc(w.cmds[k].size, w.cmds[k].stream);
                            double ns = ns_between(c0, Clock::now());
                            g.call.push_back(ns);
                            if (ns >= 20000)
                                g.slow.push_back({ns, k, w.cmds[k].size, w.cmds[k].stream});
                        }
                    else
                        for (size_t k = i; k < j; k++)
                            ptr[w.cmds[k].id] = a.alloc(w.cmds[k].size, w.cmds[k].stream);
                    Clock::time_point t1 = Clock::now();
                    a.sample();
                    excluded += ns_between(t1, Clock::now());
                    m.alloc_ns += ns_between(t0, t1);
                    m.allocs += j - i;
                    break;
                }
                case Op::free: {
                    while (j < n && w.cmds[j].op == Op::free)
                        j++;
                    Clock::time_point t0 = Clock::now();
                    for (size_t k = i; k < j; k++) {
                        uint32_t id = w.cmds[k].id;
                        a.free(ptr[id], w.home[id], w.cmds[k].stream);
                        ptr[id] = nullptr;
                    }
                    m.free_ns += ns_between(t0, Clock::now());
                    m.frees += j - i;
                    break;
                }
                case Op::write:
                case Op::read:
                case Op::slow_read:
                    launch(c, ptr[c.id], w.size[c.id]);
                    break;
                case Op::record:
                    CK(cudaEventRecord(g.slot[c.slot], g.stream[c.stream]));
                    break;
                case Op::wait:
                    CK(cudaStreamWaitEvent(g.stream[c.stream], g.slot[c.slot], 0));
                    break;
                case Op::sync:
                    CK(cudaStreamSynchronize(g.stream[c.stream]));
                    if constexpr (A::defers) {
                        Clock::time_point t0 = Clock::now();
                        a.synced(c.stream);
                        m.free_ns += ns_between(t0, Clock::now());
                    }
                    break;
                }
                i = j;
            }
        }
        CK(cudaDeviceSynchronize());
        CK(cudaGetLastError());
        if (g.per_call) {
            g.peak_first = r.peak_reserved;
            g.peak_both = a.peak();
        }
        r.warm_alloc_ns = warm.alloc_ns;
        r.warm_allocs = warm.allocs;
    } catch (...) {
        cudaDeviceSynchronize();
        cudaGetLastError();
        for (size_t id = 0; id < ptr.size(); id++)
            if (ptr[id]) {
                try {
                    a.free(ptr[id], w.home[id], w.home[id]);
                } catch (...) {
                }
            }
        try {
            a.destroy();
        } catch (...) {
        }
        throw;
    }
    a.destroy();
    unsigned long long err[2];
    CK(cudaMemcpy(err, g.err, sizeof err, cudaMemcpyDeviceToHost));
    r.bad_words = err[0];
    r.first_bad_id = err[1] ? err[1] - 1 : 0;
    return r;
}

// --per-call: where a warm pass's allocation time goes, each call timed on
// its own (the clock's own cost, some 20 ns, included): percentiles, and
// the share of the time spent in calls of 1 us and more.
void per_call_report(const std::string &phase, const std::string &name)
{
    std::vector<double> &c = g.call;
    double total = 0, slow = 0;
    size_t nslow = 0;
    for (double t : c) {
        total += t;
        if (t >= 1000) {
            slow += t;
            nslow++;
        }
    }
    std::sort(c.begin(), c.end());
    auto pct = [&](double q) { return c[std::min(c.size() - 1, (size_t)(q * c.size()))]; };
    std::printf("per-call %s, %s: %zu calls, mean %.0f ns, p10 %.0f, p50 %.0f, p90 %.0f, p99 %.0f, max %.0f; "
                "%zu calls >= 1 us hold %.0f%% of the time (mean %.0f ns without them)\n",
                phase.c_str(), name.c_str(), c.size(), total / c.size(), pct(0.1), pct(0.5), pct(0.9), pct(0.99),
                c.back(), nslow, 100 * slow / total, c.size() > nslow ? (total - slow) / (c.size() - nslow) : 0.0);
    std::printf("  peak reserved %.1f MiB after the first pass, %.1f after both; calls of 20 us and more:",
                g.peak_first / 1048576.0, g.peak_both / 1048576.0);
    for (size_t i = 0; i < g.slow.size() && i < 8; i++)
        std::printf(" [cmd %zu, %llu B, stream %d: %.0f us]", g.slow[i].cmd, (unsigned long long)g.slow[i].size,
                    g.slow[i].stream, g.slow[i].ns / 1000);
    std::printf("%s\n", g.slow.size() > 8 ? " ..." : "");
}

// ---- the allocators measured, in the tables' order ------------------------

// --only: the rows whose names contain one of these (comma-separated); all when empty.
std::string only;

bool chosen(const char *name)
{
    if (only.empty())
        return true;
    size_t at = 0;
    while (at <= only.size()) {
        size_t end = only.find(',', at);
        std::string part = only.substr(at, end == std::string::npos ? std::string::npos : end - at);
        if (!part.empty() && std::strstr(name, part.c_str()))
            return true;
        if (end == std::string::npos)
            break;
        at = end + 1;
    }
    return false;
}

std::vector<Entry> make_entries()
{
    std::vector<Entry> e;
    auto add = [&](const char *name, auto make) {
        if (!chosen(name))
            return;
        e.push_back({name, [make](const Workload &w) {
                         auto a = make();
                         return execute(a, w);
                     }, {}, {}});
    };
    add("mempool default_gpu", [] { return Mempool{false}; });
    add("mempool high_performance_gpu", [] { return Mempool{true}; });
    add("cudaMallocAsync threshold 0", [] { return MallocAsync{0}; });
    add("cudaMallocAsync threshold max", [] { return MallocAsync{~uint64_t(0)}; });
    add("CUB caching", [] { return Cub{}; });
    add("cudaMalloc", [] { return Plain{}; });
    return e;
}

void usage()
{
    std::printf("usage: gpu_trace [--json PATH] [--trace-dir DIR] [--trace-only] [--reps N] [--steps N] [--seed N]\n"
                "                 [--slow-us N] [--max-seconds S] [--quick] [--per-call]\n"
                "                 [--only A,B] [--phase NAME]\n"
                "  --trace-only   write the traces' request records without touching CUDA (needs --trace-dir)\n"
                "  --reps N       measured repetitions per allocator and phase (default 5, plus 1 warm-up)\n"
                "  --max-seconds  each phase gets S / 2 seconds: no repetition is started that would not fit (one always runs)\n"
                "  --quick        40 steps, 3 repetitions: a smoke run\n"
                "  --per-call     time each warm allocation on its own and print percentiles\n"
                "  --only A,B     only the rows whose names contain A or B (e.g. \"mempool default,threshold max\")\n"
                "  --phase NAME   only that phase (single_stream or multi_stream)\n");
}

} // namespace

int main(int argc, char **argv)
{
    trace::Params p;
    const char *json = nullptr;
    std::string trace_dir;
    bool trace_only = false;
    std::string phase_only;
    int reps = 5;
    double max_seconds = 0;
    for (int i = 1; i < argc; i++) {
        std::string a = argv[i];
        auto val = [&]() -> const char * {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "gpu_trace: %s needs a value\n", a.c_str());
                std::exit(2);
            }
            return argv[++i];
        };
        if (a == "--json")
            json = val();
        else if (a == "--trace-dir")
            trace_dir = val();
        else if (a == "--trace-only")
            trace_only = true;
        else if (a == "--reps")
            reps = std::max(1, std::atoi(val()));
        else if (a == "--steps")
            p.steps = std::max(1, std::atoi(val()));
        else if (a == "--seed")
            p.seed = std::strtoull(val(), nullptr, 0);
        else if (a == "--slow-us")
            g.slow_ns = std::strtoull(val(), nullptr, 0) * 1000;
        else if (a == "--max-seconds")
            max_seconds = std::atof(val());
        else if (a == "--per-call")
            g.per_call = true;
        else if (a == "--only")
            only = val();
        else if (a == "--phase")
            phase_only = val();
        else if (a == "--quick") {
            p.steps = 40;
            reps = 3;
        } else {
            usage();
            return a == "--help" || a == "-h" ? 0 : 2;
        }
    }

    std::vector<Phase> phases(2);
    phases[0].w = trace::single_stream(p);
    phases[1].w = trace::multi_stream(p);
    if (!phase_only.empty() && !trace_only) { /* --phase: that one alone (the traces want both) */
        std::vector<Phase> keep;
        for (Phase &ph : phases)
            if (ph.w.name == phase_only)
                keep.push_back(std::move(ph));
        if (keep.empty()) {
            std::fprintf(stderr, "gpu_trace: no phase %s (single_stream, multi_stream)\n", phase_only.c_str());
            return 2;
        }
        phases = std::move(keep);
    }
    if (trace_only) {
        if (trace_dir.empty()) {
            std::fprintf(stderr, "gpu_trace: --trace-only needs --trace-dir\n");
            return 2;
        }
        return trace::write_traces(trace_dir, phases, nullptr) ? 0 : 1;
    }

    std::string device;
    int driver = 0, runtime = 0;
    try {
        int count = 0;
        if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0) {
            std::printf("gpu_trace: no CUDA device (--trace-only writes the request records without one)\n");
            return 77;
        }
        cudaDeviceProp prop;
        CK(cudaGetDeviceProperties(&prop, 0));
        device = prop.name;
        cudaDriverGetVersion(&driver);
        cudaRuntimeGetVersion(&runtime);
        for (Phase &ph : phases)
            if (ph.w.streams > MAX_STREAMS || ph.w.slots > MAX_SLOTS)
                throw Failure("workload needs more streams or event slots than compiled in");
        for (int s = 0; s < MAX_STREAMS; s++)
            CK(cudaStreamCreateWithFlags(&g.stream[s], cudaStreamNonBlocking));
        for (int s = 0; s < MAX_SLOTS; s++)
            CK(cudaEventCreateWithFlags(&g.slot[s], cudaEventDisableTiming));
        CK(cudaMalloc(&g.err, 2 * sizeof *g.err));
    } catch (const Failure &f) {
        std::fprintf(stderr, "gpu_trace: %s\n", f.what());
        return 1;
    }
    const RunInfo run{device, mp_version_string(), driver, runtime, g.slow_ns};
    std::printf("device: %s, driver %d, runtime %d, mempool %s\n", device.c_str(), driver, runtime, mp_version_string());
    std::printf("seed %llu, %d steps, %d blocks a step, slow read sleeps %llu us, %d repetitions + 1 warm-up per "
                "allocator and phase, fresh allocator each, order rotated\n",
                (unsigned long long)p.seed, p.steps, p.blocks_per_step, (unsigned long long)(g.slow_ns / 1000), reps);
    std::fflush(stdout);

    // --max-seconds: each phase gets an equal share; a repetition is started
    // only while the last one's duration still fits (at least one is measured).
    Clock::time_point began = Clock::now();
    const double share = max_seconds / phases.size();
    for (Phase &ph : phases) {
        ph.entries = make_entries();
        const int n = (int)ph.entries.size();
        Clock::time_point phase_began = Clock::now(), round_began = phase_began;
        double last_round = 0;
        for (int rep = -1; rep < reps; rep++) {
            double elapsed = ns_between(phase_began, Clock::now()) / 1e9;
            if (max_seconds > 0 && rep >= 1 && elapsed + last_round > share) {
                char note[200];
                std::snprintf(note, sizeof note,
                              "stopped after %d of %d repetitions: %.0f s spent, a repetition takes %.0f s, "
                              "--max-seconds %.0f gives a phase %.0f s",
                              rep, reps, elapsed, last_round, max_seconds, share);
                ph.note = note;
                std::printf("%s: %s\n", ph.w.name.c_str(), note);
                break;
            }
            round_began = Clock::now();
            for (int k = 0; k < n; k++) {
                Entry &e = ph.entries[(k + rep + 1) % n];
                if (!e.failure.empty())
                    continue;
                try {
                    g.call.clear();
                    g.slow.clear();
                    Rep r = e.run(ph.w);
                    if (g.per_call && !g.call.empty())
                        per_call_report(ph.w.name, e.name);
                    if (rep >= 0)
                        e.reps.push_back(r);
                    else
                        e.warmup_bad += r.bad_words;
                    if (r.bad_words)
                        std::printf("ERROR %s, %s: %llu words held another block's signature (block %llu reported first): "
                                    "a block was reused while a kernel still read it, or two live blocks overlap\n",
                                    ph.w.name.c_str(), e.name.c_str(), (unsigned long long)r.bad_words,
                                    (unsigned long long)r.first_bad_id);
                } catch (const std::exception &x) {
                    e.failure = x.what();
                    std::printf("FAILED %s, %s: %s\n", ph.w.name.c_str(), e.name.c_str(), x.what());
                }
            }
            last_round = ns_between(round_began, Clock::now()) / 1e9;
            if (rep < 0)
                ph.warmups = 1;
            std::printf("%s: %s done in %.1f s (%.1f s since start)\n", ph.w.name.c_str(),
                        rep < 0 ? "warm-up" : ("repetition " + std::to_string(rep + 1) + " of " + std::to_string(reps)).c_str(),
                        last_round, ns_between(began, Clock::now()) / 1e9);
            std::fflush(stdout);
        }
    }

    bool errors = false;
    for (const Phase &ph : phases) {
        trace::print_table(ph);
        for (const Entry &e : ph.entries)
            errors |= e.bad_words() != 0 || !e.failure.empty();
    }
    std::printf("\nns/alloc: host time in allocate calls only; efficiency: peak reserved / peak live; errors: words a "
                "kernel found holding another block's signature\n");
    bool ok = true;
    if (json) {
        ok &= trace::write_json(json, run, p, phases);
        std::printf("wrote %s\n", json);
    }
    if (!trace_dir.empty())
        ok &= trace::write_traces(trace_dir, phases, &run);
    if (errors)
        std::printf("\nERRORS above: a row failed or read another block's signature\n");
    return errors ? 3 : ok ? 0 : 1;
}

// CPU allocation benchmark, one process: mempool's fixed and variable pools
// (each sync mode) against glibc malloc, jemalloc, mimalloc, tcmalloc and
// Boost.Pool. The peers are Debian's shared libraries, opened with dlopen
// (RTLD_LOCAL | RTLD_DEEPBIND, so none replaces malloc for the others) and
// called by their own entry points: malloc/free (jemalloc), mi_malloc/mi_free,
// tc_malloc/tc_free. glibc is the process's own malloc.
//
// Workloads (ns per allocate+free, median of RUNS runs, allocators
// interleaved run by run):
//   pair   64-byte allocate, then free, repeated
//   batch  1000 64-byte blocks, then free all
//   churn  10,000 live blocks of 16..4096 bytes: free a random one, allocate
//          a new one (sizes and slots from a fixed xorshift sequence)
//   xthr   the churn sizes on 2 threads: one allocates, the other frees
//          what it receives through a ring (cross-thread free)
//   lat    single allocations of the churn workload, timed one by one with
//          rdtscp: p50, p99, p99.9 (the timer's own cost subtracted)
//
// usage: cpu_bench [--quick] [results.json [chart.png]]
#include <boost/pool/pool.hpp>
#include <dlfcn.h>
#include <mempool/mempool.h>
#include <x86intrin.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <thread>
#include <vector>

static int RUNS = 7;
static double tsc_ghz;
static size_t PAIRS = 2000000, BATCH = 1000, BATCHES = 2000, LIVE = 10000, CHURN = 2000000, XTHR = 1000000,
              LAT = 200000;

static inline void escape(void *p) { asm volatile("" : : "r"(p) : "memory"); }

static double median(std::vector<double> v)
{
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

static double now_ns()
{
    return std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// ---- the allocators ---------------------------------------------------------

struct Lat {
    double p50, p99, p999;
};

// Each allocator's workloads are compiled for it (W<A, F> below), so every
// allocator is called directly, as its users call it.
struct Allocator {
    std::string name;
    bool fixed_only;  // serves only the 64-byte workloads
    bool thread_safe; // may run xthr
    void *self;
    double (*pair)(void *), (*batch)(void *), (*churn)(void *), (*xthr)(void *);
    Lat (*lat)(void *, double);
};

static void *(*peer_malloc[3])(size_t);
static void (*peer_free[3])(void *);
static const char *peer_names[3] = {"jemalloc", "mimalloc", "tcmalloc"};

template <int I> static void *peer_a(void *, size_t n) { return peer_malloc[I](n); }
template <int I> static void peer_f(void *, void *p, size_t) { peer_free[I](p); }

static void *glibc_a(void *, size_t n) { return malloc(n); }
static void glibc_f(void *, void *p, size_t) { free(p); }

static void *mp_a(void *self, size_t n)
{
    void *p;
    return mp_pool_allocate(static_cast<mp_pool *>(self), n, &p) == MP_OK ? p : nullptr;
}
static void mp_f(void *self, void *p, size_t) { mp_pool_deallocate(static_cast<mp_pool *>(self), p); }

// The thread-cache rows: each thread fetches its cache of pool I once and
// then calls the inline mp_tcache_allocate / mp_tcache_deallocate.
static mp_pool *tc_pool[4]; // fixed, variable, variable with 16-byte alignment, variable with counters
static thread_local mp_tcache *tc_mine[4];
template <int I> __attribute__((always_inline)) inline mp_tcache *tc_get()
{
    mp_tcache *t = tc_mine[I];
    if (__builtin_expect(!t, 0) && MP_POOL_THREAD_CACHE(tc_pool[I], &tc_mine[I]) == MP_OK)
        t = tc_mine[I];
    return t;
}
template <int I> __attribute__((always_inline)) inline void *tc_a(void *, size_t n)
{
    void *p;
    return mp_tcache_allocate(tc_get<I>(), n, &p) == MP_OK ? p : nullptr;
}
template <int I> __attribute__((always_inline)) inline void tc_f(void *, void *p, size_t) { mp_tcache_deallocate(tc_get<I>(), p); }

// The timer's floor: an "allocator" that hands out slots of one big buffer
// and does nothing else, timed by the same latency loop, so that its tail is
// what the machine adds to any single timed operation.
static char *floor_buf;
static size_t floor_next;
static void *floor_a(void *, size_t) { return floor_buf + (floor_next++ % 16384) * 4096; }
static void floor_f(void *, void *, size_t) {}

static void *boost_a(void *self, size_t) { return static_cast<boost::pool<> *>(self)->malloc(); }
static void boost_f(void *self, void *p, size_t) { static_cast<boost::pool<> *>(self)->free(p); }

static bool open_peer(int i, const char *lib, const char *m, const char *f)
{
    void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
    if (!h) {
        std::fprintf(stderr, "skipping %s: %s\n", peer_names[i], dlerror());
        return false;
    }
    peer_malloc[i] = reinterpret_cast<void *(*)(size_t)>(dlsym(h, m));
    peer_free[i] = reinterpret_cast<void (*)(void *)>(dlsym(h, f));
    return peer_malloc[i] && peer_free[i];
}

// Variable lock-free pools start from mp_config_high_performance_cpu
// (alignment 64), unless align16 asks for the default 16-byte alignment.
// counters: track_stats with counters_only (the counters-only statistics).
static mp_pool *make_pool(bool fixed, int sync, bool align16 = false, bool counters = false)
{
    mp_config c{};
    c.struct_size = sizeof c;
    if (fixed) {
        mp_config_fixed_size_cpu(&c, 64);
        c.initial_size = 1 << 22;
    } else if (sync == 2 && !align16) {
        mp_config_high_performance_cpu(&c);
    } else {
        mp_config_default_cpu(&c);
        c.initial_size = 64u << 20;
    }
    c.track_stats = counters;
    c.counters_only = counters;
    c.thread_safe = sync != 0;
    c.sync_type = sync == 2 ? MP_SYNC_LOCK_FREE : MP_SYNC_MUTEX;
    static const char *modes[] = {"none", "mutex", "lockfree"};
    std::string name = std::string(fixed ? "fixed-" : "variable-") + modes[sync] + (align16 ? "-align16" : "") +
                       (counters ? "-counters" : "");
    mp_pool *p = nullptr;
    if (mp_pool_create(name.c_str(), MP_MEMORY_CPU, &c, &p) != MP_OK) {
        std::fprintf(stderr, "mp_pool_create: %s\n", mp_last_error_message());
        std::exit(1);
    }
    return p;
}

// ---- workloads ----------------------------------------------------------------

struct Rng {
    uint64_t s = 0x9E3779B97F4A7C15ull;
    uint64_t next()
    {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        return s;
    }
};

struct Churn {
    std::vector<uint32_t> size, slot;
    Churn(size_t n)
    {
        Rng r;
        size.resize(n);
        slot.resize(n);
        for (size_t i = 0; i < n; i++) {
            size[i] = 16 + (uint32_t)(r.next() % 4081);
            slot[i] = (uint32_t)(r.next() % LIVE);
        }
    }
};

static const Churn &churn_seq()
{
    static Churn c(CHURN > LAT ? CHURN : LAT);
    return c;
}

struct Live {
    std::vector<void *> p;
    std::vector<uint32_t> n;
};

static double tsc_step = 1; // the smallest step the TSC was seen to take, in ticks

static double rdtsc_overhead()
{
    std::vector<double> v;
    unsigned aux;
    for (int i = 0; i < 10001; i++) {
        uint64_t t0 = __rdtscp(&aux);
        uint64_t t1 = __rdtscp(&aux);
        v.push_back((double)(t1 - t0));
    }
    std::sort(v.begin(), v.end());
    auto pos = std::upper_bound(v.begin(), v.end(), 0.0);
    tsc_step = pos != v.end() ? *pos : 1;
    return median(v);
}

template <void *(*A)(void *, size_t), void (*F)(void *, void *, size_t)> struct W {
static double pair(void *self)
{
    double t0 = now_ns();
    for (size_t i = 0; i < PAIRS; i++) {
        void *p = A(self, 64);
        escape(p);
        F(self, p, 64);
    }
    return (now_ns() - t0) / PAIRS;
}

static double batch(void *self)
{
    std::vector<void *> v(BATCH);
    double t0 = now_ns();
    for (size_t b = 0; b < BATCHES; b++) {
        for (size_t i = 0; i < BATCH; i++)
            v[i] = A(self, 64);
        escape(v.data());
        for (size_t i = 0; i < BATCH; i++)
            F(self, v[i], 64);
    }
    return (now_ns() - t0) / (double)(BATCH * BATCHES);
}

static void fill(void *self, Live &l)
{
    const Churn &c = churn_seq();
    l.p.resize(LIVE);
    l.n.resize(LIVE);
    for (size_t i = 0; i < LIVE; i++) {
        l.n[i] = c.size[(i * 7919) % CHURN];
        l.p[i] = A(self, l.n[i]);
        *static_cast<char *>(l.p[i]) = 1;
    }
}

static void drain(void *self, Live &l)
{
    for (size_t i = 0; i < LIVE; i++)
        F(self, l.p[i], l.n[i]);
}

static double churn(void *self)
{
    const Churn &c = churn_seq();
    Live l;
    fill(self, l);
    double t0 = now_ns();
    for (size_t i = 0; i < CHURN; i++) {
        uint32_t s = c.slot[i];
        F(self, l.p[s], l.n[s]);
        l.n[s] = c.size[i];
        l.p[s] = A(self, c.size[i]);
        *static_cast<char *>(l.p[s]) = 1;
    }
    double ns = (now_ns() - t0) / CHURN;
    drain(self, l);
    return ns;
}

// Producer allocates the churn sizes and hands blocks to the consumer, which
// frees them: up to RING blocks in flight.
static double xthr(void *self)
{
    enum { RING = 8192 };
    struct Slot {
        void *p;
        size_t n;
    };
    static Slot ring[RING];
    std::atomic<size_t> head{0}, tail{0};
    const Churn &c = churn_seq();
    double t0 = now_ns();
    std::thread consumer([&] {
        for (size_t i = 0; i < XTHR; i++) {
            while (head.load(std::memory_order_acquire) == i)
                std::this_thread::yield();
            Slot s = ring[i % RING];
            tail.store(i + 1, std::memory_order_release);
            F(self, s.p, s.n);
        }
    });
    for (size_t i = 0; i < XTHR; i++) {
        size_t n = c.size[i % CHURN];
        void *p = A(self, n);
        *static_cast<char *>(p) = 1;
        while (i - tail.load(std::memory_order_acquire) >= RING)
            std::this_thread::yield();
        ring[i % RING] = {p, n};
        head.store(i + 1, std::memory_order_release);
    }
    consumer.join();
    return (now_ns() - t0) / XTHR;
}


static Lat lat(void *self, double overhead)
{
    const Churn &c = churn_seq();
    Live l;
    fill(self, l);
    std::vector<double> t(LAT);
    unsigned aux;
    for (size_t i = 0; i < LAT; i++) {
        uint32_t s = c.slot[i];
        F(self, l.p[s], l.n[s]);
        l.n[s] = c.size[i];
        uint64_t t0 = __rdtscp(&aux);
        void *p = A(self, c.size[i]);
        uint64_t t1 = __rdtscp(&aux);
        l.p[s] = p;
        *static_cast<char *>(p) = 1;
        t[i] = std::max(0.0, (double)(t1 - t0) - overhead) / tsc_ghz;
    }
    drain(self, l);
    std::sort(t.begin(), t.end());
    return {t[LAT / 2], t[LAT * 99 / 100], t[LAT * 999 / 1000]};
}

};

template <void *(*A)(void *, size_t), void (*F)(void *, void *, size_t)>
static Allocator make(std::string name, bool fixed_only, bool thread_safe, void *self = nullptr)
{
    return {name, fixed_only, thread_safe, self, W<A, F>::pair, W<A, F>::batch, W<A, F>::churn, W<A, F>::xthr,
            W<A, F>::lat};
}

// ---- main -------------------------------------------------------------------

int main(int argc, char **argv)
{
    const char *json = "cpu_bench.json", *png = nullptr;
    int arg = 1;
    if (arg < argc && !std::strcmp(argv[arg], "--quick")) {
        RUNS = 3;
        PAIRS /= 10, BATCHES /= 10, CHURN /= 10, XTHR /= 10, LAT /= 10;
        arg++;
    }
    if (arg < argc)
        json = argv[arg++];
    if (arg < argc)
        png = argv[arg++];

    {
        unsigned aux;
        double t0 = now_ns();
        uint64_t c0 = __rdtscp(&aux);
        while (now_ns() - t0 < 50e6) {
        }
        tsc_ghz = (double)(__rdtscp(&aux) - c0) / (now_ns() - t0);
    }

    std::vector<Allocator> all;
    for (int sync = 0; sync < 3; sync++)
        for (int fixed = 1; fixed >= 0; fixed--) {
            mp_pool *p = make_pool(fixed, sync);
            const char *name;
            mp_pool_get_name(p, &name);
            all.push_back(make<mp_a, mp_f>(std::string("mempool ") + name, fixed, sync != 0, p));
        }
    // Counters on (counters_only): the exported and the inline lock-free paths.
    for (int fixed = 1; fixed >= 0; fixed--) {
        mp_pool *p = make_pool(fixed, 2, false, true);
        const char *name;
        mp_pool_get_name(p, &name);
        all.push_back(make<mp_a, mp_f>(std::string("mempool ") + name, fixed, true, p));
    }
    { // the general-purpose preset as it comes (counters on, 16-byte alignment, chunks on demand)
        mp_config c{};
        c.struct_size = sizeof c;
        mp_pool *p = nullptr;
        if (mp_config_general_purpose_cpu(&c) != MP_OK || mp_pool_create("general-purpose", MP_MEMORY_CPU, &c, &p) != MP_OK) {
            std::fprintf(stderr, "general-purpose pool: %s\n", mp_last_error_message());
            return 1;
        }
        all.push_back(make<mp_a, mp_f>("mempool general-purpose", false, true, p));
    }
    for (int fixed = 1; fixed >= 0; fixed--)
        tc_pool[fixed] = make_pool(fixed, 2);
    tc_pool[2] = make_pool(false, 2, true);
    tc_pool[3] = make_pool(false, 2, false, true);
    all.push_back(make<tc_a<1>, tc_f<1>>("mempool fixed-tcache", true, true));
    all.push_back(make<tc_a<0>, tc_f<0>>("mempool variable-tcache", false, true));
    all.push_back(make<tc_a<2>, tc_f<2>>("mempool variable-tcache-align16", false, true));
    all.push_back(make<tc_a<3>, tc_f<3>>("mempool variable-tcache-counters", false, true));
    all.push_back(make<glibc_a, glibc_f>("glibc malloc", false, true));
    if (open_peer(0, "libjemalloc.so.2", "malloc", "free"))
        all.push_back(make<peer_a<0>, peer_f<0>>("jemalloc", false, true));
    if (open_peer(1, "libmimalloc.so.2", "mi_malloc", "mi_free"))
        all.push_back(make<peer_a<1>, peer_f<1>>("mimalloc", false, true));
    if (open_peer(2, "libtcmalloc_minimal.so.4", "tc_malloc", "tc_free"))
        all.push_back(make<peer_a<2>, peer_f<2>>("tcmalloc", false, true));
    boost::pool<> bpool(64);
    all.push_back(make<boost_a, boost_f>("Boost.Pool", true, false, &bpool));

    // MP_BENCH_ONLY=text keeps the allocators whose name contains it.
    if (const char *only = std::getenv("MP_BENCH_ONLY"))
        all.erase(std::remove_if(all.begin(), all.end(),
                                 [&](const Allocator &a) { return a.name.find(only) == std::string::npos; }),
                  all.end());
    const char *wl[] = {"pair", "batch", "churn", "xthr"};
    std::map<std::string, std::map<std::string, std::vector<double>>> runs;
    std::map<std::string, std::vector<Lat>> lats;
    double overhead = rdtsc_overhead();
    floor_buf = static_cast<char *>(std::malloc((size_t)16384 * 4096));
    std::vector<Lat> floor_lat;
    for (int r = -1; r < RUNS; r++) { // run -1 warms every allocator up
        if (r >= 0)
            floor_lat.push_back(W<floor_a, floor_f>::lat(nullptr, overhead));
        for (const Allocator &a : all) {
            double v[4] = {a.pair(a.self), a.batch(a.self), a.fixed_only ? -1 : a.churn(a.self),
                           a.fixed_only || !a.thread_safe ? -1 : a.xthr(a.self)};
            if (r < 0)
                continue;
            for (int w = 0; w < 4; w++)
                if (v[w] >= 0)
                    runs[wl[w]][a.name].push_back(v[w]);
            if (!a.fixed_only)
                lats[a.name].push_back(a.lat(a.self, overhead));
        }
    }

    // Medians, and each peer's time over mempool's best.
    std::map<std::string, std::map<std::string, double>> med;
    for (auto &w : runs)
        for (auto &a : w.second)
            med[w.first][a.first] = median(a.second);
    std::printf("mempool CPU benchmark: ns per allocate+free, median of %d runs (TSC %.2f GHz)\n", RUNS, tsc_ghz);
    std::printf("%-24s %9s %9s %9s %9s   %9s %9s %9s\n", "allocator", "pair64", "batch1000", "churn", "xthread",
                "lat p50", "p99", "p99.9");
    std::map<std::string, Lat> latmed;
    auto lat_median = [](const std::vector<Lat> &ls) {
        std::vector<double> p50, p99, p999;
        for (const Lat &l : ls) {
            p50.push_back(l.p50);
            p99.push_back(l.p99);
            p999.push_back(l.p999);
        }
        return Lat{median(p50), median(p99), median(p999)};
    };
    // One allocator's row of workload cells: its median, or what cell() makes of it.
    auto cells = [&](const Allocator &a, auto cell) {
        std::printf("%-24s", a.name.c_str());
        for (const char *w : wl) {
            auto it = med[w].find(a.name);
            if (it == med[w].end())
                std::printf(" %9s", "n/a");
            else
                cell(w, it->second);
        }
    };
    for (const Allocator &a : all) {
        cells(a, [](const char *, double v) { std::printf(" %9.2f", v); });
        if (lats.count(a.name)) {
            Lat m = lat_median(lats[a.name]);
            latmed[a.name] = m;
            std::printf("   %9.1f %9.1f %9.1f", m.p50, m.p99, m.p999);
        }
        std::printf("\n");
    }
    Lat fl = lat_median(floor_lat);
    latmed["(timer floor)"] = fl;
    std::printf("%-24s %9s %9s %9s %9s   %9.1f %9.1f %9.1f\n", "(timer floor)", "", "", "", "", fl.p50, fl.p99,
                fl.p999);
    std::printf("latency: one allocation timed with rdtscp, net of the timer's own median cost (%.1f ns);\n"
                "the timer's resolution here is %.1f ns, so 0.0 means below it; (timer floor) times an\n"
                "empty region in the same loop: no allocator's tail can be read below its own\n",
                overhead / tsc_ghz, tsc_step / tsc_ghz);
    std::printf("\nratio: peer time / mempool's best (above 1: mempool is faster)\n");
    std::printf("%-24s %9s %9s %9s %9s\n", "", "pair64", "batch1000", "churn", "xthread");
    std::map<std::string, std::string> best;
    for (const char *w : wl) {
        double b = 1e300;
        for (auto &a : med[w])
            if (a.first.rfind("mempool", 0) == 0 && a.second < b)
                b = a.second, best[w] = a.first;
    }
    std::printf("%-24s", "(mempool's best)");
    for (const char *w : wl)
        std::printf(" %9s", best[w].empty() ? "n/a" : best[w].substr(8).c_str()); // no mempool row: MP_BENCH_ONLY
    std::printf("\n");
    for (const Allocator &a : all) {
        if (a.name.rfind("mempool", 0) == 0)
            continue;
        cells(a, [&](const char *w, double v) {
            if (best[w].empty())
                std::printf(" %9s", "n/a");
            else
                std::printf(" %8.2fx", v / med[w][best[w]]);
        });
        std::printf("\n");
    }

    FILE *f = std::fopen(json, "w");
    if (f) {
        std::fprintf(f, "{\n  \"unit\": \"ns per allocate+free, median\",\n  \"runs\": %d,\n  \"workloads\": {", RUNS);
        bool first = true;
        for (const char *w : wl) {
            std::fprintf(f, "%s\n    \"%s\": {", first ? "" : ",", w);
            first = false;
            bool f2 = true;
            for (auto &a : med[w]) {
                std::fprintf(f, "%s\"%s\": %.3f", f2 ? "" : ", ", a.first.c_str(), a.second);
                f2 = false;
            }
            std::fprintf(f, "}");
        }
        std::fprintf(f, "\n  },\n  \"latency_ns\": {");
        first = true;
        for (auto &l : latmed) {
            std::fprintf(f, "%s\n    \"%s\": {\"p50\": %.1f, \"p99\": %.1f, \"p99.9\": %.1f}", first ? "" : ",",
                         l.first.c_str(), l.second.p50, l.second.p99, l.second.p999);
            first = false;
        }
        std::fprintf(f, "\n  }\n}\n");
        std::fclose(f);
        std::printf("\nwrote %s\n", json);
    }
    if (png && std::system("command -v gnuplot >/dev/null 2>&1") == 0) {
        std::string dat = std::string(png) + ".dat", gp = std::string(png) + ".gp";
        FILE *d = std::fopen(dat.c_str(), "w");
        for (const Allocator &a : all) {
            std::fprintf(d, "\"%s\"", a.name.c_str());
            for (const char *w : wl) {
                auto it = med[w].find(a.name);
                std::fprintf(d, " %s", it == med[w].end() ? "NaN" : std::to_string(it->second).c_str());
            }
            std::fprintf(d, "\n");
        }
        std::fclose(d);
        FILE *g = std::fopen(gp.c_str(), "w");
        std::fprintf(g,
                     "set terminal pngcairo size 1400,700 noenhanced\nset output '%s'\n"
                     "set title 'ns per allocate+free (median, lower is better)'\nset style data histograms\n"
                     "set style histogram clustered gap 1\nset style fill solid border -1\nset logscale y\n"
                     "set key outside right\nset xtics rotate by -30\nset ylabel 'ns'\n"
                     "plot '%s' using 2:xtic(1) title 'pair64', '' using 3 title 'batch1000', "
                     "'' using 4 title 'churn', '' using 5 title 'xthread'\n",
                     png, dat.c_str());
        std::fclose(g);
        if (std::system(("gnuplot " + gp).c_str()) == 0)
            std::printf("wrote %s\n", png);
    }
    for (const Allocator &a : all)
        if (a.name.rfind("mempool", 0) == 0)
            mp_pool_destroy(static_cast<mp_pool *>(a.self));
    for (mp_pool *p : tc_pool)
        mp_pool_destroy(p);
    return 0;
}

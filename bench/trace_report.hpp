// gpu_trace's results: each repetition's figures, their spread, the markdown
// table, the JSON, and the metadata of the traces it writes. No CUDA here.
#pragma once

#include "trace_workload.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <functional>
#include <string>
#include <vector>

namespace trace {

// One repetition of one allocator on one phase (gpu_trace.cu says what each field measures).
struct Rep {
    double wall_ns = 0, alloc_ns = 0, free_ns = 0;
    uint64_t allocs = 0, frees = 0;
    double warm_alloc_ns = 0; // the same workload again on the same allocator: what a long-running program sees
    uint64_t warm_allocs = 0;
    uint64_t peak_reserved = 0, reserved_after = 0;
    uint64_t bad_words = 0, first_bad_id = 0;
};


// What the tables and files say about the run.
struct RunInfo {
    std::string device, mempool;
    int driver = 0, runtime = 0;
    uint64_t slow_ns = 0;
};

struct Spread {
    double median = 0, min = 0, max = 0;
};
inline Spread spread(std::vector<double> v)
{
    Spread s;
    if (v.empty())
        return s;
    std::sort(v.begin(), v.end());
    size_t m = v.size() / 2;
    s.median = v.size() % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
    s.min = v.front();
    s.max = v.back();
    return s;
}

struct Entry {
    std::string name;
    std::function<Rep(const Workload &)> run;
    std::vector<Rep> reps;
    std::string failure;
    uint64_t warmup_bad = 0; // the warm-up's errors count too

    template <class F> Spread of(F f) const
    {
        std::vector<double> v;
        for (const Rep &r : reps)
            v.push_back(f(r));
        return spread(v);
    }
    Spread wall_ms() const { return of([](const Rep &r) { return r.wall_ns / 1e6; }); }
    Spread alloc_ns() const { return of([](const Rep &r) { return r.allocs ? r.alloc_ns / r.allocs : 0; }); }
    Spread free_ns() const { return of([](const Rep &r) { return r.frees ? r.free_ns / r.frees : 0; }); }
    Spread warm_ns() const
    {
        return of([](const Rep &r) { return r.warm_allocs ? r.warm_alloc_ns / r.warm_allocs : 0; });
    }
    Spread peak() const { return of([](const Rep &r) { return (double)r.peak_reserved; }); }
    Spread after() const { return of([](const Rep &r) { return (double)r.reserved_after; }); }
    uint64_t bad_words() const
    {
        uint64_t b = warmup_bad;
        for (const Rep &r : reps)
            b += r.bad_words;
        return b;
    }
};

struct Phase {
    Workload w;
    std::vector<Entry> entries;
    int warmups = 0;
    std::string note;
};


inline const Entry *best_async(const Phase &ph, bool best_alloc)
{
    // The better of the two cudaMallocAsync settings for a metric (ns/alloc or efficiency).
    const Entry *best = nullptr;
    for (const Entry &e : ph.entries) {
        if (e.name.rfind("cudaMallocAsync", 0) != 0 || e.reps.empty() || !e.failure.empty())
            continue;
        if (!best || (best_alloc ? e.warm_ns().median < best->warm_ns().median : e.peak().median < best->peak().median))
            best = &e;
    }
    return best;
}

inline double mib(double b) { return b / 1048576.0; }

inline void print_table(const Phase &ph)
{
    const Workload &w = ph.w;
    std::printf("\n## %s: %llu allocations, %llu frees, %llu host syncs; peak live %.1f MiB\n\n", w.name.c_str(),
                (unsigned long long)w.allocs, (unsigned long long)w.frees, (unsigned long long)w.syncs, mib(w.peak_live));
    std::printf("%s\n\n", w.about[0].c_str());
    std::printf("median (min-max) of the repetitions. ns/alloc: the first pass over the workload on a fresh allocator "
                "(mapping memory included); warm ns/alloc: the same workload again on the same allocator; warm x "
                "faster: the faster cudaMallocAsync row's median warm ns/alloc over this row's; eff / async: this row's "
                "median peak reserved over the leaner cudaMallocAsync row's\n\n");
    std::printf("| allocator | reps | wall ms | ns/alloc | warm ns/alloc | warm x faster | ns/free | peak reserved MiB | "
                "reserved after MiB | efficiency | eff / async | errors |\n");
    std::printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    const Entry *fast = best_async(ph, true), *lean = best_async(ph, false);
    for (const Entry &e : ph.entries) {
        if (e.reps.empty()) {
            std::printf("| %s | 0 | FAILED: %s |\n", e.name.c_str(), e.failure.c_str());
            continue;
        }
        Spread wall = e.wall_ms(), an = e.alloc_ns(), wn = e.warm_ns(), fn = e.free_ns(), pk = e.peak(), af = e.after();
        double live = (double)w.peak_live;
        char speed[32] = "-", eff_ratio[32] = "-";
        if (fast)
            std::snprintf(speed, sizeof speed, "%.1fx", fast->warm_ns().median / wn.median);
        if (lean)
            std::snprintf(eff_ratio, sizeof eff_ratio, "%.2f", pk.median / lean->peak().median);
        std::printf("| %s | %zu | %.1f (%.1f-%.1f) | %.0f (%.0f-%.0f) | %.0f (%.0f-%.0f) | %s | %.0f (%.0f-%.0f) | %.1f "
                    "(%.1f-%.1f) | %.1f (%.1f-%.1f) | %.2f (%.2f-%.2f) | %s | %s |\n",
                    e.name.c_str(), e.reps.size(), wall.median, wall.min, wall.max, an.median, an.min, an.max,
                    wn.median, wn.min, wn.max, speed,
                    fn.median, fn.min, fn.max, mib(pk.median), mib(pk.min), mib(pk.max), mib(af.median), mib(af.min),
                    mib(af.max), pk.median / live, pk.min / live, pk.max / live, eff_ratio,
                    e.bad_words() ? "**REUSED IN USE**" : "0");
        if (!e.failure.empty())
            std::printf("|  | later repetition FAILED: %s |\n", e.failure.c_str());
    }
    if (!ph.note.empty())
        std::printf("\n%s\n", ph.note.c_str());
}

inline void json_spread(FILE *f, const char *key, const Spread &s)
{
    std::fprintf(f, "\"%s\":{\"median\":%.3f,\"min\":%.3f,\"max\":%.3f}", key, s.median, s.min, s.max);
}

inline std::string json_escape(const std::string &s)
{
    std::string o;
    for (char c : s) {
        if (c == '"' || c == '\\')
            o += '\\';
        if ((unsigned char)c >= 0x20)
            o += c;
    }
    return o;
}

inline bool write_json(const char *path, const RunInfo &run, const trace::Params &p, const std::vector<Phase> &phases)
{
    FILE *f = std::fopen(path, "w");
    if (!f)
        return false;
    std::fprintf(f, "{\"device\":\"%s\",\"driver\":%d,\"runtime\":%d,\"mempool\":\"%s\",\"seed\":%llu,\"steps\":%d,"
                    "\"blocks_per_step\":%d,\"slow_read_ns\":%llu,\"mempool_peak_reserved\":\"%s\",\"phases\":[",
                 json_escape(run.device).c_str(), run.driver, run.runtime, run.mempool.c_str(), (unsigned long long)p.seed,
                 p.steps, p.blocks_per_step, (unsigned long long)run.slow_ns, "mp_stats.peak_reserved_bytes");
    for (size_t i = 0; i < phases.size(); i++) {
        const Phase &ph = phases[i];
        std::fprintf(f, "%s{\"phase\":\"%s\",\"allocations\":%llu,\"frees\":%llu,\"syncs\":%llu,\"peak_live\":%llu,"
                        "\"warmups\":%d,\"note\":\"%s\",\"workload\":\"%s\",\"allocators\":[",
                     i ? "," : "", ph.w.name.c_str(), (unsigned long long)ph.w.allocs, (unsigned long long)ph.w.frees,
                     (unsigned long long)ph.w.syncs, (unsigned long long)ph.w.peak_live, ph.warmups,
                     json_escape(ph.note).c_str(), json_escape(ph.w.about[0]).c_str());
        for (size_t k = 0; k < ph.entries.size(); k++) {
            const Entry &e = ph.entries[k];
            std::fprintf(f, "%s{\"allocator\":\"%s\",\"reps\":%zu,\"failure\":\"%s\",\"bad_words\":%llu,", k ? "," : "",
                         e.name.c_str(), e.reps.size(), json_escape(e.failure).c_str(),
                         (unsigned long long)e.bad_words());
            json_spread(f, "wall_ms", e.wall_ms());
            std::fputc(',', f);
            json_spread(f, "alloc_ns", e.alloc_ns());
            std::fprintf(f, ",");
            json_spread(f, "warm_alloc_ns", e.warm_ns());
            std::fputc(',', f);
            json_spread(f, "free_ns", e.free_ns());
            std::fputc(',', f);
            json_spread(f, "peak_reserved", e.peak());
            std::fputc(',', f);
            json_spread(f, "reserved_after", e.after());
            std::fprintf(f, ",\"runs\":[");
            for (size_t r = 0; r < e.reps.size(); r++) {
                const Rep &x = e.reps[r];
                std::fprintf(f, "%s{\"wall_ns\":%.0f,\"alloc_ns\":%.0f,\"allocs\":%llu,\"free_ns\":%.0f,\"frees\":%llu,"
                                "\"peak_reserved\":%llu,\"reserved_after\":%llu,\"bad_words\":%llu}",
                             r ? "," : "", x.wall_ns, x.alloc_ns, (unsigned long long)x.allocs, x.free_ns,
                             (unsigned long long)x.frees, (unsigned long long)x.peak_reserved,
                             (unsigned long long)x.reserved_after, (unsigned long long)x.bad_words);
            }
            std::fprintf(f, "]}");
        }
        std::fprintf(f, "]}");
    }
    std::fprintf(f, "]}\n");
    return std::fclose(f) == 0;
}

// The trace's metadata from this run: the device and, per allocator, the
// median peak reserved of the repetitions (the baselines FORMAT.md names).
inline std::vector<std::string> trace_meta(const Phase &ph, const RunInfo &run)
{
    std::vector<std::string> m;
    char line[512], date[32];
    std::time_t now = std::time(nullptr);
    std::strftime(date, sizeof date, "%Y-%m-%d", std::gmtime(&now));
    std::snprintf(line, sizeof line, "recorded %s on %s, mempool %s", date, run.device.c_str(), run.mempool.c_str());
    m.push_back(line);
    m.push_back("baselines: median peak_reserved over the repetitions, from each allocator's own counters; "
                "cudaMallocAsync = the device's default pool at release threshold 0 (the driver's default), "
                "cudaMallocAsync-threshold-max at UINT64_MAX; cub = CachingDeviceAllocator(2, 8, 25, unlimited); "
                "measured lines: mempool's presets as of this run's version, not baselines");
    struct {
        const char *entry, *key, *kind;
    } rows[] = {
        {"cudaMallocAsync threshold 0", "cudaMallocAsync", "baseline"},
        {"cudaMallocAsync threshold max", "cudaMallocAsync-threshold-max", "baseline"},
        {"CUB caching", "cub", "baseline"},
        {"mempool default_gpu", "mempool-default_gpu", "measured"},
        {"mempool high_performance_gpu", "mempool-high_performance_gpu", "measured"},
    };
    for (auto &row : rows)
        for (const Entry &e : ph.entries)
            if (e.name == row.entry && !e.reps.empty()) {
                Spread pk = e.peak();
                std::snprintf(line, sizeof line, "%s %s peak_reserved %.0f peak_live %llu", row.kind, row.key,
                              pk.median, (unsigned long long)ph.w.peak_live);
                m.push_back(line);
                std::snprintf(line, sizeof line, "spread %s peak_reserved min %.0f max %.0f reps %zu", row.key, pk.min,
                              pk.max, e.reps.size());
                m.push_back(line);
            }
    return m;
}

// run NULL: --trace-only, the records without baselines.
inline bool write_traces(const std::string &dir, const std::vector<Phase> &phases, const RunInfo *run)
{
    bool ok = true;
    for (const Phase &ph : phases) {
        std::string path = dir + "/" + ph.w.name + ".trace";
        std::vector<std::string> extra;
        if (run)
            extra = trace_meta(ph, *run);
        else
            extra.push_back("request records only (--trace-only: no GPU, no baselines)");
        if (!trace::write_trace(path, ph.w, extra)) {
            std::fprintf(stderr, "gpu_trace: cannot write %s\n", path.c_str());
            ok = false;
        } else
            std::printf("wrote %s\n", path.c_str());
    }
    return ok;
}

} // namespace trace

// The workloads of gpu_trace as data: a deterministic list of commands
// (allocate, free, kernel launches, events, host synchronisations) that every
// allocator executes in the same order, and the writer of its allocation
// records in the format of bench/traces/FORMAT.md.
//
// Nothing here touches CUDA, so `gpu_trace --trace-only` builds the same lists
// and writes the same records on a machine without a GPU. The generator uses
// its own integer RNG (splitmix64) and integer sampling only: std::
// distributions and libm differ between standard libraries, and a trace
// recorded on the GPU machine must match the one made anywhere else.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace trace {

enum class Op : uint8_t {
    alloc,     // allocate size bytes for use on stream; the block is called id
    free,      // free id, ordered on stream (its allocation stream, or another)
    write,     // kernel on stream writes id's signature over the whole block
    read,      // kernel on stream checks id's signature
    slow_read, // the same, twice, with a sleep between (the slow consumer)
    record,    // record event slot on stream
    wait,      // stream waits for event slot
    sync,      // the host waits for everything queued on stream
};

struct Cmd {
    Op op;
    uint8_t stream; // trace numbering: 0 = the pool's stream, then in order of first use
    uint8_t slot;   // event slot of record and wait
    uint32_t id;
    uint64_t size;  // alloc only
};

struct Params {
    uint64_t seed = 42;
    int steps = 200;
    int blocks_per_step = 48;
    unsigned min_log2 = 8, max_log2 = 25; // sizes in [256 B, 32 MiB]
    int sync_every_single = 10;           // host syncs the stream every 10 layers (a loss logged)
    int producers = 4;
    int sync_every_multi = 1;             // host syncs every stream once per step
};

struct Workload {
    std::string name;                 // file name without .trace
    std::vector<std::string> about;   // metadata lines, without "# "
    std::vector<Cmd> cmds;
    std::vector<uint64_t> size;       // by id
    std::vector<uint8_t> home;        // allocation stream, by id
    int streams = 0;                  // trace streams 0 .. streams-1 exist
    int slots = 0;                    // event slots 0 .. slots-1
    uint64_t allocs = 0, frees = 0, syncs = 0;
    uint64_t peak_live = 0;           // highest sum of requested sizes allocated and not yet freed
};

// splitmix64 (Steele, Lea, Flood 2014): a fixed, portable sequence per seed.
struct Rng {
    uint64_t s;
    uint64_t next()
    {
        uint64_t z = (s += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }
    uint64_t below(uint64_t n) { return (uint64_t)(((unsigned __int128)next() * n) >> 64); }
};

// Log-uniform over [2^lo, 2^hi], exactly, in integers: each octave carries
// the same probability, and inside one a value x drawn uniformly is kept with
// probability 2^k / x (density proportional to 1/x). Rounded up to 8 bytes,
// the kernels' word, which keeps the top at 2^hi.
inline uint64_t log_uniform_size(Rng &r, unsigned lo, unsigned hi)
{
    uint64_t base = uint64_t(1) << (lo + r.below(hi - lo));
    for (;;) {
        uint64_t x = base + r.below(base);
        if (r.below(x) < base)
            return (x + 7) & ~uint64_t(7);
    }
}

class Builder {
public:
    explicit Builder(Workload &w) : w_(w) {}
    uint32_t alloc(uint64_t size, int stream)
    {
        uint32_t id = (uint32_t)w_.size.size(); // ids never repeat: each is a distinct signature
        w_.size.push_back(size);
        w_.home.push_back((uint8_t)stream);
        push({Op::alloc, (uint8_t)stream, 0, id, size});
        w_.allocs++;
        live_ += size;
        if (live_ > w_.peak_live)
            w_.peak_live = live_;
        return id;
    }
    void free(uint32_t id, int stream)
    {
        push({Op::free, (uint8_t)stream, 0, id, 0});
        w_.frees++;
        live_ -= w_.size[id];
    }
    void kernel(Op op, uint32_t id, int stream) { push({op, (uint8_t)stream, 0, id, 0}); }
    void record(int slot, int stream) { push({Op::record, (uint8_t)stream, (uint8_t)slot, 0, 0}); }
    void wait(int slot, int stream) { push({Op::wait, (uint8_t)stream, (uint8_t)slot, 0, 0}); }
    void sync(int stream)
    {
        push({Op::sync, (uint8_t)stream, 0, 0, 0});
        w_.syncs++;
    }

private:
    void push(Cmd c)
    {
        if (c.stream >= w_.streams)
            w_.streams = c.stream + 1;
        if ((c.op == Op::record || c.op == Op::wait) && c.slot >= w_.slots)
            w_.slots = c.slot + 1;
        w_.cmds.push_back(c);
    }
    Workload &w_;
    uint64_t live_ = 0;
};

// Phase 1, one stream (the pool's, trace stream 0), as a network's forward
// pass: each layer allocates blocks_per_step outputs and a kernel writes each;
// the next layer reads them (its input); they are freed two layers after
// their own, stream-ordered on the same stream. Host sync every few layers.
inline Workload single_stream(const Params &p)
{
    Workload w;
    w.name = "single_stream";
    Rng rng{p.seed};
    Builder b(w);
    std::vector<std::vector<uint32_t>> layer(p.steps);
    for (int t = 0; t < p.steps; t++) {
        for (int k = 0; k < p.blocks_per_step; k++)
            layer[t].push_back(b.alloc(log_uniform_size(rng, p.min_log2, p.max_log2), 0));
        for (uint32_t id : layer[t])
            b.kernel(Op::write, id, 0);
        if (t >= 1)
            for (uint32_t id : layer[t - 1])
                b.kernel(Op::read, id, 0);
        if (t >= 2)
            for (uint32_t id : layer[t - 2])
                b.free(id, 0);
        if ((t + 1) % p.sync_every_single == 0)
            b.sync(0);
    }
    // The last layer is read too; then the two layers still live go.
    for (uint32_t id : layer[p.steps - 1])
        b.kernel(Op::read, id, 0);
    for (int t = p.steps >= 2 ? p.steps - 2 : 0; t < p.steps; t++)
        for (uint32_t id : layer[t])
            b.free(id, 0);
    b.sync(0);
    char line[512];
    std::snprintf(line, sizeof line,
                  "generator bench/gpu_trace.cu seed %llu steps %d: per step %d blocks, log-uniform %llu..%llu B, "
                  "written there, read at the next step, freed on stream 0 two steps later; host sync every %d steps",
                  (unsigned long long)p.seed, p.steps, p.blocks_per_step, 1ull << p.min_log2, 1ull << p.max_log2,
                  p.sync_every_single);
    w.about.push_back(line);
    w.about.push_back("streams 0 = the pool's stream, the only one");
    return w;
}

// Phase 2, producers on streams 1..P (stream 0, the pool's, stays idle):
// per step each producer allocates blocks_per_step / P blocks and writes
// them; the consumer on the next stream waits for an event recorded after
// the writes, reads them with a deliberately slow kernel and frees them on
// its own stream, so each free waits behind work another stream queued.
inline Workload multi_stream(const Params &p)
{
    Workload w;
    w.name = "multi_stream";
    Rng rng{p.seed ^ 0x6D756C7469ull}; // not phase 1's sizes again
    Builder b(w);
    const int per = p.blocks_per_step / p.producers;
    std::vector<uint32_t> ids;
    for (int t = 0; t < p.steps; t++) {
        for (int i = 0; i < p.producers; i++) {
            int prod = 1 + i, cons = 1 + (i + 1) % p.producers;
            ids.clear();
            for (int k = 0; k < per; k++)
                ids.push_back(b.alloc(log_uniform_size(rng, p.min_log2, p.max_log2), prod));
            for (uint32_t id : ids)
                b.kernel(Op::write, id, prod);
            b.record(i, prod);
            b.wait(i, cons);
            for (uint32_t id : ids)
                b.kernel(Op::slow_read, id, cons);
            for (uint32_t id : ids)
                b.free(id, cons);
        }
        if ((t + 1) % p.sync_every_multi == 0 || t + 1 == p.steps)
            for (int s = 1; s <= p.producers; s++)
                b.sync(s);
    }
    char line[512];
    std::snprintf(line, sizeof line,
                  "generator bench/gpu_trace.cu seed %llu steps %d: per step each of %d producer streams allocates %d "
                  "blocks, log-uniform %llu..%llu B, and writes them; the next stream reads them slowly after an "
                  "event and frees them there; host sync of every stream every %d steps",
                  (unsigned long long)p.seed, p.steps, p.producers, per, 1ull << p.min_log2, 1ull << p.max_log2,
                  p.sync_every_multi);
    w.about.push_back(line);
    w.about.push_back("streams 0 = the pool's stream (idle here); 1..4 the producers, stream k+1 consumes stream k's blocks (4 -> 1)");
    return w;
}

// The records of FORMAT.md: header, metadata (w.about, then extra), then one
// line per allocate, free and host sync, in the order the workload issues them.
inline bool write_trace(const std::string &path, const Workload &w, const std::vector<std::string> &extra)
{
    FILE *f = std::fopen(path.c_str(), "w");
    if (!f)
        return false;
    std::fprintf(f, "# mempool-trace 1\n# workload %s\n", w.name.c_str());
    for (const std::string &m : w.about)
        std::fprintf(f, "# %s\n", m.c_str());
    std::fprintf(f, "# requests %llu allocations, %llu frees, %llu syncs; peak_live %llu\n",
                 (unsigned long long)w.allocs, (unsigned long long)w.frees, (unsigned long long)w.syncs,
                 (unsigned long long)w.peak_live);
    for (const std::string &m : extra)
        std::fprintf(f, "# %s\n", m.c_str());
    for (const Cmd &c : w.cmds) {
        if (c.op == Op::alloc)
            std::fprintf(f, "a %u %llu %u\n", c.id, (unsigned long long)c.size, c.stream);
        else if (c.op == Op::free)
            std::fprintf(f, "f %u %u\n", c.id, c.stream);
        else if (c.op == Op::sync)
            std::fprintf(f, "s %u\n", c.stream);
    }
    return std::fclose(f) == 0;
}

} // namespace trace

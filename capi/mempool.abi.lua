-- The mempool C ABI: the one description that tools/abigen.lua turns into
-- include/mempool/mempool.h, capi/mempool.map (linker version script),
-- docs/API.md, docs/abi-manifest.tsv, the stats formatters and the binding
-- error classes (tools/abigen.lua --list names them all).  Edit this file, then run
-- `cmake --build build --target abigen`.
--
-- Format: groups (topic order of the header); enums {name, group, since,
-- values = {{NAME, number, doc, since?}}}; structs {name, group, since,
-- fields = {{ctype, name, doc, since?}}} (mp_stats' fields also say how the
-- stats text and JSON show them: see there); functions {name, group, since,
-- ret, doc, params = {{dir, ctype, name, doc, null?}}, errors, skip}.
-- dir is "in", "out" or "inout"; null = true lets the argument be NULL;
-- errors lists the statuses beyond MP_OK; skip = {lang = "reason"} names a
-- binding that deliberately has no counterpart.  Released entries are frozen:
-- capi/abi/released-<major>.<minor>.lua is checked against this file.

local function P(dir, ctype, name, doc, null)
  return { dir = dir, ctype = ctype, name = name, doc = doc, null = null or false }
end
local POOL = P("in", "mp_pool *", "pool", "the pool")
local CPOOL = P("in", "const mp_pool *", "pool", "the pool")
local CFG = function(doc) return P("out", "mp_config *", "config", doc or
  "filled up to config->struct_size, which the caller sets first") end
local STRING_ERR = { "INVALID_ARGUMENT", "OUT_OF_MEMORY" }
local TC_SKIP = {
  java = "the thread cache is an inline C fast path; a JNI call costs more than it saves: use allocate",
  go = "the thread cache is an inline C fast path; a cgo call costs more than it saves: use Allocate",
  lua = "the thread cache is an inline C fast path; Lua calls pay the interpreter anyway: use pool:alloc" }
local TC_SLOW_SKIP = { java = TC_SKIP.java, go = TC_SKIP.go, lua = TC_SKIP.lua,
  cpp = "called by the inline mp_tcache_allocate / mp_tcache_deallocate that ThreadCache uses" }

return {
  version = { major = 1, minor = 3, patch = 0 },

  groups = {
    { id = "version",  title = "Version" },
    { id = "status",   title = "Status codes, error details and returned strings" },
    { id = "config",   title = "Configuration and the presets" },
    { id = "pool",     title = "Pools" },
    { id = "tcache",   title = "Thread caches: the inline fast path of lock-free pools" },
    { id = "stats",    title = "Statistics, tracking and leak checks" },
    { id = "registry", title = "Registry of named pools and global helpers" },
    { id = "gpu",      title = "GPU: devices, streams and copies" },
    { id = "policy",   title = "Policies (slow-path hooks) and the size-class router" },
  },

  -- Function types of the policy hooks, emitted as written.
  typedefs = {
    -- The thread cache's layout: the inline functions of mempool_tcache.h are compiled into
    -- callers. Its fields are the library's to write. layout = true: these types belong to
    -- the layout that MP_TCACHE_LAYOUT numbers; abigen fingerprints them with the header's
    -- code, and they may change within 1.x only under a new layout number.
    { name = "mp_tcache_entry", group = "tcache", since = "1.1", nobind = true, layout = true,
      doc = "One cached block: its address and its state byte.",
      decl = "typedef struct mp_tcache_entry {\n    void *p;\n    uint8_t *state;\n} mp_tcache_entry;" },
    { name = "mp_tcache_bin", group = "tcache", since = "1.1", nobind = true, layout = true,
      doc = "One size class of a thread cache: a stack of blocks below top, room up to end. The entry\n" ..
            "below the first is a sentinel whose p is NULL, so that top[-1].p says whether it is empty.\n" ..
            "Layout 103 counts: frees, the blocks the owning thread put into the bin, written by that thread\n" ..
            "alone; supplied, the blocks the library moved in (refills) less those it took out (spills,\n" ..
            "exits, trims, resets), written by the library alone; both with relaxed atomic stores. The\n" ..
            "bin's allocations are supplied + frees - the blocks it holds; the library sums them for the\n" ..
            "statistics of counters-only pools (mp_config.counters_only).",
      decl = "typedef struct mp_tcache_bin {\n    mp_tcache_entry *top;\n    mp_tcache_entry *end;\n" ..
             "    uint64_t frees;\n    uint64_t supplied;\n} mp_tcache_bin;" },
    { name = "mp_tcache", group = "tcache", since = "1.1", nobind = true, layout = true,
      doc = "A thread's cache of one pool (mp_pool_thread_cache). Read by the inline functions, written\n" ..
            "only by the library and by those functions on the owning thread.\n" ..
            "owner: the owning thread's thread pointer (0: every call takes the exported path);\n" ..
            "requests of 1..max_size bytes map to bin class_of[(size - 1) >> class_shift] - 1 (bin 0\n" ..
            "when class_of is NULL); the nbins bins follow the struct (mp__tcache_bins); a free is\n" ..
            "checked against the hot chunk: hot_grains grains of 2^hot_shift bytes from hot_base, one state\n" ..
            "byte each from hot_state; hot_grains is read atomically: the library sets it to 0 from any\n" ..
            "thread when the pool's chunks change, and frees then take the exported path, which\n" ..
            "refreshes it. magic is MP_TCACHE_MAGIC.",
      decl = "typedef struct mp_tcache {\n" ..
             "    uintptr_t owner;\n    size_t max_size;\n    const uint8_t *class_of;\n" ..
             "    uint32_t class_shift;\n    uint32_t nbins;\n" ..
             "    uintptr_t hot_base;\n    size_t hot_grains;\n    uint8_t *hot_state;\n    uint32_t hot_shift;\n" ..
             "    uint32_t magic;\n    mp_pool *pool;\n} mp_tcache;" },
    { name = "mp_grow_fn", group = "policy", since = "1.1",
      doc = "How many bytes to add (*out_bytes >= need) when the pool must grow by need; any status\n" ..
            "but MP_OK refuses, with a reason in detail.",
      decl = "typedef mp_status (*mp_grow_fn)(void *user, mp_pool *pool, size_t need, size_t *out_bytes, char *detail, size_t detail_cap);" },
    { name = "mp_oom_fn", group = "policy", since = "1.1",
      doc = "Called once when an allocation of size failed; may free or reset memory. MP_OK: try the\n" ..
            "allocation once more; MP_ERR_OUT_OF_MEMORY: decline (the first failure stands); else it failed.",
      decl = "typedef mp_status (*mp_oom_fn)(void *user, mp_pool *pool, size_t size, char *detail, size_t detail_cap);" },
    { name = "mp_trim_fn", group = "policy", since = "1.1",
      doc = "How many reserved bytes mp_pool_trim_auto keeps (*out_keep).",
      decl = "typedef mp_status (*mp_trim_fn)(void *user, mp_pool *pool, size_t reserved, size_t in_use, size_t *out_keep, char *detail, size_t detail_cap);" },
    { name = "mp_write_fn", group = "stats", since = "1.3",
      doc = "Receives a piece of mp_stats_print's output (NUL-terminated); the pieces, in order, are the\n" ..
            "whole text. It runs with no lock of the library held, so it may call any mempool function.",
      decl = "typedef void (*mp_write_fn)(void *opaque, const char *text);" },
    { name = "mp_release_fn", group = "policy", since = "1.1",
      doc = "Called once when the policy is replaced or its pool destroyed.",
      decl = "typedef void (*mp_release_fn)(void *user);" },
  },

  -- The inline half of the thread cache: a hand-written header, compiled on its own
  -- (ctest abi_tcache_header_alone_*), that mempool.h includes after the functions of
  -- its group. abigen reads each inline's signature and doc comment from it.
  inline_header = { file = "mempool_tcache.h", group = "tcache" },
  inlines = {
    { name = "mp_tcache_allocate", group = "tcache", since = "1.1" },
    { name = "mp_tcache_deallocate", group = "tcache", since = "1.1" },
  },

  enums = {
    { name = "mp_status", group = "status", since = "1.0",
      doc = "Result of every call that can fail. Values are stable and append-only.",
      values = {
        { "MP_OK", 0, "success", error = "" },
        { "MP_ERR_INVALID_ARGUMENT", 1, "a NULL, zero, out-of-range or malformed argument", error = "InvalidArgument" },
        { "MP_ERR_OUT_OF_MEMORY", 2, "the pool or its backend could not supply the memory", error = "OutOfMemory" },
        { "MP_ERR_INVALID_POINTER", 3, "a pointer the pool never handed out, or already freed", error = "InvalidPointer" },
        { "MP_ERR_INVALID_OPERATION", 4, "the call does not apply to this pool in its present state", error = "InvalidOperation" },
        { "MP_ERR_CUDA", 5, "the CUDA runtime failed; the detail names the CUDA error", error = "Cuda" },
        { "MP_ERR_NOT_FOUND", 6, "no pool of that name", error = "NotFound" },
        { "MP_ERR_ALREADY_EXISTS", 7, "a pool of that name exists already", error = "AlreadyExists" },
        { "MP_ERR_UNSUPPORTED", 8, "not available in this build or on this machine (no CUDA, no device)", error = "Unsupported" },
        { "MP_ERR_CORRUPTION", 9, "debug checks found overwritten guard bytes or broken bookkeeping", error = "Corruption" },
        { "MP_ERR_BUFFER_TOO_SMALL", 10, "the caller's array was too small; the count says how many exist", error = "BufferTooSmall" },
      } },
    { name = "mp_allocator_type", group = "config", since = "1.0",
      doc = "How a pool carves its chunks.",
      values = {
        { "MP_ALLOCATOR_FIXED_SIZE", 0, "equal blocks of block_size: O(1) allocate and free" },
        { "MP_ALLOCATOR_VARIABLE_SIZE", 1, "TLSF good-fit with immediate coalescing: O(1) allocate and free" },
      } },
    { name = "mp_sync_type", group = "config", since = "1.0",
      doc = "Synchronisation of a pool with thread_safe set. MP_SYNC_LOCK_FREE without per-allocation\n" ..
            "records (track_stats off, or on with counters_only) and without debugging gives each\n" ..
            "thread a cache of blocks per pool: allocate and free of a\n" ..
            "cached class (any block of a fixed pool; up to 4096 units, at most 1 MiB, of a variable\n" ..
            "pool) take no lock and no atomic read-modify-write; caches trade half their blocks with\n" ..
            "the pool through lock-free stacks. Growth, larger blocks, pinned and managed flags and\n" ..
            "whole-pool calls take the pool lock. Double and foreign frees are still refused.\n" ..
            "A thread's cached blocks return to the pool when it exits, on reset, and count as free\n" ..
            "in the stats. With records (track_stats on, counters_only off) or debugging on, LOCK_FREE\n" ..
            "takes the lock like MUTEX; the stats text and JSON then say \"sync mutex\" (the mode in\n" ..
            "force), while mp_pool_get_config keeps the MP_SYNC_LOCK_FREE asked for.",
      values = {
        { "MP_SYNC_MUTEX", 0, "one lock around each operation (one atomic when uncontended)" },
        { "MP_SYNC_LOCK_FREE", 1, "per-thread caches, no lock on the common path (see above)" },
      } },
    { name = "mp_memory_type", group = "config", since = "1.0",
      doc = "Where a pool's memory lives, as the seed's MemoryType.",
      values = {
        { "MP_MEMORY_CPU", 0, "host memory" },
        { "MP_MEMORY_GPU", 1, "CUDA device memory (or managed/pinned, see mp_backend_kind)" },
      } },
    { name = "mp_alloc_flags", group = "config", since = "1.0",
      doc = "Per-allocation memory kind. A pool serves flagged requests from a side arena of\n" ..
            "that kind, created on first use; freeing goes through the same pool.",
      values = {
        { "MP_ALLOC_NONE", 0, "the pool's own memory" },
        { "MP_ALLOC_PINNED", 1, "page-locked host memory (cudaHostAlloc)" },
        { "MP_ALLOC_MANAGED", 2, "CUDA managed memory (cudaMallocManaged)" },
      } },
    { name = "mp_snapshot_kind", group = "stats", since = "1.3",
      doc = "Which moment mp_pool_memory_snapshot describes.",
      values = {
        { "MP_SNAPSHOT_NOW", 0, "the pool's memory now" },
        { "MP_SNAPSHOT_LAST_OOM", 1, "the pool's memory when its last allocation failed (since creation or mp_pool_reset_stats)" },
      } },
    { name = "mp_backend_kind", group = "config", since = "1.0",
      doc = "The source of a pool's chunks.",
      values = {
        { "MP_BACKEND_HOST", 0, "anonymous mmap" },
        { "MP_BACKEND_CUDA_DEVICE", 1, "cudaMalloc on the pool's device" },
        { "MP_BACKEND_CUDA_PINNED", 2, "cudaHostAlloc" },
        { "MP_BACKEND_CUDA_MANAGED", 3, "cudaMallocManaged" },
      } },
  },

  structs = {
    { name = "mp_config", group = "config", since = "1.0",
      doc = "Pool configuration (the seed's PoolConfig). Set struct_size = sizeof(mp_config),\n" ..
            "then fill it with a preset. Bytes past the fields this library knows must be zero.\n" ..
            "counters_only (1.3) makes track_stats keep the counters of mp_stats without a record per\n" ..
            "allocation: no hash-map insert, and LOCK_FREE pools keep their thread caches, whose\n" ..
            "threads count in their own bins. Every block is counted (tracking cannot be turned off)\n" ..
            "and mp_pool_get_allocations is refused; mp_stats says what each counter means then.\n" ..
            "Without track_stats it changes nothing. A fixed pool without thread_safe (and without\n" ..
            "records or debugging) keeps one cache of free blocks in front of its chunks, for whichever\n" ..
            "thread calls (1.3): no lock and no thread lookup, the same checks.",
      fields = {
        { "size_t", "struct_size", "sizeof(mp_config) as the caller compiled it" },
        { "mp_allocator_type", "allocator_type", "fixed-size or variable-size" },
        { "size_t", "initial_size", "bytes reserved at creation (0: on first allocation)" },
        { "size_t", "block_size", "fixed-size pools: the largest request, rounded up to alignment" },
        { "bool", "thread_safe", "false: no synchronisation (one thread at a time)" },
        { "mp_sync_type", "sync_type", "synchronisation when thread_safe is true" },
        { "bool", "track_stats", "keep counters and (unless counters_only) per-allocation records" },
        { "bool", "enable_debugging", "guard bytes, fill patterns and double-free history" },
        { "int", "device_id", "CUDA device of GPU pools" },
        { "bool", "use_pinned_memory", "chunks from cudaHostAlloc" },
        { "bool", "use_managed_memory", "chunks from cudaMallocManaged" },
        { "size_t", "alignment", "power of two; every block starts at a multiple of it" },
        { "size_t", "growth_factor", "each new chunk is the previous one times this (>= 1)" },
        { "size_t", "max_size", "hard limit on reserved bytes (0: none)" },
        { "bool", "counters_only", "with track_stats: counters, no per-allocation records (see above)",
          since = "1.3" },
      } },
    { name = "mp_stats", group = "stats", since = "1.0",
      doc = "A snapshot of a pool's counters. Byte counts are requested sizes of tracked\n" ..
            "allocations. fragmentation_ratio = 1 - largest free block / open free bytes, over the\n" ..
            "chunks that hold a block: how scattered the free space among live blocks is. Open free\n" ..
            "bytes are those any request may use: not blocks kept for one size class (free blocks in\n" ..
            "small-block pages, blocks in thread caches). A wholly free chunk is whole, not fragmented,\n" ..
            "and is left out. 0 when the user holds no block (an empty or idle pool) or no byte is open;\n" ..
            "always 0 for fixed-size pools, whose every free block fits every request (since 1.3;\n" ..
            "1.0-1.2 divided by all free bytes of every chunk, so an empty pool of two chunks read 0.5).\n" ..
            "Counters-only pools (track_stats and counters_only) count every block, by bytes its free can\n" ..
            "find again without a record: a fixed pool's block_size; in a variable pool, the class size\n" ..
            "of a request up to 4096 units, at most 1 MiB (the thread caches' and small-block pages'\n" ..
            "classes: four per power of two, rounding up by less than 25%), which the pool then\n" ..
            "allocates on every path, or for an over-aligned request what the strategy gave; else the\n" ..
            "requested size. total_allocated, current_used, allocation_count and deallocation_count are\n" ..
            "then sums over the pool and its caches (never torn; exact whenever no call on the pool is\n" ..
            "running; a thread's counts outlive it). peak_usage is the highest current_used seen at the\n" ..
            "pool's slow paths (a cache's refill or spill, the locked path) and at each snapshot: with\n" ..
            "caches it may miss or overshoot a peak by at most what they hold.",
      -- mp_pool_stats_string and mp_pool_stats_json are generated from these fields
      -- (capi/stats/stats_format.c). JSON: every field but struct_size, in this order,
      -- keyed by json (default: its name). Text: after the pool's own line, one line per
      -- label of text_lines, in that order, "  label:" padded to 15 columns, then the
      -- pieces of that line's fields in piece order; a piece is text = {label, order,
      -- "words with {} for the value"}. A field without text gets a line of its own,
      -- labelled with its name ("pending frees: 0"), after the listed ones. Values:
      -- unsigned integers in decimal; doubles need format = "ratio" ("0.123456").
      text_lines = { "in use", "lifetime", "reserved", "fragmentation" },
      fields = {
        { "size_t", "struct_size", "sizeof(mp_stats) as the caller compiled it" },
        { "uint64_t", "total_allocated", "bytes handed out since creation or mp_pool_reset_stats",
          text = { "lifetime", 3, ", {} bytes" } },
        { "uint64_t", "current_used", "bytes in live tracked allocations", text = { "in use", 1, "{} bytes" } },
        { "uint64_t", "peak_usage", "highest current_used seen", text = { "in use", 3, " (peak {})" } },
        { "uint64_t", "allocation_count", "successful allocations", text = { "lifetime", 1, "{} allocations" } },
        { "uint64_t", "deallocation_count", "successful deallocations (a reset counts each live block)",
          text = { "lifetime", 2, ", {} deallocations" } },
        { "double", "fragmentation_ratio", "see above", format = "ratio", text = { "fragmentation", 1, "{}" } },
        { "uint64_t", "reserved_bytes", "bytes held from the backend, in all arenas",
          text = { "reserved", 1, "{} bytes" } },
        { "uint64_t", "chunk_count", "chunks held from the backend", text = { "reserved", 2, " in {} chunks" } },
        { "uint64_t", "failed_allocations", "allocations that returned an error after validation",
          text = { "lifetime", 4, ", {} failed" } },
        { "uint64_t", "live_allocations", "blocks currently allocated, tracked or not",
          text = { "in use", 2, " in {} allocations" } },
        { "uint64_t", "pending_frees", "blocks freed on another stream whose work may not have finished (adjacent ones freed on one stream count as one)", since = "1.1" },
        { "uint64_t", "peak_reserved_bytes", "highest reserved_bytes seen since creation or mp_pool_reset_stats\n" ..
          "(which sets it to the current reserved_bytes)", since = "1.3", text = { "reserved", 3, " (peak {})" } },
      } },
    { name = "mp_policy", group = "policy", since = "1.1",
      doc = "Slow-path hooks of a pool. Any hook may be NULL (the built-in behaviour). Hooks run\n" ..
            "without the pool's lock, on the thread that needed them, so they may call any mempool\n" ..
            "function, on their own pool too: an allocation there that needs to grow grows by\n" ..
            "growth_factor without calling the hooks again; destroying the pool is refused\n" ..
            "(MP_ERR_INVALID_OPERATION); replacing its policy is allowed (release runs once the\n" ..
            "last running hook returns). A hook must return: no longjmp or C++ exception out of it.\n" ..
            "The allocate and free fast paths never call them.",
      fields = {
        { "size_t", "struct_size", "sizeof(mp_policy) as the caller compiled it" },
        { "void *", "user", "handed to every hook" },
        { "mp_grow_fn", "grow", "growth: bytes to add, or refuse" },
        { "mp_oom_fn", "on_oom", "out of memory: make room, ask for one retry" },
        { "mp_trim_fn", "trim", "trim: bytes to keep" },
        { "mp_release_fn", "release", "the policy is dropped" },
      } },
    { name = "mp_memory_snapshot", group = "stats", since = "1.3", json = true,
      doc = "Where a pool's memory is (mp_pool_memory_snapshot), in bytes as the pool cut its blocks\n" ..
            "(rounded up to their size class or alignment, debug guards included). Each block is in one\n" ..
            "place: the user's hands, a thread cache, a stream's queue, or free in a chunk or a\n" ..
            "small-block page; in_use_bytes = address_space_bytes - free_bytes - cached_bytes -\n" ..
            "pending_bytes. Counts of records (chunks_listed, class_count) say how many the call has;\n" ..
            "the snapshot of the last failure lists the 8 largest chunks at most, largest first, and no\n" ..
            "classes.",
      fields = {
        { "size_t", "struct_size", "sizeof(mp_memory_snapshot) as the caller compiled it" },
        { "uint64_t", "reserved_bytes", "physical bytes held from the backends, in all arenas (mp_stats.reserved_bytes)" },
        { "uint64_t", "address_space_bytes", "bytes of address space the chunks span: reserved_bytes unless a backend maps memory on demand" },
        { "uint64_t", "idle_bytes", "of reserved_bytes, those behind no block that a pool mapping memory on demand keeps for reuse (the release threshold); 0 in other pools" },
        { "uint64_t", "peak_reserved_bytes", "highest reserved_bytes since creation or mp_pool_reset_stats" },
        { "uint64_t", "max_size", "the pool's limit on reserved bytes (0: none)" },
        { "uint64_t", "in_use_bytes", "bytes neither free, cached nor pending: the user's blocks, and chunk tails no block fits" },
        { "uint64_t", "live_blocks", "blocks the user holds (mp_stats.live_allocations)" },
        { "uint64_t", "free_bytes", "free bytes in chunks and small-block pages (not in thread caches)" },
        { "uint64_t", "largest_free_block", "the largest free block of any chunk (a fixed pool: its block size): the most one request gets without growth; blocks kept for one size class (in pages, in caches) are left out" },
        { "uint64_t", "cached_bytes", "bytes of the blocks in thread caches and their magazines: free to the user, kept for their class" },
        { "uint64_t", "cached_blocks", "those blocks" },
        { "uint64_t", "pending_bytes", "bytes of the blocks freed on a stream, waiting for its event: neither free nor live" },
        { "uint64_t", "pending_blocks", "those blocks (mp_stats.pending_frees)" },
        { "uint64_t", "chunk_count", "chunks the pool held (mp_stats.chunk_count)" },
        { "uint64_t", "chunks_listed", "chunk records the snapshot has: chunk_count now; at most 8, the largest, for the last failure" },
        { "uint64_t", "class_count", "class records the snapshot has (classes with pages or blocks; none for the last failure)" },
        { "uint64_t", "request_bytes", "the request that failed (MP_SNAPSHOT_LAST_OOM; 0 now)" },
        { "uint64_t", "request_alignment", "its alignment: the pool's, or what mp_pool_allocate_aligned asked (0 now)" },
        { "mp_memory_type", "memory_type", "CPU or GPU pool" },
        { "mp_backend_kind", "backend", "the pool's own memory" },
      } },
    { name = "mp_chunk_info", group = "stats", since = "1.3", json = true,
      doc = "One chunk of a pool (mp_pool_memory_snapshot). Small-block pages count as used by their\n" ..
            "chunk: their free blocks serve one size class, and mp_class_info counts them.",
      fields = {
        { "size_t", "struct_size", "record stride; the caller sets it in the first record" },
        { "void *", "base", "its first byte" },
        { "uint64_t", "size", "bytes of address space" },
        { "uint64_t", "mapped_bytes", "physical bytes behind it: size unless its backend maps memory on demand" },
        { "uint64_t", "idle_bytes", "of them, those behind no block, kept for reuse (on demand only)" },
        { "uint64_t", "free_bytes", "bytes of its free blocks that any request may use" },
        { "uint64_t", "largest_free_block", "the largest of them" },
        { "uint64_t", "live_blocks", "blocks handed out in it, small ones included: the user's, and those in thread caches or waiting on a stream" },
        { "uint64_t", "page_bytes", "bytes of its small-block pages" },
        { "mp_backend_kind", "backend", "its memory: the pool's own, or a side arena's (MP_ALLOC_PINNED, MP_ALLOC_MANAGED)" },
      } },
    { name = "mp_class_info", group = "stats", since = "1.3", json = true,
      doc = "One size class of a pool (mp_pool_memory_snapshot): the small-block pages of a CPU pool's\n" ..
            "variable-size blocks up to 8 KiB, the classes of its thread caches, or a fixed pool's one\n" ..
            "block size. The user holds about used_blocks - cached_blocks of a class with pages (a cached\n" ..
            "block may also be a large block of the class's size).",
      fields = {
        { "size_t", "struct_size", "record stride; the caller sets it in the first record" },
        { "uint64_t", "block_size", "bytes of each block" },
        { "uint64_t", "pages", "small-block pages of the class (0 for a fixed pool, and for cache classes above 8 KiB)" },
        { "uint64_t", "page_bytes", "bytes of those pages" },
        { "uint64_t", "used_blocks", "blocks of its pages (a fixed pool: of its chunks) handed out, to the user or to a thread cache" },
        { "uint64_t", "free_blocks", "free blocks in its pages (a fixed pool: in its chunks)" },
        { "uint64_t", "cached_blocks", "blocks of the class in thread caches and their magazines: free to the user" },
      } },
    { name = "mp_allocation_info", group = "stats", since = "1.0",
      doc = "One live allocation (the seed's AllocationInfo).",
      fields = {
        { "size_t", "struct_size", "record stride; the caller sets it in the first record" },
        { "void *", "ptr", "address returned to the caller" },
        { "size_t", "size", "requested size" },
        { "uint64_t", "sequence", "1 for the pool's first allocation, then counting up" },
      } },
  },

  functions = {
    -- version ------------------------------------------------------------
    { name = "mp_version", group = "version", since = "1.0", ret = "unsigned",
      doc = "The library's version as MAJOR*10000 + MINOR*100 + PATCH; compare with MP_VERSION_NUMBER.",
      params = {}, errors = {} },
    { name = "mp_version_string", group = "version", since = "1.0", ret = "const char *",
      doc = "The library's version as \"MAJOR.MINOR.PATCH\" plus build features, e.g. \"1.0.0 (cuda)\".",
      params = {}, errors = {} },

    -- status -------------------------------------------------------------
    { name = "mp_status_name", group = "status", since = "1.0", ret = "const char *",
      doc = "The enum name of a status (\"MP_ERR_OUT_OF_MEMORY\"); \"MP_ERR_UNKNOWN\" for other values.",
      params = { P("in", "mp_status", "status", "any value") }, errors = {} },
    { name = "mp_status_string", group = "status", since = "1.0", ret = "const char *",
      doc = "A one-line human description of a status.",
      params = { P("in", "mp_status", "status", "any value") }, errors = {} },
    { name = "mp_last_error", group = "status", since = "1.0", ret = "mp_status",
      doc = "The status of the last failed call on this thread (MP_OK if none failed yet).",
      params = {}, errors = {} },
    { name = "mp_last_error_message", group = "status", since = "1.0", ret = "const char *",
      doc = "Detail of the last failed call on this thread: which pool, which size, which CUDA error.\n" ..
            "Valid until the next failing call on this thread; successful calls leave it alone.",
      params = {}, errors = {} },
    { name = "mp_string_free", group = "status", since = "1.0", ret = "void",
      doc = "Frees a string the library returned through a char ** out-parameter.",
      params = { P("in", "char *", "string", "a returned string, or NULL", true) }, errors = {},
      skip = { java = "strings are copied and freed by the binding", go = "strings are copied and freed by the binding",
               lua = "strings are copied and freed by the binding", cpp = "strings are copied and freed by the wrapper" } },

    -- config -------------------------------------------------------------
    { name = "mp_config_default_cpu", group = "config", since = "1.0", ret = "mp_status",
      doc = "Variable-size CPU pool, 1 MiB initial, mutex, stats on, alignment 16, growth 2.",
      params = { CFG() }, errors = { "INVALID_ARGUMENT" } },
    { name = "mp_config_default_gpu", group = "config", since = "1.0", ret = "mp_status",
      doc = "Variable-size GPU pool on device 0, 1 MiB initial, mutex, stats on, alignment 256.",
      params = { CFG() }, errors = { "INVALID_ARGUMENT" } },
    { name = "mp_config_fixed_size_cpu", group = "config", since = "1.0", ret = "mp_status",
      doc = "Fixed-size CPU pool of block_size blocks.",
      params = { CFG(), P("in", "size_t", "block_size", "largest request, > 0") }, errors = { "INVALID_ARGUMENT" } },
    { name = "mp_config_fixed_size_gpu", group = "config", since = "1.0", ret = "mp_status",
      doc = "Fixed-size GPU pool of block_size blocks on device_id.",
      params = { CFG(), P("in", "size_t", "block_size", "largest request, > 0"),
                 P("in", "int", "device_id", "CUDA device, >= 0") }, errors = { "INVALID_ARGUMENT" } },
    { name = "mp_config_high_performance_cpu", group = "config", since = "1.0", ret = "mp_status",
      doc = "Variable-size CPU pool, 64 MiB initial, lock-free sync, stats off, alignment 64 (a cache line).",
      params = { CFG() }, errors = { "INVALID_ARGUMENT" } },
    { name = "mp_config_high_performance_gpu", group = "config", since = "1.0", ret = "mp_status",
      doc = "Variable-size GPU pool on device_id, 256 MiB initial, lock-free sync, stats off.",
      params = { CFG(), P("in", "int", "device_id", "CUDA device, >= 0") }, errors = { "INVALID_ARGUMENT" } },
    { name = "mp_config_general_purpose_cpu", group = "config", since = "1.3", ret = "mp_status",
      doc = "Variable-size CPU pool for a general-purpose heap: lock-free sync (thread caches), counters\n" ..
            "on without per-allocation records (counters_only), alignment 16, 64 MiB initial (address\n" ..
            "space: resident only where blocks are), growth 2.",
      params = { CFG() }, errors = { "INVALID_ARGUMENT" } },
    { name = "mp_config_debug_cpu", group = "config", since = "1.0", ret = "mp_status",
      doc = "Variable-size CPU pool with debugging and stats on.",
      params = { CFG() }, errors = { "INVALID_ARGUMENT" } },
    { name = "mp_config_debug_gpu", group = "config", since = "1.0", ret = "mp_status",
      doc = "Variable-size GPU pool on device_id with debugging (double-free history) and stats on.",
      params = { CFG(), P("in", "int", "device_id", "CUDA device, >= 0") }, errors = { "INVALID_ARGUMENT" } },
    { name = "mp_config_validate", group = "config", since = "1.0", ret = "mp_status",
      doc = "Checks a configuration for a pool of the given memory type without creating one.",
      params = { P("in", "const mp_config *", "config", "the configuration"),
                 P("in", "mp_memory_type", "memory_type", "MP_MEMORY_CPU or MP_MEMORY_GPU") },
      errors = { "INVALID_ARGUMENT", "UNSUPPORTED" } },

    -- pool ---------------------------------------------------------------
    { name = "mp_pool_create", group = "pool", since = "1.0", ret = "mp_status",
      doc = "Creates a standalone pool owned by the caller (not in the registry) and reserves\n" ..
            "initial_size (max_size, when set, must hold at least one chunk). Destroy it with\n" ..
            "mp_pool_destroy.",
      params = { P("in", "const char *", "name", "1 to 63 bytes of valid UTF-8, no control characters"),
                 P("in", "mp_memory_type", "memory_type", "CPU or GPU"),
                 P("in", "const mp_config *", "config", "the configuration"),
                 P("out", "mp_pool **", "out_pool", "receives the new pool") },
      errors = { "INVALID_ARGUMENT", "OUT_OF_MEMORY", "UNSUPPORTED", "CUDA" } },
    { name = "mp_pool_destroy", group = "pool", since = "1.0", ret = "mp_status",
      doc = "Releases every chunk of a standalone pool and the pool itself; live blocks die with it.\n" ..
            "Registry pools are destroyed with mp_registry_destroy. Refused while one of the pool's\n" ..
            "hooks runs. Afterwards every call with the handle gets MP_ERR_INVALID_ARGUMENT; no\n" ..
            "other thread may be inside a call on the pool meanwhile.",
      params = { P("in", "mp_pool *", "pool", "a standalone pool") },
      errors = { "INVALID_ARGUMENT", "INVALID_OPERATION" } },
    { name = "mp_pool_allocate", group = "pool", since = "1.0", ret = "mp_status",
      doc = "Allocates size bytes aligned to the pool's alignment.",
      params = { POOL, P("in", "size_t", "size", "bytes, > 0"),
                 P("out", "void **", "out_ptr", "receives the block (NULL on failure)") },
      errors = { "INVALID_ARGUMENT", "OUT_OF_MEMORY", "UNSUPPORTED", "CUDA" } },
    { name = "mp_pool_allocate_flags", group = "pool", since = "1.0", ret = "mp_status",
      doc = "Allocates size bytes of the memory kind in flags (see mp_alloc_flags).",
      params = { POOL, P("in", "size_t", "size", "bytes, > 0"),
                 P("in", "mp_alloc_flags", "flags", "MP_ALLOC_NONE, MP_ALLOC_PINNED or MP_ALLOC_MANAGED"),
                 P("out", "void **", "out_ptr", "receives the block (NULL on failure)") },
      errors = { "INVALID_ARGUMENT", "OUT_OF_MEMORY", "UNSUPPORTED", "CUDA" } },
    { name = "mp_pool_allocate_aligned", group = "pool", since = "1.3", ret = "mp_status",
      doc = "Allocates size bytes starting at a multiple of alignment, for those who need more than\n" ..
            "the pool's own alignment (a page, a DMA boundary, std::pmr's over-aligned requests).\n" ..
            "Up to the pool's alignment this is mp_pool_allocate. Beyond it, variable-size pools\n" ..
            "place the block (small requests from a size class whose blocks are all that aligned,\n" ..
            "others from a free run, the gap before the block staying free); fixed-size pools\n" ..
            "refuse (MP_ERR_INVALID_ARGUMENT: their blocks start at multiples of their alignment),\n" ..
            "and debug pools refuse (MP_ERR_UNSUPPORTED: a guard precedes each block). Freed with\n" ..
            "mp_pool_deallocate, like any block.",
      params = { POOL, P("in", "size_t", "size", "bytes, > 0"),
                 P("in", "size_t", "alignment", "a power of two"),
                 P("out", "void **", "out_ptr", "receives the block; NULL on failure") },
      errors = { "INVALID_ARGUMENT", "OUT_OF_MEMORY", "UNSUPPORTED", "CUDA" },
      skip = { java = "Java has no way to ask for an aligned address; blocks are the pool's alignment",
               go = "Go cannot hold a pointer to an over-aligned type the runtime would honour; use a pool whose alignment is what you need",
               lua = "Lua code never sees an address's alignment; use a pool whose alignment is what you need" } },
    { name = "mp_pool_deallocate", group = "pool", since = "1.0", ret = "mp_status",
      doc = "Frees a block of this pool. A foreign, interior or already freed pointer returns\n" ..
            "MP_ERR_INVALID_POINTER and changes nothing. In debug mode, damaged guard bytes return\n" ..
            "MP_ERR_CORRUPTION after the block is freed all the same.",
      params = { POOL, P("in", "void *", "ptr", "a block from this pool") },
      errors = { "INVALID_ARGUMENT", "INVALID_POINTER", "CORRUPTION" } },
    { name = "mp_pool_reallocate", group = "pool", since = "1.3", ret = "mp_status",
      doc = "Resizes the live block ptr to new_size bytes, keeping its first bytes (as many as its usable\n" ..
            "size and new_size allow). ptr NULL: mp_pool_allocate. new_size 0 is refused\n" ..
            "(MP_ERR_INVALID_ARGUMENT; free with mp_pool_deallocate).\n" ..
            "In place (same pointer; stats move by the difference, no allocation counted; debug guards\n" ..
            "re-laid) when the block holds new_size bytes (and a debug pool's guards). Else, or when its\n" ..
            "record cannot be rewritten for want of host memory, it moves: a new block of the same memory\n" ..
            "kind and the pool's alignment (an mp_pool_allocate_aligned block's larger one is not kept), a\n" ..
            "copy (on the pool's stream for device memory), a free: one allocation and one free counted.\n" ..
            "On any failure the old block is intact and *out_ptr is not written, so p = realloc(p) is safe.\n" ..
            "A foreign, interior, freed or stream-waiting ptr: MP_ERR_INVALID_POINTER, as mp_pool_deallocate;\n" ..
            "damaged debug guards: MP_ERR_CORRUPTION before anything changes.",
      params = { POOL, P("in", "void *", "ptr", "a live block of this pool, or NULL", true),
                 P("in", "size_t", "new_size", "bytes, > 0"),
                 P("out", "void **", "out_ptr", "receives the block (written only on success)") },
      errors = { "INVALID_ARGUMENT", "INVALID_POINTER", "OUT_OF_MEMORY", "CORRUPTION", "UNSUPPORTED", "CUDA" } },
    { name = "mp_pool_usable_size", group = "pool", since = "1.3", ret = "mp_status",
      doc = "The bytes the caller may use in the live block ptr, at least the size asked for: the block's\n" ..
            "size (a debug pool's guards aside: there, exactly the size asked for, the back guard follows).\n" ..
            "Under ASan or Valgrind only the bytes asked for are open: resize to use the rest.",
      params = { CPOOL, P("in", "const void *", "ptr", "a live block of this pool"),
                 P("out", "size_t *", "out_size", "receives the size") },
      errors = { "INVALID_ARGUMENT", "INVALID_POINTER" } },
    { name = "mp_pool_reset", group = "pool", since = "1.0", ret = "mp_status",
      doc = "Frees every live block at once; the chunks stay reserved. A GPU pool first takes back the blocks freed on other streams, its stream made to wait for their work (or the host, for the device, where such a wait fails); if even that fails (a device fault), those blocks may still be in use, so nothing is reset, live blocks stay live, and the CUDA error is returned.",
      params = { POOL }, errors = { "INVALID_ARGUMENT", "CUDA" } },
    { name = "mp_pool_trim", group = "pool", since = "1.0", ret = "mp_status",
      doc = "Returns wholly free chunks to the backend while more than keep_bytes stay reserved. A GPU pool first waits for its stream before unmapping idle memory; if that wait fails (a device fault), the memory stays mapped and the CUDA error is returned.",
      params = { POOL, P("in", "size_t", "keep_bytes", "reserved bytes to keep at least") },
      errors = { "INVALID_ARGUMENT", "CUDA" } },
    { name = "mp_pool_get_memory_type", group = "pool", since = "1.0", ret = "mp_status",
      doc = "The pool's memory type.",
      params = { CPOOL, P("out", "mp_memory_type *", "out_type", "receives the type") },
      errors = { "INVALID_ARGUMENT" } },
    { name = "mp_pool_get_backend", group = "pool", since = "1.0", ret = "mp_status",
      doc = "The backend of the pool's own memory (flagged side arenas aside).",
      params = { CPOOL, P("out", "mp_backend_kind *", "out_kind", "receives the backend") },
      errors = { "INVALID_ARGUMENT" } },
    { name = "mp_pool_get_name", group = "pool", since = "1.0", ret = "mp_status",
      doc = "The pool's name; the string lives as long as the pool.",
      params = { CPOOL, P("out", "const char **", "out_name", "receives the name") },
      errors = { "INVALID_ARGUMENT" } },
    { name = "mp_pool_get_config", group = "pool", since = "1.0", ret = "mp_status",
      doc = "The pool's configuration as normalised at creation (alignment and block size rounded).",
      params = { CPOOL, CFG() }, errors = { "INVALID_ARGUMENT" } },
    { name = "mp_pool_owns", group = "pool", since = "1.0", ret = "mp_status",
      doc = "Whether ptr is a live block of this pool.",
      params = { CPOOL, P("in", "const void *", "ptr", "any pointer", true),
                 P("out", "bool *", "out_owned", "receives the answer") },
      errors = { "INVALID_ARGUMENT" } },
    { name = "mp_pool_check", group = "pool", since = "1.0", ret = "mp_status",
      doc = "Verifies the allocator's invariants (free lists, block tiling, counts) and, in debug\n" ..
            "mode, every live block's guard bytes. Returns MP_ERR_CORRUPTION with the first problem.",
      params = { CPOOL }, errors = { "INVALID_ARGUMENT", "CORRUPTION" } },

    -- stats --------------------------------------------------------------
    { name = "mp_pool_get_stats", group = "stats", since = "1.0", ret = "mp_status",
      doc = "A snapshot of the pool's statistics, written up to out_stats->struct_size.",
      params = { CPOOL, P("out", "mp_stats *", "out_stats", "struct_size set by the caller") },
      errors = { "INVALID_ARGUMENT" } },
    { name = "mp_pool_reset_stats", group = "stats", since = "1.0", ret = "mp_status",
      doc = "Starts the cumulative counters again from what is live, so that they stay consistent:\n" ..
            "allocation_count becomes the live tracked blocks, deallocation_count and failed_allocations\n" ..
            "0, total_allocated and peak_usage current_used, peak_reserved_bytes reserved_bytes; the\n" ..
            "blocks and their records stay (since 1.3; 1.0-1.2 set allocation_count and total_allocated\n" ..
            "to 0, so later frees counted more deallocations than allocations).",
      params = { POOL }, errors = { "INVALID_ARGUMENT" } },
    { name = "mp_pool_thread_cache", group = "tcache", since = "1.1", ret = "mp_status",
      doc = "The calling thread's cache of the pool, for mp_tcache_allocate and mp_tcache_deallocate.\n" ..
            "On a lock-free pool (MP_SYNC_LOCK_FREE, thread_safe, no records, no debug) those calls are\n" ..
            "inline and take no lock; on any other pool they call mp_pool_allocate and\n" ..
            "mp_pool_deallocate. The cache belongs to this thread until it exits and lives as long\n" ..
            "as the pool; another thread that uses it is served through its own cache instead.\n" ..
            "Callers of this 1.1 entry point were compiled against thread-cache layout 101: a library\n" ..
            "of another layout hands them a cache whose calls all take the exported path. New code\n" ..
            "uses MP_POOL_THREAD_CACHE, which passes the caller's MP_TCACHE_LAYOUT.",
      params = { POOL, P("out", "mp_tcache **", "out_cache", "receives the cache") },
      errors = { "INVALID_ARGUMENT", "OUT_OF_MEMORY" },
      skip = { java = TC_SKIP.java, go = TC_SKIP.go, lua = TC_SKIP.lua,
               cpp = "ThreadCache asks mp_pool_thread_cache_layout with the header's MP_TCACHE_LAYOUT" } },
    { name = "mp_pool_thread_cache_layout", group = "tcache", since = "1.2", ret = "mp_status",
      doc = "mp_pool_thread_cache for a caller compiled against thread-cache layout layout; call it as\n" ..
            "MP_POOL_THREAD_CACHE(pool, &cache), which passes MP_TCACHE_LAYOUT (as luaL_checkversion\n" ..
            "passes Lua's). The library's own layout gets its real cache; any other gets a bypass cache\n" ..
            "(owner 0, the pool's, shared by all threads) on which mp_tcache_allocate and\n" ..
            "mp_tcache_deallocate always call the exported path: correct, only slower. So the layout\n" ..
            "may change within 1.x without breaking callers compiled against an older one.",
      params = { POOL, P("in", "unsigned", "layout", "MP_TCACHE_LAYOUT as the caller compiled it"),
                 P("out", "mp_tcache **", "out_cache", "receives the cache") },
      errors = { "INVALID_ARGUMENT", "OUT_OF_MEMORY" }, skip = TC_SKIP },
    { name = "mp_tcache_allocate_slow", group = "tcache", since = "1.1", ret = "mp_status",
      doc = "What mp_tcache_allocate does when its inline half cannot: refills the bin from the\n" ..
            "pool (lock-free from other threads' spills, else under the pool lock), or allocates as\n" ..
            "mp_pool_allocate does, with its errors.",
      params = { P("in", "mp_tcache *", "cache", "from mp_pool_thread_cache"), P("in", "size_t", "size", "bytes, > 0"),
                 P("out", "void **", "out_ptr", "receives the block") },
      errors = { "INVALID_ARGUMENT", "OUT_OF_MEMORY" }, skip = TC_SLOW_SKIP },
    { name = "mp_tcache_deallocate_slow", group = "tcache", since = "1.1", ret = "mp_status",
      doc = "What mp_tcache_deallocate does when its inline half cannot: spills half of a full bin,\n" ..
            "or frees as mp_pool_deallocate does, naming a foreign, interior or double free.",
      params = { P("in", "mp_tcache *", "cache", "from mp_pool_thread_cache"), P("in", "void *", "ptr", "a block of the cache's pool") },
      errors = { "INVALID_ARGUMENT", "INVALID_POINTER", "CORRUPTION" }, skip = TC_SLOW_SKIP },
    { name = "mp_pool_set_tracking", group = "stats", since = "1.0", ret = "mp_status",
      doc = "Turns counters and per-allocation records on or off; blocks keep the mode they were\n" ..
            "allocated under, so counts stay exact. A pool running lock-free (MP_SYNC_LOCK_FREE,\n" ..
            "created with track_stats off) refuses to turn tracking on, and a counters-only pool\n" ..
            "(which cannot tell counted blocks apart) to turn it off: MP_ERR_INVALID_OPERATION.",
      params = { POOL, P("in", "bool", "enabled", "on or off") },
      errors = { "INVALID_ARGUMENT", "INVALID_OPERATION", "OUT_OF_MEMORY" } },
    { name = "mp_pool_get_tracking", group = "stats", since = "1.0", ret = "mp_status",
      doc = "Whether tracking is on.",
      params = { CPOOL, P("out", "bool *", "out_enabled", "receives the answer") }, errors = { "INVALID_ARGUMENT" } },
    { name = "mp_pool_has_leaks", group = "stats", since = "1.0", ret = "mp_status",
      doc = "Whether any block is still allocated.",
      params = { CPOOL, P("out", "bool *", "out_leaks", "receives the answer") }, errors = { "INVALID_ARGUMENT" } },
    { name = "mp_pool_get_allocations", group = "stats", since = "1.0", ret = "mp_status",
      doc = "Copies live tracked allocations, oldest first, into out (stride out->struct_size).\n" ..
            "out may be NULL with capacity 0 to count; MP_ERR_BUFFER_TOO_SMALL when more exist.\n" ..
            "A counters-only pool keeps no records: MP_ERR_INVALID_OPERATION.",
      params = { CPOOL, P("out", "mp_allocation_info *", "out", "array of capacity records", true),
                 P("in", "size_t", "capacity", "records out can hold"),
                 P("out", "size_t *", "out_count", "receives the number of live tracked allocations") },
      errors = { "INVALID_ARGUMENT", "BUFFER_TOO_SMALL", "OUT_OF_MEMORY", "INVALID_OPERATION" } },
    { name = "mp_pool_memory_snapshot", group = "stats", since = "1.3", ret = "mp_status",
      doc = "Where the pool's memory is: now (MP_SNAPSHOT_NOW: under one lock, O(blocks), allocating\n" ..
            "nothing), or when an allocation last failed for want of memory (MP_SNAPSHOT_LAST_OOM: the\n" ..
            "backend, max_size, the growth policy or the out-of-memory hook left it without; the failed\n" ..
            "call's detail then ends with the request and these numbers). The pool keeps that record until\n" ..
            "mp_pool_reset_stats: MP_ERR_NOT_FOUND when none failed, MP_ERR_OUT_OF_MEMORY when one failed\n" ..
            "but no host memory could be had to keep it. The totals go to out; chunk records (address order\n" ..
            "now; the largest first for a failure) to chunks, and class records (by block size) to classes,\n" ..
            "stride each array's first struct_size. An array may be NULL with capacity 0: out says how many\n" ..
            "exist. More records than room: MP_ERR_BUFFER_TOO_SMALL, with out and the records that fit\n" ..
            "written.",
      params = { CPOOL, P("in", "mp_snapshot_kind", "kind", "MP_SNAPSHOT_NOW or MP_SNAPSHOT_LAST_OOM"),
                 P("out", "mp_memory_snapshot *", "out", "filled up to out->struct_size, which the caller sets first"),
                 P("out", "mp_chunk_info *", "chunks", "array of chunk_capacity records", true),
                 P("in", "size_t", "chunk_capacity", "records chunks can hold"),
                 P("out", "mp_class_info *", "classes", "array of class_capacity records", true),
                 P("in", "size_t", "class_capacity", "records classes can hold") },
      errors = { "INVALID_ARGUMENT", "BUFFER_TOO_SMALL", "NOT_FOUND", "OUT_OF_MEMORY" } },
    { name = "mp_pool_memory_snapshot_json", group = "stats", since = "1.3", ret = "mp_status",
      doc = "mp_pool_memory_snapshot as one JSON object: \"pool\", \"kind\" (\"now\" or \"last_oom\"), every\n" ..
            "field of mp_memory_snapshot, for a failure its \"status\" and \"detail\" (the message the\n" ..
            "failed call left), and \"chunks\" and \"classes\": arrays of every record, fields as in\n" ..
            "mp_chunk_info and mp_class_info (base as a \"0x...\" string, enums as lower-case names).\n" ..
            "Free it with mp_string_free.",
      params = { CPOOL, P("in", "mp_snapshot_kind", "kind", "MP_SNAPSHOT_NOW or MP_SNAPSHOT_LAST_OOM"),
                 P("out", "char **", "out_json", "receives the string") },
      errors = { "INVALID_ARGUMENT", "NOT_FOUND", "OUT_OF_MEMORY" } },
    { name = "mp_pool_stats_string", group = "stats", since = "1.0", ret = "mp_status",
      doc = "A human-readable multi-line summary; free it with mp_string_free.",
      params = { CPOOL, P("out", "char **", "out_string", "receives the string") }, errors = STRING_ERR },
    { name = "mp_pool_stats_json", group = "stats", since = "1.0", ret = "mp_status",
      doc = "The stats snapshot as one JSON object; free it with mp_string_free.",
      params = { CPOOL, P("out", "char **", "out_json", "receives the string") }, errors = STRING_ERR },
    { name = "mp_stats_print", group = "stats", since = "1.3", ret = "mp_status",
      doc = "Writes the stats of every live pool (those of mp_pool_create and the registry's) through\n" ..
            "write(opaque, text), or to the process's stderr when write is NULL (the one place the\n" ..
            "library prints, and only when asked). Per pool: mp_pool_stats_string's summary, then its\n" ..
            "size classes and chunks as mp_pool_memory_snapshot lists them. options NULL, \"\" or \"text\":\n" ..
            "that text; \"json\": one JSON object {\"pools\":[{\"pool\", \"registry\", \"stats\" (as\n" ..
            "mp_pool_stats_json), \"snapshot\" (as mp_pool_memory_snapshot_json)}]}. The text is collected\n" ..
            "first and written after every lock is released: write may call back into the library\n" ..
            "(even create or destroy pools, or call mp_stats_print); pools it changes are not re-read.\n" ..
            "A pool being destroyed meanwhile is either listed whole or not at all.",
      params = { P("in", "mp_write_fn", "write", "the output callback; NULL: stderr", true),
                 P("in", "void *", "opaque", "passed to write", true),
                 P("in", "const char *", "options", "NULL, \"\", \"text\" or \"json\"", true) },
      errors = STRING_ERR },

    -- standalone statistics (the seed's MemoryStats on its own) -----------
    { name = "mp_tracker_create", group = "stats", since = "1.3", ret = "mp_status",
      doc = "A standalone statistics tracker (the seed's MemoryStats used on its own): it counts what\n" ..
            "the caller records, with the counters of mp_stats, and keeps a record per pointer that the\n" ..
            "caller tracks. Thread-safe; a forked child gets it intact. Tracking starts on.",
      params = { P("out", "mp_tracker **", "out_tracker", "receives the tracker") },
      errors = { "INVALID_ARGUMENT", "OUT_OF_MEMORY" } },
    { name = "mp_tracker_from_pool", group = "stats", since = "1.3", ret = "mp_status",
      doc = "A tracker holding a copy of the pool's statistics now: its mp_stats (as mp_pool_get_stats)\n" ..
            "and its live tracked allocations (as mp_pool_get_allocations; none for a counters-only\n" ..
            "pool), both of one moment (one lock of the pool). The copy never changes with the pool and\n" ..
            "outlives it; the caller may record into it like any tracker. What the bindings' stats\n" ..
            "objects give when copied.",
      params = { CPOOL, P("out", "mp_tracker **", "out_tracker", "receives the tracker") },
      errors = { "INVALID_ARGUMENT", "OUT_OF_MEMORY" } },
    { name = "mp_tracker_clone", group = "stats", since = "1.3", ret = "mp_status",
      doc = "A new tracker with the same counters, records and tracking state.",
      params = { P("in", "const mp_tracker *", "tracker", "the tracker"), P("out", "mp_tracker **", "out_tracker", "receives the copy") },
      errors = { "INVALID_ARGUMENT", "OUT_OF_MEMORY" } },
    { name = "mp_tracker_destroy", group = "stats", since = "1.3", ret = "mp_status",
      doc = "Destroys the tracker and its records. A destroyed or foreign handle: MP_ERR_INVALID_ARGUMENT.",
      params = { P("in", "mp_tracker *", "tracker", "the tracker") }, errors = { "INVALID_ARGUMENT" } },
    { name = "mp_tracker_record_allocation", group = "stats", since = "1.3", ret = "mp_status",
      doc = "Counts an allocation of size bytes (no record of its pointer). Sizes above 2^48 (no block is\n" ..
            "larger), and one that would wrap a counter, are refused with nothing counted.",
      params = { P("in", "mp_tracker *", "tracker", "the tracker"), P("in", "size_t", "size", "bytes, > 0") },
      errors = { "INVALID_ARGUMENT" } },
    { name = "mp_tracker_record_deallocation", group = "stats", since = "1.3", ret = "mp_status",
      doc = "Counts a deallocation of size bytes. Refused, changing nothing, when it would leave more\n" ..
            "deallocations than allocations or current_used below zero.",
      params = { P("in", "mp_tracker *", "tracker", "the tracker"), P("in", "size_t", "size", "bytes, > 0") },
      errors = { "INVALID_ARGUMENT" } },
    { name = "mp_tracker_track_allocation", group = "stats", since = "1.3", ret = "mp_status",
      doc = "While tracking is on, counts an allocation of size bytes at ptr and records it (address,\n" ..
            "size, sequence number); while it is off, does nothing, as a pool counts only what it\n" ..
            "allocates while tracking. A pointer already recorded: MP_ERR_INVALID_POINTER.",
      params = { P("in", "mp_tracker *", "tracker", "the tracker"), P("in", "const void *", "ptr", "the block"), P("in", "size_t", "size", "bytes, > 0") },
      errors = { "INVALID_ARGUMENT", "INVALID_POINTER", "OUT_OF_MEMORY" } },
    { name = "mp_tracker_track_deallocation", group = "stats", since = "1.3", ret = "mp_status",
      doc = "Counts the deallocation of a recorded pointer and drops its record. A pointer with no\n" ..
            "record: MP_ERR_INVALID_POINTER while tracking is on (never tracked, or freed already);\n" ..
            "nothing while it is off (it may have been allocated then).",
      params = { P("in", "mp_tracker *", "tracker", "the tracker"), P("in", "const void *", "ptr", "the block") },
      errors = { "INVALID_ARGUMENT", "INVALID_POINTER" } },
    { name = "mp_tracker_get_stats", group = "stats", since = "1.3", ret = "mp_status",
      doc = "The tracker's counters as an mp_stats: total_allocated, current_used, peak_usage,\n" ..
            "allocation_count, deallocation_count and live_allocations (their difference) count what\n" ..
            "was recorded and tracked; the other fields are 0, or for a copy of a pool the pool's. A copy's\n" ..
            "live_allocations also counts the blocks the pool had allocated while tracking was off, as\n" ..
            "mp_pool_get_stats does, and so does mp_tracker_has_leaks.",
      params = { P("in", "const mp_tracker *", "tracker", "the tracker"), P("out", "mp_stats *", "out_stats", "struct_size set by the caller") },
      errors = { "INVALID_ARGUMENT" } },
    { name = "mp_tracker_get_allocations", group = "stats", since = "1.3", ret = "mp_status",
      doc = "Copies the recorded allocations, oldest first, as mp_pool_get_allocations does.",
      params = { P("in", "const mp_tracker *", "tracker", "the tracker"), P("out", "mp_allocation_info *", "out", "array of capacity records", true),
                 P("in", "size_t", "capacity", "records out can hold"),
                 P("out", "size_t *", "out_count", "receives the number of records") },
      errors = { "INVALID_ARGUMENT", "BUFFER_TOO_SMALL", "OUT_OF_MEMORY" } },
    { name = "mp_tracker_has_leaks", group = "stats", since = "1.3", ret = "mp_status",
      doc = "Whether more allocations than deallocations are counted (for a copy of a pool: whether\n" ..
            "live_allocations is above 0).",
      params = { P("in", "const mp_tracker *", "tracker", "the tracker"), P("out", "bool *", "out_leaks", "receives the answer") },
      errors = { "INVALID_ARGUMENT" } },
    { name = "mp_tracker_set_tracking", group = "stats", since = "1.3", ret = "mp_status",
      doc = "Turns per-pointer tracking on or off (mp_tracker_track_allocation's records).",
      params = { P("in", "mp_tracker *", "tracker", "the tracker"), P("in", "bool", "enabled", "on or off") }, errors = { "INVALID_ARGUMENT" } },
    { name = "mp_tracker_get_tracking", group = "stats", since = "1.3", ret = "mp_status",
      doc = "Whether tracking is on.",
      params = { P("in", "const mp_tracker *", "tracker", "the tracker"), P("out", "bool *", "out_enabled", "receives the state") },
      errors = { "INVALID_ARGUMENT" } },
    { name = "mp_tracker_reset", group = "stats", since = "1.3", ret = "mp_status",
      doc = "Starts the cumulative counters again as mp_pool_reset_stats does: what is live stays\n" ..
            "counted (allocation_count becomes live_allocations, total_allocated and peak_usage become\n" ..
            "current_used, deallocation_count 0); records stay.",
      params = { P("in", "mp_tracker *", "tracker", "the tracker") }, errors = { "INVALID_ARGUMENT" } },
    { name = "mp_tracker_stats_string", group = "stats", since = "1.3", ret = "mp_status",
      doc = "The summary of mp_pool_stats_string for the tracker; free it with mp_string_free.",
      params = { P("in", "const mp_tracker *", "tracker", "the tracker"), P("out", "char **", "out_string", "receives the string") }, errors = STRING_ERR },
    { name = "mp_tracker_stats_json", group = "stats", since = "1.3", ret = "mp_status",
      doc = "The tracker's stats as one JSON object (mp_pool_stats_json's fields); free it with\n" ..
            "mp_string_free.",
      params = { P("in", "const mp_tracker *", "tracker", "the tracker"), P("out", "char **", "out_json", "receives the string") }, errors = STRING_ERR },

    -- registry -----------------------------------------------------------
    { name = "mp_registry_create_cpu_pool", group = "registry", since = "1.0", ret = "mp_status",
      doc = "Creates a named CPU pool owned by the registry.",
      params = { P("in", "const char *", "name", "1 to 63 printable bytes"),
                 P("in", "const mp_config *", "config", "the configuration"),
                 P("out", "mp_pool **", "out_pool", "receives the pool (valid until destroyed)", true) },
      errors = { "INVALID_ARGUMENT", "ALREADY_EXISTS", "OUT_OF_MEMORY", "UNSUPPORTED", "CUDA" } },
    { name = "mp_registry_create_gpu_pool", group = "registry", since = "1.0", ret = "mp_status",
      doc = "Creates a named GPU pool owned by the registry.",
      params = { P("in", "const char *", "name", "1 to 63 printable bytes"),
                 P("in", "const mp_config *", "config", "the configuration"),
                 P("out", "mp_pool **", "out_pool", "receives the pool (valid until destroyed)", true) },
      errors = { "INVALID_ARGUMENT", "ALREADY_EXISTS", "OUT_OF_MEMORY", "UNSUPPORTED", "CUDA" } },
    { name = "mp_registry_get_cpu_pool", group = "registry", since = "1.0", ret = "mp_status",
      doc = "Finds a CPU pool by name; \"default\" is created with mp_config_default_cpu on first use.",
      params = { P("in", "const char *", "name", "pool name"),
                 P("out", "mp_pool **", "out_pool", "receives the pool") },
      errors = { "INVALID_ARGUMENT", "NOT_FOUND", "INVALID_OPERATION", "OUT_OF_MEMORY" } },
    { name = "mp_registry_get_gpu_pool", group = "registry", since = "1.0", ret = "mp_status",
      doc = "Finds a GPU pool by name; \"default_gpu\" is created with mp_config_default_gpu on first use.",
      params = { P("in", "const char *", "name", "pool name"),
                 P("out", "mp_pool **", "out_pool", "receives the pool") },
      errors = { "INVALID_ARGUMENT", "NOT_FOUND", "INVALID_OPERATION", "OUT_OF_MEMORY", "UNSUPPORTED", "CUDA" } },
    { name = "mp_registry_find", group = "registry", since = "1.1", ret = "mp_status",
      doc = "Finds a registry pool of either type by name; unlike the getters it never creates one.",
      params = { P("in", "const char *", "name", "pool name"),
                 P("out", "mp_pool **", "out_pool", "receives the pool") },
      errors = { "INVALID_ARGUMENT", "NOT_FOUND" } },
    { name = "mp_registry_destroy", group = "registry", since = "1.0", ret = "mp_status",
      doc = "Destroys a registry pool and frees its name; its handles become invalid. Waits for calls\n" ..
            "by name (mp_allocate and the like) in flight; refused while one of its hooks runs.",
      params = { P("in", "const char *", "name", "pool name") },
      errors = { "INVALID_ARGUMENT", "NOT_FOUND", "INVALID_OPERATION" } },
    { name = "mp_registry_reset_all", group = "registry", since = "1.0", ret = "mp_status",
      doc = "Calls mp_pool_reset on every registry pool.",
      params = {}, errors = {} },
    { name = "mp_registry_names", group = "registry", since = "1.0", ret = "mp_status",
      doc = "The registry's pool names, sorted, one per line; free it with mp_string_free.",
      params = { P("out", "char **", "out_names", "receives the string") }, errors = STRING_ERR },
    { name = "mp_registry_stats_json", group = "registry", since = "1.0", ret = "mp_status",
      doc = "Every live pool's stats as one JSON object keyed by pool name: the registry's, then (since\n" ..
            "1.3) those of mp_pool_create, whose key is \"name#2\", \"name#3\"... where the name is taken\n" ..
            "already. Free it with mp_string_free.",
      params = { P("out", "char **", "out_json", "receives the string") }, errors = STRING_ERR },
    { name = "mp_allocate", group = "registry", since = "1.0", ret = "mp_status",
      doc = "Allocates from the registry CPU pool pool_name (NULL: \"default\").",
      params = { P("in", "const char *", "pool_name", "pool name", true), P("in", "size_t", "size", "bytes, > 0"),
                 P("out", "void **", "out_ptr", "receives the block") },
      errors = { "INVALID_ARGUMENT", "NOT_FOUND", "INVALID_OPERATION", "OUT_OF_MEMORY" },
      skip = { lua = "mempool.allocate finds the pool, then allocates through its object, which owns the block",
               java = "Mempool.allocate/deallocate call the registry pool's own guarded MemoryPool object",
               go = "Allocate/Deallocate by name call the registry pool's own guarded *Pool" } },
    { name = "mp_deallocate", group = "registry", since = "1.0", ret = "mp_status",
      doc = "Frees a block of the registry CPU pool pool_name (NULL: \"default\").",
      params = { P("in", "const char *", "pool_name", "pool name", true), P("in", "void *", "ptr", "the block") },
      errors = { "INVALID_ARGUMENT", "NOT_FOUND", "INVALID_OPERATION", "INVALID_POINTER", "CORRUPTION" },
      skip = { java = "Mempool.allocate/deallocate call the registry pool's own guarded MemoryPool object",
               go = "Allocate/Deallocate by name call the registry pool's own guarded *Pool" } },
    { name = "mp_allocate_gpu", group = "registry", since = "1.0", ret = "mp_status",
      doc = "Allocates from the registry GPU pool pool_name (NULL: \"default_gpu\").",
      params = { P("in", "const char *", "pool_name", "pool name", true), P("in", "size_t", "size", "bytes, > 0"),
                 P("out", "void **", "out_ptr", "receives the block") },
      errors = { "INVALID_ARGUMENT", "NOT_FOUND", "INVALID_OPERATION", "OUT_OF_MEMORY", "UNSUPPORTED", "CUDA" },
      skip = { lua = "mempool.allocate_gpu finds the pool, then allocates through its object, which owns the block",
               java = "Mempool.allocate/deallocate call the registry pool's own guarded MemoryPool object",
               go = "Allocate/Deallocate by name call the registry pool's own guarded *Pool" } },
    { name = "mp_deallocate_gpu", group = "registry", since = "1.0", ret = "mp_status",
      doc = "Frees a block of the registry GPU pool pool_name (NULL: \"default_gpu\").",
      params = { P("in", "const char *", "pool_name", "pool name", true), P("in", "void *", "ptr", "the block") },
      errors = { "INVALID_ARGUMENT", "NOT_FOUND", "INVALID_OPERATION", "INVALID_POINTER", "UNSUPPORTED" },
      skip = { java = "Mempool.allocate/deallocate call the registry pool's own guarded MemoryPool object",
               go = "Allocate/Deallocate by name call the registry pool's own guarded *Pool" } },

    -- gpu ----------------------------------------------------------------
    { name = "mp_gpu_device_count", group = "gpu", since = "1.0", ret = "mp_status",
      doc = "Number of usable CUDA devices; 0 (and MP_OK) without CUDA or without a device.",
      params = { P("out", "int *", "out_count", "receives the count") }, errors = { "INVALID_ARGUMENT" } },
    { name = "mp_pool_set_device", group = "gpu", since = "1.0", ret = "mp_status",
      doc = "Moves a GPU pool with no live blocks to another device; its chunks are released. Blocks the caller freed into its own thread cache go back first (as mp_pool_trim); blocks in other threads' caches or still waiting on busy streams count as live, and the detail message says which. If the old device's memory cannot be given back (the wait for the pool's stream fails), the pool stays where it was and the CUDA error is returned.",
      params = { POOL, P("in", "int", "device_id", "CUDA device") },
      errors = { "INVALID_ARGUMENT", "INVALID_OPERATION", "UNSUPPORTED", "CUDA" } },
    { name = "mp_pool_get_device", group = "gpu", since = "1.0", ret = "mp_status",
      doc = "The pool's CUDA device.",
      params = { CPOOL, P("out", "int *", "out_device", "receives the device") },
      errors = { "INVALID_ARGUMENT", "INVALID_OPERATION" } },
    { name = "mp_pool_set_stream", group = "gpu", since = "1.0", ret = "mp_status",
      doc = "Sets the cudaStream_t (as void *, NULL = default stream) used by the pool's copies. The new stream is made to wait for the old one's work (an event, or the host where that fails); if neither can be had (a device fault), the pool keeps its old stream and the CUDA error is returned.",
      params = { POOL, P("in", "void *", "stream", "a cudaStream_t", true) },
      errors = { "INVALID_ARGUMENT", "INVALID_OPERATION", "CUDA" } },
    { name = "mp_pool_get_stream", group = "gpu", since = "1.0", ret = "mp_status",
      doc = "The pool's stream.",
      params = { CPOOL, P("out", "void **", "out_stream", "receives the stream") },
      errors = { "INVALID_ARGUMENT", "INVALID_OPERATION" } },
    { name = "mp_pool_deallocate_on_stream", group = "gpu", since = "1.1", ret = "mp_status",
      doc = "Frees a block that work queued on stream may still use (cudaFreeAsync's order): the pool records\n" ..
            "the stream's one event again there. The next mp_pool_allocate_on_stream on the same stream may\n" ..
            "take the block back at once; other streams get it once that event has completed, or, where the\n" ..
            "pool would otherwise take more memory, behind a wait: the pool's stream is made to wait for the\n" ..
            "event. Blocks freed next to each other on one stream join while they wait. On the pool's own\n" ..
            "stream this is mp_pool_deallocate, since later work on that stream runs after the work already\n" ..
            "queued. Streams are known by their handle: synchronise a stream before destroying it while\n" ..
            "blocks freed on it may wait, since a new stream can get the same handle.",
      params = { POOL, P("in", "void *", "ptr", "a block from this pool"),
                 P("in", "void *", "stream", "the cudaStream_t that may still use it (NULL: default stream)", true) },
      errors = { "INVALID_ARGUMENT", "INVALID_POINTER", "INVALID_OPERATION", "CUDA" } },
    { name = "mp_pool_allocate_on_stream", group = "gpu", since = "1.3", ret = "mp_status",
      doc = "A block for work queued on stream (cudaMallocAsync's order). A block freed on the same stream\n" ..
            "with mp_pool_deallocate_on_stream comes first, with no CUDA call (a larger one is cut, the rest\n" ..
            "waiting on). Otherwise the block may have been freed in the pool stream's order, so stream is\n" ..
            "made to wait for the work queued there when a free has happened since it last waited (one event\n" ..
            "per change, not one per call). Free it with mp_pool_deallocate_on_stream on the stream that last\n" ..
            "uses it. On the pool's own stream this is mp_pool_allocate. When no block waiting on stream fits,\n" ..
            "every block waiting on any stream goes back first, the pool's stream made to wait for their\n" ..
            "streams, so that they join their free neighbours rather than the pool taking more memory.",
      params = { POOL, P("in", "size_t", "size", "bytes, 1 .. 2^48"),
                 P("in", "void *", "stream", "the cudaStream_t the block is for (NULL: default stream)", true),
                 P("out", "void **", "out_ptr", "receives the block; NULL on failure") },
      errors = { "INVALID_ARGUMENT", "OUT_OF_MEMORY", "INVALID_OPERATION", "CUDA" } },
    { name = "mp_pool_set_release_threshold", group = "gpu", since = "1.3", ret = "mp_status",
      doc = "Idle device memory the pool keeps mapped whatever its age, in bytes (cudaMemPoolAttrReleaseThreshold's\n" ..
            "counterpart). Where the device maps memory on demand, a GPU pool's chunks are address space and\n" ..
            "memory is mapped under live blocks only. Freed memory stays mapped for reuse; what is above the\n" ..
            "threshold goes back once it has stayed idle for a second and the pool's stream has passed the\n" ..
            "frees, with no call waiting for it. SIZE_MAX keeps it all until mp_pool_trim, which gives back\n" ..
            "idle memory at once. Memory goes back in whole physical allocations (the granules one mapping\n" ..
            "backed together), so the pool may keep a little more or less than the threshold. Default:\n" ..
            "MP_DEFAULT_RELEASE_THRESHOLD.",
      params = { POOL, P("in", "size_t", "bytes", "idle bytes to keep mapped") },
      errors = { "INVALID_ARGUMENT", "INVALID_OPERATION" } },
    { name = "mp_pool_get_release_threshold", group = "gpu", since = "1.3", ret = "mp_status",
      doc = "The pool's release threshold (mp_pool_set_release_threshold).",
      params = { CPOOL, P("out", "size_t *", "out_bytes", "receives the threshold") },
      errors = { "INVALID_ARGUMENT", "INVALID_OPERATION" } },
    { name = "mp_pool_copy_host_to_device", group = "gpu", since = "1.0", ret = "mp_status",
      doc = "Copies size bytes from host to device on the pool's stream and waits for it.",
      params = { POOL, P("in", "void *", "dst", "device address"), P("in", "const void *", "src", "host address"),
                 P("in", "size_t", "size", "bytes, > 0") },
      errors = { "INVALID_ARGUMENT", "INVALID_OPERATION", "UNSUPPORTED", "CUDA" } },
    { name = "mp_pool_copy_device_to_host", group = "gpu", since = "1.0", ret = "mp_status",
      doc = "Copies size bytes from device to host on the pool's stream and waits for it.",
      params = { POOL, P("in", "void *", "dst", "host address"), P("in", "const void *", "src", "device address"),
                 P("in", "size_t", "size", "bytes, > 0") },
      errors = { "INVALID_ARGUMENT", "INVALID_OPERATION", "UNSUPPORTED", "CUDA" } },
    { name = "mp_pool_copy_device_to_device", group = "gpu", since = "1.0", ret = "mp_status",
      doc = "Copies size bytes between device addresses on the pool's stream and waits for it. dst and src may be on two devices: the copy then goes peer to peer, with peer access enabled where the hardware allows (else CUDA stages it through the host).",
      params = { POOL, P("in", "void *", "dst", "device address"), P("in", "const void *", "src", "device address"),
                 P("in", "size_t", "size", "bytes, > 0") },
      errors = { "INVALID_ARGUMENT", "INVALID_OPERATION", "UNSUPPORTED", "CUDA" } },

    -- policy -------------------------------------------------------------
    { name = "mp_pool_set_policy", group = "policy", since = "1.1", ret = "mp_status",
      doc = "Sets the pool's policy (copied; NULL clears it). The previous policy's release runs now,\n" ..
            "or, if hooks of it are running, when the last of them returns.",
      params = { POOL, P("in", "const mp_policy *", "policy", "hooks, struct_size set", true) },
      errors = { "INVALID_ARGUMENT", "UNSUPPORTED" },
      skip = { java = "hooks are C function pointers; set policies from C, C++ or Lua",
               go = "hooks are C function pointers; set policies from C, C++ or Lua" } },
    { name = "mp_pool_trim_auto", group = "policy", since = "1.1", ret = "mp_status",
      doc = "Trims to what the policy's trim hook keeps (without one: initial_size).",
      params = { POOL }, errors = { "INVALID_ARGUMENT", "INVALID_OPERATION" } },
    { name = "mp_router_create", group = "policy", since = "1.1", ret = "mp_status",
      doc = "A size-class router: one handle that sends each request to a pool by size.",
      params = { P("in", "const char *", "name", "1 to 63 printable bytes"),
                 P("out", "mp_router **", "out_router", "receives the router") },
      errors = { "INVALID_ARGUMENT", "OUT_OF_MEMORY" } },
    { name = "mp_router_destroy", group = "policy", since = "1.1", ret = "mp_status",
      doc = "Destroys the router; its pools stay.",
      params = { P("in", "mp_router *", "router", "the router") }, errors = { "INVALID_ARGUMENT" } },
    { name = "mp_router_add", group = "policy", since = "1.1", ret = "mp_status",
      doc = "Sends requests up to max_size bytes (and above the previous range) to pool; SIZE_MAX\n" ..
            "catches everything else. Ranges are added in increasing order.",
      params = { P("in", "mp_router *", "router", "the router"), P("in", "size_t", "max_size", "upper end of the range"),
                 P("in", "mp_pool *", "pool", "the pool serving it") },
      errors = { "INVALID_ARGUMENT", "OUT_OF_MEMORY" } },
    { name = "mp_router_pool_for", group = "policy", since = "1.1", ret = "mp_status",
      doc = "The pool that serves a request of size bytes.",
      params = { P("in", "const mp_router *", "router", "the router"), P("in", "size_t", "size", "bytes"),
                 P("out", "mp_pool **", "out_pool", "receives the pool") },
      errors = { "INVALID_ARGUMENT", "NOT_FOUND" } },
    { name = "mp_router_allocate", group = "policy", since = "1.1", ret = "mp_status",
      doc = "Allocates from the pool of size's range.",
      params = { P("in", "mp_router *", "router", "the router"), P("in", "size_t", "size", "bytes, > 0"),
                 P("out", "void **", "out_ptr", "receives the block") },
      errors = { "INVALID_ARGUMENT", "NOT_FOUND", "OUT_OF_MEMORY" },
      skip = { lua = "router:allocate asks mp_router_pool_for, then allocates through that pool's object" } },
    { name = "mp_router_deallocate", group = "policy", since = "1.1", ret = "mp_status",
      doc = "Frees a block of any of the router's pools.",
      params = { P("in", "mp_router *", "router", "the router"), P("in", "void *", "ptr", "the block") },
      errors = { "INVALID_ARGUMENT", "INVALID_POINTER" } },
  },
}

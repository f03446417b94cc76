-- Tests of the Lua module: every function, the Lua way of failing, policies,
-- the router, to-be-closed variables and garbage collection.
local mempool = require "mempool"

local H = require "tests.harness"
local test, fails, raises = H.test, H.fails, H.raises

test("version and device count", function()
  local text, number = mempool.version()
  assert(text:match("^1%.%d+%.%d+"), text)
  assert(number == mempool.VERSION_NUMBER and number // 10000 == 1)
  assert(math.type(mempool.device_count()) == "integer")
end)

test("a pool allocates blocks whose bytes can be written and read", function()
  local pool <close> = assert(mempool.cpu_pool { name = "lua-rw", initial_size = 65536 })
  local b = assert(pool:allocate(100))
  assert(b:size() == 100 and math.type(b:address()) == "integer" and b:address() % 16 == 0)
  b:write(10, "mempool")
  assert(b:read(10, 7) == "mempool" and #b:read() == 100)
  assert(b:pool() == pool and b:live() and pool:owns(b))
  assert(pool:name() == "lua-rw" and pool:memory_type() == "cpu" and pool:backend() == "host")
  assert(tostring(pool) == "mempool.pool 'lua-rw'" and tostring(b):find("100 bytes", 1, true))
  assert(b:free() == true and not b:live() and not pool:owns(b))
end)

test("reallocate resizes a block in place or by a move, keeping its bytes", function()
  local fixed <close> = assert(mempool.cpu_pool { name = "lua-realloc-fixed", allocator = "fixed", block_size = 64 })
  local b = assert(fixed:allocate(10))
  b:write(0, "hello")
  local at = b:address()
  assert(fixed:usable_size(b) == 64)
  assert(fixed:reallocate(b, 64) == b and b:address() == at and b:size() == 64) -- in place
  assert(b:read(0, 5) == "hello" and fixed:stats().allocation_count == 1)
  fails("MP_ERR_INVALID_ARGUMENT", "fixed pool", fixed:reallocate(b, 65))
  fails("MP_ERR_INVALID_ARGUMENT", "mp_pool_deallocate", fixed:reallocate(b, 0))
  assert(b:live() and b:size() == 64 and b:read(0, 5) == "hello") -- refused: as it was
  local pool <close> = assert(mempool.cpu_pool { name = "lua-realloc", initial_size = 65536 })
  local c = assert(pool:allocate(100))
  c:write(95, "world")
  at = c:address()
  assert(pool:reallocate(c, 100000) == c and c:address() ~= at and c:size() == 100000) -- moved
  assert(c:read(95, 5) == "world" and pool:usable_size(c) >= 100000 and pool:owns(c))
  local st = pool:stats()
  assert(st.allocation_count == 2 and st.deallocation_count == 1 and st.current_used == 100000)
  fails("MP_ERR_OUT_OF_MEMORY", "2^48", pool:reallocate(c, 1 << 50))
  assert(c:free())
  fails("MP_ERR_INVALID_POINTER", "freed already", pool:reallocate(c, 8))
  fails("MP_ERR_INVALID_POINTER", "freed already", pool:usable_size(c))
  local d = assert(pool:allocate(8))
  assert(pool:reset())
  fails("MP_ERR_INVALID_POINTER", "freed already", pool:reallocate(d, 16)) -- stale: its pool was reset
  raises("block of another pool", pool.reallocate, pool, b, 8)
  raises("negative", pool.reallocate, pool, assert(pool:allocate(8)), -1)
end)

test("a growth hook can neither free nor reset under a reallocation", function()
  local pool <close> = assert(mempool.cpu_pool { name = "lua-realloc-hook", initial_size = 4096, growth_factor = 1 })
  local b = assert(pool:allocate(1000))
  b:write(0, "keep me")
  local freed, reset
  assert(pool:set_policy { grow = function(p, need)
    freed, reset = { b:free() }, { p:reset() }
    return need
  end })
  assert(pool:reallocate(b, 100000) == b and b:read(0, 7) == "keep me")
  assert(freed[1] == nil and freed[3] == "MP_ERR_INVALID_POINTER", tostring(freed[2]))
  assert(reset[1] == nil and reset[3] == "MP_ERR_INVALID_OPERATION" and reset[2]:find("reallocation", 1, true))
  assert(pool:check() and b:free() and pool:stats().live_allocations == 0)
  assert(pool:reset()) -- once the reallocation returned
end)

test("presets and fields come from the table", function()
  local fixed <close> = assert(mempool.cpu_pool { name = "lua-fixed", allocator = "fixed", block_size = 100, alignment = 64 })
  local c = fixed:config()
  assert(c.allocator == "fixed" and c.block_size == 128 and c.alignment == 64 and c.sync == "mutex")
  local hp <close> = assert(mempool.cpu_pool { name = "lua-hp", preset = "high_performance", initial_size = 4096 })
  assert(hp:config().sync == "lock_free" and not hp:config().track_stats)
  local dbg <close> = assert(mempool.cpu_pool { name = "lua-dbg", preset = "debug", thread_safe = false })
  assert(dbg:config().debug and not dbg:config().thread_safe)
  local capped <close> = assert(mempool.cpu_pool { name = "lua-capped", initial_size = 4096, max_size = 8192, growth_factor = 1 })
  assert(capped:config().max_size == 8192 and capped:config().growth_factor == 1)
  assert(not capped:config().counters_only)
end)

test("the general-purpose preset makes a working pool", function()
  local gp <close> = assert(mempool.cpu_pool { name = "lua-general", preset = "general_purpose" })
  local c = gp:config()
  assert(c.allocator == "variable" and c.sync == "lock_free" and c.thread_safe and c.track_stats)
  assert(c.counters_only and not c.debug and c.alignment == 16 and c.growth_factor == 2)
  local blocks = {}
  for n = 1, 5000, 97 do blocks[#blocks + 1] = assert(gp:allocate(n)) end
  assert(gp:stats().allocation_count == #blocks)
  for _, b in ipairs(blocks) do assert(b:free()) end
  local s = gp:stats()
  assert(s.deallocation_count == #blocks and s.current_used == 0)
  local none, msg, status = gp:allocations()
  assert(none == nil and msg:find("counters only", 1, true) and status == "MP_ERR_INVALID_OPERATION")
  assert(gp:stats_string():find("tracking on (counters only)", 1, true))
  raises("CPU preset", mempool.gpu_pool, { name = "lua-general-gpu", preset = "general_purpose" })
  local plain <close> = assert(mempool.cpu_pool { name = "lua-counting", counters_only = true })
  assert(plain:config().counters_only and plain:tracking())
end)

test("stats, tracking, allocations and leaks", function()
  local pool <close> = assert(mempool.cpu_pool { name = "lua-stats", initial_size = 65536 })
  local a, b = pool:allocate(100), pool:allocate(200)
  a:free()
  local s = pool:stats()
  assert(s.total_allocated == 300 and s.current_used == 200 and s.peak_usage == 300)
  assert(s.allocation_count == 2 and s.deallocation_count == 1 and s.live_allocations == 1)
  assert(s.reserved_bytes == 65536 and s.chunk_count == 1 and s.failed_allocations == 0 and s.pending_frees == 0)
  assert(s.fragmentation_ratio > 0)
  local live = pool:allocations()
  assert(#live == 1 and live[1].address == b:address() and live[1].size == 200 and live[1].sequence == 2)
  assert(pool:has_leaks() == true and pool:tracking() == true)
  assert(pool:stats_string():find("pool 'lua-stats'", 1, true))
  assert(pool:stats_json():find('"current_used":200', 1, true))
  assert(pool:set_tracking(false) and pool:tracking() == false)
  assert(pool:reset_stats() and pool:stats().allocation_count == 1 and pool:stats().deallocation_count == 0) -- the live block stays counted
  assert(pool:check() == true)
end)

test("peak_reserved_bytes outlives a trim until reset_stats", function()
  local pool <close> = assert(mempool.cpu_pool { name = "lua-peak-reserved", initial_size = 65536 })
  assert(pool:stats().peak_reserved_bytes == 65536)
  local big = pool:allocate(200000)
  local grown = pool:stats()
  assert(grown.reserved_bytes > 65536 + 200000 and grown.peak_reserved_bytes == grown.reserved_bytes)
  big:free()
  assert(pool:trim(0))
  local trimmed = pool:stats()
  assert(trimmed.reserved_bytes < grown.reserved_bytes and trimmed.peak_reserved_bytes == grown.reserved_bytes)
  assert(pool:reset_stats())
  local reset = pool:stats()
  assert(reset.peak_reserved_bytes == reset.reserved_bytes)
end)

test("memory snapshots: totals, chunks and classes, now and at the last failure", function()
  local pool <close> = assert(mempool.cpu_pool { name = "lua-snapshot", growth_factor = 1 })
  local small, big = assert(pool:allocate(24)), assert(pool:allocate(1000000)) -- past the first chunk
  local s = assert(pool:memory_snapshot())
  local st = pool:stats()
  assert(s.reserved_bytes == st.reserved_bytes and s.chunk_count == 2 and #s.chunks == 2 and s.live_blocks == 2)
  assert(s.memory_type == "cpu" and s.backend == "host" and s.request_bytes == 0 and s.idle_bytes == 0)
  assert(s.in_use_bytes + s.free_bytes + s.cached_bytes + s.pending_bytes == s.address_space_bytes)
  assert(s.chunks[1].base < s.chunks[2].base and s.chunks[1].backend == "host")
  assert(s.chunks[1].size + s.chunks[2].size == s.address_space_bytes)
  local c = s.classes[1]
  assert(#s.classes == 1 and c.block_size == 32 and c.pages == 1 and c.page_bytes == 65536 and c.used_blocks == 1)
  assert(pool:memory_snapshot_json():find('{"pool":"lua-snapshot","kind":"now",', 1, true) == 1)
  raises("invalid option 'later'", pool.memory_snapshot, pool, "later")
  small:free()
  big:free()

  local tight <close> = assert(mempool.cpu_pool { name = "lua-oom", initial_size = 65536, max_size = 65536 })
  fails("MP_ERR_NOT_FOUND", "no allocation has failed", tight:memory_snapshot("last_oom"))
  local a = assert(tight:allocate(40000))
  fails("MP_ERR_OUT_OF_MEMORY", "; request 50000 bytes aligned 16: reserved 65536 (peak 65536, max_size 65536), "
        .. "in use 40000 in 1 blocks", tight:allocate(50000))
  local f = assert(tight:memory_snapshot("last_oom"))
  assert(f.request_bytes == 50000 and f.request_alignment == 16 and f.in_use_bytes == 40000)
  assert(f.largest_free_block == 25536 and #f.chunks == 1 and #f.classes == 0)
  assert(tight:memory_snapshot_json("last_oom"):find('"status":"MP_ERR_OUT_OF_MEMORY"', 1, true))
  assert(tight:reset_stats())
  fails("MP_ERR_NOT_FOUND", "no allocation has failed", tight:memory_snapshot_json("last_oom"))
  a:free()
end)

test("reset frees everything and makes old blocks stale", function()
  local pool <close> = assert(mempool.cpu_pool { name = "lua-reset", allocator = "fixed", block_size = 64 })
  local old = pool:allocate(64)
  assert(pool:reset())
  assert(not old:live() and pool:stats().live_allocations == 0)
  local new = pool:allocate(64)
  assert(new:address() == old:address())
  assert(old:free() == true) -- stale: nothing happens to the new block
  assert(new:live() and pool:stats().live_allocations == 1)
  assert(pool:trim(0) and pool:trim())
end)

test("failures return nil, message and status name", function()
  local pool <close> = assert(mempool.cpu_pool { name = "lua-errors", allocator = "fixed", block_size = 64,
    initial_size = 4096, max_size = 4096 })
  fails("MP_ERR_INVALID_ARGUMENT", "size 0", pool:allocate(0))
  fails("MP_ERR_INVALID_ARGUMENT", "64-byte blocks", pool:allocate(65))
  local blocks = {}
  for i = 1, 64 do blocks[i] = assert(pool:allocate(64)) end
  fails("MP_ERR_OUT_OF_MEMORY", "max_size", pool:allocate(64))
  local b = blocks[1]
  assert(b:free())
  fails("MP_ERR_INVALID_POINTER", "freed already", b:free())
  fails("MP_ERR_INVALID_POINTER", "freed already", pool:deallocate(b))
  fails("MP_ERR_INVALID_OPERATION", "host memory", pool:set_device(0))
  fails("MP_ERR_INVALID_OPERATION", "host memory", pool:device())
  fails("MP_ERR_INVALID_OPERATION", "host memory", pool:set_stream(0))
  fails("MP_ERR_INVALID_OPERATION", "host memory", pool:stream())
  fails("MP_ERR_INVALID_OPERATION", "host memory", pool:deallocate_on_stream(blocks[2], 0))
  fails("MP_ERR_INVALID_OPERATION", "host memory", pool:allocate_on_stream(64, 0))
  fails("MP_ERR_INVALID_OPERATION", "host memory", pool:set_release_threshold(0))
  fails("MP_ERR_INVALID_OPERATION", "host memory", pool:release_threshold())
  fails("MP_ERR_INVALID_OPERATION", "host memory", pool:copy_host_to_device(blocks[2], "x"))
  fails("MP_ERR_INVALID_OPERATION", "host memory", pool:copy_device_to_host(blocks[2], 1))
  fails("MP_ERR_INVALID_OPERATION", "host memory", pool:copy_device_to_device(blocks[2], blocks[3], 1))
  fails("MP_ERR_INVALID_ARGUMENT", "alignment", mempool.cpu_pool { name = "bad", alignment = 24 })
  fails("MP_ERR_INVALID_ARGUMENT", "name", mempool.cpu_pool { name = "" })
  fails("MP_ERR_NOT_FOUND", "nowhere", mempool.get_cpu_pool("nowhere"))
  if mempool.device_count() == 0 then
    fails("MP_ERR_UNSUPPORTED", "", mempool.gpu_pool { name = "lua-gpu" })
  end
  local status, detail = mempool.last_error()
  assert(status:match("^MP_") and #detail > 0)
end)

test("a standalone memory_stats counts what the script records and tracks", function()
  local s <close> = assert(mempool.memory_stats())
  assert(tostring(s) == "mempool.memory_stats" and s:tracking() == true and s:has_leaks() == false)
  assert(s:record_allocation(100) and s:record_allocation(50) and s:record_deallocation(100))
  assert(s:total_allocated() == 150 and s:current_used() == 50 and s:peak_usage() == 150)
  assert(s:allocation_count() == 2 and s:deallocation_count() == 1 and s:fragmentation_ratio() == 0.0)
  assert(math.type(s:fragmentation_ratio()) == "float" and s:has_leaks() == true)
  local pool <close> = assert(mempool.cpu_pool { name = "lua-tracked" })
  local b = assert(pool:allocate(64))
  assert(s:track_allocation(b, 64) and s:track_allocation(0x1000, 32)) -- a block, or an integer address
  local recs = s:allocations()
  assert(#recs == 2 and recs[1].address == b:address() and recs[1].size == 64 and recs[2].address == 0x1000)
  assert(recs[1].sequence < recs[2].sequence)
  assert(s:track_deallocation(b:address()) and s:track_deallocation(0x1000)) -- the block's address is the block
  local st = s:stats()
  assert(st.allocation_count == 4 and st.deallocation_count == 3 and st.current_used == 50)
  assert(st.live_allocations == 1 and st.current_used == s:current_used() and st.reserved_bytes == 0)
  assert(s:stats_string():find("in use:        50 bytes in 1 allocations", 1, true), s:stats_string())
  assert(s:stats_json():find('"tracker":true', 1, true) and s:stats_json():find('"current_used":50', 1, true))
  assert(s:reset()) -- counts start again from what is live
  assert(s:allocation_count() == 1 and s:deallocation_count() == 0 and s:total_allocated() == 50)
  assert(s:peak_usage() == 50 and s:current_used() == 50)
  assert(s:set_tracking(false) and s:tracking() == false)
  assert(s:track_allocation(0x2000, 8) and #s:allocations() == 0 and s:allocation_count() == 1) -- off: nothing
  assert(s:track_deallocation(0x2000)) -- off: an untracked pointer may have come while it was off
  assert(b:free())
end)

test("memory_stats refuses bad input as the module does: misuse raises, the library's refusals return", function()
  local s <close> = assert(mempool.memory_stats())
  fails("MP_ERR_INVALID_ARGUMENT", "0 bytes", s:record_allocation(0))
  fails("MP_ERR_INVALID_ARGUMENT", "no allocation live", s:record_deallocation(8))
  assert(s:record_allocation(8))
  fails("MP_ERR_INVALID_ARGUMENT", "8 bytes in use", s:record_deallocation(9))
  fails("MP_ERR_INVALID_POINTER", "NULL", s:track_allocation(0, 8))
  fails("MP_ERR_INVALID_POINTER", "NULL", s:track_deallocation(0))
  fails("MP_ERR_INVALID_ARGUMENT", "0 bytes", s:track_allocation(0x40, 0))
  assert(s:track_allocation(0x40, 8))
  fails("MP_ERR_INVALID_POINTER", "tracked already", s:track_allocation(0x40, 8))
  fails("MP_ERR_INVALID_POINTER", "not tracked", s:track_deallocation(0x80))
  assert(s:track_deallocation(0x40))
  fails("MP_ERR_INVALID_POINTER", "not tracked", s:track_deallocation(0x40)) -- twice
  assert(s:allocation_count() == 2 and s:deallocation_count() == 1 and s:current_used() == 8) -- refusals changed nothing
  raises("mempool.block or integer address expected, got nil", s.track_allocation, s, nil, 8)
  raises("mempool.block or integer address expected, got string", s.track_deallocation, s, "0x40")
  raises("mempool.block or integer address expected, got table", s.track_deallocation, s, {})
  raises("number has no integer representation", s.track_allocation, s, 1.5, 8)
  raises("not negative", s.track_allocation, s, -16, 8)
  raises("must not be negative", s.record_allocation, s, -1)
  raises("number expected, got no value", s.record_allocation, s)
  raises("must not be negative", s.track_allocation, s, 0x40, -8)
  raises("boolean expected", s.set_tracking, s, 1)
  raises("mempool.memory_stats expected", s.stats, "not stats")
  local pool <close> = assert(mempool.cpu_pool { name = "lua-not-stats" })
  raises("mempool.memory_stats expected", s.stats, pool)
end)

test("a closed memory_stats answers as a NULL tracker, and close is idempotent", function()
  local s = assert(mempool.memory_stats())
  assert(s:record_allocation(8) and s:handle() ~= 0)
  assert(s:close() == true and s:close() == true and s:handle() == 0)
  assert(tostring(s) == "mempool.memory_stats (closed)")
  for _, call in ipairs { "stats", "total_allocated", "current_used", "peak_usage", "allocation_count",
      "deallocation_count", "fragmentation_ratio", "allocations", "has_leaks", "tracking", "reset",
      "stats_string", "stats_json", "clone" } do
    fails("MP_ERR_INVALID_ARGUMENT", "tracker is NULL", s[call](s))
  end
  fails("MP_ERR_INVALID_ARGUMENT", "tracker is NULL", s:record_allocation(8))
  fails("MP_ERR_INVALID_ARGUMENT", "tracker is NULL", s:record_deallocation(8))
  fails("MP_ERR_INVALID_ARGUMENT", "tracker is NULL", s:track_allocation(0x40, 8))
  fails("MP_ERR_INVALID_ARGUMENT", "tracker is NULL", s:track_deallocation(0x40))
  fails("MP_ERR_INVALID_ARGUMENT", "tracker is NULL", s:set_tracking(true))
  local kept
  do
    local scoped <close> = assert(mempool.memory_stats())
    kept = scoped
  end
  fails("MP_ERR_INVALID_ARGUMENT", "tracker is NULL", kept:stats())
  for _ = 1, 2000 do mempool.memory_stats():record_allocation(1) end -- the collector destroys them
  collectgarbage()
  collectgarbage()
end)

test("a clone and a pool's stats_snapshot are copies that live on their own", function()
  local s <close> = assert(mempool.memory_stats())
  assert(s:record_allocation(10) and s:track_allocation(0x100, 20) and s:set_tracking(false))
  local c <close> = assert(s:clone())
  assert(c ~= s and c:allocation_count() == 2 and c:current_used() == 30 and #c:allocations() == 1)
  assert(c:tracking() == false)
  assert(s:record_allocation(5) and c:current_used() == 30) -- the copy does not follow
  assert(c:set_tracking(true) and c:track_deallocation(0x100) and c:current_used() == 10 and s:current_used() == 35)
  local pool = assert(mempool.cpu_pool { name = "lua-snapshot-of" })
  local a, b = assert(pool:allocate(100)), assert(pool:allocate(200))
  assert(a:free())
  local snap <close> = assert(pool:stats_snapshot())
  local live = pool:stats()
  for _, k in ipairs { "total_allocated", "current_used", "peak_usage", "allocation_count", "deallocation_count",
      "reserved_bytes", "chunk_count", "live_allocations" } do
    assert(snap:stats()[k] == live[k], k)
  end
  assert(snap:fragmentation_ratio() == live.fragmentation_ratio)
  local recs = snap:allocations()
  assert(#recs == 1 and recs[1].address == b:address() and recs[1].size == 200)
  assert(snap:stats_string():find("copy of pool 'lua-snapshot-of'", 1, true))
  assert(snap:stats_json():find('"copy":true', 1, true))
  assert(b:free() and snap:current_used() == 200) -- a snapshot: the pool moved on, the copy did not
  assert(snap:track_deallocation(b) and snap:current_used() == 0) -- it records on its own
  pool:close()
  assert(snap:allocation_count() == 2) -- it outlives the pool
  fails("MP_ERR_INVALID_ARGUMENT", "pool is NULL", pool:stats_snapshot())
  local reg <close> = assert(mempool.cpu_pool { name = "lua-snapshot-table" })
  assert(type(reg:stats()) == "table") -- pool:stats() stays a table of the figures
end)

test("enum-like keys and arguments are validated, naming the key and the options", function()
  raises("field 'allocator': invalid option 'fixd', expected 'fixed' or 'variable'", mempool.cpu_pool,
    { name = "lua-fixd", allocator = "fixd" })
  raises("field 'sync': invalid option 'lockfree', expected 'mutex' or 'lock_free'", mempool.cpu_pool,
    { sync = "lockfree" })
  raises("field 'sync': invalid option (a boolean), expected 'mutex' or 'lock_free'", mempool.cpu_pool, { sync = true })
  raises("field 'allocator': invalid option (a number)", mempool.cpu_pool, { allocator = 1 })
  raises("field 'preset': invalid option 'turbo', expected 'default', 'fixed', 'high_performance', 'debug' or "
    .. "'general_purpose'", mempool.cpu_pool, { preset = "turbo" })
  raises("field 'allocator': invalid option 'FIXED'", mempool.gpu_pool, { allocator = "FIXED" })
  raises("field 'sync'", mempool.validate, { sync = "spin" })
  raises("bad argument #1 to", mempool.cpu_pool, { allocator = "fixd" }) -- the table is argument 1
  raises("bad argument #2 to 'mempool.validate' (invalid option 'tpu', expected 'cpu' or 'gpu')", mempool.validate,
    {}, "tpu")
  local pool <close> = assert(mempool.cpu_pool { name = "lua-enums", allocator = "variable", sync = "lock_free" })
  assert(pool:config().allocator == "variable" and pool:config().sync == "lock_free")
  raises("invalid option 'sideways', expected 'none', 'pinned' or 'managed'", pool.allocate, pool, 8, "sideways")
  raises("invalid option (a boolean), expected 'none', 'pinned' or 'managed'", pool.allocate, pool, 8, true)
  raises("invalid option 'later', expected 'now' or 'last_oom'", pool.memory_snapshot, pool, "later")
  raises("invalid option 'later', expected 'now' or 'last_oom'", pool.memory_snapshot_json, pool, "later")
  assert(pool:allocate(8, "none") and pool:memory_snapshot("now")) -- the options themselves work
  assert(mempool.validate({ allocator = "fixed", sync = "mutex", preset = "debug" }, "cpu"))
end)

test("freeing nil does nothing, in every free call", function()
  local pool <close> = assert(mempool.cpu_pool { name = "lua-nil-free" })
  local b = assert(pool:allocate(8))
  local before = pool:stats()
  assert(pool:deallocate(nil) == true and pool:deallocate_on_stream(nil, 0) == true)
  assert(mempool.deallocate(nil) == true and mempool.deallocate(nil, "nowhere") == true)
  assert(mempool.deallocate_gpu(nil) == true) -- nothing to free: no CUDA needed
  local r <close> = assert(mempool.router { name = "lua-nil-router", { pool = pool } })
  assert(r:deallocate(nil) == true)
  local after = pool:stats()
  assert(after.deallocation_count == before.deallocation_count and after.live_allocations == 1 and b:live())
  raises("mempool.block expected, got no value", pool.deallocate, pool) -- a missing block is a mistake
  raises("mempool.block expected, got boolean", pool.deallocate, pool, false)
  raises("mempool.block expected, got number", pool.deallocate, pool, 0)
  raises("mempool.block expected, got no value", r.deallocate, r)
  pool:close()
  assert(pool:deallocate(nil) == true) -- even on a closed pool
end)

test("DEFAULT_ALIGNMENT is the C library's MP_DEFAULT_ALIGNMENT", function()
  assert(math.type(mempool.DEFAULT_ALIGNMENT) == "integer" and mempool.DEFAULT_ALIGNMENT == 16)
  local pool <close> = assert(mempool.cpu_pool { name = "lua-align" })
  assert(pool:config().alignment == mempool.DEFAULT_ALIGNMENT)
  assert(assert(pool:allocate(1)):address() % mempool.DEFAULT_ALIGNMENT == 0)
end)

test("get_cpu_pool and get_gpu_pool: nil, message, status for every name they cannot give", function()
  local cpu = assert(mempool.cpu_pool { name = "lua-get-cpu", registered = true })
  assert(mempool.get_cpu_pool("lua-get-cpu") == cpu)
  fails("MP_ERR_NOT_FOUND", "no CPU pool named 'lua-get-none'", mempool.get_cpu_pool("lua-get-none"))
  fails("MP_ERR_NOT_FOUND", "no GPU pool named 'lua-get-none'", mempool.get_gpu_pool("lua-get-none"))
  fails("MP_ERR_INVALID_OPERATION", "CPU pool", mempool.get_gpu_pool("lua-get-cpu")) -- the other memory type
  raises("string expected, got table", mempool.get_cpu_pool, {})
  if mempool.device_count() == 0 then
    fails("MP_ERR_UNSUPPORTED", "CUDA", mempool.get_gpu_pool()) -- "default_gpu" cannot be made
    fails("MP_ERR_UNSUPPORTED", "CUDA", mempool.get_gpu_pool("default_gpu"))
    fails("MP_ERR_NOT_FOUND", "default_gpu", mempool.get_cpu_pool("default_gpu"))
  else
    fails("MP_ERR_INVALID_OPERATION", "GPU pool", mempool.get_cpu_pool("default_gpu"))
  end
  assert(mempool.destroy_pool("lua-get-cpu"))
end)

test("GPU calls without CUDA or a device return nil, message, MP_ERR_UNSUPPORTED", function()
  if mempool.device_count() > 0 then return end
  fails("MP_ERR_UNSUPPORTED", "CUDA", mempool.gpu_pool { name = "lua-no-gpu" })
  fails("MP_ERR_UNSUPPORTED", "CUDA", mempool.gpu_pool { name = "lua-no-gpu", preset = "fixed", block_size = 64 })
  fails("MP_ERR_UNSUPPORTED", "CUDA", mempool.gpu_pool { name = "lua-no-gpu", registered = true })
  fails("MP_ERR_UNSUPPORTED", "CUDA", mempool.get_gpu_pool())
  fails("MP_ERR_UNSUPPORTED", "CUDA", mempool.allocate_gpu(64))
  fails("MP_ERR_UNSUPPORTED", "", mempool.validate({}, "gpu"))
  local pool <close> = assert(mempool.cpu_pool { name = "lua-no-gpu-cpu" })
  assert(pool:allocate(64, "none"))
  fails("MP_ERR_UNSUPPORTED", "CUDA", pool:allocate(64, "pinned"))
  fails("MP_ERR_UNSUPPORTED", "CUDA", pool:allocate(64, "managed"))
end)

test("misuse raises errors naming the argument", function()
  local pool <close> = assert(mempool.cpu_pool { name = "lua-misuse" })
  raises("bad argument #1", pool.allocate, "not a pool", 8)
  raises("mempool.pool expected, got number", pool.allocate, 42)
  raises("number expected", pool.allocate, pool, "eight")
  raises("invalid option 'sideways'", pool.allocate, pool, 8, "sideways")
  raises("must not be negative", pool.allocate, pool, -1)
  raises("table expected", mempool.cpu_pool, "not a table")
  raises("must be a non-negative integer", mempool.cpu_pool, { initial_size = "big" })
  raises("field 'preset': invalid option 'turbo'", mempool.cpu_pool, { preset = "turbo" })
  local b = pool:allocate(8)
  raises("does not fit the block", b.write, b, 4, "too long")
  raises("outside the block", b.read, b, 0, 9)
  raises("must be a function", pool.set_policy, pool, { grow = 42 })
  local other <close> = assert(mempool.cpu_pool { name = "lua-other" })
  raises("block of another pool", other.deallocate, other, b)
end)

test("a closed pool answers as a NULL pool and blocks go stale", function()
  local pool = assert(mempool.cpu_pool { name = "lua-closed" })
  local b = pool:allocate(8)
  pool:close()
  pool:close() -- twice: nothing happens
  fails("MP_ERR_INVALID_ARGUMENT", "pool is NULL", pool:allocate(8))
  assert(not b:live() and b:free() == true)
  raises("was freed", b.read, b)
  assert(tostring(pool) == "mempool.pool (closed)")
end)

test("to-be-closed pools and blocks are released at scope end", function()
  local keep
  do
    local pool <close> = assert(mempool.cpu_pool { name = "lua-scope" })
    do
      local b <close> = pool:allocate(32)
      keep = pool
    end
    assert(pool:stats().live_allocations == 0)
  end
  fails("MP_ERR_INVALID_ARGUMENT", "pool is NULL", keep:stats())
end)

test("garbage collection frees blocks and pools in either order", function()
  for round = 1, 3 do
    local pool = assert(mempool.cpu_pool { name = "lua-gc" })
    for i = 1, 100 do pool:allocate(16 * i) end -- live blocks, all garbage soon
    local kept = pool:allocate(8)
    collectgarbage() -- the 100 blocks go; the pool stays, a block holds it
    assert(pool:stats().live_allocations == 1)
    pool, kept = nil, nil
    collectgarbage()
    collectgarbage()
  end
end)

test("registry: create, find, list, reset all and destroy", function()
  local made = assert(mempool.cpu_pool { name = "lua-reg", registered = true })
  assert(mempool.get_cpu_pool("lua-reg") == made)
  local default = assert(mempool.get_cpu_pool())
  assert(default:name() == "default")
  fails("MP_ERR_ALREADY_EXISTS", "lua-reg", mempool.cpu_pool { name = "lua-reg", registered = true })
  fails("MP_ERR_INVALID_OPERATION", "CPU pool", mempool.get_gpu_pool("lua-reg"))
  local b = made:allocate(10)
  local names = table.concat(mempool.pool_names(), ",")
  assert(names:find("lua-reg", 1, true) and names:find("default", 1, true))
  assert(mempool.all_stats()["lua-reg"].live_allocations == 1)
  assert(mempool.all_stats_json():find('"lua-reg":{"name":"lua-reg"', 1, true))
  assert(mempool.reset_all() and not b:live())
  assert(mempool.destroy_pool("lua-reg"))
  fails("MP_ERR_NOT_FOUND", "lua-reg", mempool.destroy_pool("lua-reg"))
  fails("MP_ERR_INVALID_ARGUMENT", "pool is NULL", made:stats())
end)

test("stats_print lists every live pool, as text or JSON (mp_stats_print)", function()
  local own <close> = assert(mempool.cpu_pool { name = "lua-print-own" })
  local b = assert(own:allocate(48))
  local text = assert(mempool.stats_print())
  assert(text:find("pool 'lua-print-own'", 1, true) and text:find("size classes:", 1, true), text)
  local json = assert(mempool.stats_print("json"))
  assert(json:find('{"pools":[', 1, true) and json:find('"pool":"lua-print-own"', 1, true), json)
  fails("MP_ERR_INVALID_ARGUMENT", "yaml", mempool.stats_print("yaml"))
  assert(b:free())
end)

test("policies run on the slow path only, and can refuse", function()
  local calls = { grow = 0, on_oom = 0, trim = 0 }
  local pool <close> = assert(mempool.cpu_pool { name = "lua-policy", initial_size = 65536, growth_factor = 1 })
  assert(pool:set_policy {
    grow = function(p, need, stats)
      assert(p == pool and stats.reserved_bytes >= 65536)
      calls.grow = calls.grow + 1
      if stats.reserved_bytes >= 4 * 65536 then return nil end -- refuse
      return math.max(need, stats.reserved_bytes) -- double
    end,
    on_oom = function(p, size) calls.on_oom = calls.on_oom + 1; return false end,
    trim = function(p, reserved, in_use) calls.trim = calls.trim + 1; return 65536 end,
  })
  for _ = 1, 1000 do pool:allocate(64):free() end
  assert(calls.grow == 0 and calls.on_oom == 0, "a hook ran on the fast path")
  local big = {}
  for i = 1, 3 do big[i] = assert(pool:allocate(60000)) end
  assert(calls.grow == 2 and pool:stats().reserved_bytes == 4 * 65536)
  big[4] = assert(pool:allocate(60000)) -- fits the 128 KiB chunk
  fails("MP_ERR_OUT_OF_MEMORY", "the Lua policy refused", pool:allocate(60000))
  assert(calls.on_oom == 1, "on_oom ran " .. calls.on_oom .. " times")
  for i = 1, 4 do big[i]:free() end
  assert(pool:trim() and calls.trim == 1)
  local left = pool:stats().reserved_bytes -- at least what the hook keeps, less than before
  assert(left >= 65536 and left < 4 * 65536, left)
  assert(pool:set_policy(nil))
end)

test("an error in a Lua policy fails the allocation with its message", function()
  local pool <close> = assert(mempool.cpu_pool { name = "lua-broken", allocator = "fixed", block_size = 64,
    initial_size = 64, max_size = 64 })
  assert(pool:set_policy { on_oom = function() error("policy exploded") end })
  local keep = pool:allocate(64)
  fails("MP_ERR_INVALID_OPERATION", "policy exploded", pool:allocate(64))
  assert(pool:check() and keep:live())
end)

test("an on_oom policy makes room and the allocation is retried", function()
  local scratch <close> = assert(mempool.cpu_pool { name = "lua-scratch", allocator = "fixed", block_size = 1024,
    initial_size = 4096, max_size = 4096 })
  assert(scratch:set_policy { on_oom = function(p) return p:reset() end })
  local held = {}
  for i = 1, 4 do held[i] = scratch:allocate(1024) end
  local again = assert(scratch:allocate(1024))
  assert(again:live() and not held[1]:live())
end)

test("closing the Lua object of a registry pool drops its Lua policy", function()
  local p = assert(mempool.cpu_pool { name = "lua-regpol", registered = true, initial_size = 4096, growth_factor = 1 })
  assert(p:set_policy { grow = function() error("a dropped hook ran") end })
  p:close() -- the pool stays in the registry; the hook goes with the Lua object
  local again = assert(mempool.get_cpu_pool("lua-regpol"))
  assert(again ~= p)
  local b = assert(again:allocate(8192)) -- must grow without the old hook
  assert(b:free() and mempool.destroy_pool("lua-regpol"))
end)

test("a router sends each size to its pool", function()
  local small <close> = assert(mempool.cpu_pool { name = "lua-small", allocator = "fixed", block_size = 64 })
  local rest <close> = assert(mempool.cpu_pool { name = "lua-rest" })
  local r <close> = assert(mempool.router { name = "lua-router", { max = 64, pool = small }, { pool = rest } })
  assert(r:pool_for(10) == small and r:pool_for(65) == rest)
  local a, b = r:allocate(10), r:allocate(1000)
  assert(a:pool() == small and b:pool() == rest and small:owns(a) and rest:owns(b))
  assert(a:free() and b:free())
  local only <close> = assert(mempool.router { name = "lua-only", { max = 64, pool = small } })
  fails("MP_ERR_NOT_FOUND", "no range holds 65 bytes", only:allocate(65))
  fails("MP_ERR_INVALID_ARGUMENT", "above the last one",
    mempool.router { name = "lua-bad", { max = 64, pool = small }, { max = 32, pool = rest } })
end)

test("GPU pools round-trip bytes or are unsupported", function()
  if mempool.device_count() == 0 then
    fails("MP_ERR_UNSUPPORTED", "", mempool.gpu_pool { name = "lua-gpu" })
    fails("MP_ERR_UNSUPPORTED", "", mempool.get_gpu_pool())
    return
  end
  local gpu <close> = assert(mempool.gpu_pool { name = "lua-gpu" })
  local d = gpu:allocate(64)
  assert(gpu:copy_host_to_device(d, "lua on the device"))
  assert(gpu:copy_device_to_host(d, 17) == "lua on the device")
  raises("not the host's", d.read, d)
  assert(gpu:device() == 0 and gpu:set_stream(0) and gpu:stream() == 0)
end)

test("validate and the global helpers", function()
  assert(mempool.validate { preset = "fixed", block_size = 64 })
  fails("MP_ERR_INVALID_ARGUMENT", "growth_factor", mempool.validate { growth_factor = 0 })
  if mempool.device_count() == 0 then
    fails("MP_ERR_UNSUPPORTED", "", mempool.validate({}, "gpu"))
    fails("MP_ERR_UNSUPPORTED", "", mempool.allocate_gpu(64))
  end
  local b = assert(mempool.allocate(100))
  assert(b:pool():name() == "default" and b:pool():owns(b))
  b:write(0, "global")
  assert(mempool.deallocate(b))
  fails("MP_ERR_INVALID_POINTER", "freed already", mempool.deallocate(b))
  fails("MP_ERR_NOT_FOUND", "nowhere", mempool.allocate(8, "nowhere"))
  local c = assert(mempool.allocate(8))
  fails("MP_ERR_NOT_FOUND", "nowhere", mempool.deallocate(c, "nowhere"))
  assert(c:free())
end)

test("router frees through itself", function()
  local small <close> = assert(mempool.cpu_pool { name = "lua-rsmall", allocator = "fixed", block_size = 64 })
  local r <close> = assert(mempool.router { name = "lua-r2", { max = 64, pool = small } })
  local a = assert(r:allocate(40))
  assert(r:deallocate(a) and not a:live())
  fails("MP_ERR_INVALID_POINTER", "freed already", r:deallocate(a))
end)

H.done()

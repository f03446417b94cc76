-- Hostile Lua programs: none may crash the interpreter, hang it or reach
-- freed memory. A test whose failure could take the interpreter down runs
-- its program in a child interpreter (H.in_child), killed after a timeout.
local mempool = require "mempool"
local H = require "tests.harness"
local test, pending, fails, raises, in_child = H.test, H.pending, H.fails, H.raises, H.in_child

-- ---- closing and destroying a pool from its own hook -----------------------

test("closing a pool inside its own hook is refused and the pool keeps working", function()
  in_child [[
    local pool = assert(mempool.cpu_pool { name = "self-close", initial_size = 4096, growth_factor = 1 })
    local got
    assert(pool:set_policy { grow = function(p, need) got = table.pack(p:close()); return need end })
    local b = assert(pool:allocate(8192))
    assert(got, "the hook did not run")
    fails("MP_ERR_INVALID_OPERATION", "hook", table.unpack(got, 1, got.n))
    assert(b:live() and pool:stats().live_allocations == 1 and pool:check())
    b:write(0, "still here")
    assert(b:free() and pool:close() == true and pool:close() == true)
  ]]
end)

test("a to-be-closed pool inside its own hook, and a pool collected in any state, never crash", function()
  in_child [[
    local pool = assert(mempool.cpu_pool { name = "tbc-close", initial_size = 4096, growth_factor = 1 })
    local runs = 0
    assert(pool:set_policy {
      grow = function(p, need)
        runs = runs + 1
        local q <close> = p -- the close at scope end is refused: the hook runs
        return need
      end,
      on_oom = function(p) getmetatable(p).__close(p); getmetatable(p).__gc(p); return false end,
    })
    local b = assert(pool:allocate(8192))
    assert(runs == 1 and b:live() and pool:stats().live_allocations == 1)
    -- a finalizer called by hand closes the pool; the real one later does nothing
    getmetatable(pool).__gc(pool)
    fails("MP_ERR_INVALID_ARGUMENT", "pool is NULL", pool:allocate(8))
    assert(not b:live() and b:free() == true)
    pool, b = nil, nil
    collectgarbage(); collectgarbage()
    -- a pool collected together with its live blocks, and one dropped with a policy set
    for i = 1, 3 do
      local p = assert(mempool.cpu_pool { name = "gc-" .. i, initial_size = 4096, growth_factor = 1 })
      p:set_policy { grow = function(q, need) return need end }
      for _ = 1, 10 do p:allocate(1000) end
    end
    collectgarbage(); collectgarbage()
  ]]
end)

test("destroying a registry pool inside its own hook is refused", function()
  in_child [[
    local pool = assert(mempool.cpu_pool { name = "reg-self", registered = true, initial_size = 4096, growth_factor = 1 })
    local got
    assert(pool:set_policy { grow = function(p, need) got = table.pack(mempool.destroy_pool("reg-self")); return need end })
    local b = assert(mempool.allocate(8192, "reg-self"))
    fails("MP_ERR_INVALID_OPERATION", "hook", table.unpack(got, 1, got.n))
    assert(b:live() and mempool.get_cpu_pool("reg-self") == pool)
    assert(b:free() and mempool.destroy_pool("reg-self"))
  ]]
end)

-- ---- the thread a hook runs on ---------------------------------------------

test("a hook reached after the allocating coroutine was collected runs on a live thread", function()
  in_child [[
    local runs = 0
    local function hooked(name, registered)
      local p = assert(mempool.cpu_pool { name = name, registered = registered, initial_size = 4096, growth_factor = 1 })
      assert(p:set_policy { grow = function(q, need, stats)
        runs = runs + 1
        assert(q == p and stats.reserved_bytes >= 4096)
        return need
      end })
      return p
    end
    local pool, reg = hooked("co-pool", false), hooked("co-reg", true)
    local router = assert(mempool.router { name = "co-router", { pool = pool } })
    local held = {}
    for _ = 1, 3 do
      -- the last module call on each pool comes from a coroutine that dies
      local co = coroutine.create(function()
        assert(pool:allocate(16)):free()
        assert(reg:allocate(16)):free()
        assert(pool:stats() and reg:stats())
      end)
      assert(coroutine.resume(co))
      co = nil
      collectgarbage(); collectgarbage()
      -- reuse the freed memory with junk before a hook runs again
      local junk = {}
      for i = 1, 2000 do junk[i] = ("\255"):rep(100 + i % 300) .. i end
      local n = runs
      local a = assert(router:allocate(100000))
      local b = assert(mempool.allocate(100000, "co-reg"))
      assert(runs == n + 2, "the hooks did not run")
      held[#held + 1], held[#held + 2] = a, b -- kept: the next round must grow again
    end
    assert(mempool.destroy_pool("co-reg"))
  ]]
end)

test("a hook runs inside an allocation made from a coroutine, and may not yield", function()
  local pool <close> = assert(mempool.cpu_pool { name = "co-alloc", initial_size = 4096, growth_factor = 1 })
  local seen
  assert(pool:set_policy { grow = function(p, need) seen = need; return need end })
  local co = coroutine.wrap(function(size)
    local b = assert(pool:allocate(size))
    coroutine.yield(b:size())
    return b:free()
  end)
  assert(co(10000) == 10000 and seen and seen >= 10000)
  assert(co() == true)
  assert(pool:set_policy { grow = function(p, need) coroutine.yield(need); return need end })
  local results = table.pack(coroutine.wrap(function() return pool:allocate(100000) end)())
  fails("MP_ERR_INVALID_OPERATION", "yield", table.unpack(results, 1, 3))
  assert(pool:check() and pool:stats().live_allocations == 0)
end)

-- ---- routers and closed pools ---------------------------------------------

test("a router answers nil, message, status for a pool that was closed", function()
  in_child [[
    local small = assert(mempool.cpu_pool { name = "rt-small", allocator = "fixed", block_size = 64 })
    local rest = assert(mempool.cpu_pool { name = "rt-rest" })
    local r = assert(mempool.router { name = "rt", { max = 64, pool = small }, { pool = rest } })
    local kept, early = assert(r:allocate(1000)), assert(r:allocate(10))
    assert(small:close())
    fails("MP_ERR_INVALID_ARGUMENT", "closed", r:allocate(10))
    fails("MP_ERR_INVALID_ARGUMENT", "closed", r:pool_for(10))
    assert(not early:live() and early:free() == true)
    local more = assert(r:allocate(2000)) -- the live pool still serves its sizes
    assert(more:pool() == rest and r:pool_for(65) == rest)
    fails("MP_ERR_INVALID_ARGUMENT", "closed", r:deallocate(kept))
    assert(kept:free() and more:free() and rest:stats().live_allocations == 0)
    assert(r:close() and r:close())
  ]]
end)

test("a router keeps its pools alive when the script drops them", function()
  local r <close> = assert(mempool.router {
    name = "rt-anchor",
    { max = 64, pool = assert(mempool.cpu_pool { name = "rt-a", allocator = "fixed", block_size = 64 }) },
    { pool = assert(mempool.cpu_pool { name = "rt-b" }) },
  })
  collectgarbage(); collectgarbage()
  local a, b = assert(r:allocate(8)), assert(r:allocate(5000))
  assert(a:pool():name() == "rt-a" and b:pool():name() == "rt-b")
  assert(r:deallocate(a) and r:deallocate(b))
end)

test("a router over a registry pool destroyed by name refuses it", function()
  in_child [[
    local reg = assert(mempool.cpu_pool { name = "rt-reg", registered = true })
    local r = assert(mempool.router { name = "rt-reg-router", { pool = reg } })
    local b = assert(r:allocate(100))
    reg = nil
    assert(mempool.destroy_pool("rt-reg"))
    assert(mempool.cpu_pool { name = "rt-reg", registered = true }) -- the name lives again, elsewhere
    fails("MP_ERR_INVALID_ARGUMENT", "closed", r:allocate(100))
    assert(not b:live() and b:free() == true)
    assert(mempool.destroy_pool("rt-reg"))
  ]]
end)

-- ---- the budget of a hook ---------------------------------------------------

test("a hook that never returns fails the allocation when its budget runs out", function()
  in_child([[
    local pool = assert(mempool.cpu_pool { name = "loop", initial_size = 4096, growth_factor = 1 })
    assert(pool:set_policy { grow = function() while true do end end, budget = 100000 })
    fails("MP_ERR_INVALID_OPERATION", "budget of 100000 instructions", pool:allocate(8192))
    assert(pool:set_policy { grow = function() local t = {} for i = 1, 1e9 do t[i % 7] = i end end, budget = 100000 })
    fails("MP_ERR_INVALID_OPERATION", "budget", pool:allocate(8192))
    assert(pool:set_policy(nil) and pool:allocate(8192) and pool:check())
  ]], 10)
end)

test("the default budget stops a runaway hook", function()
  assert(math.type(mempool.DEFAULT_BUDGET) == "integer" and mempool.DEFAULT_BUDGET >= 1000000)
  in_child([[
    local pool = assert(mempool.cpu_pool { name = "loop-default", allocator = "fixed", block_size = 64,
      initial_size = 64, max_size = 64 })
    assert(pool:set_policy { on_oom = function() while true do end end })
    local keep = assert(pool:allocate(64))
    fails("MP_ERR_INVALID_OPERATION", "budget of " .. mempool.DEFAULT_BUDGET, pool:allocate(64))
    assert(keep:live() and pool:check())
  ]], 10)
end)

test("a hook cannot escape its budget with pcall, coroutines, handlers or debug hooks", function()
  in_child([[
    local pool = assert(mempool.cpu_pool { name = "escape", initial_size = 4096, growth_factor = 1 })
    local spin = function() while true do end end
    local outside = coroutine.create(spin) -- made before the hook runs: no hook inherited
    local wrapped = coroutine.wrap(spin)
    local closing = coroutine.create(function()
      local t <close> = setmetatable({}, { __close = spin })
      coroutine.yield()
    end)
    coroutine.resume(closing)
    local handled = coroutine.create(function()
      xpcall(function() coroutine.yield(); spin() end, spin)
    end)
    coroutine.resume(handled) -- suspended inside an xpcall whose handler never returns
    local spinner = setmetatable({}, { __close = spin })
    local escapes = {
      pcall_loop = function() while true do pcall(spin) end end,
      error_handler = function() while true do xpcall(error, spin) end end,
      handler_of_stopped_code = function() xpcall(spin, spin) end,
      handler_set_before = function() coroutine.resume(handled) end,
      wrapped_with_close = function() coroutine.wrap(function() local t <close> = spinner; spin() end)() end,
      resumed_forever = function() local co = coroutine.wrap(function() while true do coroutine.yield() end end)
        while true do co() end end,
      meta_loop = function() local t = setmetatable({}, { __index = function() spin() end }); return t.x end,
      resume_outside = function() coroutine.resume(outside) end,
      resume_wrapped = function() wrapped() end,
      close_suspended = function() coroutine.close(closing) end,
      new_coroutine = function() coroutine.wrap(spin)() end,
      to_be_closed = function() local t <close> = setmetatable({}, { __close = spin }); error("x") end,
      catch_and_return = function(p, need) pcall(spin); return need end,
      string_callbacks = function() ("x"):rep(100):gsub(".", function() spin() end) end,
      remove_hook = function() debug.sethook(); spin() end,
      remove_hook_via_pcall = function() pcall(debug.sethook); spin() end,
    }
    for name, grow in pairs(escapes) do
      assert(pool:set_policy { grow = grow, budget = 200000 })
      local b, msg, status = pool:allocate(8192)
      assert(b == nil and status == "MP_ERR_INVALID_OPERATION", name .. ": " .. tostring(msg))
      assert(msg:find("budget", 1, true) or msg:find("debug hook", 1, true), name .. ": " .. msg)
    end
    assert(pool:check() and pool:stats().live_allocations == 0)
    -- the hooks set for the budget are gone from the coroutines afterwards
    assert(debug.gethook(outside) == nil and debug.gethook() == nil)
  ]], 20)
end)

test("a hook that errors fails the allocation with its message, whatever it throws", function()
  local pool <close> = assert(mempool.cpu_pool { name = "throws", initial_size = 4096, growth_factor = 1 })
  for thrown, word in pairs { ["plain words"] = "plain words", [42] = "42", [true] = "boolean" } do
    assert(pool:set_policy { grow = function() error(thrown, 0) end })
    fails("MP_ERR_INVALID_OPERATION", word, pool:allocate(8192))
  end
  assert(pool:set_policy { grow = function() error(setmetatable({}, { __tostring = function() while true do end end })) end })
  fails("MP_ERR_INVALID_OPERATION", "table", pool:allocate(8192))
  assert(pool:set_policy { grow = function() return "many" end })
  fails("MP_ERR_OUT_OF_MEMORY", "byte count", pool:allocate(8192))
  assert(pool:check() and pool:stats().live_allocations == 0)
end)

test("the program's own debug hooks survive a policy hook", function()
  local pool <close> = assert(mempool.cpu_pool { name = "user-hook", initial_size = 4096, growth_factor = 1 })
  local co = coroutine.create(function() while true do coroutine.yield() end end)
  local function mine() end
  debug.sethook(mine, "r", 7)
  debug.sethook(co, mine, "c", 11)
  assert(pool:set_policy { grow = function(p, need) coroutine.resume(co); return need end })
  local b = assert(pool:allocate(8192))
  local f, mask, count = debug.gethook()
  local cf, cmask, ccount = debug.gethook(co)
  debug.sethook()
  assert(f == mine and mask == "r" and count == 7, ("main thread: %s %s %s"):format(f, mask, count))
  assert(cf == mine and cmask == "c" and ccount == 11, ("coroutine: %s %s %s"):format(cf, cmask, ccount))
  assert(b:free())
end)

test("set_policy refuses a budget that is not a positive integer", function()
  local pool <close> = assert(mempool.cpu_pool { name = "budgets" })
  local f = function() end
  for _, bad in ipairs { 0, -1, 1.5, "many", math.huge } do
    raises("budget", pool.set_policy, pool, { grow = f, budget = bad })
  end
  assert(pool:set_policy { grow = f, budget = 1 } and pool:set_policy { grow = f, budget = math.maxinteger })
  assert(pool:set_policy { grow = f, budget = 2.0 ^ 20 })
end)

-- ---- hooks that use the registry and their own pool --------------------------

test("a hook may create and destroy registry pools and allocate from them", function()
  in_child([[
    assert(mempool.cpu_pool { name = "victim", registered = true })
    local pool = assert(mempool.cpu_pool { name = "busy", registered = true, initial_size = 4096, growth_factor = 1 })
    local n = 0
    assert(pool:set_policy { grow = function(p, need)
      n = n + 1
      local made = assert(mempool.cpu_pool { name = "made-" .. n, registered = true })
      assert(mempool.allocate(100, "made-" .. n)):free()
      assert(mempool.destroy_pool("made-" .. n))
      if n == 1 then assert(mempool.destroy_pool("victim")) end
      return need
    end })
    local a = assert(mempool.allocate(8192, "busy")) -- through the registry helper
    local b = assert(pool:allocate(20000))
    assert(n == 2 and a:free() and b:free())
    fails("MP_ERR_NOT_FOUND", "victim", mempool.get_cpu_pool("victim"))
    assert(mempool.destroy_pool("busy"))
  ]], 10)
end)

test("a hook that allocates from its own pool runs once", function()
  in_child([[
    local pool = assert(mempool.cpu_pool { name = "own", initial_size = 4096, growth_factor = 2 })
    local runs, inner = 0, nil
    assert(pool:set_policy { grow = function(p, need)
      runs = runs + 1
      inner = assert(p:allocate(50000)) -- needs growth too: the hook is not run again
      return need
    end })
    local b = assert(pool:allocate(30000))
    assert(runs == 1 and inner:live() and b:live() and pool:check())
    assert(inner:free() and b:free())
  ]], 10)
end)

test("hooks that allocate from each other's pools do not recurse", function()
  in_child([[
    local a = assert(mempool.cpu_pool { name = "ping", initial_size = 4096, growth_factor = 1 })
    local b = assert(mempool.cpu_pool { name = "pong", initial_size = 4096, growth_factor = 1 })
    local runs = { ping = 0, pong = 0 }
    local held = {}
    local function bounce(other)
      return function(p, need)
        runs[p:name()] = runs[p:name()] + 1
        held[#held + 1] = assert(other:allocate(need + 1))
        return need
      end
    end
    assert(a:set_policy { grow = bounce(b) } and b:set_policy { grow = bounce(a) })
    assert(a:allocate(10000))
    assert(runs.ping == 1 and runs.pong == 1, ("ping %d pong %d"):format(runs.ping, runs.pong))
    assert(a:check() and b:check())
  ]], 10)
end)

test("a long chain of hooks through many pools ends after eight nested hooks", function()
  in_child([[
    local pools = {}
    for i = 1, 400 do
      pools[i] = assert(mempool.cpu_pool { name = "chain-" .. i, initial_size = 4096, growth_factor = 1 })
    end
    local ran = 0
    for i = 1, 399 do
      local nextpool = pools[i + 1]
      pools[i]:set_policy { grow = function(p, need)
        ran = ran + 1
        assert(nextpool:allocate(8192))
        return need
      end }
    end
    -- The C library nests the hooks of at most eight pools on one thread;
    -- deeper slow paths grow by the growth factor without hooks.
    local b, msg = pools[1]:allocate(8192)
    assert(b, msg)
    assert(ran == 8, ran)
    for _, p in ipairs(pools) do assert(p:check()) end
  ]], 20)
end)

test("a hook reached from C code on another thread is refused, and the state is not touched", function()
  local helper = require "mempool_thread_helper"
  local pool <close> = assert(mempool.cpu_pool { name = "threaded", initial_size = 4096, growth_factor = 1 })
  local runs = 0
  assert(pool:set_policy { grow = function(p, need) runs = runs + 1; return need end })
  local status, detail = helper.allocate_on_thread(pool:handle(), 64)
  assert(status == "MP_OK", detail) -- no growth, no hook: served
  status, detail = helper.allocate_on_thread(pool:handle(), 8192)
  assert(status == "MP_ERR_INVALID_OPERATION", status)
  assert(detail:find("Lua hooks run only on the thread", 1, true), detail)
  assert(runs == 0, runs)
  assert(pool:allocate(8192)):free() -- this thread's hooks still run
  assert(runs == 1, runs)
  assert(pool:check())
end)

test("a registry pool trimmed or destroyed from another Lua state leaves this state's blocks refused, not read", function()
  local helper = require "mempool_thread_helper"
  for _, other in ipairs {
    "local m = require 'mempool'; local p = m.get_cpu_pool('two-states'); assert(p:reset()); assert(p:trim(0)); return 'trimmed'",
    "local m = require 'mempool'; assert(m.destroy_pool('two-states')); return 'destroyed'",
  } do
    local pool = assert(mempool.cpu_pool { name = "two-states", registered = true, initial_size = 0 })
    local b = assert(pool:allocate(4096))
    b:write(0, "this state's data")
    assert(helper.in_other_state(other))
    assert(b:live() == false)
    local ok, err = pcall(b.read, b, 0, 4)
    assert(not ok and err:find("freed", 1, true), err)
    ok, err = pcall(b.write, b, 0, "x")
    assert(not ok and err:find("freed", 1, true), err)
    pool:close()
    mempool.destroy_pool("two-states")
  end
end)

test("an allocation inside its own grow hook grows by the growth factor", function()
  local pool <close> = assert(mempool.cpu_pool { name = "own-factor", initial_size = 65536, growth_factor = 2 })
  local runs, inner, grown = 0, nil, nil
  assert(pool:set_policy { grow = function(p, need, stats)
    runs = runs + 1
    inner = assert(p:allocate(100000))
    grown = p:stats().reserved_bytes - stats.reserved_bytes
    return need
  end })
  local b = assert(pool:allocate(70000))
  -- the 64 KiB chunk times growth_factor 2 serves the nested request
  assert(runs == 1, runs)
  assert(grown == 131072, ("the nested allocation grew the pool by %d bytes, not 131072"):format(grown))
  assert(inner:free() and b:free())
end)

-- ---- the objects of registry pools --------------------------------------------

test("closing a registry pool's object leaves the pool and its blocks usable", function()
  local p = assert(mempool.cpu_pool { name = "reg-detach", registered = true })
  local b = assert(p:allocate(100))
  assert(p:close() == true)
  fails("MP_ERR_INVALID_ARGUMENT", "pool is NULL", p:stats())
  assert(b:live() and b:pool() == p)
  b:write(0, "kept")
  local again = assert(mempool.get_cpu_pool("reg-detach"))
  assert(again ~= p and again:stats().live_allocations == 1 and again:owns(b))
  assert(b:read(0, 4) == "kept" and b:free() == true)
  assert(again:stats().live_allocations == 0)
  -- blocks of a closed object are freed by name, through the pool's new object, or by the closed one
  local c, d, e = assert(again:allocate(10)), assert(again:allocate(20)), assert(again:allocate(30))
  assert(again:close())
  local third = assert(mempool.get_cpu_pool("reg-detach"))
  assert(mempool.deallocate(c, "reg-detach") and third:deallocate(d) and again:deallocate(e))
  assert(third:stats().live_allocations == 0)
  assert(mempool.destroy_pool("reg-detach"))
end)

test("destroy_pool makes every object and block of the pool stale", function()
  local first = assert(mempool.cpu_pool { name = "reg-gone", registered = true })
  local a = assert(first:allocate(64))
  assert(first:close())
  local second = assert(mempool.get_cpu_pool("reg-gone"))
  local b = assert(second:allocate(64))
  assert(mempool.destroy_pool("reg-gone"))
  assert(not a:live() and not b:live())
  fails("MP_ERR_INVALID_ARGUMENT", "pool is NULL", second:allocate(8))
  assert(tostring(second) == "mempool.pool (closed)")
  -- the name lives again: the old blocks free nothing in the new pool
  local third = assert(mempool.cpu_pool { name = "reg-gone", registered = true })
  local c = assert(third:allocate(64))
  assert(a:free() == true and b:free() == true and c:live() and third:stats().live_allocations == 1)
  assert(c:free() and mempool.destroy_pool("reg-gone"))
end)

test("a registry pool's policy goes with the object that set it, even one the collector takes", function()
  in_child([[
    local p = assert(mempool.cpu_pool { name = "reg-gc-policy", registered = true, initial_size = 4096, growth_factor = 4 })
    assert(p:set_policy { grow = function() error("the hook of a collected object ran") end })
    p = nil
    collectgarbage(); collectgarbage()
    assert(assert(mempool.allocate(8192, "reg-gc-policy")):free())
    local reserved = mempool.get_cpu_pool("reg-gc-policy"):stats().reserved_bytes
    assert(reserved == 4096 + 16384, "not grown as a pool without a policy: " .. reserved)
    -- a hostile program takes the finalizer away: the policy is never called into freed memory
    local q = assert(mempool.get_cpu_pool("reg-gc-policy"))
    assert(q:set_policy { grow = function() error("the hook of a collected object ran") end })
    debug.setmetatable(q, nil)
    q = nil
    collectgarbage(); collectgarbage()
    local junk = {}
    for i = 1, 2000 do junk[i] = ("\255"):rep(40 + i % 200) end
    assert(assert(mempool.allocate(20000, "reg-gc-policy")):free())
    assert(mempool.destroy_pool("reg-gc-policy"))
  ]], nil, "the record of the object without a finalizer is never released")
end)

-- ---- standalone statistics ---------------------------------------------------------------

test("a memory_stats counts exactly what C threads record into it at once", function()
  local helper = require "mempool_thread_helper"
  local s <close> = assert(mempool.memory_stats())
  assert(s:record_allocation(1))
  assert(helper.record_on_threads(s:handle(), 8, 2000) == 16000)
  local st = s:stats()
  assert(st.allocation_count == 1 + 8 * 2000 * 2 and st.deallocation_count == 8 * 2000, st.allocation_count)
  assert(st.current_used == 1 + 8 * 2000 * 8 and st.live_allocations == 1 + 8 * 2000 and #s:allocations() == 0)
  local handle = s:handle()
  s:close()
  assert(helper.record_on_threads(handle, 4, 100) == 0) -- the closed tracker's handle is refused there too
  local other <close> = assert(mempool.memory_stats()) -- may take the same slot: the old handle still misses it
  assert(helper.record_on_threads(handle, 2, 10) == 0 and other:allocation_count() == 0)
end)

test("allocations() of a memory_stats that holds no record is clean under UBSan", function()
  in_child([[
    local empty = assert(mempool.memory_stats())
    assert(#assert(empty:allocations()) == 0)
    local pool = assert(mempool.cpu_pool { name = "no-records" })
    assert(#assert(assert(pool:stats_snapshot()):allocations()) == 0)
  ]])
end)

test("finalizers that close memory_stats objects during their calls never crash the state", function()
  in_child([[
    local pool = assert(mempool.cpu_pool { name = "gc-stats" })
    local held = assert(pool:allocate(8)) -- so that its snapshots hold a record
    local all = {}
    local function storm()
      for _ = 1, 4 do
        setmetatable({}, { __gc = function()
          local s = all[#all]
          if s then s:close() end
          if #all % 5 == 0 then pool:close() end
        end })
      end
    end
    collectgarbage("generational")
    for i = 1, 3000 do
      storm()
      local s = mempool.memory_stats() or pool:stats_snapshot()
      if s then
        all[#all + 1] = s
        s:record_allocation(i)
        s:track_allocation(i * 16, 8)
        local c = s:clone()
        if c then c:allocations(); c:stats_string(); c:stats_json() end
        s:allocations()
        s:stats()
      end
      local snap = pool:stats_snapshot()
      if snap then snap:allocations() end
      if pool:stats() == nil then
        pool = assert(mempool.cpu_pool { name = "gc-stats" })
        held = assert(pool:allocate(8))
      end
      if i % 200 == 0 then all = {}; collectgarbage() end
    end
    all = nil
    collectgarbage(); collectgarbage()
  ]], 60)
end)

-- ---- integer options ----------------------------------------------------------------

test("integers the C types cannot hold are refused, not truncated", function()
  raises("device", mempool.cpu_pool, { name = "dev", device = 2 ^ 32 + 3 })
  raises("device", mempool.cpu_pool, { name = "dev", device = math.tointeger(2 ^ 32 + 3) })
  raises("device", mempool.gpu_pool, { name = "dev", device = -2 ^ 31 - 1 })
  raises("device", mempool.validate, { device = 2 ^ 40 }, "gpu")
  raises("device", mempool.cpu_pool, { name = "dev", preset = "fixed", block_size = 64, device = 2 ^ 32 })
  fails("MP_ERR_INVALID_ARGUMENT", "device", mempool.cpu_pool { name = "dev", device = -1 })
  raises("non-negative integer", mempool.cpu_pool, { name = "neg", initial_size = -1 })
  raises("non-negative integer", mempool.cpu_pool, { name = "frac", block_size = 64.5 })
  raises("non-negative integer", mempool.cpu_pool, { name = "huge", max_size = 2 ^ 64 })
  raises("non-negative integer", mempool.cpu_pool, { name = "nan", growth_factor = 0 / 0 })
  local p <close> = assert(mempool.cpu_pool { name = "floats", initial_size = 2 ^ 16, growth_factor = 2.0 })
  assert(p:config().initial_size == 65536 and math.type(p:config().growth_factor) == "integer")
  raises("device", p.set_device, p, 2 ^ 32 + 3)
  fails("MP_ERR_INVALID_OPERATION", "host memory", p:set_device(0))
  raises("number has no integer representation", p.allocate, p, 2 ^ 63)
  local b = assert(p:allocate(16))
  raises("outside the block", b.read, b, 2, math.maxinteger - 1)
  raises("outside the block", b.read, b, 17)
  raises("outside the block", b.read, b, 8, 9)
  raises("does not fit the block", b.write, b, math.maxinteger, "x")
  raises("does not fit the block", p.copy_host_to_device, p, b, "x", math.maxinteger)
  raises("outside the block", p.copy_device_to_host, p, b, math.maxinteger, 2)
  raises("must not be negative", mempool.allocate, -1)
  local r <close> = assert(mempool.router { name = "ints", { max = 64, pool = p } })
  raises("must not be negative", r.pool_for, r, -1)
  raises("must not be negative", r.allocate, r, -1)
  raises("non-negative integer", mempool.router, { name = "neg-max", { max = -1, pool = p } })
  assert(b:free())
end)

-- ---- the collector at every step -------------------------------------------------------

test("finalizers that free, reset and close during module calls never leave a block pointing at freed memory", function()
  in_child([[
    local pool = assert(mempool.cpu_pool { name = "gc-storm", allocator = "fixed", block_size = 64, initial_size = 4096 })
    local reg = assert(mempool.cpu_pool { name = "gc-storm-reg", registered = true })
    local blocks = {}
    local function storm()
      -- garbage whose finalizers act on the pools while the next calls run
      for _ = 1, 4 do
        setmetatable({}, { __gc = function()
          local b = blocks[#blocks]
          if b then b:free() end
          if #blocks % 3 == 0 then pool:reset() end
          local r = mempool.get_cpu_pool("gc-storm-reg")
          if r then r:close() end
        end })
      end
    end
    collectgarbage("generational")
    for i = 1, 2000 do
      storm()
      local b = pool:allocate(1 + i % 64)
      if b and b:live() then b:write(0, i % 10) end -- a number: converted, so the collector may run first
      blocks[#blocks + 1] = b
      local c = reg:allocate(1 + i % 500) or mempool.allocate(1 + i % 500, "gc-storm-reg")
      if c and c:live() then c:write(0, "x") end
      if i % 100 == 0 then collectgarbage() end
    end
    collectgarbage("incremental")
    blocks = nil
    collectgarbage(); collectgarbage()
    assert(pool:check() and mempool.get_cpu_pool("gc-storm-reg"):check())
  ]], 60)
end)

H.done()

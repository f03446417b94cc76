-- Lua benchmark, one process: (1) allocate+free from Lua against the same
-- loop in C on the same pool; (2) a pool with a Lua policy set against one
-- without (the hooks sit on the slow path, so they must cost nothing here).
-- Medians of RUNS runs of PAIRS pairs; the two sides alternate run by run.
-- usage: lua5.4 bench.lua [runs] [pairs]   (LUA_CPATH finds mempool.so and mempool_bench.so)
local mempool = require "mempool"
local cbench = require "mempool_bench"

local RUNS, PAIRS = tonumber(arg[1]) or 9, tonumber(arg[2]) or 1000000

local function lua_pairs(pool, n)
  local t0 = os.clock()
  for _ = 1, n do pool:allocate(64):free() end
  return (os.clock() - t0) * 1e9 / n
end

local function median(t)
  table.sort(t)
  return t[(#t + 1) // 2]
end

for _, kind in ipairs { "fixed", "variable" } do
  local cfg = kind == "fixed" and { name = "bench", allocator = "fixed", block_size = 64 } or { name = "bench" }
  local pool <close> = assert(mempool.cpu_pool(cfg))
  lua_pairs(pool, PAIRS // 10)
  cbench.c_pairs(pool:handle(), 64, PAIRS // 10)
  local tl, tc = {}, {}
  for r = 1, RUNS do
    tl[r] = lua_pairs(pool, PAIRS)
    tc[r] = cbench.c_pairs(pool:handle(), 64, PAIRS)
  end
  local l, c = median(tl), median(tc)
  print(("lua   %-14s C %7.1f ns/pair   Lua  %7.1f ns/pair   Lua/C   %5.2fx"):format(kind .. " 64 B", c, l, l / c))
end

local plain <close> = assert(mempool.cpu_pool { name = "plain" })
local policed <close> = assert(mempool.cpu_pool { name = "policed" })
assert(policed:set_policy {
  grow = function(p, need, stats) return math.max(need, stats.reserved_bytes) end,
  on_oom = function(p) return p:reset() end,
  trim = function() return 0 end,
})
lua_pairs(plain, PAIRS // 10)
lua_pairs(policed, PAIRS // 10)
local tp, tq = {}, {}
for r = 1, RUNS do
  tp[r] = lua_pairs(plain, PAIRS)
  tq[r] = lua_pairs(policed, PAIRS)
end
local p, q = median(tp), median(tq)
print(("lua   policy set vs none     none %7.1f ns/pair   policy %7.1f ns/pair   %+.1f%%"):format(p, q, (q / p - 1) * 100))

-- A size-class router: small requests go to fixed-size pools (O(1), no
-- fragmentation), the rest to a variable-size pool.
local mempool = require "mempool"

local tiny <close> = assert(mempool.cpu_pool { name = "tiny", allocator = "fixed", block_size = 64 })
local small <close> = assert(mempool.cpu_pool { name = "small", allocator = "fixed", block_size = 512 })
local rest <close> = assert(mempool.cpu_pool { name = "rest" })
local router <close> = assert(mempool.router {
  name = "by-size",
  { max = 64, pool = tiny },
  { max = 512, pool = small },
  { pool = rest }, -- everything larger
})

local sizes, live = { 8, 64, 65, 300, 512, 513, 4000, 100000 }, {}
for i, size in ipairs(sizes) do
  live[i] = assert(router:allocate(size))
  print(("%6d bytes -> %s"):format(size, live[i]:pool():name()))
end
assert(live[2]:pool() == tiny and live[3]:pool() == small and live[6]:pool() == rest)
for _, b in ipairs(live) do assert(b:free()) end
for _, p in ipairs { tiny, small, rest } do assert(p:stats().live_allocations == 0) end

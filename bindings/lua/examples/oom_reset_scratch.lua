-- An out-of-memory policy: a per-frame scratch pool with a hard limit; when
-- it runs out, the policy resets it (the frame's temporaries are done) and
-- the allocation is retried.
local mempool = require "mempool"

local scratch <close> = assert(mempool.cpu_pool {
  name = "scratch", allocator = "fixed", block_size = 4096, initial_size = 64 * 4096, max_size = 64 * 4096,
})
local resets = 0
scratch:set_policy {
  on_oom = function(p, size)
    resets = resets + 1
    return p:reset() -- true: try the allocation again
  end,
}

-- Temporaries are never freed one by one: a reset drops them all (their
-- block objects go stale and free nothing later).
local temporaries = {}
for frame = 1, 10 do
  for _ = 1, 40 do
    local tmp = assert(scratch:allocate(4096))
    tmp:write(0, ("frame %d"):format(frame))
    temporaries[#temporaries + 1] = tmp
  end
end
print(("400 temporaries in a 64-block pool: %d resets, %d bytes reserved"):format(resets,
  scratch:stats().reserved_bytes))
assert(resets == 6 and scratch:stats().reserved_bytes == 64 * 4096) -- 400 = 6 * 64 + 16

-- A growth policy: double the pool each time it must grow, up to a cap,
-- then refuse, so a runaway allocation loop stops with a clear error.
local mempool = require "mempool"

local CAP = 1024 * 1024
local pool <close> = assert(mempool.cpu_pool { name = "doubling", initial_size = 64 * 1024, growth_factor = 1 })
pool:set_policy {
  grow = function(p, need, stats)
    local want = math.max(need, stats.reserved_bytes) -- double what is reserved
    if stats.reserved_bytes + want > CAP then return nil end -- refuse: over the cap
    return want
  end,
}

local blocks, err, status = {}, nil, nil
repeat
  local b
  b, err, status = pool:allocate(48 * 1024)
  blocks[#blocks + 1] = b
until not b
local s = pool:stats()
print(("grew to %d bytes in %d chunks, then: %s (%s)"):format(s.reserved_bytes, s.chunk_count, err, status))
assert(status == "MP_ERR_OUT_OF_MEMORY" and err:find("the Lua policy refused", 1, true))
assert(s.reserved_bytes == CAP and s.chunk_count == 5) -- 64 + 64 + 128 + 256 + 512 KiB

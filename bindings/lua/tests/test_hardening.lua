-- Hostile Lua programs: none may crash the interpreter, hang it or reach
-- freed memory. A test whose failure could take the interpreter down runs
-- its program in a child interpreter (H.in_child), killed after a timeout.
local mempool = require "mempool"
local H = require "tests.harness"
local test, pending, fails, raises, in_child = H.test, H.pending, H.fails, H.raises, H.in_child

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
  raises("does not fit the block", p.copy_to_device, p, b, "x", math.maxinteger)
  raises("outside the block", p.copy_from_device, p, b, math.maxinteger, 2)
  raises("must not be negative", mempool.allocate, -1)
  local r <close> = assert(mempool.router { name = "ints", { max = 64, pool = p } })
  raises("must not be negative", r.pool_for, r, -1)
  raises("must not be negative", r.allocate, r, -1)
  raises("non-negative integer", mempool.router, { name = "neg-max", { max = -1, pool = p } })
  assert(b:free())
end)

H.done()

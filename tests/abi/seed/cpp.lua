-- The C++ API (include/mempool/mempool.hpp) spells the seed's names as the
-- reference does: each member by its own name, and these by a pattern.
local special = {
  ["IMemoryPool.allocate(flags)"] = "virtual void %*allocate%(size_t size, AllocFlags flags%)",
  ["MemoryStats()"] = "MemoryStats%(%)",
  ["allocate<T>"] = "T %*allocate%(size_t count",
  ["allocateGPU<T>"] = "T %*allocateGPU%(size_t count",
  ["deallocate<T>"] = "void deallocate%(T %*ptr",
  ["deallocateGPU<T>"] = "void deallocateGPU%(T %*ptr",
}
local m = {}
for _, name in ipairs(dofile(arg[1] .. "/tests/abi/seed/names.lua")) do
  m[name] = special[name] or name:match("([^.]+)$")
end
return m

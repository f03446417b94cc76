-- The exported symbols of the built library are exactly the description's
-- functions, each in the version node of its `since` and documented in
-- docs/API.md under that version, and nothing else is exported.
-- usage: lua5.4 check_symbols.lua SOURCE_DIR path/to/libmempool.so
local src, lib = arg[1], arg[2]
local abi = assert(loadfile(src .. "/capi/mempool.abi.lua", "t", {}))()
local want = {}
for _, f in ipairs(abi.functions) do want[f.name] = "MEMPOOL_" .. f.since end

local nm = assert(io.popen("nm -D --defined-only '" .. lib .. "'"))
local got, failures = {}, 0
local function fail(fmt, ...) print("FAIL: " .. string.format(fmt, ...)); failures = failures + 1 end
for line in nm:lines() do
  local kind, sym = line:match("^%x+ (%a) (%S+)$")
  if kind and kind ~= "A" then -- "A" lines are the version nodes themselves
    local name, node = sym:match("^([^@]+)@@?(.+)$")
    if not name then fail("%s has no version node", sym)
    elseif not name:match("^mp_") then fail("%s is exported but is not an mp_ symbol", name)
    else got[name] = node end
  end
end
nm:close()
local doc = assert(io.open(src .. "/docs/API.md", "r")):read("a")
local count = 0
for name, node in pairs(want) do
  count = count + 1
  if not got[name] then fail("%s is described but not exported", name)
  elseif got[name] ~= node then fail("%s sits in %s, its since says %s", name, got[name], node) end
  if not doc:find("### `" .. name .. "` (since " .. node:sub(9) .. ")", 1, true) then
    fail("%s has no entry with its since in docs/API.md", name)
  end
end
for name in pairs(got) do
  if not want[name] then fail("%s is exported but not described", name) end
end
if failures > 0 then os.exit(1) end
print(string.format("ok: %d exported symbols, all mp_, each in the node of its since and in docs/API.md", count))

-- Fails when two files of the library call each other both ways (issue 20:
-- calls go one way, from clients to the pool, from the pool to its parts).
-- Reads the object files' symbol tables with nm: a call is an undefined
-- text symbol of one object that another defines. Data references (the
-- fork handlers' link anchor) are no calls and are not counted.
-- usage: lua check_calls.lua NM OBJECT...
local nm = arg[1]
local defs, uses, names = {}, {}, {}
for i = 2, #arg do
  local obj = arg[i]
  local name = obj:match("%.dir/(.*)%.o$") or obj
  names[#names + 1] = name
  defs[name], uses[name] = {}, {}
  local p = assert(io.popen(nm .. " " .. obj))
  for line in p:lines() do
    local kind, sym = line:match("^%x+ (%a) (%S+)$")
    if kind == "T" then
      defs[name][sym] = true
    else
      sym = line:match("^%s+U (%S+)$")
      if sym then uses[name][sym] = true end
    end
  end
  p:close()
end
local owner = {}
for _, f in ipairs(names) do
  for sym in pairs(defs[f]) do owner[sym] = f end
end
local calls = {}
for _, f in ipairs(names) do
  calls[f] = {}
  for sym in pairs(uses[f]) do
    local o = owner[sym]
    if o and o ~= f then calls[f][o] = calls[f][o] or sym end
  end
end
local bad = 0
for _, a in ipairs(names) do
  for b, sym in pairs(calls[a]) do
    if a < b and calls[b][a] then
      print(("FAIL: %s calls %s (%s) and %s calls %s (%s)"):format(a, b, sym, b, a, calls[b][a]))
      bad = bad + 1
    end
  end
end
if bad == 0 then print(("ok: %d files, no two call each other both ways"):format(#names)) end
os.exit(bad == 0 and 0 or 1)

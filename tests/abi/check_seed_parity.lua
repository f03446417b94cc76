-- Seed parity: every name of the seed's API reference (seed/names.lua) has a
-- counterpart in one binding. seed/<lang>.lua maps each name to the
-- spelling the binding uses (a Lua pattern, or a list of them, matched on
-- word boundaries unless it starts with "%f" or "^"), or to skip = "reason" where the name
-- cannot fit the language. Fails on a name the mapping leaves out, a
-- spelling not found in the binding's hand-written sources, or a mapping
-- entry for no reference name.
-- usage: lua5.4 check_seed_parity.lua SOURCE_DIR cpp|java|go|lua
local src, lang = arg[1], arg[2]
local where = {
  cpp  = { path = "include/mempool", pattern = "%.hpp$" },
  java = { path = "bindings/java/src/main/java", pattern = "%.java$" },
  go   = { path = "bindings/go", pattern = "%.go$", exclude = "_test%.go$" },
  lua  = { path = "bindings/lua", pattern = "%.[ch]$" },
}
local w = assert(where[lang], "unknown binding " .. tostring(lang))
local names = dofile(src .. "/tests/abi/seed/names.lua")
local map = dofile(src .. "/tests/abi/seed/" .. lang .. ".lua")

local text = {}
local p = io.popen('find "' .. src .. "/" .. w.path .. '" -type f 2>/dev/null')
for f in p:lines() do
  if f:match(w.pattern) and not (w.exclude and f:match(w.exclude)) and not f:match("_wrap%.")
      and not f:match("/internal/capi/") then
    local h = assert(io.open(f, "r"))
    text[#text + 1] = h:read("a")
    h:close()
  end
end
p:close()
text = table.concat(text, "\n")

local known, problems, found, skipped = {}, {}, 0, 0
for _, name in ipairs(names) do
  known[name] = true
  local m = map[name]
  if m == nil then
    problems[#problems + 1] = name .. ": no entry in tests/abi/seed/" .. lang .. ".lua"
  elseif type(m) == "table" and m.skip ~= nil then
    assert(type(m.skip) == "string" and #m.skip > 10, name .. ": a skip needs a reason")
    skipped = skipped + 1
  else
    local spellings = type(m) == "string" and { m } or m
    for _, s in ipairs(spellings) do
      local pat = s
      if not (s:sub(1, 2) == "%f" or s:sub(1, 1) == "^") then -- whole words where the ends are word characters
        pat = (s:match("^[%w_]") and "%f[%w_]" or "") .. s .. (s:match("[%w_]$") and "%f[^%w_]" or "")
      end
      if not text:find(pat) then
        problems[#problems + 1] = string.format("%s: %q not found in %s", name, s, w.path)
      end
    end
    found = found + 1
  end
end
for name in pairs(map) do
  if not known[name] then problems[#problems + 1] = name .. ": mapped, but not a reference name" end
end
if #problems > 0 then
  table.sort(problems)
  print(string.format("FAIL: the %s binding lacks %d seed name(s):\n  %s", lang, #problems,
    table.concat(problems, "\n  ")))
  os.exit(1)
end
print(string.format("ok: the %s binding has all %d seed names (%d skipped, with reasons)", lang, found + skipped,
  skipped))

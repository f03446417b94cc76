-- Binding parity: every function in docs/abi-manifest.tsv has a counterpart
-- in one binding, unless the description lists that binding in the
-- function's skip list (with a reason). A binding that does not exist yet is
-- reported as skipped, by name, with exit status 77 (ctest: Skipped).
-- usage: lua5.4 check_parity.lua SOURCE_DIR cpp|java|go|lua
local src, lang = arg[1], arg[2]

local where = {
  cpp  = { path = "include/mempool", pattern = "%.hpp$" }, -- mempool.hpp and mempool_errors.hpp
  java = { path = "bindings/java/src/main/java", pattern = "%.java$" },
  go   = { path = "bindings/go", pattern = "%.go$" },
  lua  = { path = "bindings/lua", pattern = "%.c$" },
}
local w = assert(where[lang], "unknown binding " .. tostring(lang))

local function exists(path)
  local f = io.open(path, "r")
  if f then f:close() return true end
  return false
end

-- The binding's hand-written sources (SWIG's generated wrappers would
-- mention every function and prove nothing).
local files = {}
local p = io.popen('find "' .. src .. "/" .. w.path .. '" -type f 2>/dev/null')
for f in p:lines() do
  if f:match(w.pattern) and not f:match("_wrap%.") and not f:match("/generated/") and not f:match("/internal/capi/") then files[#files + 1] = f end
end
p:close()
if #files == 0 then
  print(string.format("SKIP: the %s binding is not built yet (%s has no sources)", lang, w.path))
  os.exit(77)
end
local text = {}
for _, f in ipairs(files) do
  local h = assert(io.open(f, "r"))
  text[#text + 1] = h:read("a")
  h:close()
end
text = table.concat(text, "\n")

local manifest = assert(io.open(src .. "/docs/abi-manifest.tsv", "r"))
local missing, checked, skipped = {}, 0, 0
for line in manifest:lines() do
  local kind, name, _, _, _, _, skips = line:match("^(%w+)\t([^\t]+)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)$")
  if kind == "function" then
    if skips:match("%f[%w]" .. lang .. "=") then
      skipped = skipped + 1
    else
      checked = checked + 1
      -- SWIG's Go names start with a capital: Mp_pool_allocate.
      local goname = name:sub(1, 1):upper() .. name:sub(2)
      if not (text:find("%f[%w_]" .. name .. "%f[^%w_]") or (lang == "go" and text:find("%f[%w_]" .. goname .. "%f[^%w_]"))) then
        missing[#missing + 1] = name
      end
    end
  end
end
manifest:close()
if #missing > 0 then
  print(string.format("FAIL: the %s binding has no counterpart for %d function(s):\n  %s", lang, #missing,
    table.concat(missing, "\n  ")))
  os.exit(1)
end
print(string.format("ok: the %s binding covers all %d functions (%d skipped by the description, with reasons)",
  lang, checked, skipped))

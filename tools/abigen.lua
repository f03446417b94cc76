-- abigen: writes the C ABI's generated files from capi/mempool.abi.lua.
--
--   lua5.4 tools/abigen.lua [--root DIR] [--out DIR] [--release] [--list]
--
-- Reads DIR/capi/mempool.abi.lua and the template capi/mempool.h.in, checks the
-- description against every frozen record capi/abi/released-*.lua, and writes
-- under --out (default: --root) the header, the version script, docs/API.md,
-- docs/abi-manifest.tsv, the SWIG typemap applications swig/mempool_abi.i, the
-- stats text and JSON formatters capi/stats/stats_format.c, the C++ exception
-- classes include/mempool/mempool_errors.hpp and the bindings' error classes
-- (--list prints every path).  --release freezes the current version as
-- capi/abi/released-MAJOR.MINOR.lua.  Exit status 1 with a message on any
-- problem; nothing is written then.

local root, out, release, list = ".", nil, false, false
do
  local i = 1
  while i <= #arg do
    local a = arg[i]
    if a == "--root" then root = arg[i + 1]; i = i + 1
    elseif a == "--out" then out = arg[i + 1]; i = i + 1
    elseif a == "--release" then release = true
    elseif a == "--list" then list = true
    else io.stderr:write("abigen: unknown argument " .. a .. "\n"); os.exit(2) end
    i = i + 1
  end
end
out = out or root

local problems = {}
local function problem(fmt, ...) problems[#problems + 1] = string.format(fmt, ...) end

local function load_description(path)
  local chunk, err = loadfile(path, "t", {})
  if not chunk then io.stderr:write("abigen: " .. err .. "\n"); os.exit(1) end
  return chunk()
end

local function read(path)
  local f = assert(io.open(path, "rb"), "abigen: cannot read " .. path)
  local s = f:read("a"); f:close(); return s
end

local abi = load_description(root .. "/capi/mempool.abi.lua")
local V = abi.version
local current = V.major .. "." .. V.minor

-- Versions compare as numbers, major first.
local function vkey(s)
  local ma, mi = s:match("^(%d+)%.(%d+)$")
  if not ma then return nil end
  return tonumber(ma) * 1000 + tonumber(mi)
end

------------------------------------------------------------------ checks ----
local groups, group_ids = {}, {}
for i, g in ipairs(abi.groups) do groups[g.id] = i; group_ids[i] = g.id end

local seen = {}
local function check_common(kind, e)
  if seen[e.name] then problem("%s %s is described twice", kind, e.name) end
  seen[e.name] = true
  if not groups[e.group] then problem("%s %s: unknown group %q", kind, e.name, tostring(e.group)) end
  if not e.since or not vkey(e.since) then problem("%s %s: since must be \"MAJOR.MINOR\"", kind, e.name)
  elseif vkey(e.since) > vkey(current) then
    problem("%s %s: since %s is newer than the ABI version %s", kind, e.name, e.since, current)
  end
end

abi.typedefs = abi.typedefs or {}
for _, t in ipairs(abi.typedefs) do
  check_common("typedef", t)
  if not t.decl:match("^typedef .*%f[%w_]" .. t.name .. "%f[^%w_].*;$") then
    problem("typedef %s: decl must be a typedef of that name", t.name)
  end
end

-- The inline calls live in a hand-written header (compiled on its own by a
-- ctest); the description names them, and their signature and doc come from
-- the header: a /** doc */ comment right before "MP__TC_INLINE signature".
abi.inlines = abi.inlines or {}
local inline_path, inline_text
if abi.inline_header then
  inline_path = "include/mempool/" .. abi.inline_header.file
  if not groups[abi.inline_header.group] then
    problem("inline_header: unknown group %q", tostring(abi.inline_header.group))
  end
  local fh = io.open(root .. "/" .. inline_path, "rb")
  if fh then inline_text = fh:read("a"); fh:close() else problem("inline_header: cannot read %s", inline_path) end
elseif #abi.inlines > 0 then
  problem("inlines need an inline_header that defines them")
end

local function inline_from_header(name)
  for doc, sig in (inline_text or ""):gmatch("/%*%*(.-)%*/\nMP__TC_INLINE ([^\n{]-%b())\n{") do
    if sig:match("%f[%w_]" .. name .. "%(") then
      local lines = {}
      for line in (doc .. "\n"):gmatch("(.-)\n") do
        line = line:gsub("^%s*%*?%s?%s?", ""):gsub("%s+$", "")
        if line ~= "" then lines[#lines + 1] = line end
      end
      return table.concat(lines, "\n"), sig
    end
  end
end

for _, f in ipairs(abi.inlines) do
  check_common("inline", f)
  if f.code or f.signature or f.doc then
    problem("inline %s: its code, signature and doc live in %s, not in the description", f.name, inline_path)
  end
  f.doc, f.signature = inline_from_header(f.name)
  if not f.signature then
    problem("inline %s: %s has no /** doc */ right before \"MP__TC_INLINE ... %s(...)\"", f.name,
      tostring(inline_path), f.name)
  elseif f.group ~= abi.inline_header.group then
    problem("inline %s: its group must be the inline header's (%s)", f.name, abi.inline_header.group)
  end
end

-- The thread-cache layout: the typedefs marked layout = true and the header's
-- code between its layout markers, comments and spacing aside, fingerprinted
-- (FNV-1a, 64 bits). capi/abi/tcache-layouts.lua freezes released layouts
-- (MP_TCACHE_LAYOUT -> fingerprint); an unfrozen layout must be numbered
-- after the ABI version under way (MAJOR * 100 + MINOR).
local LAYOUT_RECORD = "capi/abi/tcache-layouts.lua"
local layout = nil -- { number, fingerprint }
local function fnv1a64(text)
  local h = 0xcbf29ce484222325
  for i = 1, #text do h = (h ~ text:byte(i)) * 0x100000001b3 end
  return string.format("fnv1a64:%016x", h)
end
local function code_only(text)
  return (text:gsub("/%*.-%*/", " "):gsub("//[^\n]*", " "):gsub("%s+", " "):gsub("^ ", ""):gsub(" $", ""))
end
local layout_records = {}
if inline_text then
  local number = tonumber(inline_text:match("\n#define MP_TCACHE_LAYOUT (%d+)%f[^%d]"))
  local code = inline_text:match("/%* %-%-%-%- the layout %(fingerprinted by abigen%) %-%-%-%- %*/(.-)" ..
                                 "/%* %-%-%-%- end of the layout %-%-%-%- %*/")
  if not number then problem("%s: no \"#define MP_TCACHE_LAYOUT <number>\" line", inline_path) end
  if not code then problem("%s: no layout markers (\"---- the layout (fingerprinted by abigen) ----\" and \"---- end of the layout ----\")", inline_path) end
  local parts = {}
  for _, t in ipairs(abi.typedefs) do
    if t.layout then parts[#parts + 1] = code_only(t.decl) end
  end
  if number and code then
    parts[#parts + 1] = code_only(code)
    layout = { number = number, fingerprint = fnv1a64(table.concat(parts, "\n")) }
  end
  local rf = io.open(root .. "/" .. LAYOUT_RECORD, "rb")
  if rf then rf:close(); layout_records = load_description(root .. "/" .. LAYOUT_RECORD) end
end
if layout then
  local frozen, newest = layout_records[layout.number], 0
  for n in pairs(layout_records) do newest = math.max(newest, n) end
  local under_way = V.major * 100 + V.minor
  if frozen and frozen ~= layout.fingerprint then
    local todo = under_way > layout.number
      and string.format("set MP_TCACHE_LAYOUT to %d, the ABI version under way (%d.%d)", under_way, V.major, V.minor)
      or string.format("bump the ABI minor version in capi/mempool.abi.lua past %d.%d and set MP_TCACHE_LAYOUT " ..
                       "to MAJOR * 100 + MINOR of it", V.major, V.minor)
    problem("the thread-cache layout changed (%s between its markers, or a typedef marked layout = true) " ..
      "but MP_TCACHE_LAYOUT is still %d, frozen in %s as %s (now %s): callers compiled against layout %d " ..
      "would run their inline code on the new caches. To change the layout, %s",
      inline_path, layout.number, LAYOUT_RECORD, frozen, layout.fingerprint, layout.number, todo)
  elseif not frozen and layout.number ~= under_way then
    problem("%s: MP_TCACHE_LAYOUT %d is not frozen in %s, so it must be the ABI version under way, %d",
      inline_path, layout.number, LAYOUT_RECORD, under_way)
  elseif not frozen and layout.number <= newest then
    problem("%s: MP_TCACHE_LAYOUT %d is older than the newest frozen layout %d", inline_path, layout.number, newest)
  end
end

local statuses = {}
for _, e in ipairs(abi.enums) do
  check_common("enum", e)
  local numbers = {}
  for _, v in ipairs(e.values) do
    if numbers[v[2]] then problem("enum %s: value %d used twice", e.name, v[2]) end
    numbers[v[2]] = true
    if e.name == "mp_status" then statuses[v[1]:gsub("^MP_ERR_", "")] = v end
  end
end
for _, s in ipairs(abi.structs) do
  check_common("struct", s)
  if s.fields[1][2] ~= "struct_size" then problem("struct %s: the first field must be struct_size", s.name) end
end
-- mp_stats: each field must have a way into the stats text and JSON.
local stats_kinds = { uint64_t = "count", size_t = "count", uint32_t = "count", unsigned = "count" }
local function stats_kind(fld)
  if fld.format == "ratio" and fld[1] == "double" then return "ratio" end
  if fld.format == nil then return stats_kinds[fld[1]] end
end
for _, s in ipairs(abi.structs) do
  if s.name == "mp_stats" then
    local lines, pieces = {}, {}
    for _, label in ipairs(s.text_lines or {}) do lines[label] = true end
    for i = 2, #s.fields do
      local fld = s.fields[i]
      if not stats_kind(fld) then
        problem("mp_stats field %s: no stats format for type %s%s (tools/abigen.lua: stats_kinds)", fld[2], fld[1],
          fld.format and (" with format " .. fld.format) or "")
      end
      if fld.json ~= nil and (type(fld.json) ~= "string" or not fld.json:match("^[%w_]+$")) then
        problem("mp_stats field %s: json must be a key of letters, digits and _", fld[2])
      end
      local t = fld.text
      if t ~= nil then
        if type(t) ~= "table" or not lines[t[1]] or math.type(t[2]) ~= "integer" or type(t[3]) ~= "string" then
          problem("mp_stats field %s: text must be {label of text_lines, order, \"words {} words\"}", fld[2])
        else
          local _, holes = t[3]:gsub("{}", "")
          if holes ~= 1 then problem("mp_stats field %s: text %q needs exactly one {}", fld[2], t[3]) end
          local key = t[1] .. "#" .. t[2]
          if pieces[key] then problem("mp_stats fields %s and %s: both are piece %d of line %q", pieces[key], fld[2], t[2], t[1]) end
          pieces[key] = fld[2]
        end
      end
    end
  end
end
local langs = { cpp = true, java = true, go = true, lua = true }
for _, f in ipairs(abi.functions) do
  check_common("function", f)
  if not f.name:match("^mp_[a-z0-9_]+$") then problem("function %s: names are mp_ plus lower case", f.name) end
  if not f.doc or f.doc == "" then problem("function %s: no doc", f.name) end
  for _, p in ipairs(f.params) do
    if p.dir ~= "in" and p.dir ~= "out" and p.dir ~= "inout" then
      problem("function %s: parameter %s has direction %q", f.name, p.name, tostring(p.dir))
    end
    if p.dir ~= "in" and not p.ctype:match("%*%s*$") then
      problem("function %s: out-parameter %s is not a pointer", f.name, p.name)
    end
  end
  for _, err in ipairs(f.errors) do
    if not statuses[err] then problem("function %s: unknown status %s", f.name, err) end
  end
  for lang, why in pairs(f.skip or {}) do
    if not langs[lang] then problem("function %s: skip names unknown language %s", f.name, lang) end
    if type(why) ~= "string" or why == "" then problem("function %s: skip for %s needs a reason", f.name, lang) end
  end
end

-- Structs marked json = true get a JSON writer (capi/stats/json_format.c):
-- each field needs a way into JSON.
local json_kinds = { uint64_t = "count", size_t = "count", uint32_t = "count", unsigned = "count",
  ["void *"] = "address" }
local enums_by_name = {}
for _, e in ipairs(abi.enums) do enums_by_name[e.name] = e end
for _, s in ipairs(abi.structs) do
  if s.json then
    for i = 2, #s.fields do
      local fld = s.fields[i]
      if not json_kinds[fld[1]] and not enums_by_name[fld[1]] then
        problem("struct %s field %s: no JSON form for type %s (tools/abigen.lua: json_kinds)", s.name, fld[2], fld[1])
      end
    end
  end
end

-- A released record is frozen: nothing in it may change, disappear or move.
local function signature(f)
  local t = {}
  for _, p in ipairs(f.params) do t[#t + 1] = p.ctype end
  return f.ret .. "(" .. table.concat(t, ",") .. ")"
end

local function index(list)
  local t = {}
  for _, e in ipairs(list) do t[e.name] = e end
  return t
end

local function check_released(path, rel)
  local rv = rel.version.major .. "." .. rel.version.minor
  if rel.version.major ~= V.major then return end -- a new major may break
  local fns, ens, sts = index(abi.functions), index(abi.enums), index(abi.structs)
  for _, f in ipairs(rel.functions) do
    local now = fns[f.name]
    if not now then problem("%s: released function %s was removed", path, f.name)
    else
      if signature(now) ~= signature(f) then
        problem("%s: released function %s changed from %s to %s", path, f.name, signature(f), signature(now))
      end
      if now.since ~= f.since then problem("%s: released function %s changed its since", path, f.name) end
    end
  end
  for _, e in ipairs(rel.enums) do
    local now = ens[e.name]
    if not now then problem("%s: released enum %s was removed", path, e.name)
    else
      local vals = {}
      for _, v in ipairs(now.values) do vals[v[1]] = v[2] end
      for _, v in ipairs(e.values) do
        if vals[v[1]] == nil then problem("%s: released value %s was removed", path, v[1])
        elseif vals[v[1]] ~= v[2] then problem("%s: released value %s renumbered %d -> %d", path, v[1], v[2], vals[v[1]]) end
      end
    end
  end
  local tds = index(abi.typedefs)
  for _, t in ipairs(rel.typedefs or {}) do
    if not tds[t.name] then problem("%s: released typedef %s was removed", path, t.name)
    elseif tds[t.name].decl ~= t.decl and not tds[t.name].layout then
      problem("%s: released typedef %s changed", path, t.name)
    end -- a layout type changes under a new MP_TCACHE_LAYOUT (checked above)
  end
  for _, s in ipairs(rel.structs) do
    local now = sts[s.name]
    if not now then problem("%s: released struct %s was removed", path, s.name)
    else
      for i, fld in ipairs(s.fields) do
        local n = now.fields[i]
        if not n or n[1] ~= fld[1] or n[2] ~= fld[2] then
          problem("%s: released field %s.%s (#%d) was removed, reordered or retyped", path, s.name, fld[2], i)
        end
      end
    end
  end
  -- What the record lacks is new, and must say so with a newer since.
  local known = {}
  for _, list in ipairs({ rel.functions, rel.enums, rel.structs, rel.typedefs or {} }) do
    for _, e in ipairs(list) do known[e.name] = true end
  end
  for _, list in ipairs({ abi.functions, abi.enums, abi.structs, abi.typedefs }) do
    for _, e in ipairs(list) do
      if not known[e.name] and vkey(e.since) and vkey(e.since) <= vkey(rv) then
        problem("%s: %s is not in released %s but claims since %s", path, e.name, rv, e.since)
      end
    end
  end
end

local abidir = root .. "/capi/abi"
local p = io.popen('ls "' .. abidir .. '" 2>/dev/null')
for name in p:lines() do
  if name:match("^released%-%d+%.%d+%.lua$") then
    check_released("capi/abi/" .. name, load_description(abidir .. "/" .. name))
  end
end
p:close()

if #problems > 0 then
  io.stderr:write("abigen: the description is not valid:\n  " .. table.concat(problems, "\n  ") .. "\n")
  os.exit(1)
end

--------------------------------------------------------------- emitters ----
local function decl(ctype, name)
  if ctype:match("%*$") then return ctype .. name end
  return ctype .. " " .. name
end

local function by_group(list)
  local t = {}
  for _, e in ipairs(list) do
    t[e.group] = t[e.group] or {}
    table.insert(t[e.group], e)
  end
  return t
end

local function comment(doc, indent)
  indent = indent or ""
  local lines = {}
  for line in (doc .. "\n"):gmatch("(.-)\n") do lines[#lines + 1] = line end
  if #lines == 1 then return indent .. "/** " .. lines[1] .. " */\n" end
  local s = indent .. "/** " .. lines[1] .. "\n"
  for i = 2, #lines do s = s .. indent .. " *  " .. lines[i] .. "\n" end
  return s .. indent .. " */\n"
end

local function pad(s, n) return s .. string.rep(" ", math.max(1, n - #s)) end

local GEN = "Generated by tools/abigen.lua from capi/mempool.abi.lua: do not edit."

-- A struct the template already declares (typedef struct X X;, so that
-- functions can take it before its layout) is defined without a second
-- typedef: C99 forbids repeating one (C11 allows it).
local function struct_body(decl, tpl)
  local name, body = decl:match("^typedef struct ([%w_]+) (%b{}) ([%w_]+);$")
  if name and decl:match("} " .. name .. ";$") and tpl:find("typedef struct " .. name .. " " .. name .. ";", 1, true) then
    return "struct " .. name .. " " .. body .. ";"
  end
  return decl
end

local function header()
  local enums, structs, fns = by_group(abi.enums), by_group(abi.structs), by_group(abi.functions)
  local tds, ins = by_group(abi.typedefs), by_group(abi.inlines)
  local tpl = read(root .. "/capi/mempool.h.in")
  local b = {}
  for _, gid in ipairs(group_ids) do
    local title = abi.groups[groups[gid]].title
    b[#b + 1] = "/* ---- " .. title .. " " .. string.rep("-", math.max(3, 66 - #title)) .. " */\n\n"
    for _, t in ipairs(tds[gid] or {}) do
      local d = comment(t.doc .. " (since " .. t.since .. ")") .. struct_body(t.decl, tpl) .. "\n"
      b[#b + 1] = t.nobind and ("#ifndef SWIG /* layout for the inline functions, not for bindings */\n" .. d .. "#endif\n") or d
    end
    if tds[gid] then b[#b + 1] = "\n" end
    for _, e in ipairs(enums[gid] or {}) do
      b[#b + 1] = comment(e.doc .. " (since " .. e.since .. ")")
      b[#b + 1] = "typedef enum " .. e.name .. " {\n"
      for _, v in ipairs(e.values) do
        local since = v.since and (" (since " .. v.since .. ")") or ""
        b[#b + 1] = pad("    " .. v[1] .. " = " .. v[2] .. ",", 36) .. "/**< " .. v[3] .. since .. " */\n"
      end
      b[#b + 1] = "} " .. e.name .. ";\n\n"
    end
    for _, s in ipairs(structs[gid] or {}) do
      b[#b + 1] = comment(s.doc .. " (since " .. s.since .. ")")
      b[#b + 1] = "typedef struct " .. s.name .. " {\n"
      for _, fld in ipairs(s.fields) do
        local since = fld.since and (" (since " .. fld.since .. ")") or ""
        b[#b + 1] = pad("    " .. decl(fld[1], fld[2]) .. ";", 36) .. "/**< " .. fld[3] .. since .. " */\n"
      end
      b[#b + 1] = "} " .. s.name .. ";\n\n"
    end
    for _, f in ipairs(fns[gid] or {}) do
      local ps = {}
      for _, prm in ipairs(f.params) do ps[#ps + 1] = decl(prm.ctype, prm.name) end
      b[#b + 1] = comment(f.doc .. " (since " .. f.since .. ")")
      b[#b + 1] = "MP_API " .. decl(f.ret, f.name) .. "(" .. (#ps > 0 and table.concat(ps, ", ") or "void") .. ");\n"
    end
    if abi.inline_header and abi.inline_header.group == gid then
      local names = {}
      for _, f in ipairs(ins[gid] or {}) do names[#names + 1] = f.name end
      b[#b + 1] = "\n/* The inline calls (" .. table.concat(names, ", ") .. "): hand-written, compiled into the caller,\n" ..
        " * thread-cache layout " .. layout.number .. " (" .. layout.fingerprint .. "). */\n"
      b[#b + 1] = "#ifndef SWIG\n#include \"" .. abi.inline_header.file .. "\"\n" ..
        "#if MP_TCACHE_LAYOUT != " .. layout.number .. "\n" ..
        "#  error \"" .. abi.inline_header.file .. " is not the one this mempool.h was generated with\"\n#endif\n#endif\n"
    end
    b[#b + 1] = "\n"
  end
  local tpl = read(root .. "/capi/mempool.h.in")
  local text = table.concat(b):gsub("\n\n$", "\n")
  local subs = {
    ["@GENERATED@"] = "/* " .. GEN .. " */",
    ["@MAJOR@"] = tostring(V.major), ["@MINOR@"] = tostring(V.minor), ["@PATCH@"] = tostring(V.patch),
    ["@DECLARATIONS@"] = text,
  }
  return (tpl:gsub("@[A-Z]+@", function(k) return subs[k] end))
end

local function version_script()
  local nodes, order = {}, {}
  for _, f in ipairs(abi.functions) do
    if not nodes[f.since] then nodes[f.since] = {}; order[#order + 1] = f.since end
    table.insert(nodes[f.since], f.name)
  end
  table.sort(order, function(a, b) return vkey(a) < vkey(b) end)
  local b = { "/* " .. GEN .. " */\n" }
  for i, v in ipairs(order) do
    table.sort(nodes[v])
    b[#b + 1] = "\nMEMPOOL_" .. v .. " {\n  global:\n"
    for _, n in ipairs(nodes[v]) do b[#b + 1] = "    " .. n .. ";\n" end
    if i == 1 then b[#b + 1] = "  local:\n    *;\n}" else b[#b + 1] = "} MEMPOOL_" .. order[i - 1] end
    b[#b + 1] = ";\n"
  end
  return table.concat(b)
end

local function api_md()
  local enums, structs, fns = by_group(abi.enums), by_group(abi.structs), by_group(abi.functions)
  local b = { "<!-- " .. GEN .. " -->\n",
    "# mempool C ABI reference, version " .. V.major .. "." .. V.minor .. "." .. V.patch .. "\n\n",
    "Header `<mempool/mempool.h>`, library `libmempool.so." .. V.major .. "`. Every function that can fail\n",
    "returns an `mp_status`; on failure `mp_last_error_message()` holds the detail. Out-parameters\n",
    "are written only on success unless said otherwise. Parameters may not be NULL unless marked.\n\n" }
  local tds, ins = by_group(abi.typedefs), by_group(abi.inlines)
  for _, gid in ipairs(group_ids) do
    b[#b + 1] = "## " .. abi.groups[groups[gid]].title .. "\n\n"
    for _, t in ipairs(tds[gid] or {}) do
      b[#b + 1] = "### type `" .. t.name .. "` (since " .. t.since .. ")\n\n```c\n" .. t.decl .. "\n```\n\n" ..
        t.doc:gsub("\n", " ") .. "\n\n"
    end
    for _, e in ipairs(enums[gid] or {}) do
      b[#b + 1] = "### enum `" .. e.name .. "` (since " .. e.since .. ")\n\n" .. e.doc:gsub("\n", " ") .. "\n\n"
      b[#b + 1] = "| name | value | meaning |\n| --- | --- | --- |\n"
      for _, v in ipairs(e.values) do
        b[#b + 1] = "| `" .. v[1] .. "` | " .. v[2] .. " | " .. v[3] .. " |\n"
      end
      b[#b + 1] = "\n"
    end
    for _, s in ipairs(structs[gid] or {}) do
      b[#b + 1] = "### struct `" .. s.name .. "` (since " .. s.since .. ")\n\n" .. s.doc:gsub("\n", " ") .. "\n\n"
      b[#b + 1] = "| field | type | meaning |\n| --- | --- | --- |\n"
      for _, fld in ipairs(s.fields) do
        b[#b + 1] = "| `" .. fld[2] .. "` | `" .. fld[1] .. "` | " .. fld[3] .. " |\n"
      end
      b[#b + 1] = "\n"
    end
    for _, f in ipairs(fns[gid] or {}) do
      local ps = {}
      for _, prm in ipairs(f.params) do ps[#ps + 1] = decl(prm.ctype, prm.name) end
      b[#b + 1] = "### `" .. f.name .. "` (since " .. f.since .. ")\n\n"
      b[#b + 1] = "```c\n" .. decl(f.ret, f.name) .. "(" .. (#ps > 0 and table.concat(ps, ", ") or "void") .. ");\n```\n\n"
      b[#b + 1] = f.doc:gsub("\n", " ") .. "\n\n"
      if #f.params > 0 then
        b[#b + 1] = "| parameter | direction | meaning |\n| --- | --- | --- |\n"
        for _, prm in ipairs(f.params) do
          b[#b + 1] = "| `" .. prm.name .. "` | " .. prm.dir .. (prm.null and ", may be NULL" or "") .. " | " .. prm.doc .. " |\n"
        end
        b[#b + 1] = "\n"
      end
      if f.ret == "mp_status" then
        local errs = { "`MP_OK`" }
        for _, e in ipairs(f.errors) do errs[#errs + 1] = "`MP_ERR_" .. e .. "`" end
        b[#b + 1] = "Returns " .. table.concat(errs, ", ") .. ".\n\n"
      end
    end
    if layout and abi.inline_header.group == gid then
      b[#b + 1] = "### thread-cache layout `MP_TCACHE_LAYOUT` = " .. layout.number .. "\n\n" ..
        "The inline calls below and the types marked as the layout are compiled into the caller, from `<mempool/" ..
        abi.inline_header.file .. ">`. Their layout has a version, `MP_TCACHE_LAYOUT` (MAJOR * 100 + MINOR of the " ..
        "ABI version that brought it), which the library checks (`mp_pool_thread_cache_layout`); a caller of another layout " ..
        "gets a cache whose calls all take the exported path, so the layout may change within a major version. " ..
        "`owner`, `magic` and `pool` of `mp_tcache` never move. Fingerprint of this layout: `" .. layout.fingerprint ..
        "` (abigen refuses a changed layout under a frozen number; see " .. LAYOUT_RECORD .. ").\n\n"
    end
    for _, f in ipairs(ins[gid] or {}) do
      b[#b + 1] = "### inline `" .. f.name .. "` (since " .. f.since .. ")\n\n```c\nstatic inline " ..
        f.signature .. ";\n```\n\n" .. f.doc:gsub("\n", " ") .. " Defined in `<mempool/" ..
        abi.inline_header.file .. ">`.\n\n"
    end
  end
  return table.concat(b)
end

local function manifest()
  local b = { "# " .. GEN .. "\n",
    "# kind\tfields... (tab-separated; read by the bindings' parity and error-mapping tests)\n",
    "version\t" .. V.major .. "." .. V.minor .. "." .. V.patch .. "\n" }
  for _, e in ipairs(abi.enums) do
    for _, v in ipairs(e.values) do
      if e.name == "mp_status" then
        b[#b + 1] = "status\t" .. v[1] .. "\t" .. v[2] .. "\t" .. v.error .. "\n"
      else
        b[#b + 1] = "enum\t" .. e.name .. "\t" .. v[1] .. "\t" .. v[2] .. "\n"
      end
    end
  end
  for _, t in ipairs(abi.typedefs) do b[#b + 1] = "typedef\t" .. t.name .. "\t" .. t.since .. "\n" end
  if layout then b[#b + 1] = "tcache_layout\t" .. layout.number .. "\t" .. layout.fingerprint .. "\n" end
  for _, s in ipairs(abi.structs) do
    for _, fld in ipairs(s.fields) do b[#b + 1] = "field\t" .. s.name .. "\t" .. fld[2] .. "\t" .. fld[1] .. "\n" end
  end
  for _, f in ipairs(abi.functions) do
    local outs, skips = {}, {}
    for _, prm in ipairs(f.params) do
      if prm.dir ~= "in" then outs[#outs + 1] = prm.name .. ":" .. prm.ctype:gsub("%s", "") end
    end
    local langs_sorted = {}
    for lang in pairs(f.skip or {}) do langs_sorted[#langs_sorted + 1] = lang end
    table.sort(langs_sorted)
    for _, lang in ipairs(langs_sorted) do skips[#skips + 1] = lang .. "=" .. f.skip[lang] end
    b[#b + 1] = table.concat({ "function", f.name, f.group, f.since, f.ret,
      #outs > 0 and table.concat(outs, ",") or "-", #skips > 0 and table.concat(skips, ";") or "-" }, "\t") .. "\n"
  end
  return table.concat(b)
end

-- SWIG: each out-parameter's C type belongs to one shape, whose typemaps
-- swig/mempool.i defines per language; a type without a shape is an error,
-- so a new function's Java and Go form needs no hand edit.
local swig_shapes = {
  ["mp_pool **"] = "MP_OUT_HANDLE", ["mp_router **"] = "MP_OUT_HANDLE", ["mp_tracker **"] = "MP_OUT_HANDLE", ["mp_tcache **"] = "MP_OUT_HANDLE", ["void **"] = "MP_OUT_ADDRESS",
  ["const char **"] = "MP_OUT_CSTRING", ["char **"] = "MP_OUT_STRING",
  ["size_t *"] = "MP_OUT_VALUE", ["int *"] = "MP_OUT_VALUE", ["bool *"] = "MP_OUT_VALUE",
  ["mp_memory_type *"] = "MP_OUT_VALUE", ["mp_backend_kind *"] = "MP_OUT_VALUE",
  ["mp_config *"] = "MP_OUT_STRUCT", ["mp_stats *"] = "MP_OUT_STRUCT", ["mp_memory_snapshot *"] = "MP_OUT_STRUCT",
  ["mp_allocation_info *"] = "MP_OUT_RECORDS", ["mp_chunk_info *"] = "MP_OUT_RECORDS",
  ["mp_class_info *"] = "MP_OUT_RECORDS",
}

local function swig_interface()
  local applies, seen, order = {}, {}, {}
  for _, f in ipairs(abi.functions) do
    for _, prm in ipairs(f.params) do
      if prm.dir ~= "in" then
        local shape = swig_shapes[prm.ctype]
        if not shape then
          io.stderr:write(string.format("abigen: %s: out-parameter type %q has no SWIG shape in tools/abigen.lua\n",
            f.name, prm.ctype))
          os.exit(1)
        end
        local key = shape .. "\0" .. prm.ctype
        if not applies[key] then applies[key] = {}; order[#order + 1] = key end
        local d = decl(prm.ctype, prm.name)
        if not seen[key .. d] then seen[key .. d] = true; table.insert(applies[key], d) end
      end
    end
  end
  local b = { "/* " .. GEN .. " */\n",
    "/* Out-parameters by shape; swig/mempool.i defines each shape's typemaps. */\n" }
  for _, key in ipairs(order) do
    local shape, ctype = key:match("^(.-)%z(.*)$")
    b[#b + 1] = "%apply " .. decl(ctype, shape) .. " { " .. table.concat(applies[key], ", ") .. " };\n"
  end
  local checked = {}
  for _, f in ipairs(abi.functions) do
    if f.ret == "mp_status" and #f.errors > 0 then checked[#checked + 1] = "mp_status " .. f.name end
  end
  b[#b + 1] = "\n/* Calls that can fail: Java throws, Go returns an error (swig/mempool.i). */\n"
  b[#b + 1] = "%apply mp_status MP_CHECKED {\n    " .. table.concat(checked, ",\n    ") .. "\n};\n"
  -- Status tables: the manifest's error names, in status order.
  local errs, sentinels, names = {}, {}, {}
  for _, e in ipairs(abi.enums) do
    if e.name == "mp_status" then
      for i, v in ipairs(e.values) do
        if v[2] ~= i - 1 then io.stderr:write("abigen: mp_status values must be 0, 1, 2, ...\n"); os.exit(1) end
        errs[#errs + 1] = v.error == "" and "NULL" or ('"' .. v.error .. '"')
        names[#names + 1] = '"' .. v[1] .. '"'
        if v.error ~= "" then
          local words = v.error:gsub("(%l)(%u)", "%1 %2"):lower()
          sentinels[#sentinels + 1] = string.format("\t// Err%s: %s (%s).\n\tErr%s = errors.New(\"mempool: %s\")",
            v.error, v[3], v[1], v.error, words)
        end
      end
    end
  end
  b[#b + 1] = "\n%{\nstatic const char *mpswig_error_name(int status)\n{\n"
  b[#b + 1] = "    static const char *const names[] = {" .. table.concat(errs, ", ") .. "};\n"
  b[#b + 1] = "    return status > 0 && status < (int)(sizeof names / sizeof *names) ? names[status] : NULL;\n}\n%}\n"
  local sentinel_list = { "nil" }
  for _, e in ipairs(abi.enums) do
    if e.name == "mp_status" then
      for _, v in ipairs(e.values) do if v.error ~= "" then sentinel_list[#sentinel_list + 1] = "Err" .. v.error end end
    end
  end
  b[#b + 1] = "#if defined(SWIGGO)\n%insert(go_wrapper) %{\n// Sentinels, one per failure status; *Error unwraps to them.\nvar (\n"
  b[#b + 1] = table.concat(sentinels, "\n") .. "\n)\n\n"
  b[#b + 1] = "var statusSentinels = []error{" .. table.concat(sentinel_list, ", ") .. "}\n\n"
  b[#b + 1] = "var statusNames = []string{" .. table.concat(names, ", ") .. "}\n%}\n#endif\n"

  b[#b + 1] = "\n/* Functions a language deliberately leaves out (reasons in the description). */\n"
  for _, lang in ipairs({ "java", "go" }) do
    local names = {}
    for _, f in ipairs(abi.functions) do
      if f.skip and f.skip[lang] then names[#names + 1] = "%ignore " .. f.name .. ";" end
    end
    if #names > 0 then
      b[#b + 1] = "#if defined(SWIG" .. lang:upper() .. ")\n" .. table.concat(names, "\n") .. "\n#endif\n"
    end
  end
  return table.concat(b)
end

-- Java: one exception class per failure status, named as the manifest says.
local function java_exceptions(files)
  for _, e in ipairs(abi.enums) do
    if e.name == "mp_status" then
      for _, v in ipairs(e.values) do
        if v.error ~= "" then
          files["bindings/java/src/main/java/org/mempool/" .. v.error .. "Exception.java"] = table.concat({
            "// " .. GEN, "package org.mempool;", "",
            "/** " .. v[3]:gsub("^%l", string.upper) .. " (" .. v[1] .. "). */",
            "public class " .. v.error .. "Exception extends MemoryPoolException {",
            "    public " .. v.error .. "Exception(int status, String detail) {",
            "        super(status, detail);", "    }", "}", "" }, "\n")
        end
      end
    end
  end
end

-- C++: the same classes in include/mempool/mempool_errors.hpp (template
-- capi/mempool_errors.hpp.in), and the switch that throws them.
local function cpp_exceptions()
  local classes, cases = {}, {}
  for _, e in ipairs(abi.enums) do
    if e.name == "mp_status" then
      for _, v in ipairs(e.values) do
        if v.error ~= "" then
          classes[#classes + 1] = "/// " .. v[3]:gsub("^%l", string.upper) .. " (" .. v[1] .. ").\n" ..
            "class " .. v.error .. "Exception : public MemoryPoolException {\npublic:\n" ..
            "    using MemoryPoolException::MemoryPoolException;\n};\n"
          cases[#cases + 1] = "    case " .. v[1] .. ": throw " .. v.error .. "Exception(s, d);"
        end
      end
    end
  end
  local subs = { ["@GENERATED@"] = "// " .. GEN, ["@CLASSES@"] = table.concat(classes, "\n"),
    ["@CASES@"] = table.concat(cases, "\n") }
  return (read(root .. "/capi/mempool_errors.hpp.in"):gsub("@[A-Z]+@", function(k) return subs[k] end))
end

-- Go: the idiomatic package re-exports the sentinels of the SWIG layer.
local function go_errors()
  local b = { "// " .. GEN, "", "package mempool", "", 'import "github.com/mempool-project/mempool/bindings/go/internal/capi"', "",
    "// Sentinels for errors.Is, one per failure status.", "var (" }
  for _, e in ipairs(abi.enums) do
    if e.name == "mp_status" then
      for _, v in ipairs(e.values) do
        if v.error ~= "" then
          b[#b + 1] = "\t// Err" .. v.error .. ": " .. v[3] .. " (" .. v[1] .. ")."
          b[#b + 1] = "\tErr" .. v.error .. " = capi.Err" .. v.error
        end
      end
    end
  end
  b[#b + 1] = ")"
  b[#b + 1] = ""
  return table.concat(b, "\n")
end

-- The stats text and JSON (capi/stats/stats_format.c): one asprintf each over
-- every mp_stats field but struct_size, laid out as the description says.
local function c_literal(s) return (s:gsub("[\\\"]", "\\%0"):gsub("%%", "%%%%")) end

local function stats_format()
  local st
  for _, s in ipairs(abi.structs) do if s.name == "mp_stats" then st = s end end
  local pre, conv, arg = {}, {}, {}
  for i = 2, #st.fields do
    local fld = st.fields[i]
    if stats_kind(fld) == "ratio" then
      pre[#pre + 1] = "    char v_" .. fld[2] .. "[32];\n    mp__stats_ratio(v_" .. fld[2] .. ", stats->" .. fld[2] .. ");\n"
      conv[fld[2]], arg[fld[2]] = "%s", "v_" .. fld[2]
    else
      conv[fld[2]], arg[fld[2]] = "%llu", "(unsigned long long)stats->" .. fld[2]
    end
  end
  -- Text: the described lines, then a line for each field that has none.
  local order, byline = {}, {}
  for _, label in ipairs(st.text_lines or {}) do order[#order + 1] = label; byline[label] = {} end
  for i = 2, #st.fields do
    local fld = st.fields[i]
    local t = fld.text or { fld[2]:gsub("_", " "), 1, "{}" }
    if not byline[t[1]] then order[#order + 1] = t[1]; byline[t[1]] = {} end
    table.insert(byline[t[1]], { pos = t[2], words = t[3], name = fld[2] })
  end
  local text_fmt, text_args = { '"%s"' }, { "head" }
  for _, label in ipairs(order) do
    local pieces = byline[label]
    table.sort(pieces, function(a, b) return a.pos < b.pos end)
    local line = "  " .. c_literal(pad(label .. ":", 15))
    for _, pc in ipairs(pieces) do
      local before, after = pc.words:match("^(.-){}(.*)$")
      line = line .. c_literal(before) .. conv[pc.name] .. c_literal(after)
      text_args[#text_args + 1] = arg[pc.name]
    end
    if #pieces > 0 then text_fmt[#text_fmt + 1] = '"' .. line .. '\\n"' end
  end
  local json_fmt, json_args = {}, { "head" }
  for i = 2, #st.fields do
    local fld = st.fields[i]
    json_fmt[#json_fmt + 1] = '\\"' .. (fld.json or fld[2]) .. '\\":' .. conv[fld[2]]
    json_args[#json_args + 1] = arg[fld[2]]
  end
  local ind = string.rep(" ", 20)
  local function body(name, fmt, args)
    return "int " .. name .. "(char **out, const char *head, const mp_stats *stats)\n{\n" .. table.concat(pre) ..
      "    return asprintf(out,\n" .. ind .. table.concat(fmt, "\n" .. ind) .. ",\n" ..
      ind .. table.concat(args, ",\n" .. ind) .. ");\n}\n"
  end
  -- JSON members, a few to a line of the format string.
  local jlines = {}
  for i = 1, #json_fmt, 4 do
    jlines[#jlines + 1] = '"' .. (i == 1 and "{%s," or "") ..
      table.concat(json_fmt, ",", i, math.min(i + 3, #json_fmt)) .. (i + 3 >= #json_fmt and '}"' or ',"')
  end
  return table.concat({
    "/* " .. GEN .. " */\n",
    "/* The text and JSON forms of mp_stats (mp_pool_stats_string, mp_pool_stats_json):\n",
    " * every field but struct_size, laid out as mp_stats' description says. head is\n",
    " * the pool's own line (text) or members (JSON), written by capi/stats/stats.c. */\n",
    '#include "stats/format.h"\n\n#include <stdio.h>\n\n',
    body("mp__stats_text", text_fmt, text_args), "\n",
    body("mp__stats_json", jlines, json_args) })
end

-- The JSON writers of the structs marked json = true (capi/stats/json_format.c,
-- declared in json_format.h): mp__json_<struct> appends the struct's members
-- (no braces) to an mp__text, every field but struct_size, keyed by its name:
-- integers in decimal, pointers as "0x..." strings, enums as the value's name
-- in lower case without the prefix its values share (MP_BACKEND_HOST: "host").
local function json_enum_names(e)
  local prefix = e.values[1][1]
  for _, v in ipairs(e.values) do
    while v[1]:sub(1, #prefix) ~= prefix do prefix = prefix:sub(1, -2) end
  end
  prefix = prefix:match("^(.*_)") or ""
  local cases = {}
  for _, v in ipairs(e.values) do
    cases[#cases + 1] = "    case " .. v[1] .. ": return \"" .. v[1]:sub(#prefix + 1):lower() .. "\";"
  end
  return "static const char *json_" .. e.name .. "(" .. e.name .. " v)\n{\n    switch (v) {\n" ..
    table.concat(cases, "\n") .. "\n    }\n    return \"unknown\";\n}\n"
end

local function json_format()
  local enums_used, enum_order, protos, bodies = {}, {}, {}, {}
  for _, st in ipairs(abi.structs) do
    if st.json then
      local fmt, args = {}, {}
      for i = 2, #st.fields do
        local t, name = st.fields[i][1], st.fields[i][2]
        local key = '\\"' .. name .. '\\":'
        if json_kinds[t] == "count" then
          fmt[#fmt + 1] = key .. "%llu"
          args[#args + 1] = "(unsigned long long)v->" .. name
        elseif json_kinds[t] == "address" then
          fmt[#fmt + 1] = key .. '\\"0x%llx\\"'
          args[#args + 1] = "(unsigned long long)(uintptr_t)v->" .. name
        else
          if not enums_used[t] then enums_used[t] = true; enum_order[#enum_order + 1] = t end
          fmt[#fmt + 1] = key .. '\\"%s\\"'
          args[#args + 1] = "json_" .. t .. "(v->" .. name .. ")"
        end
      end
      local proto = "void mp__json_" .. st.name .. "(mp__text *t, const " .. st.name .. " *v)"
      protos[#protos + 1] = "/* " .. st.name .. "'s members. */\n" .. proto .. ";\n"
      local lines = {}
      for i = 1, #fmt, 3 do
        lines[#lines + 1] = '"' .. table.concat(fmt, ",", i, math.min(i + 2, #fmt)) .. (i + 2 < #fmt and ',"' or '"')
      end
      local ind = string.rep(" ", 18)
      bodies[#bodies + 1] = proto .. "\n{\n    mp__text_addf(t,\n" .. ind .. table.concat(lines, "\n" .. ind) ..
        ",\n" .. ind .. table.concat(args, ",\n" .. ind) .. ");\n}\n"
    end
  end
  local enum_fns = {}
  for _, name in ipairs(enum_order) do enum_fns[#enum_fns + 1] = json_enum_names(enums_by_name[name]) end
  local h = table.concat({
    "/* " .. GEN .. " */\n",
    "/* JSON writers of the ABI structs marked json = true: each appends the struct's\n",
    " * members (no braces) to t; json_format.c. */\n",
    "#ifndef MEMPOOL_JSON_FORMAT_H\n#define MEMPOOL_JSON_FORMAT_H\n\n",
    '#include "stats/format.h"\n\n', table.concat(protos, "\n"), "\n#endif\n" })
  local c = table.concat({
    "/* " .. GEN .. " */\n",
    "/* JSON writers of the ABI structs marked json = true (json_format.h): every\n",
    " * field but struct_size, in the description's order. */\n",
    '#include "stats/json_format.h"\n\n#include <stdint.h>\n\n',
    table.concat(enum_fns, "\n"), #enum_fns > 0 and "\n" or "", table.concat(bodies, "\n") })
  return h, c
end

------------------------------------------------------------------ write ----
local files = {
  ["include/mempool/mempool.h"] = header(),
  ["capi/mempool.map"] = version_script(),
  ["docs/API.md"] = api_md(),
  ["docs/abi-manifest.tsv"] = manifest(),
  ["swig/mempool_abi.i"] = swig_interface(),
  ["bindings/go/errors_gen.go"] = go_errors(),
  ["capi/stats/stats_format.c"] = stats_format(),
  ["include/mempool/mempool_errors.hpp"] = cpp_exceptions(),
}
java_exceptions(files)
files["capi/stats/json_format.h"], files["capi/stats/json_format.c"] = json_format()
if list then
  local paths = {}
  for path in pairs(files) do paths[#paths + 1] = path end
  table.sort(paths)
  print(table.concat(paths, "\n"))
  os.exit(0)
end
for path, text in pairs(files) do
  local dir = (out .. "/" .. path):match("^(.*)/")
  os.execute('mkdir -p "' .. dir .. '"')
  local f = assert(io.open(out .. "/" .. path, "wb"))
  f:write(text); f:close()
end
if release then
  local dst = root .. "/capi/abi/released-" .. current .. ".lua"
  os.execute('mkdir -p "' .. abidir .. '"')
  local f = assert(io.open(dst, "wb"))
  f:write("-- Frozen record of the released ABI " .. current .. ": never edit; abigen checks against it.\n")
  f:write(read(root .. "/capi/mempool.abi.lua")); f:close()
  print("abigen: froze " .. dst)
  if layout and not layout_records[layout.number] then
    layout_records[layout.number] = layout.fingerprint
    local nums = {}
    for n in pairs(layout_records) do nums[#nums + 1] = n end
    table.sort(nums)
    local rb = { "-- Frozen thread-cache layouts: MP_TCACHE_LAYOUT -> fingerprint (tools/abigen.lua).\n",
      "-- Written by abigen --release; never edit: a caller compiled against a frozen layout\n",
      "-- runs its inline code on the caches of every library that claims that number.\n", "return {\n" }
    for _, n in ipairs(nums) do rb[#rb + 1] = "  [" .. n .. "] = \"" .. layout_records[n] .. "\",\n" end
    rb[#rb + 1] = "}\n"
    local lf = assert(io.open(root .. "/" .. LAYOUT_RECORD, "wb"))
    lf:write(table.concat(rb)); lf:close()
    print("abigen: froze thread-cache layout " .. layout.number .. " in " .. LAYOUT_RECORD)
  end
end

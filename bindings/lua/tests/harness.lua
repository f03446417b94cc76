-- Helpers of the Lua suites: named tests, the module's two ways of failing,
-- and child interpreters for the tests that would crash or hang a faulty
-- build (the suite then reports a clean failure instead of dying with it).
local H = {}

local passed, failed = 0, 0
local pending_failed, pending_passed = {}, {}

-- The interpreter running this suite (a sanitizer build runs its children too).
local LUA = "lua5.4"
if arg then
  local i = -1
  while arg[i - 1] do i = i - 1 end
  LUA = arg[i] or LUA
end

function H.test(name, body)
  local ok, err = pcall(body)
  if ok then
    passed = passed + 1
    print("PASS " .. name)
  else
    failed = failed + 1
    print("FAIL " .. name .. ": " .. tostring(err))
  end
end

-- A test of behaviour that a pending change of the C library provides
-- (`needs` says which). Its failure is reported but does not fail the suite
-- unless MEMPOOL_LUA_PENDING=fail; once it passes it is reported so that it
-- can become an ordinary test.
function H.pending(name, needs, body)
  local ok, err = pcall(body)
  if ok then
    pending_passed[#pending_passed + 1] = name
    print("PASS " .. name .. " (pending: " .. needs .. ")")
  elseif os.getenv("MEMPOOL_LUA_PENDING") == "fail" then
    failed = failed + 1
    print("FAIL " .. name .. " (pending: " .. needs .. "): " .. tostring(err))
  else
    pending_failed[#pending_failed + 1] = name
    print("PENDING " .. name .. " (needs " .. needs .. "): " .. tostring(err))
  end
end

-- A failed call: nil, a message mentioning `word`, and the status name.
function H.fails(status_name, word, ...)
  local v, msg, status = ...
  assert(v == nil, "expected a failure, got " .. tostring(v))
  assert(status == status_name, ("status %s, expected %s (%s)"):format(tostring(status), status_name, tostring(msg)))
  assert(msg:find(word, 1, true), ("message %q lacks %q"):format(msg, word))
end

-- A misuse: an error mentioning `word`.
function H.raises(word, f, ...)
  local ok, err = pcall(f, ...)
  assert(not ok, "expected an error")
  assert(tostring(err):find(word, 1, true), ("error %q lacks %q"):format(tostring(err), word))
end

local function shell_quote(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

-- What every child script starts with: the module and these helpers.
local PRELUDE = [[
local mempool = require "mempool"
local function fails(status_name, word, ...)
  local v, msg, status = ...
  assert(v == nil, "expected a failure, got " .. tostring(v))
  assert(status == status_name, ("status %s, expected %s (%s)"):format(tostring(status), status_name, tostring(msg)))
  assert(msg:find(word, 1, true), ("message %q lacks %q"):format(msg, word))
end
]]

-- Runs source in a child interpreter, killed after `seconds`. Returns its
-- output and a description of how it ended ("exit 0", "signal 11", ...).
-- leaks: the program leaks on purpose (LeakSanitizer is told so).
function H.child(source, seconds, leaks)
  local path = os.tmpname()
  local f = assert(io.open(path, "w"))
  f:write(PRELUDE, source, "\nio.write('child reached its end\\n')\n")
  f:close()
  local cmd = ("%stimeout -k 2 %d %s %s 2>&1"):format(leaks and 'ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0" ' or "",
    seconds or 20, shell_quote(LUA), shell_quote(path))
  local p = assert(io.popen(cmd))
  local out = p:read("a")
  local _, how, code = p:close()
  os.remove(path)
  if how == "exit" and (code == 124 or code == 137) then
    return out, ("hung (killed after %d s)"):format(seconds or 20)
  end
  if how == "exit" and code > 128 then how, code = "signal", code - 128 end
  return out, how .. " " .. tostring(code)
end

-- Runs source in a child interpreter that must reach its end and exit 0.
function H.in_child(source, seconds, leaks)
  local out, ended = H.child(source, seconds, leaks)
  assert(ended == "exit 0" and out:find("child reached its end", 1, true),
    ("the child %s:\n%s"):format(ended, out))
  return out
end

function H.done()
  local pending = ""
  if #pending_failed > 0 then
    pending = (", %d pending on the C library: %s"):format(#pending_failed, table.concat(pending_failed, "; "))
  end
  if #pending_passed > 0 then
    pending = pending .. (", %d pending tests pass now: %s"):format(#pending_passed, table.concat(pending_passed, "; "))
  end
  print(("%d passed, %d failed%s"):format(passed, failed, pending))
  os.exit(failed == 0 and 0 or 1, true) -- closes the state: every finalizer runs
end

return H

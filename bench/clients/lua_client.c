/* Real client: a Lua 5.4 state running allocation-heavy scripts, on the
 * process's malloc (a plain lua_Alloc over realloc/free, what lauxlib's
 * luaL_newstate does) or on a mempool pool through mp_lua_alloc
 * (<mempool/mempool_lua.h>). Usage and result line: client.h.
 *
 * The script: binary trees (allocate and drop whole trees), string building
 * (.., table.concat, string.format, gsub with captures and a function), a
 * table used as a queue and a stack (insert/remove at both ends), a sort of
 * records by three keys, and closures and coroutines; a full GC each round.
 * Its checksum depends on no address and no hash order, so it is the same
 * on every allocator. */
#include "client.h"

#include <mempool/mempool_lua.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

static void *malloc_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    (void)ud;
    (void)osize;
    if (nsize == 0) {
        free(ptr);
        return NULL;
    }
    return realloc(ptr, nsize);
}

static const char *script =
    "local scale = ...\n"
    "local rounds = math.max(1, math.floor(6 * scale + 0.5))\n"
    "local small = scale < 0.5\n"
    "local h = 0\n"
    "local function mix(x) h = (h * 1099511628211 + x) & 0x7fffffffffffffff end\n"
    "\n"
    "local function tree(d) if d == 0 then return {} end return { tree(d - 1), tree(d - 1) } end\n"
    "local function check(t) if t[1] then return 1 + check(t[1]) + check(t[2]) end return 1 end\n"
    "local function trees(maxd)\n"
    "  local long = tree(maxd)\n"
    "  for d = 4, maxd, 2 do\n"
    "    local n, c = 1 << (maxd - d + 4), 0\n"
    "    for i = 1, n do c = c + check(tree(d)) end\n"
    "    mix(c)\n"
    "  end\n"
    "  mix(check(long))\n"
    "end\n"
    "\n"
    "local function strings(n)\n"
    "  local parts = {}\n"
    "  for i = 1, n do\n"
    "    local s = 'k' .. i .. ':' .. string.rep('ab', i % 17) .. string.format('%05d', i * 7 % 100000)\n"
    "    parts[#parts + 1] = s\n"
    "  end\n"
    "  local all = table.concat(parts, ';')\n"
    "  local swapped, k = all:gsub('(k%d+):(a?b?)', '%2=%1')\n"
    "  mix(#swapped + k)\n"
    "  local up = all:gsub('%d+', function(d) return #d > 3 and d:upper() .. '!' or nil end)\n"
    "  mix(#up)\n"
    "  local acc = ''\n"
    "  for i = 1, n // 20 do acc = acc .. parts[i]:sub(1, 6) if #acc > 4000 then mix(#acc) acc = '' end end\n"
    "  mix(#acc)\n"
    "end\n"
    "\n"
    "local function queues(n)\n"
    "  local q, stack = {}, {}\n"
    "  for i = 1, n do\n"
    "    table.insert(q, { i, tostring(i) })\n"
    "    if i % 3 == 0 then local v = table.remove(q, 1 + (i % #q)) mix(v[1]) end\n"
    "    stack[#stack + 1] = 'item ' .. i\n"
    "    if i % 5 == 0 then for _ = 1, 3 do mix(#table.remove(stack)) end end\n"
    "    if #q > 300 then for _ = 1, 150 do mix(table.remove(q)[1]) end end\n"
    "  end\n"
    "  mix(#q + #stack)\n"
    "end\n"
    "\n"
    "local function records(n)\n"
    "  local r = {}\n"
    "  for i = 1, n do\n"
    "    r[i] = { id = i, name = 'name' .. (i * 7919 % n), group = i % 13, score = (i * 104729) % 1000 }\n"
    "  end\n"
    "  table.sort(r, function(a, b)\n"
    "    if a.group ~= b.group then return a.group < b.group end\n"
    "    if a.score ~= b.score then return a.score > b.score end\n"
    "    return a.id < b.id end)\n"
    "  for i = 1, n, 97 do mix(r[i].id) mix(#r[i].name) end\n"
    "end\n"
    "\n"
    "local function closures(n)\n"
    "  local fs = {}\n"
    "  for i = 1, n do\n"
    "    local count = i\n"
    "    fs[i] = function(d) count = count + d return count end\n"
    "  end\n"
    "  local s = 0\n"
    "  for j = 1, 3 do for i = 1, n do s = s + fs[i](j) end end\n"
    "  mix(s)\n"
    "  local gen = coroutine.wrap(function() for i = 1, n do coroutine.yield({ i, i * 2 }) end end)\n"
    "  for _ = 1, n do local v = gen() mix(v[2] - v[1]) end\n"
    "end\n"
    "\n"
    "for round = 1, rounds do\n"
    "  trees(small and 10 or 13)\n"
    "  strings(small and 5000 or 40000)\n"
    "  queues(small and 5000 or 60000)\n"
    "  records(small and 2000 or 30000)\n"
    "  closures(small and 5000 or 40000)\n"
    "  collectgarbage()\n"
    "  mix(round)\n"
    "end\n"
    "return h\n";

int main(int argc, char **argv)
{
    client_run r = client_args("lua", argc, argv);
    client_start(&r);
    lua_State *L = r.pool ? lua_newstate(mp_lua_alloc, r.pool) : lua_newstate(malloc_alloc, NULL);
    if (L == NULL) {
        fprintf(stderr, "lua_client: lua_newstate failed\n");
        return 1;
    }
    luaL_openlibs(L);
    if (luaL_loadstring(L, script) != LUA_OK) {
        fprintf(stderr, "lua_client: %s\n", lua_tostring(L, -1));
        return 1;
    }
    lua_pushnumber(L, r.scale);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
        fprintf(stderr, "lua_client: %s\n", lua_tostring(L, -1));
        return 1;
    }
    uint64_t checksum = (uint64_t)lua_tointeger(L, -1);
    lua_close(L);
    return client_finish(&r, checksum);
}

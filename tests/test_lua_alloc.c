/* mp_lua_alloc (<mempool/mempool_lua.h>): the lua_Alloc contract called
 * directly, then real Lua 5.4 states on pools: an allocation-heavy script
 * leaves no live block after lua_close, and a state on a pool with a small
 * max_size gets Lua's "not enough memory" error and stays usable. */
#define _POSIX_C_SOURCE 200809L
#include <mempool/mempool_lua.h> /* before lua.h: it needs none */

#include "mp_test.h"

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

/* The adapter is a lua_Alloc: this line fails to compile otherwise. */
static const lua_Alloc adapter = mp_lua_alloc;

static void ck_no_live_block(mp_pool *p)
{
    mp_stats s = stats_of(p);
    ck_assert_uint_eq(s.live_allocations, 0);
    ck_assert_uint_eq(s.current_used, 0);
    bool leaks = true;
    ck_ok(mp_pool_has_leaks(p, &leaks));
    ck_assert(!leaks);
    ck_intact(p);
}

START_TEST(the_adapter_follows_the_lua_alloc_contract)
{
    mp_pool *p = new_pool("lua-contract", cfg_variable(1 << 20));
    /* ptr NULL allocates; osize is then the object's type tag. */
    unsigned char *b = adapter(p, NULL, LUA_TTABLE, 100);
    ck_assert_ptr_nonnull(b);
    for (int i = 0; i < 100; i++)
        b[i] = (unsigned char)i;
    /* Growing keeps the contents, wherever the block goes. */
    b = adapter(p, b, 100, 5000);
    ck_assert_ptr_nonnull(b);
    for (int i = 0; i < 100; i++)
        ck_assert_uint_eq(b[i], (unsigned char)i);
    /* Shrinking keeps the prefix. */
    b = adapter(p, b, 5000, 10);
    ck_assert_ptr_nonnull(b);
    for (int i = 0; i < 10; i++)
        ck_assert_uint_eq(b[i], (unsigned char)i);
    ck_assert_uint_eq(stats_of(p).live_allocations, 1);
    /* nsize 0 frees and returns NULL; so does a free of NULL. */
    ck_assert_ptr_null(adapter(p, b, 10, 0));
    ck_assert_ptr_null(adapter(p, NULL, LUA_TSTRING, 0));
    ck_no_live_block(p);
    mp_pool_destroy(p);
}
END_TEST

START_TEST(a_failed_growth_returns_null_and_keeps_the_old_block)
{
    mp_config c = cfg_variable(64 << 10);
    c.max_size = 256 << 10;
    mp_pool *p = new_pool("lua-fail", c);
    char *b = adapter(p, NULL, 0, 64);
    ck_assert_ptr_nonnull(b);
    memcpy(b, "still here", 11);
    ck_assert_ptr_null(adapter(p, b, 64, 1 << 20));
    ck_assert_str_eq(b, "still here");
    ck_assert_ptr_null(adapter(p, NULL, 0, 1 << 20));
    ck_assert_uint_eq(stats_of(p).live_allocations, 1);
    ck_intact(p);
    ck_assert_ptr_null(adapter(p, b, 64, 0));
    ck_no_live_block(p);
    mp_pool_destroy(p);
}
END_TEST

/* Tables, strings, closures, coroutines, a sort and full GC cycles; the
 * result depends on no address or hash order. */
static const char *heavy_script =
    "local n = ...\n"
    "local sum = 0\n"
    "local function tree(d) if d == 0 then return {} end return { tree(d - 1), tree(d - 1) } end\n"
    "local function count(t) if not t[1] then return 1 end return 1 + count(t[1]) + count(t[2]) end\n"
    "for round = 1, n do\n"
    "  local t = {}\n"
    "  for i = 1, 20000 do\n"
    "    t[i] = { i, tostring(i), x = i * 2, f = function() return i + round end }\n"
    "    if i % 3 == 0 then t[i - 1] = false end\n"
    "  end\n"
    "  for i = 1, #t do local v = t[i]; if v then sum = sum + v.x + v.f() + #v[2] end end\n"
    "  local parts = {}\n"
    "  for i = 1, 5000 do parts[#parts + 1] = string.rep('ab', i % 50) .. i end\n"
    "  local s = table.concat(parts, ',')\n"
    "  s = s:gsub('ab', 'xyz')\n"
    "  sum = sum + #s\n"
    "  table.sort(parts, function(a, b) return #a < #b or (#a == #b and a < b) end)\n"
    "  sum = sum + #parts[1] + #parts[#parts]\n"
    "  sum = sum + count(tree(12))\n"
    "  local co = coroutine.wrap(function() for i = 1, 1000 do coroutine.yield({ i }) end end)\n"
    "  for i = 1, 1000 do sum = sum + co()[1] end\n"
    "  t, parts, s = nil, nil, nil\n"
    "  collectgarbage()\n"
    "end\n"
    "return sum\n";

static int open_libs(lua_State *L)
{
    luaL_openlibs(L);
    return 0;
}

/* Runs chunk in L with the integer argument arg; returns lua_pcall's status
 * and leaves the result (or the message) on the stack. */
static int run_chunk(lua_State *L, const char *chunk, lua_Integer arg)
{
    int st = luaL_loadstring(L, chunk);
    if (st != LUA_OK)
        return st;
    lua_pushinteger(L, arg);
    return lua_pcall(L, 1, 1, 0);
}

static lua_Integer heavy_on(mp_config c, const char *name)
{
    mp_pool *p = new_pool(name, c);
    lua_State *L = lua_newstate(mp_lua_alloc, p);
    ck_assert_ptr_nonnull(L);
    void *ud = NULL;
    ck_assert(lua_getallocf(L, &ud) == mp_lua_alloc && ud == p);
    lua_pushcfunction(L, open_libs);
    ck_assert_int_eq(lua_pcall(L, 0, 0, 0), LUA_OK);
    int st = run_chunk(L, heavy_script, 3);
    ck_assert_msg(st == LUA_OK, "%s: %s", name, lua_tostring(L, -1));
    lua_Integer sum = lua_tointeger(L, -1);
    mp_stats during = stats_of(p);
    ck_assert_uint_gt(during.live_allocations, 100); /* the state, its libraries, globals */
    ck_intact(p);
    lua_close(L);
    ck_no_live_block(p);
    mp_pool_destroy(p);
    return sum;
}

START_TEST(a_state_on_each_preset_runs_a_heavy_script_and_frees_everything)
{
    mp_config d = MP_CONFIG_INIT, fast = MP_CONFIG_INIT, dbg = MP_CONFIG_INIT;
    ck_ok(mp_config_default_cpu(&d));
    ck_ok(mp_config_high_performance_cpu(&fast));
    ck_ok(mp_config_debug_cpu(&dbg));
    lua_Integer a = heavy_on(d, "lua-default");
    ck_assert_int_gt(a, 0);
    /* Same script, same result on any pool. */
    ck_assert_int_eq(heavy_on(fast, "lua-fast"), a);
    ck_assert_int_eq(heavy_on(dbg, "lua-debug"), a);
}
END_TEST

START_TEST(a_state_on_a_small_pool_gets_a_clean_memory_error)
{
    mp_config c = cfg_variable(64 << 10);
    c.max_size = 512 << 10;
    mp_pool *p = new_pool("lua-small", c);
    lua_State *L = lua_newstate(mp_lua_alloc, p);
    ck_assert_ptr_nonnull(L);
    lua_pushcfunction(L, open_libs);
    ck_assert_int_eq(lua_pcall(L, 0, 0, 0), LUA_OK);
    /* A table and a string that outgrow the pool. */
    int st = run_chunk(L, "local t = {} for i = 1, 1e7 do t[i] = i end", 0);
    ck_assert_int_eq(st, LUA_ERRMEM);
    ck_assert_str_eq(lua_tostring(L, -1), "not enough memory");
    lua_pop(L, 1);
    st = run_chunk(L, "local s = 'x' for i = 1, 30 do s = s .. s end", 0);
    ck_assert_int_eq(st, LUA_ERRMEM);
    lua_pop(L, 1);
    ck_intact(p);
    ck_assert_uint_gt(stats_of(p).failed_allocations, 0);
    /* The state is still whole: it collects the garbage and runs on. */
    st = run_chunk(L, "collectgarbage() local t = {} for i = 1, 1000 do t[i] = tostring(i) end return #t + ...", 5);
    ck_assert_int_eq(st, LUA_OK);
    ck_assert_int_eq(lua_tointeger(L, -1), 1005);
    lua_close(L);
    ck_no_live_block(p);
    mp_pool_destroy(p);
}
END_TEST

static Suite *lua_alloc_suite(void)
{
    Suite *s = suite_create("lua_alloc");
    TCase *t = tcase_create("lua_alloc");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, the_adapter_follows_the_lua_alloc_contract);
    tcase_add_test(t, a_failed_growth_returns_null_and_keeps_the_old_block);
    tcase_add_test(t, a_state_on_each_preset_runs_a_heavy_script_and_frees_everything);
    tcase_add_test(t, a_state_on_a_small_pool_gets_a_clean_memory_error);
    suite_add_tcase(s, t);
    return s;
}

MP_TEST_MAIN(lua_alloc_suite)

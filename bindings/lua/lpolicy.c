/* Lua policies: a pool's grow, on_oom and trim hooks as Lua functions.
 *
 * The C pool calls a hook on its slow path, with its lock released. The
 * hook's user pointer is the pool's record (lhandle), on which the C pool
 * holds a count until mp_policy.release. The Lua object whose set_policy
 * installed the hooks is found again through a weak table, so an object that
 * was collected (even one a program stripped of its finalizer) is never
 * called into: without it, the hook behaves as if there were no policy.
 *
 * A hook runs in a fresh coroutine, resumed from the thread of the module
 * call that reached it (from the main thread when C code outside the module
 * reached it), and inside a pcall there. The coroutine lives for the whole
 * call; Lua counts its C-stack depth with the caller's, so hooks nested
 * through many pools end in a "C stack overflow" error, not a crash; its
 * debug hook belongs to this file alone, and hooks run in it even when the
 * allocation came from a finalizer or a debug hook, where Lua runs none on
 * the caller; and its pcall restores that and closes the hook's to-be-closed
 * variables with hooks on, however the hook ends.
 *
 * The budget: a count hook charges the hook's instructions, a slice at a
 * time, to it and to every hook it runs inside. A coroutine that the hook
 * resumes, closes or calls through coroutine.wrap is watched the same way
 * (its own debug hook is put back afterwards), and each resume costs a
 * slice, the most it could have run uncounted. Once a budget is spent every
 * instruction stops: the hook's coroutine with a memory error (Lua calls no
 * message handler for one, and allocations fail until the hook is over),
 * another coroutine by yielding where it can, so no pcall, xpcall handler
 * or __close outlasts the budget, and the allocation fails even if the hook
 * then returns. debug.sethook inside a hook stops it the same way.
 *
 * Not counted: time inside C functions (a long string.rep, io.read), and
 * finalizers, which Lua runs with hooks off. Lua keeps hooks off in a
 * coroutine killed by an error raised from a debug hook: a coroutine that
 * the budget must stop where it cannot yield (inside a C call such as a
 * string.gsub callback) then runs its to-be-closed variables unwatched if
 * the hook closes it.
 *
 * Invariants: no Lua error leaves a hook (everything that may raise runs
 * under lua_pcall); a hook never runs Lua for a pool one of whose hooks runs
 * already in this state (r->busy): such a nested slow path sees no policy,
 * so grow is offered exactly what is needed, on_oom declines and trim keeps
 * everything. */
#include "lmempool.h"

#include <stdio.h>
#include <string.h>

enum { HOOK_GROW, HOOK_OOM, HOOK_TRIM, HOOKS };
static const char *const hook_names[HOOKS] = {"grow", "on_oom", "trim"};


#define SLICE 1000                          /* instructions between two count events */
#define WATCHED (LUA_MASKCALL | LUA_MASKCOUNT)

typedef struct mpl_budget {
    struct mpl_budget *outer; /* the hook this one runs inside, or NULL */
    lua_State *thread;        /* the hook's own coroutine */
    lua_Integer total, left;
    int why;                  /* FINE, or why the hook is being stopped */
    int saved;                /* registry ref of { coroutine = its own debug hook }, or LUA_NOREF */
} mpl_budget;

typedef struct saved_hook {
    lua_Hook fn;
    int mask, count;
} saved_hook;

/* One hook call: what the C pool passed in, and what the Lua function gave back. */
typedef struct hookcall {
    int kind;
    lhandle *rec;
    mp_pool *pool;
    lua_Integer a, b;     /* grow: need; on_oom: size; trim: reserved, in_use */
    lua_Integer budget;
    bool failed;          /* the message is in detail */
    bool ran;             /* the Lua function returned within its budget */
    bool isint, truthy;   /* its first result */
    lua_Integer value;
    char *detail;         /* the C pool's buffer for a failure's message */
    size_t cap;
} hookcall;

/* ---- the budget ------------------------------------------------------------------------------ */

enum { FINE, OUT_OF_BUDGET, SET_HOOK };

static void on_event(lua_State *L, lua_Debug *ar);

static int slice_of(const mpl_budget *b) { return b->total < SLICE ? (int)b->total : SLICE; }

/* Charges n instructions to the running hook and to every hook it runs
 * inside; true when one of them is spent (now or before). */
static bool spend(mpl_budget *b, lua_Integer n)
{
    bool spent = false;
    for (mpl_budget *f = b; f; f = f->outer) {
        f->left = f->left > n ? f->left - n : 0;
        if (f->left == 0 && !f->why)
            f->why = OUT_OF_BUDGET;
        spent = spent || f->why;
    }
    return spent;
}

static void *failing_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    lstate *S = ud;
    if (nsize == 0 || (ptr && nsize <= osize)) /* frees and shrinks: Lua counts on them */
        return S->alloc(S->alloc_ud, ptr, osize, nsize);
    return NULL;
}

static void restore_alloc(lua_State *L, lstate *S)
{
    void *ud = NULL;
    if (lua_getallocf(L, &ud) == failing_alloc && ud == S)
        lua_setallocf(L, S->alloc, S->alloc_ud);
}

/* Stops the hook's Lua code with a memory error: unlike lua_error, it calls
 * no message handler (Lua would run one here, inside a debug hook, with hooks
 * off and so beyond the budget). Allocations fail until the hook is over. */
static int raise_spent(lua_State *L, lstate *S)
{
    void *ud = NULL;
    lua_Alloc f = lua_getallocf(L, &ud);
    if (f != failing_alloc) {
        S->alloc = f;
        S->alloc_ud = ud;
        lua_setallocf(L, failing_alloc, S);
    }
    lua_newuserdatauv(L, 1, 0); /* fails: LUA_ERRMEM */
    return lua_error(L);
}

/* The hook is spent: from now on every instruction of this thread comes
 * here. The hook's own coroutine is stopped with an error that its pcall
 * catches; another coroutine is suspended when it can be, as an error
 * raised from a debug hook would leave it dead with hooks off, and its
 * to-be-closed variables would then run unwatched when it is closed. */
static void stop(lua_State *L, lstate *S, mpl_budget *b, bool may_yield)
{
    lua_sethook(L, on_event, WATCHED, 1);
    if (may_yield && L != b->thread && lua_isyieldable(L)) {
        lua_yield(L, 0);
        return;
    }
    raise_spent(L, S);
}

/* A coroutine the hook is about to run (it is at index co): it runs under
 * the budget too, and gets its own debug hook back when the hook ends.
 * Resuming costs a slice, the most it may have run since it was counted. */
static void adopt(lua_State *L, mpl_budget *b, lua_State *co, int index)
{
    spend(b, SLICE);
    if (lua_gethook(co) == on_event)
        return;
    index = lua_absindex(L, index);
    if (b->saved == LUA_NOREF) {
        lua_newtable(L);
        b->saved = luaL_ref(L, LUA_REGISTRYINDEX);
    }
    lua_rawgeti(L, LUA_REGISTRYINDEX, b->saved);
    lua_pushvalue(L, index);
    saved_hook *s = lua_newuserdatauv(L, sizeof *s, 0);
    *s = (saved_hook){lua_gethook(co), lua_gethookmask(co), lua_gethookcount(co)};
    lua_rawset(L, -3);
    lua_pop(L, 1);
    lua_sethook(co, on_event, WATCHED, slice_of(b));
}

/* A call inside a hook: the calls that run code on another coroutine, or
 * that would take the budget's debug hook away. */
static void watch_call(lua_State *L, lua_Debug *ar, lstate *S, mpl_budget *b)
{
    if (!lua_getinfo(L, "f", ar))
        return;
    lua_CFunction f = lua_tocfunction(L, -1);
    if (f && f == S->db_sethook) {
        for (mpl_budget *o = b; o; o = o->outer)
            o->why = o->why ? o->why : SET_HOOK;
        stop(L, S, b, false);
    }
    if (f && (f == S->co_resume || f == S->co_close || f == S->co_wrap)) {
        const char *found = f == S->co_wrap ? lua_getupvalue(L, -1, 1) : lua_getlocal(L, ar, 1);
        if (found) {
            lua_State *co = lua_tothread(L, -1);
            if (co && co != L)
                adopt(L, b, co, -1);
            lua_pop(L, 1);
        }
    }
    lua_pop(L, 1);
}

static void on_event(lua_State *L, lua_Debug *ar)
{
    lstate *S = mpl_state(L);
    mpl_budget *b = S ? S->frame : NULL;
    if (!b) { /* a coroutine made inside a hook that has ended */
        lua_sethook(L, NULL, 0, 0);
        return;
    }
    if (ar->event != LUA_HOOKCOUNT)
        watch_call(L, ar, S, b);
    else if (spend(b, lua_gethookcount(L)))
        stop(L, S, b, true);
}

static void budget_begin(lstate *S, mpl_budget *b, lua_State *T, lua_Integer total)
{
    *b = (mpl_budget){S->frame, T, total, total, FINE, LUA_NOREF};
    S->frame = b;
}

/* Gives the coroutines the hook adopted their own debug hooks back. Raises nothing. */
static void budget_end(lua_State *L, lstate *S, mpl_budget *b)
{
    S->frame = b->outer;
    if (b->saved == LUA_NOREF)
        return;
    lua_rawgeti(L, LUA_REGISTRYINDEX, b->saved);
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        lua_State *co = lua_tothread(L, -2);
        const saved_hook *s = lua_touserdata(L, -1);
        if (co && s && lua_gethook(co) == on_event)
            lua_sethook(co, s->fn, s->mask, s->count);
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    luaL_unref(L, LUA_REGISTRYINDEX, b->saved);
}

/* Weak references to the host's own C functions (lualib.h): the pristine
 * coroutine and debug libraries, whatever a program did to the globals. */
extern int luaopen_coroutine(lua_State *L) __attribute__((weak));
extern int luaopen_debug(lua_State *L) __attribute__((weak));

static int nothing(lua_State *L)
{
    (void)L;
    return 0;
}

static lua_CFunction field_cfunction(lua_State *L, const char *k)
{
    lua_getfield(L, -1, k);
    lua_CFunction f = lua_tocfunction(L, -1);
    lua_pop(L, 1);
    return f;
}

/* Pushes a fresh copy of library lib (open), else the loaded one, else nil. */
static void push_library(lua_State *L, lua_CFunction open, const char *lib)
{
    if (open) {
        lua_pushcfunction(L, open);
        lua_call(L, 0, 1);
        return;
    }
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    lua_getfield(L, -1, lib);
    lua_remove(L, -2);
}

void mpl_watch_init(lua_State *L, lstate *S)
{
    push_library(L, luaopen_coroutine, "coroutine");
    if (lua_istable(L, -1)) {
        S->co_resume = field_cfunction(L, "resume");
        S->co_close = field_cfunction(L, "close");
        if (lua_getfield(L, -1, "wrap") == LUA_TFUNCTION) {
            lua_pushcfunction(L, nothing);
            lua_call(L, 1, 1); /* a wrapped function: its C function is the one all of them share */
            S->co_wrap = lua_tocfunction(L, -1);
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    push_library(L, luaopen_debug, "debug");
    if (lua_istable(L, -1))
        S->db_sethook = field_cfunction(L, "sethook");
    lua_pop(L, 1);
}

/* ---- running a hook ---------------------------------------------------------------------------- */

/* The message of the error object at the top of T, without running any of its metamethods. */
static void copy_error(lua_State *T, char *detail, size_t cap)
{
    if (lua_type(T, -1) == LUA_TSTRING)
        snprintf(detail, cap, "%s", lua_tostring(T, -1));
    else if (lua_isinteger(T, -1))
        snprintf(detail, cap, LUA_INTEGER_FMT, (LUAI_UACINT)lua_tointeger(T, -1));
    else if (lua_type(T, -1) == LUA_TNUMBER)
        snprintf(detail, cap, "%.14g", (double)lua_tonumber(T, -1));
    else
        snprintf(detail, cap, "(error object is a %s value)", luaL_typename(T, -1));
}

/* The body of the hook's coroutine: calls the hook (its function, pool
 * object and arguments are on the stack, below them the hookcall) under a
 * pcall, which closes the hook's to-be-closed variables with hooks on,
 * however it ends. Not yieldable: a hook that yields fails. */
static int hook_main(lua_State *T)
{
    hookcall *c = lua_touserdata(T, 1);
    int st = lua_pcall(T, lua_gettop(T) - 2, 1, 0);
    if (st != LUA_OK) {
        copy_error(T, c->detail, c->cap);
        c->failed = true;
        return 0;
    }
    int isint = 0;
    c->ran = true;
    c->truthy = lua_toboolean(T, -1);
    c->value = lua_type(T, -1) == LUA_TNUMBER ? lua_tointegerx(T, -1, &isint) : 0;
    c->isint = isint;
    return 0;
}

/* Runs under lua_pcall on the calling thread, with the hookcall, the pool
 * object and the hook function as arguments: makes the hook's coroutine
 * and resumes it under the budget. */
static int hook_body(lua_State *L)
{
    hookcall *c = lua_touserdata(L, 1);
    lstate *S = c->rec->S;
    lua_State *T = lua_newthread(L);
    lua_pushcfunction(L, hook_main);
    lua_pushvalue(L, 1);
    lua_pushvalue(L, 3);
    lua_pushvalue(L, 2);
    lua_pushinteger(L, c->a);
    int n = 4; /* hookcall, function, pool, first argument */
    if (c->kind == HOOK_GROW) {
        mp_stats st = MP_STATS_INIT;
        mp_pool_get_stats(c->pool, &st);
        mpl_push_stats(L, &st);
        n++;
    } else if (c->kind == HOOK_TRIM) {
        lua_pushinteger(L, c->b);
        n++;
    }
    if (!lua_checkstack(T, n + 1))
        return luaL_error(L, "no stack left for a Lua hook");
    lua_xmove(L, T, n + 1);
    mpl_budget b;
    budget_begin(S, &b, T, c->budget);
    lua_sethook(T, on_event, WATCHED, slice_of(&b));
    int nres = 0, st = lua_resume(T, L, n, &nres);
    restore_alloc(L, S);
    if (b.why) {
        c->failed = true;
        c->ran = false;
        if (b.why == SET_HOOK)
            snprintf(c->detail, c->cap, "a policy hook may not change the debug hooks (debug.sethook)");
        else
            snprintf(c->detail, c->cap, "the Lua hook ran out of its budget of " LUA_INTEGER_FMT " instructions",
                     (LUAI_UACINT)b.total);
    } else if (st != LUA_OK) { /* the resume itself failed, as a C stack overflow does */
        copy_error(T, c->detail, c->cap);
        c->failed = true;
    }
    budget_end(L, S, &b);
    return 0;
}

/* Pushes the pool's Lua object that holds the policy and, above it, its
 * hook of kind; pushes nothing and returns false if there is none. Raises
 * nothing. */
static bool push_hook(lua_State *L, lhandle *r, int kind)
{
    int top = lua_gettop(L);
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &mpl_key_policies) == LUA_TTABLE) {
        lua_rawgetp(L, top + 1, r);
        lpool *p = luaL_testudata(L, top + 2, POOL);
        if (p && p->rec == r && !p->closed && lua_getiuservalue(L, top + 2, 1) == LUA_TTABLE &&
            lua_rawgeti(L, top + 3, kind + 1) == LUA_TFUNCTION) {
            lua_remove(L, top + 3);
            lua_remove(L, top + 1);
            return true;
        }
    }
    lua_settop(L, top);
    return false;
}

/* Runs the Lua hook of c. Returns 1 if it returned (its results in c), 0
 * if no Lua ran (no policy object, or a hook of the pool runs already, or
 * the Lua state is closing), -1 if it failed (its message in c->detail). */
static int run(hookcall *c)
{
    lhandle *r = c->rec;
    lstate *S = r->S;
    if (S && !pthread_equal(atomic_load_explicit(&S->thread, memory_order_relaxed), pthread_self())) {
        snprintf(c->detail, c->cap, "pool '%s' has a Lua policy, and Lua hooks run only on the thread that uses "
                 "their Lua state; this thread is another", r->name);
        return -1; /* nothing of the state is touched */
    }
    if (!S || !S->open || r->busy)
        return 0;
    lua_State *L = S->caller ? S->caller : S->main;
    int top = lua_gettop(L);
    if (!lua_checkstack(L, 8)) {
        snprintf(c->detail, c->cap, "no Lua stack left for the hook");
        return -1;
    }
    lua_pushcfunction(L, hook_body);
    lua_pushlightuserdata(L, c);
    if (!push_hook(L, r, c->kind)) {
        lua_settop(L, top);
        return 0;
    }
    c->budget = ((lpool *)lua_touserdata(L, -2))->budget;
    r->refs++; /* the record outlives the call whatever the hook closes */
    r->busy++;
    int st = lua_pcall(L, 3, 0, 0);
    r->busy--;
    if (st != LUA_OK) {
        copy_error(L, c->detail, c->cap);
        c->failed = true;
    }
    lua_settop(L, top);
    mpl_rec_release(L, r);
    return c->failed ? -1 : 1;
}

static mp_status hook_grow(void *user, mp_pool *pool, size_t need, size_t *out, char *detail, size_t cap)
{
    hookcall c = {.kind = HOOK_GROW, .rec = user, .pool = pool, .a = (lua_Integer)need, .detail = detail, .cap = cap};
    detail[0] = 0;
    switch (run(&c)) {
    case 0: *out = need; return MP_OK;
    case -1: return MP_ERR_INVALID_OPERATION;
    }
    if (!c.isint) {
        snprintf(detail, cap, "%s", c.truthy ? "grow must return a byte count" : "the Lua policy refused");
        return MP_ERR_OUT_OF_MEMORY;
    }
    *out = c.value > 0 ? (size_t)c.value : 0;
    return MP_OK;
}

static mp_status hook_oom(void *user, mp_pool *pool, size_t size, char *detail, size_t cap)
{
    hookcall c = {.kind = HOOK_OOM, .rec = user, .pool = pool, .a = (lua_Integer)size, .detail = detail, .cap = cap};
    detail[0] = 0;
    switch (run(&c)) {
    case 0: snprintf(detail, cap, "no Lua policy ran"); return MP_ERR_OUT_OF_MEMORY;
    case -1: return MP_ERR_INVALID_OPERATION;
    }
    if (!c.truthy)
        snprintf(detail, cap, "the Lua policy did not ask for a retry");
    return c.truthy ? MP_OK : MP_ERR_OUT_OF_MEMORY;
}

static mp_status hook_trim(void *user, mp_pool *pool, size_t reserved, size_t in_use, size_t *keep, char *detail,
                           size_t cap)
{
    hookcall c = {.kind = HOOK_TRIM, .rec = user, .pool = pool, .a = (lua_Integer)reserved,
                  .b = (lua_Integer)in_use, .detail = detail, .cap = cap};
    detail[0] = 0;
    switch (run(&c)) {
    case 0: *keep = reserved; return MP_OK;
    case -1: return MP_ERR_INVALID_OPERATION;
    }
    *keep = c.value > 0 ? (size_t)c.value : 0;
    return MP_OK;
}

/* The C pool dropped the policy (replaced, cleared or destroyed with the pool). */
static void policy_release(void *user)
{
    lhandle *r = user;
    r->policy = false;
    mpl_rec_release_c(r);
}

/* ---- set_policy --------------------------------------------------------------------------------- */

/* By identity, not through the weak table: Lua clears an object's weak
 * entries before its finalizer runs. */
static bool holds_policy(const lpool *p) { return p->rec && p->rec->policy && p->rec->holder == p; }

void mpl_forget_policy(lua_State *L, lhandle *r)
{
    r->holder = NULL;
    lua_rawgetp(L, LUA_REGISTRYINDEX, &mpl_key_policies);
    lua_pushnil(L); /* removes a key or does nothing: no allocation */
    lua_rawsetp(L, -2, r);
    lua_pop(L, 1);
}

void mpl_drop_policy(lua_State *L, lpool *p)
{
    if (!holds_policy(p))
        return;
    if (p->rec->h)
        mp_pool_set_policy(p->rec->h, NULL);
    mpl_forget_policy(L, p->rec);
}

/* pool:set_policy{ grow = f, on_oom = f, trim = f, budget = n } or pool:set_policy(nil) */
int mpl_pool_set_policy(lua_State *L)
{
    lpool *p = luaL_checkudata(L, 1, POOL);
    if (lua_isnoneornil(L, 2)) {
        mp_status s = mp_pool_set_policy(mpl_handle(p), NULL);
        if (s != MP_OK)
            return mpl_fail_msg(L, s, "%s", mp_last_error_message());
        mpl_forget_policy(L, p->rec);
        lua_pushnil(L);
        lua_setiuservalue(L, 1, 1);
        lua_pushboolean(L, 1);
        return 1;
    }
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_settop(L, 2);
    lua_createtable(L, HOOKS, 0); /* 3: the hooks */
    mp_policy pol = {sizeof pol, NULL, NULL, NULL, NULL, policy_release};
    for (int i = 0; i < HOOKS; i++) {
        int t = lua_getfield(L, 2, hook_names[i]);
        if (t != LUA_TNIL && t != LUA_TFUNCTION)
            return luaL_argerror(L, 2, lua_pushfstring(L, "field '%s' must be a function", hook_names[i]));
        lua_rawseti(L, 3, i + 1);
    }
    pol.grow = lua_rawgeti(L, 3, HOOK_GROW + 1) == LUA_TFUNCTION ? hook_grow : NULL;
    pol.on_oom = lua_rawgeti(L, 3, HOOK_OOM + 1) == LUA_TFUNCTION ? hook_oom : NULL;
    pol.trim = lua_rawgeti(L, 3, HOOK_TRIM + 1) == LUA_TFUNCTION ? hook_trim : NULL;
    lua_settop(L, 3);
    lua_Integer budget = mpl_opt_int(L, 2, 2, "budget", 1, LUA_MAXINTEGER, MPL_DEFAULT_BUDGET);
    if (!mpl_handle(p))
        return mpl_fail_msg(L, MP_ERR_INVALID_ARGUMENT, "pool is NULL");
    lhandle *r = p->rec;
    lua_rawgetp(L, LUA_REGISTRYINDEX, &mpl_key_policies); /* 4 */
    lua_rawgetp(L, 4, r);                              /* 5: the object that held the policy */
    lua_pushvalue(L, 1);
    lua_rawsetp(L, 4, r); /* the last Lua allocation: it may raise before anything changed */
    pol.user = r;
    r->refs++; /* the C pool's, until policy_release */
    mp_status s = mp_pool_set_policy(mpl_handle(p), &pol);
    if (s != MP_OK) {
        r->refs--;
        lua_pushvalue(L, 5);
        lua_rawsetp(L, 4, r);
        return mpl_fail_msg(L, s, "%s", mp_last_error_message());
    }
    r->policy = true;
    r->holder = p;
    lua_pushvalue(L, 3);
    lua_setiuservalue(L, 1, 1);
    p->budget = budget;
    lua_pushboolean(L, 1);
    return 1;
}

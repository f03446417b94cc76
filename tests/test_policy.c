/* Policies (growth, out of memory, trim hooks on the slow path) and the
 * size-class router. */
#include "mp_test.h"

#include <pthread.h>

typedef struct counts {
    int grow, oom, trim, release;
    size_t cap;       /* grow: refuse beyond this much reserved */
    mp_pool *scratch; /* on_oom: reset this pool */
} counts;

static mp_status grow_double(void *user, mp_pool *pool, size_t need, size_t *out_bytes, char *detail, size_t cap)
{
    counts *c = user;
    c->grow++;
    mp_stats s = MP_STATS_INIT;
    mp_pool_get_stats(pool, &s); /* hooks may call into their pool */
    if (c->cap && s.reserved_bytes + need > c->cap) {
        snprintf(detail, cap, "cap of %zu bytes reached", c->cap);
        return MP_ERR_OUT_OF_MEMORY;
    }
    *out_bytes = s.reserved_bytes > need ? s.reserved_bytes : need; /* double */
    return MP_OK;
}

static mp_status oom_reset(void *user, mp_pool *pool, size_t size, char *detail, size_t cap)
{
    (void)size;
    (void)detail;
    (void)cap;
    counts *c = user;
    c->oom++;
    return mp_pool_reset(c->scratch ? c->scratch : pool);
}

static mp_status trim_keep_half(void *user, mp_pool *pool, size_t reserved, size_t in_use, size_t *keep, char *d,
                                size_t cap)
{
    (void)pool;
    (void)in_use;
    (void)d;
    (void)cap;
    ((counts *)user)->trim++;
    *keep = reserved / 2;
    return MP_OK;
}

static void count_release(void *user) { ((counts *)user)->release++; }

static mp_policy policy_of(counts *c)
{
    mp_policy p = {sizeof(mp_policy), c, grow_double, oom_reset, trim_keep_half, count_release};
    return p;
}

START_TEST(hooks_never_run_on_the_fast_path)
{
    mp_pool *p = new_pool("fast", cfg_variable(1 << 20));
    counts c = {0};
    mp_policy pol = policy_of(&c);
    ck_ok(mp_pool_set_policy(p, &pol));
    for (int i = 0; i < 10000; i++) {
        void *b = alloc_ok(p, 64);
        ck_ok(mp_pool_deallocate(p, b));
    }
    ck_assert_int_eq(c.grow + c.oom + c.trim, 0);
    mp_pool_destroy(p);
    ck_assert_int_eq(c.release, 1);
}
END_TEST

START_TEST(growth_hook_decides_the_size_of_new_chunks)
{
    mp_config cfg = cfg_variable(64 << 10);
    cfg.growth_factor = 1; /* the hook doubles instead */
    mp_pool *p = new_pool("grow", cfg);
    counts c = {0};
    mp_policy pol = policy_of(&c);
    ck_ok(mp_pool_set_policy(p, &pol));
    for (int i = 0; i < 5; i++) /* chunks 64 KiB (initial), 64, 128 (holds two), 256 KiB */
        alloc_ok(p, 60 << 10);
    mp_stats s = stats_of(p);
    ck_assert_int_eq(c.grow, 3);
    ck_assert_uint_eq(s.chunk_count, 4);
    ck_assert_uint_eq(s.reserved_bytes, (64u << 10) * 8); /* 64 + 64 + 128 + 256 KiB */
    ck_intact(p);
    mp_pool_destroy(p);
}
END_TEST

START_TEST(growth_hook_can_refuse_with_a_reason)
{
    mp_pool *p = new_pool("capped", cfg_variable(64 << 10));
    counts c = {.cap = 128 << 10};
    mp_policy pol = policy_of(&c);
    pol.on_oom = NULL;
    ck_ok(mp_pool_set_policy(p, &pol));
    alloc_ok(p, 60 << 10);
    alloc_ok(p, 60 << 10);
    void *x = (void *)1;
    ck_status(mp_pool_allocate(p, 60 << 10, &x), MP_ERR_OUT_OF_MEMORY);
    ck_detail_has("the growth policy refused");
    ck_detail_has("cap of 131072 bytes reached");
    ck_assert_ptr_null(x);
    ck_assert_uint_eq(stats_of(p).failed_allocations, 1);
    ck_intact(p);
    mp_pool_destroy(p);
}
END_TEST

START_TEST(oom_hook_makes_room_and_the_allocation_is_retried)
{
    mp_config cfg = cfg_fixed(1024, 4096);
    cfg.max_size = 4096;
    mp_pool *p = new_pool("full", cfg);
    counts c = {0};
    mp_policy pol = policy_of(&c);
    pol.grow = NULL;
    ck_ok(mp_pool_set_policy(p, &pol));
    for (int i = 0; i < 4; i++)
        alloc_ok(p, 1024);
    void *x = alloc_ok(p, 1024); /* full: the hook resets the pool, the retry succeeds */
    ck_assert_int_eq(c.oom, 1);
    ck_assert_uint_eq(stats_of(p).live_allocations, 1);
    ck_assert_ptr_nonnull(x);
    ck_intact(p);
    mp_pool_destroy(p);
}
END_TEST

static mp_status oom_fails(void *user, mp_pool *pool, size_t size, char *detail, size_t cap)
{
    (void)user;
    (void)pool;
    snprintf(detail, cap, "script error: attempt to index a nil value (size %zu)", size);
    return MP_ERR_INVALID_OPERATION;
}

START_TEST(a_failing_hook_is_a_failed_allocation_with_its_message)
{
    mp_config cfg = cfg_fixed(1024, 1024);
    cfg.max_size = 1024;
    mp_pool *p = new_pool("failing", cfg);
    mp_policy pol = {sizeof pol, NULL, NULL, oom_fails, NULL, NULL};
    ck_ok(mp_pool_set_policy(p, &pol));
    alloc_ok(p, 1024);
    void *x;
    ck_status(mp_pool_allocate(p, 1024, &x), MP_ERR_INVALID_OPERATION);
    ck_detail_has("script error: attempt to index a nil value (size 1024)");
    ck_intact(p);
    mp_pool_destroy(p);
}
END_TEST

START_TEST(trim_auto_keeps_what_the_hook_says)
{
    mp_config cfg = cfg_fixed(64, 4096);
    cfg.growth_factor = 1;
    mp_pool *p = new_pool("trim", cfg);
    void *b[4 * 64];
    for (int i = 0; i < 4 * 64; i++)
        b[i] = alloc_ok(p, 64);
    for (int i = 0; i < 4 * 64; i++)
        ck_ok(mp_pool_deallocate(p, b[i]));
    ck_ok(mp_pool_trim_auto(p)); /* no policy: keep initial_size */
    ck_assert_uint_eq(stats_of(p).reserved_bytes, 4096);
    for (int i = 0; i < 4 * 64; i++)
        b[i] = alloc_ok(p, 64);
    for (int i = 0; i < 4 * 64; i++)
        ck_ok(mp_pool_deallocate(p, b[i]));
    counts c = {0};
    mp_policy pol = policy_of(&c);
    ck_ok(mp_pool_set_policy(p, &pol));
    ck_ok(mp_pool_trim_auto(p));
    ck_assert_int_eq(c.trim, 1);
    ck_assert_uint_eq(stats_of(p).reserved_bytes, 8192);
    mp_pool_destroy(p);
}
END_TEST

START_TEST(replacing_a_policy_releases_the_old_one_and_bad_policies_are_refused)
{
    mp_pool *p = new_pool("replace", cfg_variable(4096));
    counts a = {0}, b = {0};
    mp_policy pa = policy_of(&a), pb = policy_of(&b);
    ck_ok(mp_pool_set_policy(p, &pa));
    ck_ok(mp_pool_set_policy(p, &pb));
    ck_assert_int_eq(a.release, 1);
    ck_ok(mp_pool_set_policy(p, NULL));
    ck_assert_int_eq(b.release, 1);
    mp_policy bad = pa;
    bad.struct_size = 8;
    ck_status(mp_pool_set_policy(p, &bad), MP_ERR_INVALID_ARGUMENT);
    ck_status(mp_pool_set_policy(NULL, &pa), MP_ERR_INVALID_ARGUMENT);
    ck_status(mp_pool_trim_auto(NULL), MP_ERR_INVALID_ARGUMENT);
    mp_pool_destroy(p);
    ck_assert_int_eq(a.release + b.release, 2);
}
END_TEST

/* ---- hooks that call back in (what a hook may do: README, Guarantees) ---- */

typedef struct reentry {
    mp_status destroy; /* what mp_pool_destroy / mp_registry_destroy said from inside */
    const char *registry_name;
    int grow_calls;
    void *inner;        /* a block the grow hook allocated from its own pool */
    int released;
    bool released_during_hook;
    mp_status after_release; /* what a call from the release callback got */
    mp_pool *released_pool;
} reentry;

static mp_status oom_destroys_own_pool(void *user, mp_pool *pool, size_t size, char *detail, size_t cap)
{
    (void)size;
    reentry *r = user;
    r->destroy = r->registry_name ? mp_registry_destroy(r->registry_name) : mp_pool_destroy(pool);
    snprintf(detail, cap, "%s", mp_last_error_message());
    return MP_ERR_OUT_OF_MEMORY; /* decline: the first failure stands */
}

START_TEST(a_hook_cannot_destroy_its_own_pool)
{
    mp_config cfg = cfg_fixed(1024, 1024);
    cfg.max_size = 1024;
    reentry r = {0};
    mp_policy pol = {sizeof pol, &r, NULL, oom_destroys_own_pool, NULL, NULL};
    for (int registered = 0; registered < 2; registered++) {
        mp_pool *p;
        if (registered) {
            ck_ok(mp_registry_create_cpu_pool("hooked", &cfg, &p));
            r.registry_name = "hooked";
        } else {
            p = new_pool("hooked", cfg);
        }
        ck_ok(mp_pool_set_policy(p, &pol));
        void *a = alloc_ok(p, 1024), *x = NULL;
        ck_status(mp_pool_allocate(p, 1024, &x), MP_ERR_OUT_OF_MEMORY); /* full: on_oom runs */
        ck_assert_int_eq(r.destroy, MP_ERR_INVALID_OPERATION);
        ck_intact(p); /* alive and whole */
        ck_ok(mp_pool_deallocate(p, a));
        ck_ok(registered ? mp_registry_destroy("hooked") : mp_pool_destroy(p));
    }
}
END_TEST

static mp_status grow_allocates_from_own_pool(void *user, mp_pool *pool, size_t need, size_t *out, char *detail,
                                              size_t cap)
{
    (void)detail;
    (void)cap;
    reentry *r = user;
    r->grow_calls++;
    /* Needs growth too: served by growth_factor, without calling this hook again. */
    if (mp_pool_allocate(pool, 3000, &r->inner) != MP_OK)
        return MP_ERR_OUT_OF_MEMORY;
    *out = need;
    return MP_OK;
}

START_TEST(a_grow_hook_may_allocate_from_its_own_pool)
{
    mp_pool *p = new_pool("self-fed", cfg_variable(4096));
    reentry r = {0};
    mp_policy pol = {sizeof pol, &r, grow_allocates_from_own_pool, NULL, NULL, NULL};
    ck_ok(mp_pool_set_policy(p, &pol));
    void *a = alloc_ok(p, 3000), *b = alloc_ok(p, 3000); /* the second grows: the hook runs once */
    ck_assert_int_eq(r.grow_calls, 1);
    ck_assert_ptr_nonnull(r.inner);
    ck_assert_uint_eq(stats_of(p).live_allocations, 3);
    ck_ok(mp_pool_deallocate(p, r.inner));
    ck_ok(mp_pool_deallocate(p, a));
    ck_ok(mp_pool_deallocate(p, b));
    ck_intact(p);
    mp_pool_destroy(p);
}
END_TEST

static mp_status grow_edits_the_registry(void *user, mp_pool *pool, size_t need, size_t *out, char *detail,
                                         size_t cap)
{
    (void)user;
    (void)pool;
    mp_config c = cfg_variable(4096);
    mp_status s = mp_registry_create_cpu_pool("made-in-hook", &c, NULL);
    if (s == MP_OK)
        s = mp_registry_destroy("doomed");
    snprintf(detail, cap, "%s", mp_last_error_message());
    *out = need;
    return s;
}

START_TEST(a_hook_reached_by_name_may_create_and_destroy_registry_pools)
{
    mp_config c = cfg_variable(4096);
    ck_ok(mp_registry_create_cpu_pool("by-name", &c, NULL));
    ck_ok(mp_registry_create_cpu_pool("doomed", &c, NULL));
    mp_pool *p;
    ck_ok(mp_registry_get_cpu_pool("by-name", &p));
    mp_policy pol = {sizeof pol, NULL, grow_edits_the_registry, NULL, NULL, NULL};
    ck_ok(mp_pool_set_policy(p, &pol));
    void *x;
    ck_ok(mp_allocate("by-name", 8000, &x)); /* grows: the hook runs under no registry lock */
    mp_pool *found;
    ck_ok(mp_registry_find("made-in-hook", &found));
    ck_status(mp_registry_find("doomed", &found), MP_ERR_NOT_FOUND);
    ck_ok(mp_deallocate("by-name", x));
    ck_ok(mp_registry_destroy("by-name"));
    ck_ok(mp_registry_destroy("made-in-hook"));
}
END_TEST

static void note_release(void *user)
{
    reentry *r = user;
    r->released++;
    void *x;
    r->after_release = mp_pool_allocate(r->released_pool, 8, &x); /* the pool is going: refused */
}

static mp_status grow_replaces_policy(void *user, mp_pool *pool, size_t need, size_t *out, char *detail, size_t cap)
{
    (void)detail;
    (void)cap;
    reentry *r = user;
    mp_pool_set_policy(pool, NULL); /* frees nothing this hook still uses */
    r->released_during_hook = r->released > 0;
    *out = need;
    return MP_OK;
}

START_TEST(a_hook_may_replace_its_policy_and_release_runs_after_it)
{
    mp_pool *p = new_pool("replaced", cfg_variable(4096));
    reentry r = {.released_pool = p};
    mp_policy pol = {sizeof pol, &r, grow_replaces_policy, NULL, NULL, NULL};
    pol.release = NULL;
    mp_policy with_release = pol;
    with_release.release = (mp_release_fn)note_release;
    ck_ok(mp_pool_set_policy(p, &with_release));
    void *x = alloc_ok(p, 8000);
    ck_assert(!r.released_during_hook);
    ck_assert_int_eq(r.released, 1); /* once the hook had returned */
    ck_ok(r.after_release);          /* the pool itself lives on */
    ck_ok(mp_pool_deallocate(p, x));
    mp_pool_destroy(p);
}
END_TEST

START_TEST(a_release_callback_that_calls_back_into_a_destroyed_pool_is_refused)
{
    mp_pool *p = new_pool("released", cfg_variable(4096));
    reentry r = {.released_pool = p};
    mp_policy pol = {sizeof pol, &r, NULL, NULL, NULL, (mp_release_fn)note_release};
    ck_ok(mp_pool_set_policy(p, &pol));
    ck_ok(mp_pool_destroy(p));
    ck_assert_int_eq(r.released, 1);
    ck_assert_int_eq(r.after_release, MP_ERR_INVALID_ARGUMENT);
}
END_TEST

static mp_status destroy_in_release_status;

static void release_destroys_by_name(void *user)
{
    destroy_in_release_status = mp_registry_destroy((const char *)user);
}

static mp_status grow_drops_policy(void *user, mp_pool *pool, size_t need, size_t *out, char *detail, size_t cap)
{
    (void)user;
    (void)detail;
    (void)cap;
    mp_pool_set_policy(pool, NULL); /* its release runs as this hook returns */
    *out = need;
    return MP_OK;
}

START_TEST(a_release_that_runs_as_a_hook_returns_cannot_destroy_the_pool)
{
    mp_config c = cfg_variable(4096);
    mp_pool *p;
    ck_ok(mp_registry_create_cpu_pool("released-by-name", &c, &p));
    mp_policy pol = {sizeof pol, (void *)"released-by-name", grow_drops_policy, NULL, NULL, release_destroys_by_name};
    ck_ok(mp_pool_set_policy(p, &pol));
    void *x;
    ck_ok(mp_allocate("released-by-name", 8000, &x)); /* grows: the hook, then the release, run */
    ck_assert_int_eq(destroy_in_release_status, MP_ERR_INVALID_OPERATION);
    memset(x, 1, 8000); /* the block's pool is alive */
    ck_ok(mp_deallocate("released-by-name", x));
    ck_intact(p);
    ck_ok(mp_registry_destroy("released-by-name"));
}
END_TEST

typedef struct parked {
    mp_pool *pool;
    pthread_barrier_t in_hook, let_go;
} parked;

static mp_status grow_parks(void *user, mp_pool *pool, size_t need, size_t *out, char *detail, size_t cap)
{
    (void)pool;
    (void)detail;
    (void)cap;
    parked *k = user;
    pthread_barrier_wait(&k->in_hook);
    pthread_barrier_wait(&k->let_go);
    *out = need;
    return MP_OK;
}

static void *grow_in_thread(void *arg)
{
    parked *k = arg;
    void *x;
    if (mp_pool_allocate(k->pool, 8000, &x) == MP_OK)
        mp_pool_deallocate(k->pool, x);
    return NULL;
}

START_TEST(destroy_waits_for_no_one_while_another_thread_runs_a_hook)
{
    parked k = {.pool = new_pool("parked", cfg_variable(4096))};
    pthread_barrier_init(&k.in_hook, NULL, 2);
    pthread_barrier_init(&k.let_go, NULL, 2);
    mp_policy pol = {sizeof pol, &k, grow_parks, NULL, NULL, NULL};
    ck_ok(mp_pool_set_policy(k.pool, &pol));
    pthread_t t;
    pthread_create(&t, NULL, grow_in_thread, &k);
    pthread_barrier_wait(&k.in_hook);
    ck_status(mp_pool_destroy(k.pool), MP_ERR_INVALID_OPERATION);
    ck_detail_has("running on another thread");
    pthread_barrier_wait(&k.let_go);
    pthread_join(t, NULL);
    ck_ok(mp_pool_destroy(k.pool));
    pthread_barrier_destroy(&k.in_hook);
    pthread_barrier_destroy(&k.let_go);
}
END_TEST

START_TEST(router_sends_each_size_to_its_pool)
{
    mp_pool *small = new_pool("small", cfg_fixed(64, 4096));
    mp_pool *medium = new_pool("medium", cfg_fixed(1024, 1 << 16));
    mp_pool *large = new_pool("large", cfg_variable(1 << 20));
    mp_router *r = NULL;
    ck_ok(mp_router_create("sizes", &r));
    ck_ok(mp_router_add(r, 64, small));
    ck_ok(mp_router_add(r, 1024, medium));
    ck_ok(mp_router_add(r, SIZE_MAX, large));
    mp_pool *which = NULL;
    ck_ok(mp_router_pool_for(r, 1, &which));
    ck_assert_ptr_eq(which, small);
    ck_ok(mp_router_pool_for(r, 65, &which));
    ck_assert_ptr_eq(which, medium);
    ck_ok(mp_router_pool_for(r, 5000, &which));
    ck_assert_ptr_eq(which, large);
    void *a, *b, *c;
    ck_ok(mp_router_allocate(r, 10, &a));
    ck_ok(mp_router_allocate(r, 1000, &b));
    ck_ok(mp_router_allocate(r, 100000, &c));
    bool owned = false;
    ck_ok(mp_pool_owns(small, a, &owned));
    ck_assert(owned);
    ck_ok(mp_pool_owns(large, c, &owned));
    ck_assert(owned);
    ck_ok(mp_router_deallocate(r, b));
    ck_ok(mp_router_deallocate(r, a));
    ck_ok(mp_router_deallocate(r, c));
    ck_assert_uint_eq(stats_of(small).live_allocations + stats_of(medium).live_allocations +
                          stats_of(large).live_allocations, 0);
    ck_status(mp_router_deallocate(r, a), MP_ERR_INVALID_POINTER);
    int local;
    ck_status(mp_router_deallocate(r, &local), MP_ERR_INVALID_POINTER);
    ck_detail_has("none of its pools");
    ck_status(mp_router_add(r, 512, small), MP_ERR_INVALID_ARGUMENT); /* ranges go up */
    ck_ok(mp_router_destroy(r));
    mp_pool_destroy(small);
    mp_pool_destroy(medium);
    mp_pool_destroy(large);
}
END_TEST

START_TEST(router_refuses_bad_input)
{
    mp_router *r = NULL;
    void *x;
    ck_status(mp_router_create(NULL, &r), MP_ERR_INVALID_ARGUMENT);
    ck_status(mp_router_create("r", NULL), MP_ERR_INVALID_ARGUMENT);
    ck_ok(mp_router_create("r", &r));
    ck_status(mp_router_allocate(r, 8, &x), MP_ERR_NOT_FOUND); /* no ranges yet */
    ck_status(mp_router_add(r, 0, NULL), MP_ERR_INVALID_ARGUMENT);
    mp_pool *p = new_pool("only", cfg_fixed(32, 4096));
    ck_ok(mp_router_add(r, 32, p));
    ck_status(mp_router_allocate(r, 33, &x), MP_ERR_NOT_FOUND);
    ck_detail_has("no range holds 33 bytes");
    ck_status(mp_router_allocate(r, 0, &x), MP_ERR_INVALID_ARGUMENT);
    ck_status(mp_router_allocate(NULL, 8, &x), MP_ERR_INVALID_ARGUMENT);
    ck_status(mp_router_deallocate(r, NULL), MP_ERR_INVALID_POINTER);
    ck_ok(mp_router_destroy(r));
    ck_status(mp_router_destroy(NULL), MP_ERR_INVALID_ARGUMENT);
    mp_pool_destroy(p);
}
END_TEST

static Suite *policy_suite(void)
{
    Suite *s = suite_create("policy");
    TCase *t = tcase_create("policy");
    tcase_add_test(t, hooks_never_run_on_the_fast_path);
    tcase_add_test(t, growth_hook_decides_the_size_of_new_chunks);
    tcase_add_test(t, growth_hook_can_refuse_with_a_reason);
    tcase_add_test(t, oom_hook_makes_room_and_the_allocation_is_retried);
    tcase_add_test(t, a_failing_hook_is_a_failed_allocation_with_its_message);
    tcase_add_test(t, trim_auto_keeps_what_the_hook_says);
    tcase_add_test(t, replacing_a_policy_releases_the_old_one_and_bad_policies_are_refused);
    tcase_add_test(t, router_sends_each_size_to_its_pool);
    tcase_add_test(t, router_refuses_bad_input);
    suite_add_tcase(s, t);
    TCase *r = tcase_create("re-entrant hooks");
    tcase_set_timeout(r, 30); /* a deadlock fails here */
    tcase_add_test(r, a_hook_cannot_destroy_its_own_pool);
    tcase_add_test(r, a_grow_hook_may_allocate_from_its_own_pool);
    tcase_add_test(r, a_hook_reached_by_name_may_create_and_destroy_registry_pools);
    tcase_add_test(r, a_hook_may_replace_its_policy_and_release_runs_after_it);
    tcase_add_test(r, a_release_callback_that_calls_back_into_a_destroyed_pool_is_refused);
    tcase_add_test(r, destroy_waits_for_no_one_while_another_thread_runs_a_hook);
    tcase_add_test(r, a_release_that_runs_as_a_hook_returns_cannot_destroy_the_pool);
    suite_add_tcase(s, r);
    return s;
}

MP_TEST_MAIN(policy_suite)

/* The internal invariant checks (MP__ASSERT, core/core.h) are compiled in
 * exactly where the build says so: a test, Debug or sanitizer build aborts
 * at a broken invariant; a release build never aborts.
 *
 * The library checks every caller's input, so no call through the C ABI can
 * break an invariant. This suite drives the fixed strategy through its
 * internal seam (the static library) and breaks one on purpose: a block's
 * state byte says "live" after the strategy freed it, so its release sees a
 * chunk with no live block. MEMPOOL_ASSERTS comes from the same CMake switch
 * as the library's. */
#include "mp_test.h"
#include "strategy/strategy.h"

#include <signal.h>

#if !defined(MEMPOOL_ASSERTS)
#error "the build passes MEMPOOL_ASSERTS=0 or 1 to this suite, as to the library"
#endif

START_TEST(a_state_map_corrupted_behind_the_strategy_trips_the_release_assert)
{
    const mp__strategy *s = &mp__strategy_fixed;
    mp__strategy_params params = {.unit = 16, .stride = 64, .state_map = true};
    void *st = s->create(&params);
    ck_assert_ptr_nonnull(st);
    static _Alignas(64) char mem[64 * 4];
    mp__chunk ch = {.span = mp__span_make((uintptr_t)mem, sizeof mem, 64)};
    ch.span.smap = mp__smap_new(sizeof mem / 64 + 1);
    ck_assert_ptr_nonnull(ch.span.smap);
    ck_ok(s->attach(st, &ch));
    mp__blockinfo info = {0};
    void *b = s->alloc(st, 64, &info, NULL);
    ck_assert_ptr_eq(b, mem);
    ck_ok(s->release(st, &ch, (uintptr_t)b, &info, NULL));
    ch.span.smap[0] = 1; /* "live", behind the strategy's back */
    mp_status second = s->release(st, &ch, (uintptr_t)b, &info, NULL); /* asserts abort here */
#if MEMPOOL_ASSERTS
    ck_abort_msg("MEMPOOL_ASSERTS is on but the release returned %s", mp_status_name(second));
#else
    /* Compiled out: the release goes on (the invariant checker would now
     * report the corruption) and the process lives. */
    ck_ok(second);
    ck_status(s->check(st), MP_ERR_CORRUPTION);
#endif
    s->detach(st, &ch);
    s->destroy(st);
    mp__smap_free(ch.span.smap);
}
END_TEST

static Suite *asserts_suite(void)
{
    Suite *s = suite_create("asserts");
    TCase *t = tcase_create(MEMPOOL_ASSERTS ? "compiled in" : "compiled out");
#if MEMPOOL_ASSERTS
    tcase_add_test_raise_signal(t, a_state_map_corrupted_behind_the_strategy_trips_the_release_assert, SIGABRT);
#else
    tcase_add_test(t, a_state_map_corrupted_behind_the_strategy_trips_the_release_assert);
#endif
    suite_add_tcase(s, t);
    return s;
}

MP_TEST_MAIN(asserts_suite)

/* Observability (issue 23): mp_stats_print over every live pool, text and
 * JSON, with a callback that calls back in; the registry's JSON with the
 * pools of mp_pool_create; MEMPOOL_SHOW_STATS's dump at exit (this binary
 * run again as a child: "test_observe exit-child"); MEMPOOL_CONF on the
 * default pools. Check forks each test, so each sees a fresh registry. */
#define _GNU_SOURCE
#include "mp_json.h"
#include "mp_test.h"

static bool mp_json_valid(const char *text)
{
    mpj *v = mpj_parse(text);
    bool ok = v && (v->type != MPJ_OBJECT || mpj_get(v, "pools") || v->n > 0);
    mpj_free(v);
    return ok;
}

#include <sys/wait.h>
#include <unistd.h>

typedef struct sink {
    char *text;
    size_t len;
    int calls;
    mp_pool *destroy; /* the callback destroys it, to show no lock is held */
} sink;

static void collect(void *opaque, const char *text)
{
    sink *s = opaque;
    size_t n = strlen(text);
    s->text = realloc(s->text, s->len + n + 1);
    memcpy(s->text + s->len, text, n + 1);
    s->len += n;
    s->calls++;
    /* Calls back in: another print, pool calls, a destroy. */
    char *inner = NULL;
    ck_ok(mp_registry_stats_json(&inner));
    mp_string_free(inner);
    if (s->destroy) {
        ck_ok(mp_pool_destroy(s->destroy));
        s->destroy = NULL;
    }
}

START_TEST(print_text_lists_every_pool_with_classes_and_chunks)
{
    mp_pool *mine = new_pool("made-by-create", cfg_variable(1 << 20));
    void *a = alloc_ok(mine, 48), *b = alloc_ok(mine, 100000);
    mp_config fc = cfg_fixed(64, 4096);
    ck_ok(mp_registry_create_cpu_pool("registered", &fc, NULL));
    void *c;
    ck_ok(mp_allocate("registered", 64, &c));
    sink s = {0};
    ck_ok(mp_stats_print(collect, &s, NULL));
    ck_assert_int_ge(s.calls, 1);
    ck_assert_ptr_nonnull(strstr(s.text, "pool 'made-by-create'"));
    ck_assert_ptr_nonnull(strstr(s.text, "pool 'registered'"));
    ck_assert_ptr_nonnull(strstr(s.text, "size classes:"));
    ck_assert_ptr_nonnull(strstr(s.text, "    class 48:"));
    ck_assert_ptr_nonnull(strstr(s.text, "    chunk 0x"));
    free(s.text);
    sink t = {0};
    ck_ok(mp_stats_print(collect, &t, "text"));
    ck_assert_ptr_nonnull(strstr(t.text, "pool 'registered'"));
    free(t.text);
    ck_ok(mp_pool_deallocate(mine, a));
    ck_ok(mp_pool_deallocate(mine, b));
    ck_ok(mp_deallocate("registered", c));
    ck_ok(mp_pool_destroy(mine));
    ck_ok(mp_registry_destroy("registered"));
}
END_TEST

START_TEST(print_json_is_one_object_with_stats_and_snapshot)
{
    mp_pool *mine = new_pool("json-one", cfg_variable(1 << 20));
    void *a = alloc_ok(mine, 200);
    sink s = {0};
    ck_ok(mp_stats_print(collect, &s, "json"));
    ck_assert_msg(mp_json_valid(s.text), "not JSON: %s", s.text);
    ck_assert_ptr_nonnull(strstr(s.text, "{\"pools\":[{\"pool\":"));
    ck_assert_ptr_nonnull(strstr(s.text, "\"pool\":\"json-one\",\"registry\":false,\"stats\":{"));
    ck_assert_ptr_nonnull(strstr(s.text, "\"snapshot\":{\"pool\":\"json-one\""));
    ck_assert_ptr_nonnull(strstr(s.text, "\"classes\":[{\"block_size\":"));
    ck_assert_ptr_nonnull(strstr(s.text, "\"chunks\":[{\"base\":"));
    free(s.text);
    ck_ok(mp_pool_deallocate(mine, a));
    ck_ok(mp_pool_destroy(mine));
}
END_TEST

START_TEST(print_with_no_pool_and_bad_options)
{
    sink s = {0};
    ck_ok(mp_stats_print(collect, &s, ""));
    ck_assert_str_eq(s.text, "mempool: no live pools\n");
    free(s.text);
    sink j = {0};
    ck_ok(mp_stats_print(collect, &j, "json"));
    ck_assert_str_eq(j.text, "{\"pools\":[]}\n");
    free(j.text);
    sink n = {0};
    ck_status(mp_stats_print(collect, &n, "yaml"), MP_ERR_INVALID_ARGUMENT);
    ck_detail_has("yaml");
    ck_assert_int_eq(n.calls, 0);
}
END_TEST

START_TEST(the_callback_may_destroy_a_pool_and_call_back_in)
{
    mp_pool *victim = new_pool("victim", cfg_variable(0));
    sink s = {.destroy = victim};
    ck_ok(mp_stats_print(collect, &s, NULL));
    ck_assert_ptr_null(s.destroy);
    ck_assert_ptr_nonnull(strstr(s.text, "pool 'victim'"));
    free(s.text);
    sink t = {0};
    ck_ok(mp_stats_print(collect, &t, NULL));
    ck_assert_ptr_null(strstr(t.text, "pool 'victim'"));
    free(t.text);
}
END_TEST

START_TEST(registry_json_includes_pools_of_mp_pool_create)
{
    mp_pool *a = new_pool("shared-name", cfg_variable(0));
    mp_pool *b = new_pool("shared-name", cfg_variable(0));
    mp_pool *other = new_pool("loner", cfg_variable(0));
    mp_config rc = cfg_variable(0);
    ck_ok(mp_registry_create_cpu_pool("shared-name", &rc, NULL));
    char *json = NULL;
    ck_ok(mp_registry_stats_json(&json));
    ck_assert_msg(mp_json_valid(json), "not JSON: %s", json);
    ck_assert_ptr_nonnull(strstr(json, "\"shared-name\":{"));
    ck_assert_ptr_nonnull(strstr(json, "\"shared-name#2\":{"));
    ck_assert_ptr_nonnull(strstr(json, "\"shared-name#3\":{"));
    ck_assert_ptr_nonnull(strstr(json, "\"loner\":{"));
    mp_string_free(json);
    ck_ok(mp_pool_destroy(other));
    ck_ok(mp_registry_stats_json(&json));
    ck_assert_ptr_null(strstr(json, "\"loner\""));
    mp_string_free(json);
    ck_ok(mp_pool_destroy(a));
    ck_ok(mp_pool_destroy(b));
    ck_ok(mp_registry_destroy("shared-name"));
}
END_TEST

/* ---- MEMPOOL_SHOW_STATS: this binary as a child, its stderr read back ---- */

static char self[4096];

static char *run_child(const char *show)
{
    int fd[2];
    ck_assert_int_eq(pipe(fd), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        dup2(fd[1], 2);
        close(fd[0]);
        close(fd[1]);
        if (show)
            setenv("MEMPOOL_SHOW_STATS", show, 1);
        else
            unsetenv("MEMPOOL_SHOW_STATS");
        execl(self, self, "exit-child", (char *)NULL);
        _exit(127);
    }
    close(fd[1]);
    char *out = NULL;
    size_t len = 0;
    char buf[4096];
    ssize_t n;
    while ((n = read(fd[0], buf, sizeof buf)) > 0) {
        out = realloc(out, len + (size_t)n + 1);
        memcpy(out + len, buf, (size_t)n);
        len += (size_t)n;
    }
    close(fd[0]);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
    if (!out)
        out = calloc(1, 1);
    else
        out[len] = 0;
    return out;
}

static int exit_child(void)
{
    mp_pool *p;
    mp_config c = MP_CONFIG_INIT;
    mp_config_default_cpu(&c);
    if (mp_pool_create("at-exit", MP_MEMORY_CPU, &c, &p) != MP_OK)
        return 1;
    void *x;
    if (mp_pool_allocate(p, 96, &x) != MP_OK || mp_allocate(NULL, 32, &x) != MP_OK)
        return 1;
    return 0; /* both pools live at exit */
}

START_TEST(show_stats_prints_at_exit_only_when_asked)
{
    char *shown = run_child("1");
    ck_assert_msg(strstr(shown, "pool 'at-exit'") && strstr(shown, "pool 'default'") && strstr(shown, "chunks:"),
                  "stderr with MEMPOOL_SHOW_STATS=1: \"%s\"", shown);
    free(shown);
    char *quiet = run_child(NULL);
    ck_assert_msg(*quiet == 0, "stderr without MEMPOOL_SHOW_STATS: \"%s\"", quiet);
    free(quiet);
    char *zero = run_child("0");
    ck_assert_msg(*zero == 0, "stderr with MEMPOOL_SHOW_STATS=0: \"%s\"", zero);
    free(zero);
}
END_TEST

/* ---- MEMPOOL_CONF (each test is its own forked process) ------------------ */

static mp_config default_config(void)
{
    mp_pool *p;
    ck_ok(mp_registry_get_cpu_pool("default", &p));
    mp_config c = MP_CONFIG_INIT;
    ck_ok(mp_pool_get_config(p, &c));
    return c;
}

START_TEST(conf_configures_the_default_pool)
{
    setenv("MEMPOOL_CONF", "preset=high_performance,max_size=64M,debug=1,initial_size=1m", 1);
    mp_config want = MP_CONFIG_INIT;
    ck_ok(mp_config_high_performance_cpu(&want));
    mp_config c = default_config();
    ck_assert_uint_eq(c.max_size, (size_t)64 << 20);
    ck_assert_uint_eq(c.initial_size, (size_t)1 << 20);
    ck_assert(c.enable_debugging);
    ck_assert_int_eq(c.allocator_type, want.allocator_type);
    void *p;
    ck_ok(mp_allocate(NULL, 100, &p));
    ck_ok(mp_deallocate(NULL, p));
}
END_TEST

START_TEST(conf_preset_applies_first_wherever_it_stands)
{
    setenv("MEMPOOL_CONF", "max_size=32M,preset=debug", 1);
    mp_config c = default_config();
    ck_assert_uint_eq(c.max_size, (size_t)32 << 20);
    ck_assert(c.enable_debugging);
}
END_TEST

START_TEST(conf_without_the_variable_is_the_default_preset)
{
    unsetenv("MEMPOOL_CONF");
    mp_config want = MP_CONFIG_INIT;
    ck_ok(mp_config_default_cpu(&want));
    mp_config c = default_config();
    ck_assert_uint_eq(c.max_size, want.max_size);
    ck_assert_int_eq(c.enable_debugging, want.enable_debugging);
}
END_TEST

static void refused(const char *conf, const char *detail)
{
    setenv("MEMPOOL_CONF", conf, 1);
    void *p = NULL;
    ck_status(mp_allocate(NULL, 100, &p), MP_ERR_INVALID_ARGUMENT);
    ck_detail_has("MEMPOOL_CONF");
    ck_detail_has(detail);
    mp_pool *h;
    ck_status(mp_registry_get_cpu_pool("default", &h), MP_ERR_INVALID_ARGUMENT);
    ck_status(mp_registry_find("default", &h), MP_ERR_NOT_FOUND); /* never made */
}

START_TEST(conf_bad_values_refuse_the_default_pool)
{
    refused("max_size=lots", "'lots' for key 'max_size'");
}
END_TEST

START_TEST(conf_unknown_key_is_named)
{
    refused("preset=default,colour=blue", "unknown key 'colour'");
}
END_TEST

START_TEST(conf_bad_preset_and_bool)
{
    refused("preset=turbo", "'turbo' for key 'preset'");
}
END_TEST

START_TEST(conf_bad_bool)
{
    refused("debug=maybe", "'maybe' for key 'debug'");
}
END_TEST

START_TEST(conf_invalid_combination_is_refused)
{
    refused("alignment=3", "MEMPOOL_CONF=\"alignment=3\"");
}
END_TEST

static Suite *observe_suite(void)
{
    Suite *s = suite_create("observe");
    TCase *t = tcase_create("print");
    tcase_add_test(t, print_text_lists_every_pool_with_classes_and_chunks);
    tcase_add_test(t, print_json_is_one_object_with_stats_and_snapshot);
    tcase_add_test(t, print_with_no_pool_and_bad_options);
    tcase_add_test(t, the_callback_may_destroy_a_pool_and_call_back_in);
    tcase_add_test(t, registry_json_includes_pools_of_mp_pool_create);
    tcase_add_test(t, show_stats_prints_at_exit_only_when_asked);
    suite_add_tcase(s, t);
    TCase *c = tcase_create("conf");
    tcase_add_test(c, conf_configures_the_default_pool);
    tcase_add_test(c, conf_preset_applies_first_wherever_it_stands);
    tcase_add_test(c, conf_without_the_variable_is_the_default_preset);
    tcase_add_test(c, conf_bad_values_refuse_the_default_pool);
    tcase_add_test(c, conf_unknown_key_is_named);
    tcase_add_test(c, conf_bad_preset_and_bool);
    tcase_add_test(c, conf_bad_bool);
    tcase_add_test(c, conf_invalid_combination_is_refused);
    suite_add_tcase(s, c);
    return s;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "exit-child") == 0)
        return exit_child();
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return EXIT_FAILURE;
    self[n] = 0;
    SRunner *sr = srunner_create(observe_suite());
    srunner_set_fork_status(sr, CK_FORK); /* each test its own process: a fresh registry */
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

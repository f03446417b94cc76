/* SQLite on a pool: every allocation SQLite makes goes to one mempool pool
 * through sqlite3_mem_methods, installed before sqlite3_initialize.
 *
 *   build/examples/sqlite_mem [ROWS]     (default 2000)
 *
 * Runs an insert / index / update / delete / query workload on an in-memory
 * database, prints a checksum of every query result (the same on any
 * allocator), then shuts SQLite down and shows that the pool holds no live
 * block: SQLite frees everything at sqlite3_shutdown.
 *
 * The methods take no context pointer except in xInit and xShutdown (SQLite's
 * interface), so the pool lives in one static; xInit receives it through
 * pAppData. xRealloc is mp_pool_reallocate (in place when the block has room)
 * and xSize is mp_pool_usable_size. bench/clients/sqlite_client.c includes
 * this file with MP_SQLITE_MEM_NO_MAIN to measure the same methods and
 * workload on other allocators. */
#define _POSIX_C_SOURCE 200809L
#include <mempool/mempool.h>

#include <sqlite3.h>

#include <inttypes.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the memory methods ---------------------------------------------------- */

static mp_pool *mp_sqlite_pool;
static size_t mp_sqlite_align = 16;

static void *mp_sqlite_malloc(int n)
{
    void *p = NULL;
    if (n <= 0 || mp_pool_allocate(mp_sqlite_pool, (size_t)n, &p) != MP_OK)
        return NULL;
    return p;
}

static void mp_sqlite_free(void *p)
{
    if (p != NULL)
        (void)mp_pool_deallocate(mp_sqlite_pool, p);
}

/* SQLite calls it with p != NULL and n > 0; on failure the old block stays. */
static void *mp_sqlite_realloc(void *p, int n)
{
    void *out = NULL;
    if (n <= 0 || mp_pool_reallocate(mp_sqlite_pool, p, (size_t)n, &out) != MP_OK)
        return NULL;
    return out;
}

static int mp_sqlite_size(void *p)
{
    size_t n = 0;
    if (p == NULL || mp_pool_usable_size(mp_sqlite_pool, p, &n) != MP_OK)
        return 0;
    return n > INT_MAX ? INT_MAX : (int)n;
}

/* What a request costs at least: blocks start at the pool's alignment. */
static int mp_sqlite_roundup(int n)
{
    size_t a = mp_sqlite_align;
    if (n <= 0 || (size_t)n > (size_t)INT_MAX - a)
        return n;
    return (int)(((size_t)n + a - 1) & ~(a - 1));
}

static int mp_sqlite_init(void *app)
{
    mp_config c = MP_CONFIG_INIT;
    mp_sqlite_pool = app;
    if (mp_pool_get_config(mp_sqlite_pool, &c) != MP_OK)
        return SQLITE_ERROR;
    mp_sqlite_align = c.alignment;
    return SQLITE_OK;
}

/* The pool belongs to the caller, who may look at it after sqlite3_shutdown. */
static void mp_sqlite_shutdown(void *app)
{
    (void)app;
}

/* Makes pool SQLite's allocator; call before sqlite3_initialize (or after
 * sqlite3_shutdown). The pool must be thread_safe if SQLite is used from
 * several threads, and must outlive SQLite's use of it. */
static int mp_sqlite_use_pool(mp_pool *pool)
{
    static sqlite3_mem_methods m = {mp_sqlite_malloc, mp_sqlite_free,  mp_sqlite_realloc, mp_sqlite_size,
                                    mp_sqlite_roundup, mp_sqlite_init, mp_sqlite_shutdown, NULL};
    m.pAppData = pool;
    return sqlite3_config(SQLITE_CONFIG_MALLOC, &m);
}

/* ---- the workload ------------------------------------------------------------ */

typedef struct {
    sqlite3 *db;
    uint64_t hash; /* FNV-1a over every result value */
    uint64_t rng;
    const char *error;
} workload;

static uint32_t wl_rand(workload *w)
{
    w->rng = w->rng * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(w->rng >> 33);
}

static void wl_hash(workload *w, const void *data, size_t n)
{
    const unsigned char *b = data;
    for (size_t i = 0; i < n; i++)
        w->hash = (w->hash ^ b[i]) * 1099511628211ull;
}

static int wl_exec(workload *w, const char *sql)
{
    if (w->error)
        return 0;
    if (sqlite3_exec(w->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        w->error = sqlite3_errmsg(w->db);
    return w->error == NULL;
}

static sqlite3_stmt *wl_prepare(workload *w, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (!w->error && sqlite3_prepare_v2(w->db, sql, -1, &st, NULL) != SQLITE_OK)
        w->error = sqlite3_errmsg(w->db);
    return st;
}

/* Steps st to the end, hashing every column of every row; resets it. */
static void wl_drain(workload *w, sqlite3_stmt *st)
{
    int rc;
    if (w->error || st == NULL)
        return;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        for (int i = 0; i < sqlite3_column_count(st); i++) {
            const unsigned char *t = sqlite3_column_text(st, i);
            wl_hash(w, t ? (const char *)t : "\1null", t ? (size_t)sqlite3_column_bytes(st, i) : 5);
            wl_hash(w, "|", 1);
        }
        wl_hash(w, "\n", 1);
    }
    if (rc != SQLITE_DONE)
        w->error = sqlite3_errmsg(w->db);
    sqlite3_reset(st);
}

static void wl_query(workload *w, const char *sql)
{
    sqlite3_stmt *st = wl_prepare(w, sql);
    wl_drain(w, st);
    sqlite3_finalize(st);
}

static void wl_name(workload *w, char *name, size_t cap)
{
    snprintf(name, cap, "item-%08" PRIx32, wl_rand(w) % 0x10000000u);
}

/* The workload on an open database: rows rows inserted in transactions of
 * 1000, two indexes, updates that grow and rename rows, deletes, then
 * grouped, ranged, sorted, joined and point queries. Returns the checksum,
 * or 0 with *error set. */
static uint64_t sqlite_workload(sqlite3 *db, int rows, const char **error)
{
    workload w = {db, 1469598103934665603ull, 42, NULL};
    char name[32], body[320];
    wl_exec(&w, "CREATE TABLE items(id INTEGER PRIMARY KEY, name TEXT, category INTEGER, qty INTEGER, body TEXT);"
                "CREATE TABLE cats(id INTEGER PRIMARY KEY, label TEXT)");
    sqlite3_stmt *ins = wl_prepare(&w, "INSERT INTO items(name, category, qty, body) VALUES(?, ?, ?, ?)");
    for (int i = 0; i < rows && !w.error; i++) {
        if (i % 1000 == 0)
            wl_exec(&w, "BEGIN");
        wl_name(&w, name, sizeof name);
        size_t len = 10 + wl_rand(&w) % 300;
        for (size_t k = 0; k < len; k++)
            body[k] = (char)('a' + wl_rand(&w) % 26);
        sqlite3_bind_text(ins, 1, name, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(ins, 2, (int)(wl_rand(&w) % 97));
        sqlite3_bind_int(ins, 3, (int)(wl_rand(&w) % 1000));
        sqlite3_bind_text(ins, 4, body, (int)len, SQLITE_TRANSIENT);
        if (sqlite3_step(ins) != SQLITE_DONE)
            w.error = sqlite3_errmsg(db);
        sqlite3_reset(ins);
        if (i % 1000 == 999 || i == rows - 1)
            wl_exec(&w, "COMMIT");
    }
    sqlite3_finalize(ins);
    wl_exec(&w, "WITH RECURSIVE c(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM c WHERE x < 96)"
                " INSERT INTO cats SELECT x, 'category ' || (x * 37 % 97) FROM c");
    wl_exec(&w, "CREATE INDEX items_name ON items(name); CREATE INDEX items_cat ON items(category, qty)");
    wl_exec(&w, "BEGIN;"
                "UPDATE items SET body = body || substr(name, 6), qty = qty + 1 WHERE category % 7 = 3;"
                "UPDATE items SET name = upper(name) WHERE id % 5 = 0;"
                "DELETE FROM items WHERE qty % 13 = 0;"
                "COMMIT");
    wl_query(&w, "SELECT category, count(*), sum(qty), sum(length(body)) FROM items GROUP BY category"
                 " ORDER BY category");
    wl_query(&w, "SELECT name, qty FROM items WHERE name BETWEEN 'item-04' AND 'item-05' ORDER BY name");
    wl_query(&w, "SELECT length(group_concat(body, '')), count(*) FROM"
                 " (SELECT body FROM items ORDER BY qty DESC, id LIMIT 100000)");
    wl_query(&w, "SELECT c.label, count(*), max(i.qty) FROM items i JOIN cats c ON c.id = i.category"
                 " GROUP BY c.label ORDER BY 2 DESC, 1 LIMIT 10");
    wl_query(&w, "SELECT substr(body, 1, 2) AS k, count(*) FROM items GROUP BY k ORDER BY 2 DESC, 1 LIMIT 20");
    sqlite3_stmt *get = wl_prepare(&w, "SELECT qty, length(body) FROM items WHERE name = ?");
    w.rng = 42; /* the insert's names again, in order: most rows are still there */
    for (int i = 0; i < rows && !w.error; i++) {
        wl_name(&w, name, sizeof name);
        uint32_t skip = 10 + wl_rand(&w) % 300 + 2; /* the insert's body, category and qty draws */
        for (uint32_t k = 0; k < skip; k++)
            wl_rand(&w);
        sqlite3_bind_text(get, 1, name, -1, SQLITE_STATIC);
        wl_drain(&w, get);
    }
    sqlite3_finalize(get);
    wl_exec(&w, "DROP INDEX items_name; DROP TABLE cats; VACUUM");
    wl_query(&w, "SELECT count(*), sum(qty) FROM items");
    *error = w.error;
    return w.error ? 0 : w.hash;
}

/* ---- the example --------------------------------------------------------------- */

#ifndef MP_SQLITE_MEM_NO_MAIN
#define CHECK(call)                                                                                \
    do {                                                                                           \
        mp_status s_ = (call);                                                                     \
        if (s_ != MP_OK) {                                                                         \
            fprintf(stderr, "%s failed: %s: %s\n", #call, mp_status_name(s_), mp_last_error_message()); \
            return 1;                                                                              \
        }                                                                                          \
    } while (0)

int main(int argc, char **argv)
{
    int rows = argc > 1 ? atoi(argv[1]) : 2000;
    mp_config cfg = MP_CONFIG_INIT;
    mp_pool *pool = NULL;
    CHECK(mp_config_default_cpu(&cfg)); /* thread_safe: SQLite may call from any thread */
    CHECK(mp_pool_create("sqlite", MP_MEMORY_CPU, &cfg, &pool));

    if (mp_sqlite_use_pool(pool) != SQLITE_OK || sqlite3_initialize() != SQLITE_OK) {
        fprintf(stderr, "sqlite_mem: could not install the pool as SQLite's allocator\n");
        return 1;
    }
    sqlite3 *db = NULL;
    if (sqlite3_open(":memory:", &db) != SQLITE_OK) {
        fprintf(stderr, "sqlite_mem: sqlite3_open: %s\n", sqlite3_errmsg(db));
        return 1;
    }
    const char *error = NULL;
    uint64_t sum = sqlite_workload(db, rows, &error);
    if (error) {
        fprintf(stderr, "sqlite_mem: %s\n", error);
        return 1;
    }
    mp_stats s = MP_STATS_INIT;
    CHECK(mp_pool_get_stats(pool, &s));
    printf("sqlite_mem: %d rows, checksum %016" PRIx64 "\n", rows, sum);
    printf("sqlite_mem: %" PRIu64 " blocks live in the pool, %" PRIu64 " allocations so far, peak %" PRIu64
           " bytes\n", s.live_allocations, s.allocation_count, s.peak_usage);
    sqlite3_close(db);
    sqlite3_shutdown();

    CHECK(mp_pool_get_stats(pool, &s));
    CHECK(mp_pool_check(pool));
    printf("sqlite_mem: %" PRIu64 " live blocks after sqlite3_shutdown\n", s.live_allocations);
    CHECK(mp_pool_destroy(pool));
    return s.live_allocations == 0 ? 0 : 1;
}
#endif

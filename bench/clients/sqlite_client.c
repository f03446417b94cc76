/* Real client: SQLite running examples/sqlite_mem.c's workload (inserts in
 * transactions, two indexes, updates, deletes, grouped, ranged, sorted,
 * joined and point queries, VACUUM) on an in-memory database, on the
 * process's malloc (SQLite's default memory methods) or on a mempool pool
 * through that example's sqlite3_mem_methods. Usage and result line:
 * client.h. SCALE 1 is 150,000 rows. */
#include "client.h"

#define MP_SQLITE_MEM_NO_MAIN
#include "../../examples/sqlite_mem.c"

int main(int argc, char **argv)
{
    client_run r = client_args("sqlite", argc, argv);
    int rows = (int)(150000 * r.scale + 0.5);
    client_start(&r);
    if (r.pool && mp_sqlite_use_pool(r.pool) != SQLITE_OK) {
        fprintf(stderr, "sqlite_client: SQLITE_CONFIG_MALLOC was refused\n");
        return 1;
    }
    sqlite3 *db = NULL;
    if (sqlite3_initialize() != SQLITE_OK || sqlite3_open(":memory:", &db) != SQLITE_OK) {
        fprintf(stderr, "sqlite_client: cannot open a database\n");
        return 1;
    }
    const char *error = NULL;
    uint64_t checksum = sqlite_workload(db, rows > 0 ? rows : 1, &error);
    if (error) {
        fprintf(stderr, "sqlite_client: %s\n", error);
        return 1;
    }
    sqlite3_close(db);
    sqlite3_shutdown();
    return client_finish(&r, checksum);
}

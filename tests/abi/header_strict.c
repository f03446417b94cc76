/* The public header as the strictest users compile it (issue 23): C99 with
 * -pedantic, and C++11 to C++23 with -Wextra (tests/CMakeLists.txt compiles
 * this file both ways, warnings as errors). Uses what the header defines
 * beyond declarations: the initialisers and the inline thread cache. */
#include <mempool/mempool.h>

int mempool_header_strict(void);

int mempool_header_strict(void)
{
    mp_config c = MP_CONFIG_INIT;
    mp_stats s = MP_STATS_INIT;
    mp_memory_snapshot m = MP_MEMORY_SNAPSHOT_INIT;
    mp_pool *pool = 0;
    void *p = 0;
    if (mp_config_default_cpu(&c) != MP_OK || mp_pool_create("strict", MP_MEMORY_CPU, &c, &pool) != MP_OK)
        return 1;
    if (mp_pool_allocate(pool, 64, &p) == MP_OK)
        mp_pool_deallocate(pool, p);
    mp_pool_get_stats(pool, &s);
    mp_pool_memory_snapshot(pool, MP_SNAPSHOT_NOW, &m, 0, 0, 0, 0);
    mp_pool_destroy(pool);
    return (int)(s.struct_size != sizeof s || m.struct_size != sizeof m);
}

/* Run under Valgrind by tests/tools/valgrind.sh: a write into a freed pool
 * block, which memcheck must report as an invalid write (the pool marks
 * freed blocks no-access with VALGRIND_FREELIKE_BLOCK). */
#include <mempool/mempool.h>

int main(void)
{
    mp_config c = MP_CONFIG_INIT;
    mp_config_fixed_size_cpu(&c, 64);
    mp_pool *p = NULL;
    void *b = NULL;
    if (mp_pool_create("uaf", MP_MEMORY_CPU, &c, &p) != MP_OK || mp_pool_allocate(p, 64, &b) != MP_OK)
        return 2;
    mp_pool_deallocate(p, b);
    ((volatile char *)b)[10] = 2;
    mp_pool_destroy(p);
    return 0;
}

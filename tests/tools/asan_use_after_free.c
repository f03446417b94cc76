/* Built only under AddressSanitizer: writes into a pool block after freeing
 * it. The test passes when ASan reports the write (the pool poisons freed
 * blocks), and fails if the program finishes quietly. */
#include <mempool/mempool.h>
#include <stdio.h>

int main(void)
{
    mp_config c = MP_CONFIG_INIT;
    mp_config_default_cpu(&c);
    mp_pool *p = NULL;
    void *b = NULL;
    if (mp_pool_create("uaf", MP_MEMORY_CPU, &c, &p) != MP_OK || mp_pool_allocate(p, 64, &b) != MP_OK)
        return 2;
    ((volatile char *)b)[10] = 1; /* live: fine */
    mp_pool_deallocate(p, b);
    ((volatile char *)b)[10] = 2; /* freed: ASan must stop here */
    puts("the use-after-free went unnoticed");
    return 0;
}

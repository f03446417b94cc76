/* A program that finds mempool the way users do: find_package or pkg-config. */
#include <mempool/mempool.h>
#include <stdio.h>

int main(void)
{
    if (mp_version() != MP_VERSION_NUMBER) {
        fprintf(stderr, "header %d, library %u\n", MP_VERSION_NUMBER, mp_version());
        return 1;
    }
    void *p = NULL;
    if (mp_allocate(NULL, 64, &p) != MP_OK || mp_deallocate(NULL, p) != MP_OK) {
        fprintf(stderr, "%s\n", mp_last_error_message());
        return 1;
    }
    /* The installed mempool_tcache.h: the inline calls on a checked cache. */
    mp_pool *pool = NULL;
    mp_tcache *tc = NULL;
    if (mp_registry_get_cpu_pool("default", &pool) != MP_OK || MP_POOL_THREAD_CACHE(pool, &tc) != MP_OK ||
        mp_tcache_allocate(tc, 64, &p) != MP_OK || mp_tcache_deallocate(tc, p) != MP_OK) {
        fprintf(stderr, "%s\n", mp_last_error_message());
        return 1;
    }
    puts("consumer ok");
    return 0;
}

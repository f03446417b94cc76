/* Compiles <mempool/mempool_tcache.h> on its own, as C and as C++, with
 * warnings as errors (ctest abi_tcache_header_alone_*): the inline thread
 * cache is real code, checked whenever it is edited. The functions below
 * make the compiler emit the inline calls, asm included. */
#include <mempool/mempool_tcache.h>

#ifdef __cplusplus
extern "C" {
#endif
mp_status mp_test_tc_alloc(mp_tcache *cache, size_t size, void **out_ptr);
mp_status mp_test_tc_free(mp_tcache *cache, void *ptr);
#ifdef __cplusplus
}
#endif

mp_status mp_test_tc_alloc(mp_tcache *cache, size_t size, void **out_ptr)
{
    return mp_tcache_allocate(cache, size, out_ptr);
}

mp_status mp_test_tc_free(mp_tcache *cache, void *ptr)
{
    return mp_tcache_deallocate(cache, ptr);
}

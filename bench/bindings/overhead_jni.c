/* The C side of the Java overhead benchmark: the same allocate+free loop,
 * run in C on the same pool inside the same JVM process. */
#define _POSIX_C_SOURCE 200809L
#include <jni.h>
#include <mempool/mempool.h>
#include <time.h>

static double now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

JNIEXPORT jdouble JNICALL Java_org_mempool_bench_OverheadBench_cPairs(JNIEnv *env, jclass cls, jlong pool, jlong size,
                                                                      jlong n)
{
    (void)env;
    (void)cls;
    mp_pool *p = (mp_pool *)(intptr_t)pool;
    double t0 = now_ns();
    for (jlong i = 0; i < n; i++) {
        void *b;
        if (mp_pool_allocate(p, (size_t)size, &b) != MP_OK || mp_pool_deallocate(p, b) != MP_OK)
            return -1.0;
    }
    return (now_ns() - t0) / (double)n;
}

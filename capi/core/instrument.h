/* The tools seam: tells AddressSanitizer and Valgrind which bytes of a
 * pool's host memory are live blocks, so that a user's use-after-free or
 * overflow inside pool memory is reported by them as it would be for malloc.
 * A new chunk is all no-access; allocation opens the requested bytes, a free
 * closes the block again. The allocator itself never touches the memory it
 * manages (its bookkeeping is out of band), so it never trips the tools.
 * Debug pools rely on their own guard bytes instead, and GPU memory is not
 * the host's to describe. Without either tool every hook is empty; under
 * Valgrind the client requests cost a few instructions when it is absent. */
#ifndef MEMPOOL_INSTRUMENT_H
#define MEMPOOL_INSTRUMENT_H

#include "core/core.h"

#if defined(__SANITIZE_ADDRESS__)
#define MP__ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MP__ASAN 1
#endif
#endif
#ifdef MP__ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/lsan_interface.h>
#define MP__POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define MP__UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define MP__POISON(p, n) ((void)(p), (void)(n))
#define MP__UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#if defined(__has_include)
#if __has_include(<valgrind/memcheck.h>) && !defined(MEMPOOL_NO_VALGRIND)
#include <valgrind/memcheck.h>
#define MP__VALGRIND 1
#endif
#endif

static inline void mp__tool_chunk_added(void *base, size_t size)
{
    MP__POISON(base, size);
#ifdef MP__VALGRIND
    VALGRIND_MAKE_MEM_NOACCESS(base, size);
#endif
}

static inline void mp__tool_chunk_removed(void *base, size_t size)
{
    MP__UNPOISON(base, size); /* the range goes back to the OS or CUDA clean */
#ifdef MP__VALGRIND
    VALGRIND_MAKE_MEM_UNDEFINED(base, size);
#endif
}

static inline void mp__tool_alloc(void *p, size_t size)
{
    MP__UNPOISON(p, size);
#ifdef MP__VALGRIND
    VALGRIND_MALLOCLIKE_BLOCK(p, size, 0, 0);
#endif
}

static inline void mp__tool_free(void *p, size_t size)
{
    MP__POISON(p, size);
#ifdef MP__VALGRIND
    VALGRIND_FREELIKE_BLOCK(p, 0);
#endif
}

/* A live block of room bytes resized in place to size bytes. The size the
 * tools were told may be in no record (an untracked fixed block), so the
 * block is closed whole and reopened; Valgrind marks the reopened bytes
 * defined, kept ones included: a grown tail's uninitialised reads go
 * unreported, and nothing is reported falsely. */
static inline void mp__tool_resize(void *p, size_t room, size_t size)
{
    MP__POISON(p, room);
    MP__UNPOISON(p, size);
#ifdef MP__VALGRIND
    VALGRIND_FREELIKE_BLOCK(p, 0);
    VALGRIND_MALLOCLIKE_BLOCK(p, size, 0, 1);
#endif
}

/* The allocator copies n bytes out of a live block that it frees next (a
 * moving reallocate copies the whole block when no record says how much
 * of it the caller asked for): begin opens them, end closes them again. */
static inline void mp__tool_read_begin(void *p, size_t n)
{
    MP__UNPOISON(p, n);
#ifdef MP__VALGRIND
    VALGRIND_DISABLE_ADDR_ERROR_REPORTING_IN_RANGE(p, n);
#endif
}

static inline void mp__tool_read_end(void *p, size_t n)
{
    MP__POISON(p, n);
#ifdef MP__VALGRIND
    VALGRIND_ENABLE_ADDR_ERROR_REPORTING_IN_RANGE(p, n);
#endif
}

/* Memory the library maps for its own bookkeeping (the handle slots, which
 * point at heap blocks): a root the leak checkers must scan. */
static inline void mp__tool_root(void *base, size_t size)
{
#ifdef MP__ASAN
    __lsan_register_root_region(base, size);
#else
    (void)base;
    (void)size;
#endif
}

/* Whether Valgrind is watching (its per-block bookkeeping is then worth a walk). */
static inline bool mp__tool_valgrind(void)
{
#ifdef MP__VALGRIND
    return RUNNING_ON_VALGRIND != 0;
#else
    return false;
#endif
}

/* Whether any tool wants to hear about blocks. */
static inline bool mp__tools_on(void)
{
#ifdef MP__ASAN
    return true;
#else
    return mp__tool_valgrind();
#endif
}

#endif

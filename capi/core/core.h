/* Internal helpers shared by every capi file: failure reporting, size
 * arithmetic that cannot overflow, and the request limit. Nothing here is
 * exported; internal names start with mp__. */
#ifndef MEMPOOL_CORE_H
#define MEMPOOL_CORE_H

#include <mempool/mempool.h>

#include <stdarg.h>
#include <stdint.h>
#include <string.h>

/* The largest request any pool accepts: far beyond any machine, and small
 * enough that rounding, guard bytes and chunk headers never overflow. */
#define MP__MAX_REQUEST ((size_t)1 << 48)

/* A pool as the library sees it (pool.h); an mp_pool * is only its handle. */
typedef struct mp__pool mp__pool;

#define MP__LIKELY(x) __builtin_expect(!!(x), 1)
#define MP__UNLIKELY(x) __builtin_expect(!!(x), 0)
#define MP__HOT_ENTRY __attribute__((aligned(64))) /* a hot exported function: its own cache line */

/* MP__ASSERT(cond): an internal invariant (what a file's opening comment
 * states), never a check of the caller's input, which gets a status. Built
 * with MEMPOOL_ASSERTS (the CMake option: on for Debug and the asan and tsan
 * presets, off for the default preset and release builds), a false cond
 * prints where and aborts; without it cond is not evaluated (only
 * type-checked), so the released library never aborts and its fast paths
 * are unchanged. */
#if defined(MEMPOOL_ASSERTS) && MEMPOOL_ASSERTS
#define MP__ASSERT(cond) \
    (MP__LIKELY(cond) ? (void)0 : mp__assert_fail(#cond, __FILE__, __LINE__, __func__))
_Noreturn void mp__assert_fail(const char *cond, const char *file, int line, const char *func);
#else
#define MP__ASSERT(cond) ((void)sizeof(!(cond)))
#endif

/* Records status and a printf-style detail for mp_last_error*() and returns
 * the status, so failure paths read `return mp__fail(...)`. */
mp_status mp__fail(mp_status status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The same, said of the failure recorded last: the detail becomes the
 * context fmt formats, then ": " and the previous detail (the cause). */
mp_status mp__fail_cause(mp_status status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static inline int mp__is_pow2(size_t x) { return x != 0 && (x & (x - 1)) == 0; }

/* Rounds x up to a multiple of the power of two a; the caller keeps x below
 * MP__MAX_REQUEST-scale values so this cannot wrap. */
static inline size_t mp__align_up(size_t x, size_t a) { return (x + a - 1) & ~(a - 1); }

static inline uintptr_t mp__addr(const void *p) { return (uintptr_t)p; }

/* Returns arr (of *cap elements of elem bytes) grown to hold at least need,
 * doubling; on lack of memory returns arr untouched and sets *ok false:
 *     v = mp__grow(v, &cap, n + 1, sizeof *v, &ok); */
void *mp__grow(void *arr, size_t *cap, size_t need, size_t elem, bool *ok);

/* A growable list of pointers, in the order they were pushed: each
 * strategy's list of its chunks' records. */
typedef struct mp__ptrs {
    void **v;
    size_t n, cap;
} mp__ptrs;

/* false (the list untouched) for want of memory. */
static inline bool mp__ptrs_push(mp__ptrs *l, void *p)
{
    bool ok;
    l->v = (void **)mp__grow(l->v, &l->cap, l->n + 1, sizeof *l->v, &ok);
    if (ok)
        l->v[l->n++] = p;
    return ok;
}

/* Makes room for one more push that then cannot fail. */
static inline bool mp__ptrs_reserve(mp__ptrs *l)
{
    bool ok;
    l->v = (void **)mp__grow(l->v, &l->cap, l->n + 1, sizeof *l->v, &ok);
    return ok;
}

/* Removes p, keeping the order of the rest. */
static inline void mp__ptrs_remove(mp__ptrs *l, const void *p)
{
    for (size_t i = 0; i < l->n; i++) {
        if (l->v[i] == p) {
            memmove(&l->v[i], &l->v[i + 1], (l->n - i - 1) * sizeof *l->v);
            l->n--;
            return;
        }
    }
}

/* The index of the first element of v[0..n) whose base is above a, for
 * elements of stride bytes sorted by a uintptr_t base at their start: the
 * library's one binary search (chunk spans, the owner table). */
static inline size_t mp__upper(const void *v, size_t n, size_t stride, uintptr_t a)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (*(const uintptr_t *)(const void *)((const char *)v + mid * stride) <= a)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Index of the highest set bit; x != 0. */
static inline unsigned mp__fls(uint64_t x) { return 63u - (unsigned)__builtin_clzll(x); }
static inline unsigned mp__ffs(uint64_t x) { return (unsigned)__builtin_ctzll(x); }

#endif

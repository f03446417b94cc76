/* libFuzzer harness: the input is a program of pool operations run against
 * a fixed-size and a variable-size pool and a model of both (live blocks,
 * their sizes and contents, the counters). After each operation the pools
 * must agree with the model: no two live blocks overlap, contents survive,
 * stats are exact, and every bad call (size 0, too big for the block, double
 * free, foreign or interior pointer) is refused with its status and changes
 * nothing. Any disagreement aborts, which libFuzzer reports.
 *
 * Built with clang -fsanitize=fuzzer,address,undefined (preset asan) and,
 * everywhere, with replay.c as a plain program that runs the seed corpus. */
#include <mempool/mempool.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LIVE 128
#define FREED 32

#define EXPECT(cond)                                                                               \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_pool: %s:%d: %s (%s)\n", __FILE__, __LINE__, #cond,              \
                    mp_last_error_message());                                                      \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

typedef struct block {
    unsigned char *p;
    size_t size;
    unsigned char fill;
} block;

typedef struct model {
    mp_pool *pool;
    bool fixed;
    size_t block_size, max_request;
    block live[MAX_LIVE];
    int nlive;
    void *freed[FREED];
    int nfreed;
    uint64_t used, allocs, frees;
} model;

typedef struct input {
    const uint8_t *data;
    size_t size, at;
} input;

static unsigned next8(input *in) { return in->at < in->size ? in->data[in->at++] : 0; }
static unsigned next16(input *in) { return next8(in) | next8(in) << 8; }

static void expect_stats(const model *m)
{
    mp_stats s = MP_STATS_INIT;
    EXPECT(mp_pool_get_stats(m->pool, &s) == MP_OK);
    EXPECT(s.live_allocations == (uint64_t)m->nlive);
    EXPECT(s.current_used == m->used);
    EXPECT(s.allocation_count == m->allocs);
    EXPECT(s.deallocation_count == m->frees);
}

static bool overlaps(const model *pools, const unsigned char *p, size_t size)
{
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < pools[k].nlive; i++) {
            const block *b = &pools[k].live[i];
            if (p < b->p + b->size && b->p < p + size)
                return true;
        }
    return false;
}

static bool is_live(const model *m, const void *p)
{
    for (int i = 0; i < m->nlive; i++)
        if (m->live[i].p == p)
            return true;
    return false;
}

/* A refused call: its status, and the pool exactly as the model says. */
static void refused(const model *m, mp_status got, mp_status want)
{
    EXPECT(got == want);
    EXPECT(mp_last_error() == want && mp_last_error_message()[0] != 0);
    expect_stats(m);
}

static void op_allocate(model *pools, model *m, input *in)
{
    size_t size = next16(in) % (m->max_request + 1);
    void *p = (void *)1;
    mp_status s = mp_pool_allocate(m->pool, size, &p);
    if (size == 0 || (m->fixed && size > m->block_size)) {
        EXPECT(p == NULL);
        refused(m, s, MP_ERR_INVALID_ARGUMENT);
        return;
    }
    if (s == MP_ERR_OUT_OF_MEMORY) { /* max_size reached: nothing changed */
        EXPECT(p == NULL);
        expect_stats(m);
        return;
    }
    if (m->nlive == MAX_LIVE) { /* the model is full: give it back */
        EXPECT(s == MP_OK && mp_pool_deallocate(m->pool, p) == MP_OK);
        m->allocs++;
        m->frees++;
        return;
    }
    EXPECT(s == MP_OK && p != NULL && (uintptr_t)p % 16 == 0);
    EXPECT(!overlaps(pools, p, size));
    block *b = &m->live[m->nlive++];
    *b = (block){p, size, (unsigned char)next8(in)};
    memset(b->p, b->fill, size);
    m->used += size;
    m->allocs++;
}

static void op_free(model *m, input *in)
{
    if (m->nlive == 0)
        return;
    int i = (int)(next8(in) % (unsigned)m->nlive);
    block b = m->live[i];
    for (size_t k = 0; k < b.size; k++)
        EXPECT(b.p[k] == b.fill);
    EXPECT(mp_pool_deallocate(m->pool, b.p) == MP_OK);
    m->live[i] = m->live[--m->nlive];
    m->freed[m->nfreed++ % FREED] = b.p;
    m->used -= b.size;
    m->frees++;
}

static void op_bad_free(model *pools, model *m, input *in)
{
    unsigned kind = next8(in) % 4;
    int local;
    if (kind == 0 && m->nfreed) { /* double free, unless the address came back */
        void *p = m->freed[next8(in) % (unsigned)(m->nfreed < FREED ? m->nfreed : FREED)];
        if (!is_live(m, p))
            refused(m, mp_pool_deallocate(m->pool, p), MP_ERR_INVALID_POINTER);
    } else if (kind == 1 && pools[m == pools].nlive) { /* the other pool's block */
        const model *o = &pools[m == pools];
        refused(m, mp_pool_deallocate(m->pool, o->live[next8(in) % (unsigned)o->nlive].p), MP_ERR_INVALID_POINTER);
    } else if (kind == 2 && m->nlive) { /* inside a live block */
        const block *b = &m->live[next8(in) % (unsigned)m->nlive];
        if (b->size > 1)
            refused(m, mp_pool_deallocate(m->pool, b->p + 1 + next8(in) % (b->size - 1)), MP_ERR_INVALID_POINTER);
    } else if (kind == 3) { /* not heap memory at all */
        refused(m, mp_pool_deallocate(m->pool, &local), MP_ERR_INVALID_POINTER);
        refused(m, mp_pool_deallocate(m->pool, NULL), MP_ERR_INVALID_POINTER);
    }
}

static void op_reset(model *m)
{
    EXPECT(mp_pool_reset(m->pool) == MP_OK);
    m->frees += (uint64_t)m->nlive;
    m->nlive = 0;
    m->nfreed = 0;
    m->used = 0;
}

static void make(model *m, bool fixed)
{
    memset(m, 0, sizeof *m);
    mp_config c = MP_CONFIG_INIT;
    if (fixed)
        mp_config_fixed_size_cpu(&c, 96);
    else
        mp_config_default_cpu(&c);
    c.initial_size = 4096;
    c.max_size = fixed ? 64 * 1024 : 256 * 1024;
    c.thread_safe = false;
    m->fixed = fixed;
    m->block_size = 96;
    m->max_request = fixed ? 130 : 9000;
    EXPECT(mp_pool_create(fixed ? "fuzz-fixed" : "fuzz-variable", MP_MEMORY_CPU, &c, &m->pool) == MP_OK);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static model pools[2];
    input in = {data, size, 0};
    make(&pools[0], true);
    make(&pools[1], false);
    while (in.at < in.size) {
        unsigned op = next8(&in);
        model *m = &pools[op & 1];
        switch ((op >> 1) % 8) {
        case 0: case 1: case 2: op_allocate(pools, m, &in); break;
        case 3: case 4: op_free(m, &in); break;
        case 5: op_bad_free(pools, m, &in); break;
        case 6: if (next8(&in) < 16) op_reset(m); break;
        case 7: EXPECT(mp_pool_check(m->pool) == MP_OK); break;
        }
        expect_stats(m);
    }
    for (int k = 0; k < 2; k++) {
        EXPECT(mp_pool_check(pools[k].pool) == MP_OK);
        for (int i = 0; i < pools[k].nlive; i++)
            for (size_t j = 0; j < pools[k].live[i].size; j++)
                EXPECT(pools[k].live[i].p[j] == pools[k].live[i].fill);
        EXPECT(mp_pool_destroy(pools[k].pool) == MP_OK);
    }
    return 0;
}

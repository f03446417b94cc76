/* The thread suites' shared worker (test_threads, test_lockfree): threads
 * allocate, stamp, check and free blocks of one pool at random, optionally
 * trading blocks through a mailbox so that most frees happen on a thread
 * other than the allocating one. A block handed out twice gets two holders,
 * and one of them sees the other's stamp. */
#ifndef MEMPOOL_TEST_HAMMER_H
#define MEMPOOL_TEST_HAMMER_H

#include "mp_test.h"

#include <pthread.h>
#include <stdatomic.h>

enum { MP_HAMMER_THREADS = 4, MP_HAMMER_KEEP_MAX = 64, MP_HAMMER_SLOTS = MP_HAMMER_THREADS * 8 };

/* Blocks traded between threads; a block in a slot is stamped 0x20. */
typedef struct mp_mailbox {
    pthread_mutex_t m;
    unsigned char *slot[MP_HAMMER_SLOTS];
    size_t len[MP_HAMMER_SLOTS];
} mp_mailbox;

typedef struct mp_hammer {
    mp_pool *pool;
    mp_mailbox *box;  /* NULL: no trading */
    int rounds, keep; /* keep: blocks a thread holds at most, up to MP_HAMMER_KEEP_MAX */
    size_t max_size;  /* requests of 1..max_size bytes */
    size_t stamp;     /* bytes stamped at the start of a block (SIZE_MAX: all) */
    mp_status (*alloc)(mp_pool *, size_t, void **);
    mp_status (*free)(mp_pool *, void *);
    int id;           /* set by mp_hammer_run */
    long allocs, frees;
    int error;        /* 1 wrong stamp, 2 wrong stamp from the mailbox, 3 free failed, 4 allocation failed */
} mp_hammer;

static inline size_t mp_hammer_stamp_len(const mp_hammer *j, size_t n) { return n < j->stamp ? n : j->stamp; }

static inline bool mp_hammer_stamped(const mp_hammer *j, const unsigned char *p, size_t n, unsigned char v)
{
    n = mp_hammer_stamp_len(j, n);
    for (size_t i = 0; i < n; i++)
        if (p[i] != v)
            return false;
    return true;
}

static inline void *mp_hammer_worker(void *arg)
{
    mp_hammer *j = arg;
    unsigned seed = (unsigned)j->id * 7919u + 11;
    unsigned char *mine[MP_HAMMER_KEEP_MAX] = {0};
    size_t len[MP_HAMMER_KEEP_MAX] = {0};
    unsigned char me = (unsigned char)(0x40 + j->id);
    for (int r = 0; r < j->rounds && !j->error; r++) {
        int k = (int)(rand_r(&seed) % (unsigned)j->keep);
        if (mine[k] && !mp_hammer_stamped(j, mine[k], len[k], me)) {
            j->error = 1;
            break;
        }
        if (j->box && mine[k] && rand_r(&seed) % 4 == 0) { /* swap with the mailbox */
            pthread_mutex_lock(&j->box->m);
            int s = (int)(rand_r(&seed) % MP_HAMMER_SLOTS);
            unsigned char *theirs = j->box->slot[s];
            size_t tlen = j->box->len[s];
            j->box->slot[s] = mine[k];
            j->box->len[s] = len[k];
            memset(mine[k], 0x20, mp_hammer_stamp_len(j, len[k])); /* "in the mailbox" */
            pthread_mutex_unlock(&j->box->m);
            mine[k] = theirs;
            len[k] = tlen;
            if (theirs) {
                if (!mp_hammer_stamped(j, theirs, tlen, 0x20)) {
                    j->error = 2;
                    break;
                }
                memset(theirs, me, mp_hammer_stamp_len(j, tlen));
            }
        } else if (mine[k]) {
            if (j->free(j->pool, mine[k]) != MP_OK) {
                j->error = 3;
                break;
            }
            mine[k] = NULL;
            j->frees++;
        } else {
            len[k] = 1 + rand_r(&seed) % j->max_size;
            if (j->alloc(j->pool, len[k], (void **)&mine[k]) != MP_OK) {
                j->error = 4;
                break;
            }
            memset(mine[k], me, mp_hammer_stamp_len(j, len[k]));
            j->allocs++;
        }
    }
    for (int k = 0; k < j->keep; k++)
        if (mine[k] && j->free(j->pool, mine[k]) == MP_OK)
            j->frees++;
    return NULL;
}

/* Runs MP_HAMMER_THREADS workers of job and joins them; each must end
 * without error. Adds up their allocations and frees. */
static inline void mp_hammer_run(const mp_hammer *job, long *allocs, long *frees)
{
    pthread_t th[MP_HAMMER_THREADS];
    mp_hammer jobs[MP_HAMMER_THREADS];
    for (int i = 0; i < MP_HAMMER_THREADS; i++) {
        jobs[i] = *job;
        jobs[i].id = i;
        ck_assert_int_eq(pthread_create(&th[i], NULL, mp_hammer_worker, &jobs[i]), 0);
    }
    *allocs = *frees = 0;
    for (int i = 0; i < MP_HAMMER_THREADS; i++) {
        pthread_join(th[i], NULL);
        ck_assert_msg(jobs[i].error == 0, "thread %d failed with %d", i, jobs[i].error);
        *allocs += jobs[i].allocs;
        *frees += jobs[i].frees;
    }
}

#endif

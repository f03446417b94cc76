/* Completion marks (mark.h). Words come from pages of pinned host memory
 * that are never given back (512 marks a page); a dropped mark is kept,
 * word and all, for the next lane that needs one, once every value asked
 * of it has landed. On the host-side stand-in a mark's word is its own. */
#include "gpu/mark.h"

#include "backend/cuda_rt.h"
#include "backend/cuda_sim.h"

#include <pthread.h>
#include <stdlib.h>

struct mp__mark {
    uint64_t *word; /* written by the streams; NULL: an event stands in */
    void *event;    /* the stand-in event (mp__cuda_event_*), or NULL before the first advance */
    uint64_t issued; /* the latest value asked of a stream */
    uint64_t known;  /* a value known to be reached */
    uint64_t own;    /* the word, on the stand-in */
    int device;
    mp__mark *next; /* kept */
};

#define PAGE_WORDS 512
#define KEPT_MAX 1024
#define KEPT_LOOKED 8

static pthread_mutex_t marks_lock = PTHREAD_MUTEX_INITIALIZER;
static mp__mark *kept;
static size_t nkept;
static uint64_t *page; /* words not handed out yet: page[used..PAGE_WORDS) */
static size_t used = PAGE_WORDS;

/* A forked child cannot use the parent's pinned memory (it has no CUDA
 * context): it starts with no kept mark and no page. */
static void marks_prepare(void) { pthread_mutex_lock(&marks_lock); }
static void marks_parent(void) { pthread_mutex_unlock(&marks_lock); }
static void marks_child(void)
{
    kept = NULL;
    nkept = 0;
    page = NULL;
    used = PAGE_WORDS;
    pthread_mutex_unlock(&marks_lock);
}
static pthread_once_t marks_once = PTHREAD_ONCE_INIT;
static void marks_install(void) { pthread_atfork(marks_prepare, marks_parent, marks_child); }

/* A kept mark all of whose values have landed, or NULL. Lock held. */
static mp__mark *kept_landed(void)
{
    mp__mark **at = &kept;
    for (unsigned n = 0; *at && n < KEPT_LOOKED; at = &(*at)->next, n++)
        if (mp__cuda_word_read((*at)->word) == (*at)->issued) {
            mp__mark *m = *at;
            *at = m->next;
            nkept--;
            return m;
        }
    return NULL;
}

/* A mark with a word of pinned memory, or NULL (no memory; the caller
 * falls back on an event). */
static mp__mark *worded(void)
{
    pthread_once(&marks_once, marks_install);
    pthread_mutex_lock(&marks_lock);
    mp__mark *m = kept_landed();
    if (!m && (m = malloc(sizeof *m))) {
        uint64_t *fresh = NULL;
        if (used == PAGE_WORDS && mp__cuda_words_alloc(PAGE_WORDS * sizeof *page, &fresh) == MP_OK) {
            page = fresh;
            used = 0;
        }
        if (used < PAGE_WORDS) {
            *m = (mp__mark){.word = &page[used++]};
        } else {
            free(m);
            m = NULL;
        }
    }
    pthread_mutex_unlock(&marks_lock);
    return m;
}

mp_status mp__mark_new(int device, mp__mark **out)
{
    mp__mark *m = NULL;
    bool words = mp__cuda_words_supported(device);
    if (words && mp__sim_on()) {
        if ((m = calloc(1, sizeof *m)))
            m->word = &m->own;
    } else if (!words || !(m = worded())) {
        m = calloc(1, sizeof *m); /* an event stands in */
    }
    if (!m)
        return mp__fail(MP_ERR_OUT_OF_MEMORY, "no host memory for a stream's completion mark");
    m->known = m->issued; /* a kept mark carries on from its last value */
    m->device = device;
    *out = m;
    return MP_OK;
}

mp_status mp__mark_advance(mp__mark *m, void *stream, uint64_t *value)
{
    mp_status s = m->word ? mp__cuda_word_write(m->device, stream, m->word, m->issued + 1)
                  : m->event ? mp__cuda_event_rerecord(m->device, stream, m->event)
                             : mp__cuda_event_record(m->device, stream, &m->event);
    if (s == MP_OK)
        *value = ++m->issued;
    return s;
}

uint64_t mp__mark_reached(mp__mark *m, bool ask)
{
    if (m->word)
        return mp__cuda_word_read(m->word);
    if (ask && m->known < m->issued && mp__cuda_event_done(m->event))
        m->known = m->issued;
    return m->known;
}

uint64_t mp__mark_latest(const mp__mark *m) { return m->issued; }

mp_status mp__mark_wait(mp__mark *m, void *stream, uint64_t value)
{
    if (mp__mark_reached(m, false) >= value)
        return MP_OK;
    return m->word ? mp__cuda_word_wait(m->device, stream, m->word, value)
                   : mp__cuda_stream_wait(m->device, stream, m->event);
}

void mp__mark_drop(mp__mark *m)
{
    if (!m)
        return;
    if (m->event)
        mp__cuda_event_drop(m->event);
    if (m->word == &m->own) {
        mp__sim_word_forget(m->word);
    } else if (m->word) {
        pthread_mutex_lock(&marks_lock);
        bool keep = nkept < KEPT_MAX;
        if (keep) {
            m->next = kept;
            kept = m;
            nkept++;
        }
        pthread_mutex_unlock(&marks_lock);
        if (keep)
            return; /* a word not kept is lost with its page (never given back) */
    }
    free(m);
}

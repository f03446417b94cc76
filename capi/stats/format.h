/* The text and JSON forms of what the library reports. mp__stats_text and
 * mp__stats_json are generated (capi/stats/stats_format.c, by tools/abigen.lua
 * from mp_stats' description), so a new field reaches both without a hand
 * edit; stats.c writes the pool's own part, head, and calls them. The
 * registry's listings and the memory snapshot's JSON (whose members are
 * generated too: json_format.h) grow one mp__text. */
#ifndef MEMPOOL_STATS_FORMAT_H
#define MEMPOOL_STATS_FORMAT_H

#include <mempool/mempool.h>

#include <stdbool.h>
#include <stdio.h>

/* head, then one line per group of fields; asprintf's result. */
int mp__stats_text(char **out, const char *head, const mp_stats *stats);

/* One JSON object: head's members (no braces, no trailing comma), then every
 * field; asprintf's result. */
int mp__stats_json(char **out, const char *head, const mp_stats *stats);

/* stats.c: a pool name as a JSON string body; dst holds 2 * MP_NAME_MAX + 1. */
void mp__json_name(char *dst, const char *name);

/* A growable string (text.c): the registry's listings and the memory
 * snapshot's JSON. After a failed allocation it holds nothing and takes
 * nothing more, so a writer appends without checking and asks once, at
 * the end, through mp__text_take. */
typedef struct mp__text {
    char *s;
    size_t len, cap;
    bool failed;
} mp__text;

void mp__text_add(mp__text *t, const char *s);
void mp__text_addf(mp__text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* s as a JSON string, quotes included: quotes, backslashes and control
 * characters escaped. */
void mp__text_json_string(mp__text *t, const char *s);
/* The string, which the caller frees; NULL when an allocation failed. An
 * empty text is "". */
char *mp__text_take(mp__text *t);

/* A ratio in [0, 1] as "0.123456", whatever LC_NUMERIC says. */
static inline void mp__stats_ratio(char buf[32], double r)
{
    unsigned long long m = (unsigned long long)(r * 1e6 + 0.5);
    snprintf(buf, 32, "%llu.%06llu", m / 1000000, m % 1000000);
}

#endif

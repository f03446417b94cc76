/* The text and JSON forms of a stats snapshot. mp__stats_text and
 * mp__stats_json are generated (capi/stats/stats_format.c, by tools/abigen.lua
 * from mp_stats' description), so a new field reaches both without a hand
 * edit; stats.c writes the pool's own part, head, and calls them. */
#ifndef MEMPOOL_STATS_FORMAT_H
#define MEMPOOL_STATS_FORMAT_H

#include <mempool/mempool.h>

#include <stdio.h>

/* head, then one line per group of fields; asprintf's result. */
int mp__stats_text(char **out, const char *head, const mp_stats *stats);

/* One JSON object: head's members (no braces, no trailing comma), then every
 * field; asprintf's result. */
int mp__stats_json(char **out, const char *head, const mp_stats *stats);

/* stats.c: a pool name as a JSON string body; dst holds 2 * MP_NAME_MAX + 1. */
void mp__json_name(char *dst, const char *name);

/* A ratio in [0, 1] as "0.123456", whatever LC_NUMERIC says. */
static inline void mp__stats_ratio(char buf[32], double r)
{
    unsigned long long m = (unsigned long long)(r * 1e6 + 0.5);
    snprintf(buf, 32, "%llu.%06llu", m / 1000000, m % 1000000);
}

#endif

/* mp_stats_print (jemalloc's malloc_stats_print): every live pool's stats
 * through a callback, and MEMPOOL_SHOW_STATS's dump at exit.
 *
 * The text is collected first, pool by pool under the slot table's lock
 * (mp__pools_foreach: no pool is destroyed meanwhile) and each pool's own
 * lock (taken by the stats and snapshot calls), then written with no lock
 * held: the callback may call back into the library, create or destroy
 * pools, or print again. The formatting is the per-pool calls' own
 * (mp_pool_stats_string/_json, mp_pool_memory_snapshot_json) plus the
 * snapshot's lines (snapshot.c). */
#include "core/pool.h"
#include "stats/format.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct collect {
    mp__text t;
    bool json;
    size_t n;
    mp_status status; /* the first failure */
} collect;

static void one_pool(mp__pool *pool, void *ctx)
{
    collect *c = ctx;
    mp_pool *h = mp__pool_handle(pool);
    char *stats = NULL, *snap = NULL;
    mp_status s = c->json ? mp_pool_stats_json(h, &stats) : mp_pool_stats_string(h, &stats);
    if (s == MP_OK && c->json)
        s = mp_pool_memory_snapshot_json(h, MP_SNAPSHOT_NOW, &snap);
    if (s != MP_OK) {
        if (c->status == MP_OK)
            c->status = s;
        free(stats);
        return;
    }
    if (c->json) {
        mp__text_add(&c->t, c->n ? ",{\"pool\":" : "{\"pool\":");
        mp__text_json_string(&c->t, mp__pool_name(pool));
        mp__text_addf(&c->t, ",\"registry\":%s,\"stats\":%s,\"snapshot\":%s}",
                      mp__pool_registry_owned(pool) ? "true" : "false", stats, snap);
    } else {
        mp__text_add(&c->t, stats);
        mp__snapshot_text(pool, &c->t);
    }
    c->n++;
    free(stats);
    free(snap);
}

mp_status mp_stats_print(mp_write_fn write, void *opaque, const char *options)
{
    bool json = false;
    if (options && strcmp(options, "json") == 0)
        json = true;
    else if (options && *options && strcmp(options, "text") != 0)
        return mp__fail(MP_ERR_INVALID_ARGUMENT, "mp_stats_print: options \"%.64s\" are neither \"text\" nor \"json\"",
                        options);
    collect c = {.json = json};
    mp__text_add(&c.t, json ? "{\"pools\":[" : "");
    mp__pools_foreach(one_pool, &c);
    if (json)
        mp__text_add(&c.t, "]}\n");
    else if (c.n == 0)
        mp__text_add(&c.t, "mempool: no live pools\n");
    char *text = mp__text_take(&c.t);
    if (c.status != MP_OK) {
        free(text);
        return c.status; /* its detail is set */
    }
    if (!text)
        return mp__fail(MP_ERR_OUT_OF_MEMORY, "mp_stats_print: no memory for the text of %zu pools", c.n);
    /* No lock is held from here on. */
    if (write)
        write(opaque, text);
    else {
        fputs(text, stderr);
        fflush(stderr);
    }
    free(text);
    return MP_OK;
}

/* MEMPOOL_SHOW_STATS=1: every live pool's stats to stderr at exit
 * (mimalloc's MIMALLOC_SHOW_STATS). pool.c asks at each creation; the first
 * one reads the variable and, when it is 1, registers the handler, which
 * prints through mp_stats_print (print.c). A file of its own so that calls
 * go one way: pool.c -> here -> print.c -> pool.c's accessors. */
#include "core/pool.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static void show_stats_at_exit(void) { mp_stats_print(NULL, NULL, NULL); }

static void show_stats_once(void)
{
    const char *v = getenv("MEMPOOL_SHOW_STATS");
    if (v && strcmp(v, "1") == 0)
        atexit(show_stats_at_exit);
}

void mp__show_stats_init(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, show_stats_once);
}

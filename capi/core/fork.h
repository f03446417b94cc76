/* fork(): the handlers that give the child a working library (fork.c). */
#ifndef MEMPOOL_FORK_H
#define MEMPOOL_FORK_H

/* What the pools (and, in a table of their own, the trackers) do around a fork, called with the slot table locked:
 * take every pool's locks, release them (parent), start them afresh
 * (child). pool.c's; fork.c calls them only through this table. */
typedef struct mp__fork_pools {
    void (*prepare)(void);
    void (*parent)(void);
    void (*child)(void);
} mp__fork_pools;

/* Installs the handlers once (the first pool), as glibc's malloc does: a
 * process that never makes a pool pays nothing at fork. */
void mp__fork_init(const mp__fork_pools *pools); /* pools must live forever */
/* The same for the statistics trackers (stats/tracker.c), whose locks are
 * taken after the pools'. */
void mp__fork_init_trackers(const mp__fork_pools *trackers);

#endif

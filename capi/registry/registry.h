/* The registry's locks around fork() (registry.c, called by fork.c). */
#ifndef MEMPOOL_REGISTRY_H
#define MEMPOOL_REGISTRY_H

void mp__registry_lock(void);
void mp__registry_unlock(void);
void mp__registry_after_fork(void);

#endif

/* Which pool's chunks hold an address (every pool, every sync mode), for
 * "freed into the wrong pool" messages and routers (owners.c). */
#ifndef MEMPOOL_OWNERS_H
#define MEMPOOL_OWNERS_H

#include "core/core.h"

/* Records a chunk of the pool whose handle and name (which must outlive
 * the record) are given. */
mp_status mp__owners_add(mp_pool *handle, const char *name, uintptr_t base, size_t size);
void mp__owners_remove(uintptr_t base);
/* The handle of the pool whose chunk holds a (copying its name into buf
 * when buf is not NULL), or NULL. */
mp_pool *mp__owners_find(uintptr_t a, char *buf, size_t len);
void mp__owners_lock(void); /* fork.c */
void mp__owners_unlock(void);
void mp__owners_after_fork(void);

#endif

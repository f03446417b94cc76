/* The allocation trace of one pool, written in the format of
 * bench/traces/FORMAT.md: "a <id> <size> <stream>", "f <id> <stream>",
 * "s <stream>" after a "# mempool-trace 1" header and "# key value" lines.
 *
 * Block ids are small: the id of the block freed last is the next one reused,
 * so ids stay below the most blocks ever live at once. Streams are
 * numbered in order of first use, the pool's stream (given at open) being 0.
 *
 * Not synchronised: the caller holds one lock across each allocator call and
 * the record of it, so that a free is written before any allocation that
 * reuses its address. Internal to the plug-in (mpt__ names, hidden). */
#ifndef MEMPOOL_TORCH_TRACE_H
#define MEMPOOL_TORCH_TRACE_H

#include <stdbool.h>
#include <stddef.h>

typedef struct mpt__trace mpt__trace;

/* Creates (or truncates) path, "%p" in it standing for the process id, and
 * writes the header. NULL on failure, with the reason in why. */
mpt__trace *mpt__trace_open(const char *path, void *pool_stream, char *why, size_t why_cap);
/* "# key value": metadata, written before the first record. */
void mpt__trace_meta(mpt__trace *t, const char *key, const char *value);
void mpt__trace_alloc(mpt__trace *t, const void *ptr, size_t size, void *stream);
/* A free of a block the trace saw allocated; others are not written. */
void mpt__trace_free(mpt__trace *t, const void *ptr, void *stream);
/* The host synchronised the device: "s <n>" for each stream with frees since the last. */
void mpt__trace_synchronized(mpt__trace *t);
/* Flushes; false (reason in why) when a write or a bookkeeping allocation failed. */
bool mpt__trace_flush(mpt__trace *t, char *why, size_t why_cap);
/* Flushes, closes, frees. */
void mpt__trace_close(mpt__trace *t);

#endif /* MEMPOOL_TORCH_TRACE_H */

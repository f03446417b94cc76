/* Completion marks: how far a stream has got, readable by the host with no
 * CUDA call. A mark is a counter that a stream advances in its order: each
 * advance is one operation queued on the stream (cuStreamWriteValue64 into
 * a word of pinned host memory) and returns the value it will write, so
 * the host learns that the stream has passed an advance with one load
 * (mp__mark_reached), and another stream can be made to wait for it
 * (cuStreamWaitValue64). stream.c gives each lane one, where it used to
 * record an event: a block freed on a stream is free once the mark has
 * reached the value of its free, known block by block and for nothing.
 *
 * Where the device cannot (no 64-bit stream memory operations, or pinned
 * memory it cannot reach at its host address), an event stands in: each
 * advance records it again, reached knows only whether the latest advance
 * has been passed (one cudaEventQuery, only when asked to), and a wait
 * waits for the latest advance.
 *
 * A mark is written by one stream at a time (its lane's) and used under
 * its owner's lock. Kept marks are reused only once every value asked of
 * them has landed, so that a late write never lowers the word under a
 * later owner's wait. */
#ifndef MEMPOOL_MARK_H
#define MEMPOOL_MARK_H

#include "core/core.h"

typedef struct mp__mark mp__mark;

/* A mark for streams of device, at value 0 (reached). */
mp_status mp__mark_new(int device, mp__mark **out);
/* stream passes the mark's next value, *value, once its work queued so
 * far has completed. On failure the mark is as it was. */
mp_status mp__mark_advance(mp__mark *m, void *stream, uint64_t *value);
/* A value the stream has passed: exact where words work, else the latest
 * value if a query (ask) or an earlier one found the event completed. */
uint64_t mp__mark_reached(mp__mark *m, bool ask);
/* The value of the latest advance. */
uint64_t mp__mark_latest(const mp__mark *m);
/* Work queued on stream from now on waits until the mark has reached
 * value (no call where it has). */
mp_status mp__mark_wait(mp__mark *m, void *stream, uint64_t value);
void mp__mark_drop(mp__mark *m);

#endif

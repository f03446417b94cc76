/* The only door to the CUDA runtime. Every function exists in every build;
 * built without CUDA they fail with MP_ERR_UNSUPPORTED and a message. */
#ifndef MEMPOOL_CUDA_RT_H
#define MEMPOOL_CUDA_RT_H

#include "core/core.h"

typedef enum mp__copy_kind { MP__H2D, MP__D2H, MP__D2D } mp__copy_kind;

/* Usable devices; 0 without CUDA, a driver or a device. */
int mp__cuda_device_count(void);
/* MP_OK if device is usable, else UNSUPPORTED (no CUDA/device) or
 * INVALID_ARGUMENT (no such device), with the detail set. */
mp_status mp__cuda_check_device(int device);
mp_status mp__cuda_malloc(int device, size_t size, void **out);
mp_status mp__cuda_malloc_host(size_t size, void **out);
mp_status mp__cuda_malloc_managed(int device, size_t size, void **out);
void mp__cuda_free(int device, void *p);
void mp__cuda_free_host(void *p);
/* Copies on stream and waits for the stream. */
mp_status mp__cuda_copy(int device, void *stream, void *dst, const void *src, size_t size, mp__copy_kind kind);

/* Events for stream-ordered reuse. record: an event on stream (created, or
 * taken from *spare); done: whether it has completed (false while pending,
 * or on an error, which the next query reports again); drop: destroys it. */
mp_status mp__cuda_event_record(int device, void *stream, void **event);
bool mp__cuda_event_done(void *event);
void mp__cuda_event_drop(void *event);

#endif

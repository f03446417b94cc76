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

/* Makes work queued on stream from now on wait for event. */
mp_status mp__cuda_stream_wait(int device, void *stream, void *event);
/* Waits for the work queued on stream (the device's, where stream is
 * NULL: the legacy default stream). */
mp_status mp__cuda_stream_sync(int device, void *stream);
/* The clock idle device memory ages by (ns, monotonic); the stand-in's
 * own clock while it is on (mp__sim_advance). */
uint64_t mp__cuda_clock_ns(void);
/* Waits for all work on device (what cudaFree does before it frees). */
mp_status mp__cuda_device_sync(int device);
/* The device's memory in bytes, 0 when unknown. */
size_t mp__cuda_device_memory(int device);

/* Virtual memory management (driver calls reached through
 * cudaGetDriverEntryPointByVersion, so cudart stays the only link
 * dependency). vmm_granule: the device's mapping granularity, or 0 when
 * the driver or device cannot map on demand. A reservation is address
 * space only; each granule is mapped with its own physical allocation
 * (*handle), so any granule can be unmapped alone. */
size_t mp__cuda_vmm_granule(int device);
mp_status mp__cuda_vmm_reserve(int device, size_t size, size_t alignment, void **out);
void mp__cuda_vmm_free(void *va, size_t size);
mp_status mp__cuda_vmm_map(int device, void *va, size_t size, uint64_t *handle);
void mp__cuda_vmm_unmap(void *va, size_t size, uint64_t handle);

/* Events for stream-ordered reuse. record: an event on stream (created, or
 * taken from *spare); done: whether it has completed (false while pending,
 * or on an error, which the next query reports again); drop: destroys it. */
mp_status mp__cuda_event_record(int device, void *stream, void **event);
/* Records event (from event_record, on device) again, on stream: queries and
 * later waits see the new record; on failure it keeps the old one. */
mp_status mp__cuda_event_rerecord(int device, void *stream, void *event);
bool mp__cuda_event_done(void *event);
void mp__cuda_event_drop(void *event);

#endif

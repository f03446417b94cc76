/* A host-side stand-in for CUDA devices, for tests and trace replays on
 * machines without a GPU. While it is on, every call of cuda_rt.h goes to
 * it instead of the CUDA runtime: device memory is address space only
 * (mapped PROT_NONE, never touched, counted against the simulated
 * device's capacity), on-demand mapping counts granules, copies do
 * nothing, and an event completes once its stream is synchronised
 * (mp__sim_sync), as on a device whose work runs no sooner than the host
 * waits for it. The pool's bookkeeping is host-side, so a pool on the
 * stand-in makes exactly the decisions it makes on a device.
 *
 * Internal: reachable from the static library (tests), not exported. Turn
 * it on and off with no pool alive. */
#ifndef MEMPOOL_CUDA_SIM_H
#define MEMPOOL_CUDA_SIM_H

#include "core/core.h"

typedef struct mp__sim_config {
    int devices;        /* devices the stand-in shows */
    size_t memory;      /* bytes of memory per device */
    size_t granule;     /* on-demand mapping granularity; 0: the device cannot map on demand */
} mp__sim_config;

typedef struct mp__sim_usage {
    size_t in_use;      /* device bytes taken (mallocs and mapped granules) */
    size_t peak;        /* the most in_use has been */
    uint64_t maps, unmaps, mallocs, frees, syncs;
    uint64_t events, waits, queries; /* events recorded, stream waits queued (device 0's count: the stand-in's streams are shared) */
    /* What a device would not forgive (the test hooks below watch for it):
     * a granule mapped twice or unmapped when it was not mapped, address
     * space freed with memory still mapped in it, memory unmapped while
     * watched work may still use it. */
    uint64_t violations;
} mp__sim_usage;

void mp__sim_begin(const mp__sim_config *config);
void mp__sim_end(void);
bool mp__sim_on(void);
/* Completes every event recorded so far on stream (NULL: the default stream). */
void mp__sim_sync(void *stream);
/* The stand-in's clock (ns): it starts at 0 and moves only when told, so
 * replays decide the same way on any machine. */
uint64_t mp__sim_clock_ns(void);
void mp__sim_advance(uint64_t ns);
/* Completes every event recorded so far on every stream. */
void mp__sim_sync_all(void);
void mp__sim_usage_get(int device, mp__sim_usage *out);

/* Test hooks. Whether every byte of [va, va + size) is device memory now
 * (a simulated cudaMalloc, or mapped granules). */
bool mp__sim_mapped(const void *va, size_t size);
/* The work queued on stream so far uses [va, va + size): until it has
 * completed, unmapping any of it counts as a violation, and handing it to
 * other work is safe only where that work waits for it. */
void mp__sim_watch(const void *va, size_t size, void *stream);
/* Whether [va, va + size) may go to work queued on stream from now on:
 * every watched use overlapping it has completed, or a sync of stream
 * would complete it (stream waits for it). */
bool mp__sim_handout_safe(const void *va, size_t size, void *stream);
/* After `after` more stream waits, the next n fail (cudaStreamWaitEvent
 * returning an error, as after a device fault): a failed wait is neither
 * queued nor counted. n 0 stops it. */
void mp__sim_fail_waits(unsigned after, unsigned n);
/* The same for event records (cudaEventRecord, a new event or one
 * recorded again): a failed record changes no event and is not counted. */
void mp__sim_fail_records(unsigned after, unsigned n);
/* The same for the library's stream and device syncs (cudaStreamSynchronize
 * and cudaDeviceSynchronize through cuda_rt.h, as before unmapping idle
 * memory): a failed one completes nothing. Tests' own mp__sim_sync and
 * mp__sim_sync_all never fail. */
void mp__sim_fail_syncs(unsigned after, unsigned n);
/* The same for on-demand mappings: after `after` more calls, the next n
 * fail (cuMemCreate returning an error that is not out-of-memory: no idle
 * memory is given back for it) and take nothing. n 0 stops it. */
void mp__sim_fail_maps(unsigned after, unsigned n);
/* The mappings alive now, on every device, each as its one call mapped it:
 * up to max of them into va[] and size[]; returns how many there are. */
size_t mp__sim_mappings(void **va, size_t *size, size_t max);

/* The stand-in's side of cuda_rt.h (cuda_rt.c calls these while it is on). */
int mp__sim_device_count(void);
size_t mp__sim_device_memory(int device);
mp_status mp__sim_malloc(int device, size_t size, void **out);
void mp__sim_free(void *p);
size_t mp__sim_vmm_granule(int device);
mp_status mp__sim_vmm_reserve(int device, size_t size, size_t alignment, void **out);
void mp__sim_vmm_free(void *va, size_t size);
mp_status mp__sim_vmm_map(int device, void *va, size_t size, uint64_t *handle);
void mp__sim_vmm_unmap(void *va, size_t size, uint64_t handle);
mp_status mp__sim_stream_sync(void *stream); /* mp__sim_sync, failing where mp__sim_fail_syncs says */
mp_status mp__sim_device_sync(void);         /* mp__sim_sync_all, failing where mp__sim_fail_syncs says */
mp_status mp__sim_event_record(int device, void *stream, void **event);
mp_status mp__sim_event_rerecord(void *stream, void *event);
bool mp__sim_event_done(void *event);
/* Work on stream from now on waits for event: a sync of stream completes it too. */
mp_status mp__sim_stream_wait(void *stream, void *event);

void mp__sim_event_drop(void *event);

#endif

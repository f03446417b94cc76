// Package mempool is the Go binding of mempool: memory pools for CPU and
// CUDA memory behind a stable C ABI. It is a thin layer over the SWIG
// package internal/capi; every rule about pointers, sizes and
// configurations lives in the C library. The Go layer adds lifetimes only.
//
// Failed calls return *Error, which carries the status and the library's
// detail message and unwraps to a sentinel: errors.Is(err, ErrOutOfMemory).
// A GPU call on a machine without a usable CUDA device returns a
// *CudaUnavailableError, which is ErrCuda as well as ErrUnsupported.
//
// Lifetimes. Pools, routers and Blocks may be used from any goroutine, and
// Close, DestroyPool, Reset and Trim may race the other calls: they wait for
// the calls in flight, and a call on a closed pool or router, or a freed
// Block, returns an error with errors.Is(err, ErrClosed). No native object is
// destroyed under a call and no closed handle reaches C.
//
// Memory. Block (Pool.AllocateBlock) is the checked way to reach pool
// memory: ReadAt and WriteAt check liveness and bounds. A raw pointer (from
// Allocate, Block.Pointer, ActiveAllocations) is the explicit unsafe step:
// Bytes, the GPU copies and C code trust it as unsafe.Slice does, and nothing
// stops its use after the block is freed or its pool reset, trimmed or
// closed, which reaches freed or unmapped memory. Deallocate and Owns take
// raw pointers safely: the C library checks them, and a raw free of a live
// Block's memory is refused (ErrInvalidOperation). Freeing nil does nothing.
//
// Names. A pool or router name holding a NUL byte is refused
// (ErrInvalidArgument) before any C call: C would see it cut at the NUL.
package mempool

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/mempool-project/mempool/bindings/go/internal/capi"
)

// Error is a failed call: Status, its C Name and the library's Detail.
type Error = capi.Error

// ErrClosed: the pool or router was closed, its registry pool destroyed, or
// the Block freed (by Free, or with every block by Reset or Close) before the
// call. The binding reports it without calling C; no C status maps to it.
var ErrClosed = errors.New("mempool: closed")

// closedError is ErrClosed with what was closed.
type closedError string

func (e closedError) Error() string        { return "mempool: " + string(e) }
func (e closedError) Is(target error) bool { return target == ErrClosed }

// Stats is a snapshot of a pool's statistics.
type Stats struct {
	TotalAllocated, CurrentUsed, PeakUsage       uint64
	AllocationCount, DeallocationCount           uint64
	FragmentationRatio                           float64
	ReservedBytes, ChunkCount, FailedAllocations uint64
	LiveAllocations, PendingFrees                uint64
	PeakReservedBytes                            uint64 // the highest ReservedBytes since creation or ResetStats
}

// AllocationInfo is one live allocation.
type AllocationInfo struct {
	Ptr      unsafe.Pointer
	Size     uint64
	Sequence uint64
}

// Pool is a memory pool. Pools from NewPool are closed by Close; pools of
// the registry belong to it, and Close does nothing for them (DestroyPool
// destroys them).
//
// Any goroutine may call any method at any time, Close included: Close waits
// for the calls in flight, and every call after it returns an error that
// errors.Is(err, ErrClosed). A pool whose configuration is not ThreadSafe is
// serialised here, one call at a time.
type Pool struct {
	// mu is the pool's lifetime guard. Calls hold it shared: one atomic add on
	// entry and one on exit, on a word that all goroutines of the pool share.
	// Close, Reset, Trim and TrimAuto, the calls that free or unmap memory
	// wholesale, hold it exclusively, so they wait for the calls in flight and
	// never run under a Block accessor. In C a destroy during a call is
	// undefined; here it cannot happen.
	mu     sync.RWMutex
	closed bool   // under mu
	epoch  uint64 // under mu: Resets so far; a Block from an earlier epoch is dead

	h         uintptr // the native handle; never passed to C once closed
	owned     bool    // from NewPool: Close destroys it
	serial    bool    // not ThreadSafe: calls take mu exclusively
	host      bool    // the pool's own memory is host-addressable (host, pinned, managed)
	gpu       bool    // a GPU pool (the by-name helpers pick registry pools by type)
	id        uint64  // lock order when one call holds several pools (routers, ResetAllPools)
	errClosed error

	// The live Blocks by address. Once the pool has made a Block (managed), a
	// raw free (Deallocate, DeallocateOnStream, a router's Deallocate) holds
	// making exclusively from its look-up in blocks to its C call, and
	// AllocateBlock and Block.Free hold it shared from their C call to the
	// (un)registration. So no raw free frees a live Block's memory, even a
	// double free that C cannot tell from a good one because the block was
	// handed out again; and a block that C hands out while a live Block holds
	// it (after raw frees that raced on a lock-free pool, which C does not
	// detect) is refused. A pool that never made a Block keeps raw frees at
	// one atomic load.
	managed  atomic.Bool
	making   sync.RWMutex
	blocksMu sync.Mutex         // for writers, who hold making shared
	blocks   map[uintptr]*Block // under blocksMu, or making held exclusively, or mu held exclusively
}

var (
	poolIDs    atomic.Uint64
	errNilPool = fmt.Errorf("%w: nil *Pool", ErrInvalidArgument)
)

// wrap makes the Go pool of a native one; it reads what the guard needs.
func wrap(h uintptr, name string, owned bool) (*Pool, error) {
	p := &Pool{h: h, owned: owned, id: poolIDs.Add(1), errClosed: closedError("pool '" + name + "' is closed")}
	cfg, err := p.Config()
	if err != nil {
		return nil, err
	}
	backend, err := p.Backend()
	if err != nil {
		return nil, err
	}
	t, err := p.MemoryType()
	if err != nil {
		return nil, err
	}
	p.serial = !cfg.ThreadSafe
	p.host = hostAddressable(backend)
	p.gpu = t == GPU
	return p, nil
}

// refusal is an error of the binding's own checks that stands for a C
// status: an *Error, as from C, so errors.Is and errors.As work alike.
func refusal(status capi.Enum_SS_mp_status, format string, args ...interface{}) *Error {
	return &Error{Status: int(status), Name: StatusName(int(status)), Detail: fmt.Sprintf(format, args...)}
}

// checkName refuses a name with a NUL byte: C would end it there, so
// "a\x00x" would name the pool "a" in C and another one in Go.
func checkName(what, name string) error {
	if i := strings.IndexByte(name, 0); i >= 0 {
		return refusal(capi.MP_ERR_INVALID_ARGUMENT, "%s name %q has a NUL byte at %d, where C would end it", what, name, i)
	}
	return nil
}

func hostAddressable(backend int) bool {
	switch capi.Enum_SS_mp_backend_kind(backend) {
	case capi.MP_BACKEND_HOST, capi.MP_BACKEND_CUDA_PINNED, capi.MP_BACKEND_CUDA_MANAGED:
		return true
	}
	return false
}

// enter holds the pool for one call: shared, or exclusive for a pool that is
// not thread-safe. It fails once the pool is closed. The shared path is one
// atomic add and a load; the compiler does not inline it, so Allocate and
// Deallocate write it out.
func (p *Pool) enter() error {
	if p == nil || p.serial {
		return p.enterSerial()
	}
	p.mu.RLock()
	if p.closed {
		p.mu.RUnlock()
		return p.errClosed
	}
	return nil
}

func (p *Pool) enterSerial() error {
	if p == nil {
		return errNilPool
	}
	return p.lock()
}

func (p *Pool) leave() {
	if p.serial {
		p.mu.Unlock()
		return
	}
	p.mu.RUnlock()
}

// lock holds the pool exclusively: no other call and no Block accessor runs.
func (p *Pool) lock() error {
	if p == nil {
		return errNilPool
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return p.errClosed
	}
	return nil
}

// call runs f on the native handle while the pool is held for one call.
func (p *Pool) call(f func(h uintptr) error) error {
	if err := p.enter(); err != nil {
		return err
	}
	defer p.leave()
	return f(p.h)
}

// NewPool creates a standalone pool owned by the caller.
func NewPool(name string, t MemoryType, cfg Config) (*Pool, error) {
	if err := checkName("pool", name); err != nil {
		return nil, err
	}
	c := cfg.native(t)
	defer capi.DeleteMp_config(c)
	out := []uintptr{0}
	if err := capi.Mp_pool_create(name, capi.Enum_SS_mp_memory_type(t), c, out); err != nil {
		return nil, cudaError(err, cfg.usesCUDA(t))
	}
	p, err := wrap(out[0], name, true)
	if err != nil {
		capi.Mp_pool_destroy(out[0])
		return nil, err
	}
	return p, nil
}

// Handle is the C mp_pool * of the pool, for handing it to C code, or 0 once
// the pool is closed. C code that keeps it is outside the guard: it must
// stop using it before Close.
func (p *Pool) Handle() uintptr {
	if p.enter() != nil {
		return 0
	}
	defer p.leave()
	return p.h
}

// Close destroys a standalone pool once the calls in flight have returned;
// later calls return ErrClosed. Closing twice, or a registry pool, does nothing.
// Every block of the pool dies with it: pointers and Bytes views of them must
// not be used after Close.
func (p *Pool) Close() error {
	if p == nil || !p.owned {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil
	}
	p.closed = true
	p.blocks = nil
	return capi.Mp_pool_destroy(p.h)
}

// Allocate returns size bytes aligned to the pool's alignment. The pointer is
// raw memory: see Bytes, and AllocateBlock for checked access.
func (p *Pool) Allocate(size uint64) (unsafe.Pointer, error) {
	// enter and leave written out: the hot path saves two calls (about 2 ns a pair).
	if p == nil || p.serial {
		return p.allocateSerial(size)
	}
	p.mu.RLock()
	if p.closed {
		p.mu.RUnlock()
		return nil, p.errClosed
	}
	addr, err := capi.Address(uintptr(capi.Mpswig_allocate(p.h, int64(size)))) // mp_pool_allocate, no out-slice
	p.mu.RUnlock()
	return unsafe.Pointer(addr), err
}

func (p *Pool) allocateSerial(size uint64) (unsafe.Pointer, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	addr, err := capi.Address(uintptr(capi.Mpswig_allocate(p.h, int64(size))))
	return unsafe.Pointer(addr), err
}

// AllocateFlags returns size bytes of the memory kind in flags (AllocPinned
// and AllocManaged are GPU calls: see CudaUnavailableError).
func (p *Pool) AllocateFlags(size uint64, flags AllocFlags) (unsafe.Pointer, error) {
	out := []uintptr{0}
	err := p.call(func(h uintptr) error {
		return capi.Mp_pool_allocate_flags(h, int64(size), capi.Enum_SS_mp_alloc_flags(flags), out)
	})
	return unsafe.Pointer(out[0]), cudaError(err, flags != AllocNone)
}

// Deallocate frees a block of this pool; the C library refuses a pointer it
// did not hand out, or one already freed, and the binding refuses the memory
// of a live Block (ErrInvalidOperation: free it with Block.Free). A nil ptr
// does nothing and returns nil, as free(NULL) does, whatever the pool's state.
func (p *Pool) Deallocate(ptr unsafe.Pointer) error {
	if ptr == nil {
		return nil
	}
	if p == nil || p.serial {
		return p.call(func(h uintptr) error {
			return p.rawFree(ptr, func() error { return capi.Mp_pool_deallocate(h, uintptr(ptr)) })
		})
	}
	p.mu.RLock()
	if p.closed {
		p.mu.RUnlock()
		return p.errClosed
	}
	var err error
	if p.managed.Load() {
		err = p.rawFreeManaged(ptr, func() error { return capi.Mp_pool_deallocate(p.h, uintptr(ptr)) })
	} else {
		err = capi.Mp_pool_deallocate(p.h, uintptr(ptr))
	}
	p.mu.RUnlock()
	return err
}

// Reallocate resizes a block of this pool to newSize bytes, keeping its first
// bytes, and returns it: the same pointer when the block had room. A nil ptr
// allocates. On an error it returns ptr itself, live and unchanged, so
// `p, err = pool.Reallocate(p, n)` never loses p. newSize 0 is refused (free
// with Deallocate), and so is a live Block's memory (ErrInvalidOperation: a
// move would free it under the Block).
func (p *Pool) Reallocate(ptr unsafe.Pointer, newSize uint64) (unsafe.Pointer, error) {
	out := []uintptr{uintptr(ptr)}
	err := p.call(func(h uintptr) error {
		realloc := func() error { return capi.Mp_pool_reallocate(h, uintptr(ptr), int64(newSize), out) }
		if ptr == nil {
			return realloc()
		}
		return p.rawFree(ptr, realloc)
	})
	if err != nil {
		return ptr, err
	}
	return unsafe.Pointer(out[0]), nil
}

// UsableSize is the number of bytes the live block at ptr offers, at least
// the size it was allocated (or reallocated) with.
func (p *Pool) UsableSize(ptr unsafe.Pointer) (uint64, error) {
	out := []uint64{0}
	err := p.call(func(h uintptr) error { return capi.Mp_pool_usable_size(h, uintptr(ptr), out) })
	return out[0], err
}

// rawFree runs free, the C call of a raw free of ptr, for a caller that holds
// the pool: refused when ptr is a live Block's memory.
func (p *Pool) rawFree(ptr unsafe.Pointer, free func() error) error {
	if !p.managed.Load() {
		return free()
	}
	return p.rawFreeManaged(ptr, free)
}

func (p *Pool) rawFreeManaged(ptr unsafe.Pointer, free func() error) error {
	p.making.Lock()
	defer p.making.Unlock()
	if err := p.refuseBlock(ptr); err != nil {
		return err
	}
	return free()
}

// refuseBlock: the caller holds making exclusively.
func (p *Pool) refuseBlock(ptr unsafe.Pointer) error {
	if b := p.blocks[uintptr(ptr)]; b != nil {
		return refusal(capi.MP_ERR_INVALID_OPERATION, "%p is the memory of a live Block of %d bytes: free it with Block.Free",
			ptr, b.size)
	}
	return nil
}

// Bytes is a []byte view of size bytes of CPU memory at ptr, made with
// unsafe.Slice and as unsafe: nothing checks ptr or size, and the view does
// not keep the block alive. It must not be used once the block is freed
// (Deallocate) or its pool is reset, trimmed or closed; reading or writing it
// then reaches freed or unmapped memory. Block.ReadAt and Block.WriteAt are
// the checked way.
func Bytes(ptr unsafe.Pointer, size int) []byte { return unsafe.Slice((*byte)(ptr), size) }

// Reset frees every block of the pool at once, after the calls in flight.
func (p *Pool) Reset() error {
	if err := p.lock(); err != nil {
		return err
	}
	defer p.mu.Unlock()
	p.killBlocks()
	return capi.Mp_pool_reset(p.h)
}

// Trim returns wholly free chunks to the system while more than keepBytes
// stay reserved, after the calls in flight.
func (p *Pool) Trim(keepBytes uint64) error {
	if err := p.lock(); err != nil {
		return err
	}
	defer p.mu.Unlock()
	return capi.Mp_pool_trim(p.h, int64(keepBytes))
}

// TrimAuto trims to what the pool's policy keeps (without a policy: its initial size).
func (p *Pool) TrimAuto() error {
	if err := p.lock(); err != nil {
		return err
	}
	defer p.mu.Unlock()
	return capi.Mp_pool_trim_auto(p.h)
}

// Check verifies the allocator's invariants and, in debug mode, every guard.
func (p *Pool) Check() error { return p.call(capi.Mp_pool_check) }

func (p *Pool) Owns(ptr unsafe.Pointer) (bool, error) {
	out := []bool{false}
	err := p.call(func(h uintptr) error { return capi.Mp_pool_owns(h, uintptr(ptr), out) })
	return out[0], err
}

func (p *Pool) Name() (string, error) {
	out := []string{""}
	err := p.call(func(h uintptr) error { return capi.Mp_pool_get_name(h, out) })
	return out[0], err
}

func (p *Pool) MemoryType() (MemoryType, error) {
	out := []int32{0}
	err := p.call(func(h uintptr) error { return capi.Mp_pool_get_memory_type(h, out) })
	return MemoryType(out[0]), err
}

// Backend is the C enum value of the pool's own memory source (host, CUDA device, pinned, managed).
func (p *Pool) Backend() (int, error) {
	out := []int32{0}
	err := p.call(func(h uintptr) error { return capi.Mp_pool_get_backend(h, out) })
	return int(out[0]), err
}

func (p *Pool) Config() (Config, error) {
	c := capi.NewMp_config()
	defer capi.DeleteMp_config(c)
	if err := p.call(func(h uintptr) error { return capi.Mp_pool_get_config(h, c) }); err != nil {
		return Config{}, err
	}
	return fromNative(c), nil
}

// Stats is the pool's statistics now: a value, so a snapshot already (see
// StatsSnapshot for one that can record on its own).
func (p *Pool) Stats() (Stats, error) {
	s := capi.NewMp_stats()
	defer capi.DeleteMp_stats(s)
	if err := p.call(func(h uintptr) error { return capi.Mp_pool_get_stats(h, s) }); err != nil {
		return Stats{}, err
	}
	return statsOf(s), nil
}

func statsOf(s capi.Mp_stats) Stats {
	return Stats{
		TotalAllocated: s.GetTotal_allocated(), CurrentUsed: s.GetCurrent_used(), PeakUsage: s.GetPeak_usage(),
		AllocationCount: s.GetAllocation_count(), DeallocationCount: s.GetDeallocation_count(),
		FragmentationRatio: s.GetFragmentation_ratio(), ReservedBytes: s.GetReserved_bytes(),
		ChunkCount: s.GetChunk_count(), FailedAllocations: s.GetFailed_allocations(),
		LiveAllocations: s.GetLive_allocations(), PendingFrees: s.GetPending_frees(),
		PeakReservedBytes: s.GetPeak_reserved_bytes(),
	}
}

// StatsSnapshot is a MemoryStats holding a copy of the pool's statistics and
// live records now (mp_tracker_from_pool): it never changes with the pool,
// outlives it, and records on its own. Close it when done.
func (p *Pool) StatsSnapshot() (*MemoryStats, error) {
	out := []uintptr{0}
	if err := p.call(func(h uintptr) error { return capi.Mp_tracker_from_pool(h, out) }); err != nil {
		return nil, err
	}
	return newMemoryStats(out[0]), nil
}

func (p *Pool) ResetStats() error { return p.call(capi.Mp_pool_reset_stats) }

func (p *Pool) SetTracking(enabled bool) error {
	return p.call(func(h uintptr) error { return capi.Mp_pool_set_tracking(h, enabled) })
}

func (p *Pool) Tracking() (bool, error) {
	out := []bool{false}
	err := p.call(func(h uintptr) error { return capi.Mp_pool_get_tracking(h, out) })
	return out[0], err
}

func (p *Pool) HasLeaks() (bool, error) {
	out := []bool{false}
	err := p.call(func(h uintptr) error { return capi.Mp_pool_has_leaks(h, out) })
	return out[0], err
}

// ActiveAllocations lists live tracked allocations, oldest first.
func (p *Pool) ActiveAllocations() (list []AllocationInfo, err error) {
	err = p.call(func(h uintptr) error {
		list, err = allocations(func(recs capi.Mp_allocation_info, n int64, count []uint64) error {
			return capi.Mp_pool_get_allocations(h, recs, n, count)
		})
		return err
	})
	return list, err
}

// allocations reads the records that get copies (mp_pool_get_allocations or
// mp_tracker_get_allocations), asking again while more appear.
func allocations(get func(recs capi.Mp_allocation_info, n int64, count []uint64) error) ([]AllocationInfo, error) {
	count := []uint64{0}
	if err := get(capi.SwigcptrMp_allocation_info(0), 0, count); err != nil {
		return nil, err
	}
	for {
		n := count[0]
		recs := capi.Mpswig_records(int64(n))
		err := get(recs, int64(n), count)
		if err == nil {
			list := make([]AllocationInfo, count[0])
			for i := range list {
				r := capi.Mpswig_record_at(recs, int64(i))
				list[i] = AllocationInfo{unsafe.Pointer(r.GetPtr()), uint64(r.GetSize()), r.GetSequence()}
			}
			capi.Mpswig_records_free(recs)
			return list, nil
		}
		capi.Mpswig_records_free(recs)
		if e, ok := err.(*Error); !ok || !isStatus(e, ErrBufferTooSmall) {
			return nil, err
		} // more were allocated meanwhile: count holds the new number
	}
}

func isStatus(e *Error, sentinel error) bool { return e.Unwrap() == sentinel }

// MemorySnapshot is where a pool's memory is (mp_pool_memory_snapshot): now, or
// when an allocation last failed, with a record per chunk and per size class.
// The C library's mp_memory_snapshot says what each figure counts.
type MemorySnapshot struct {
	ReservedBytes, AddressSpaceBytes, IdleBytes, PeakReservedBytes, MaxSize uint64
	InUseBytes, LiveBlocks, FreeBytes, LargestFreeBlock                     uint64
	CachedBytes, CachedBlocks, PendingBytes, PendingBlocks                  uint64
	ChunkCount                                                              uint64 // the pool's chunks then; Chunks lists the 8 largest for a failure
	RequestBytes, RequestAlignment                                          uint64 // the failed request (0 for now)
	MemoryType                                                              MemoryType
	Backend                                                                 int // the C enum value of the pool's own memory, as Pool.Backend
	Chunks                                                                  []ChunkInfo
	Classes                                                                 []ClassInfo
}

// ChunkInfo is one chunk (mp_chunk_info). Small-block pages count as used.
type ChunkInfo struct {
	Base                                                      uintptr
	Size, MappedBytes, IdleBytes, FreeBytes, LargestFreeBlock uint64
	LiveBlocks, PageBytes                                     uint64
	Backend                                                   int
}

// ClassInfo is one size class (mp_class_info).
type ClassInfo struct {
	BlockSize, Pages, PageBytes, UsedBlocks, FreeBlocks, CachedBlocks uint64
}

// MemorySnapshot says where the pool's memory is now.
func (p *Pool) MemorySnapshot() (s MemorySnapshot, err error) {
	err = p.call(func(h uintptr) error {
		s, err = memorySnapshot(h, capi.MP_SNAPSHOT_NOW)
		return err
	})
	return s, err
}

// LastOOMSnapshot says where the pool's memory was when an allocation last failed
// for want of memory (kept until ResetStats); errors.Is(err, ErrNotFound) when none did.
func (p *Pool) LastOOMSnapshot() (s MemorySnapshot, err error) {
	err = p.call(func(h uintptr) error {
		s, err = memorySnapshot(h, capi.MP_SNAPSHOT_LAST_OOM)
		return err
	})
	return s, err
}

func memorySnapshot(h uintptr, kind capi.Enum_SS_mp_snapshot_kind) (MemorySnapshot, error) {
	s := capi.NewMp_memory_snapshot()
	defer capi.DeleteMp_memory_snapshot(s)
	var nchunks, nclasses uint64
	for {
		chunks, classes := capi.Mpswig_chunks(int64(nchunks)), capi.Mpswig_classes(int64(nclasses))
		err := capi.Mp_pool_memory_snapshot(h, kind, s, chunks, int64(nchunks), classes, int64(nclasses))
		if err == nil {
			out := snapshotOf(s, chunks, classes)
			capi.Mpswig_chunks_free(chunks)
			capi.Mpswig_classes_free(classes)
			return out, nil
		}
		capi.Mpswig_chunks_free(chunks)
		capi.Mpswig_classes_free(classes)
		if e, ok := err.(*Error); !ok || !isStatus(e, ErrBufferTooSmall) {
			return MemorySnapshot{}, err
		} // s holds the counts: room for them, and again
		nchunks, nclasses = s.GetChunks_listed(), s.GetClass_count()
	}
}

func snapshotOf(s capi.Mp_memory_snapshot, chunks capi.Mp_chunk_info, classes capi.Mp_class_info) MemorySnapshot {
	out := MemorySnapshot{
		ReservedBytes: s.GetReserved_bytes(), AddressSpaceBytes: s.GetAddress_space_bytes(), IdleBytes: s.GetIdle_bytes(),
		PeakReservedBytes: s.GetPeak_reserved_bytes(), MaxSize: s.GetMax_size(), InUseBytes: s.GetIn_use_bytes(),
		LiveBlocks: s.GetLive_blocks(), FreeBytes: s.GetFree_bytes(), LargestFreeBlock: s.GetLargest_free_block(),
		CachedBytes: s.GetCached_bytes(), CachedBlocks: s.GetCached_blocks(), PendingBytes: s.GetPending_bytes(),
		PendingBlocks: s.GetPending_blocks(), ChunkCount: s.GetChunk_count(), RequestBytes: s.GetRequest_bytes(),
		RequestAlignment: s.GetRequest_alignment(), MemoryType: MemoryType(s.GetMemory_type()),
		Backend: int(s.GetBackend()),
		Chunks:  make([]ChunkInfo, s.GetChunks_listed()), Classes: make([]ClassInfo, s.GetClass_count()),
	}
	for i := range out.Chunks {
		c := capi.Mpswig_chunks_at(chunks, int64(i))
		out.Chunks[i] = ChunkInfo{Base: c.GetBase(), Size: c.GetSize(), MappedBytes: c.GetMapped_bytes(), IdleBytes: c.GetIdle_bytes(),
			FreeBytes: c.GetFree_bytes(), LargestFreeBlock: c.GetLargest_free_block(), LiveBlocks: c.GetLive_blocks(),
			PageBytes: c.GetPage_bytes(), Backend: int(c.GetBackend())}
	}
	for i := range out.Classes {
		c := capi.Mpswig_classes_at(classes, int64(i))
		out.Classes[i] = ClassInfo{BlockSize: c.GetBlock_size(), Pages: c.GetPages(), PageBytes: c.GetPage_bytes(),
			UsedBlocks: c.GetUsed_blocks(), FreeBlocks: c.GetFree_blocks(), CachedBlocks: c.GetCached_blocks()}
	}
	return out
}

// MemorySnapshotJSON is MemorySnapshot as one JSON object (mp_pool_memory_snapshot_json).
func (p *Pool) MemorySnapshotJSON() (string, error) { return p.snapshotJSON(capi.MP_SNAPSHOT_NOW) }

// LastOOMSnapshotJSON is LastOOMSnapshot as one JSON object, with the failure's status and detail.
func (p *Pool) LastOOMSnapshotJSON() (string, error) {
	return p.snapshotJSON(capi.MP_SNAPSHOT_LAST_OOM)
}

func (p *Pool) snapshotJSON(kind capi.Enum_SS_mp_snapshot_kind) (string, error) {
	out := []string{""}
	err := p.call(func(h uintptr) error { return capi.Mp_pool_memory_snapshot_json(h, kind, out) })
	return out[0], err
}

func (p *Pool) StatsString() (string, error) {
	out := []string{""}
	err := p.call(func(h uintptr) error { return capi.Mp_pool_stats_string(h, out) })
	return out[0], err
}

func (p *Pool) StatsJSON() (string, error) {
	out := []string{""}
	err := p.call(func(h uintptr) error { return capi.Mp_pool_stats_json(h, out) })
	return out[0], err
}

// Version is the loaded library's version, e.g. "1.0.0 (cuda)".
func Version() string { return capi.Mp_version_string() }

// VersionNumber is MAJOR*10000 + MINOR*100 + PATCH of the loaded library.
func VersionNumber() uint { return capi.Mp_version() }

// StatusName and StatusString describe a status value; LastError and
// LastErrorMessage are this OS thread's last failure (an *Error already
// carries its own, taken on the right thread).
func StatusName(status int) string   { return capi.Mp_status_name(capi.Enum_SS_mp_status(status)) }
func StatusString(status int) string { return capi.Mp_status_string(capi.Enum_SS_mp_status(status)) }
func LastError() int                 { return int(capi.Mp_last_error()) }
func LastErrorMessage() string       { return capi.Mp_last_error_message() }

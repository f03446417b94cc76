package mempool

// MemoryStats, the seed's statistics object on its own: a C mp_tracker,
// which does the counting; Go adds its lifetime. It is guarded as a Pool is:
// calls hold it shared, Close exclusively, so Close waits for the calls in
// flight and no destroyed handle reaches C.

import (
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/mempool-project/mempool/bindings/go/internal/capi"
)

// MemoryStats counts what its caller records (the seed's MemoryStats):
// RecordAllocation and RecordDeallocation count sizes; TrackAllocation and
// TrackDeallocation count pointers and keep a record of each live one while
// tracking is on (it starts on). NewMemoryStats makes an empty one,
// Pool.StatsSnapshot a copy of a pool's statistics, Clone a copy of another.
//
// Any goroutine may call any method at any time, Close included: Close waits
// for the calls in flight, and every call after it returns an error that
// errors.Is(err, ErrClosed). Close frees the C tracker; one never closed is
// freed by a finalizer once unreachable.
type MemoryStats struct {
	mu     sync.RWMutex
	closed bool // under mu
	h      uintptr
}

var errClosedStats = closedError("MemoryStats is closed")

// NewMemoryStats is an empty MemoryStats (the seed's MemoryStats()).
func NewMemoryStats() (*MemoryStats, error) {
	out := []uintptr{0}
	if err := capi.Mp_tracker_create(out); err != nil {
		return nil, err
	}
	return newMemoryStats(out[0]), nil
}

func newMemoryStats(h uintptr) *MemoryStats {
	s := &MemoryStats{h: h}
	runtime.SetFinalizer(s, finalizeStats)
	return s
}

var statsFinalized atomic.Uint64 // trackers freed by the finalizer (the tests read it)

func finalizeStats(s *MemoryStats) {
	s.Close()
	statsFinalized.Add(1)
}

// call runs f on the tracker while it is held for one call.
func (s *MemoryStats) call(f func(h uintptr) error) error {
	if s == nil {
		return refusal(capi.MP_ERR_INVALID_ARGUMENT, "nil *MemoryStats")
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return errClosedStats
	}
	return f(s.h)
}

// Close frees the tracker once the calls in flight have returned; closing
// twice, or a nil *MemoryStats, does nothing.
func (s *MemoryStats) Close() error {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	runtime.SetFinalizer(s, nil)
	return capi.Mp_tracker_destroy(s.h)
}

// Clone is a new MemoryStats with the same counters, records and tracking
// state (mp_tracker_clone).
func (s *MemoryStats) Clone() (*MemoryStats, error) {
	out := []uintptr{0}
	if err := s.call(func(h uintptr) error { return capi.Mp_tracker_clone(h, out) }); err != nil {
		return nil, err
	}
	return newMemoryStats(out[0]), nil
}

// RecordAllocation counts an allocation of size bytes, without a pointer.
func (s *MemoryStats) RecordAllocation(size uint64) error {
	return s.call(func(h uintptr) error { return capi.Mp_tracker_record_allocation(h, int64(size)) })
}

// RecordDeallocation counts a deallocation of size bytes; refused
// (ErrInvalidArgument), changing nothing, when it would leave more
// deallocations than allocations or fewer bytes than none in use.
func (s *MemoryStats) RecordDeallocation(size uint64) error {
	return s.call(func(h uintptr) error { return capi.Mp_tracker_record_deallocation(h, int64(size)) })
}

// TrackAllocation counts an allocation of size bytes at ptr and records it,
// while tracking is on; a pointer recorded already is ErrInvalidPointer. Only
// the address is kept: ptr is never read.
func (s *MemoryStats) TrackAllocation(ptr unsafe.Pointer, size uint64) error {
	return s.call(func(h uintptr) error { return capi.Mp_tracker_track_allocation(h, uintptr(ptr), int64(size)) })
}

// TrackDeallocation counts the deallocation of a recorded pointer and drops
// its record; a pointer without one is ErrInvalidPointer while tracking is on.
func (s *MemoryStats) TrackDeallocation(ptr unsafe.Pointer) error {
	return s.call(func(h uintptr) error { return capi.Mp_tracker_track_deallocation(h, uintptr(ptr)) })
}

// Stats is every counter at once. Those a standalone MemoryStats does not
// keep (reserved bytes, chunks, ...) are 0, or a copied pool's.
func (s *MemoryStats) Stats() (Stats, error) {
	st := capi.NewMp_stats()
	defer capi.DeleteMp_stats(st)
	if err := s.call(func(h uintptr) error { return capi.Mp_tracker_get_stats(h, st) }); err != nil {
		return Stats{}, err
	}
	return statsOf(st), nil
}

// The seed's getters, one counter each (Stats reads them all at once).

func (s *MemoryStats) TotalAllocated() (uint64, error) {
	st, err := s.Stats()
	return st.TotalAllocated, err
}

func (s *MemoryStats) CurrentUsed() (uint64, error) {
	st, err := s.Stats()
	return st.CurrentUsed, err
}

func (s *MemoryStats) PeakUsage() (uint64, error) {
	st, err := s.Stats()
	return st.PeakUsage, err
}

func (s *MemoryStats) AllocationCount() (uint64, error) {
	st, err := s.Stats()
	return st.AllocationCount, err
}

func (s *MemoryStats) DeallocationCount() (uint64, error) {
	st, err := s.Stats()
	return st.DeallocationCount, err
}

func (s *MemoryStats) FragmentationRatio() (float64, error) {
	st, err := s.Stats()
	return st.FragmentationRatio, err
}

// ActiveAllocations lists the recorded allocations, oldest first.
func (s *MemoryStats) ActiveAllocations() (list []AllocationInfo, err error) {
	err = s.call(func(h uintptr) error {
		list, err = allocations(func(recs capi.Mp_allocation_info, n int64, count []uint64) error {
			return capi.Mp_tracker_get_allocations(h, recs, n, count)
		})
		return err
	})
	return list, err
}

// HasMemoryLeaks says whether more allocations than deallocations are counted.
func (s *MemoryStats) HasMemoryLeaks() (bool, error) {
	out := []bool{false}
	err := s.call(func(h uintptr) error { return capi.Mp_tracker_has_leaks(h, out) })
	return out[0], err
}

// StatsString is the summary that Pool.StatsString writes, for these counters.
func (s *MemoryStats) StatsString() (string, error) {
	out := []string{""}
	err := s.call(func(h uintptr) error { return capi.Mp_tracker_stats_string(h, out) })
	return out[0], err
}

// StatsJSON is the counters as one JSON object (Pool.StatsJSON's fields).
func (s *MemoryStats) StatsJSON() (string, error) {
	out := []string{""}
	err := s.call(func(h uintptr) error { return capi.Mp_tracker_stats_json(h, out) })
	return out[0], err
}

// SetTrackingEnabled turns the per-pointer records of TrackAllocation on or off.
func (s *MemoryStats) SetTrackingEnabled(enabled bool) error {
	return s.call(func(h uintptr) error { return capi.Mp_tracker_set_tracking(h, enabled) })
}

// TrackingEnabled says whether tracking is on.
func (s *MemoryStats) TrackingEnabled() (bool, error) {
	out := []bool{false}
	err := s.call(func(h uintptr) error { return capi.Mp_tracker_get_tracking(h, out) })
	return out[0], err
}

// Reset starts the counts again from what is live, as Pool.ResetStats does:
// AllocationCount becomes the live allocations, DeallocationCount 0,
// TotalAllocated and PeakUsage the bytes in use; records stay.
func (s *MemoryStats) Reset() error { return s.call(capi.Mp_tracker_reset) }

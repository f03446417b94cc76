package mempool

import (
	"errors"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"
)

func mustStats(t *testing.T) *MemoryStats {
	t.Helper()
	s, err := NewMemoryStats()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func statsOfTracker(t *testing.T, s *MemoryStats) Stats {
	t.Helper()
	st, err := s.Stats()
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestAStandaloneMemoryStatsCountsWhatItsCallerRecords(t *testing.T) {
	s := mustStats(t)
	if on, err := s.TrackingEnabled(); err != nil || !on {
		t.Fatal("tracking should start on", on, err)
	}
	if leaks, _ := s.HasMemoryLeaks(); leaks {
		t.Fatal("an empty MemoryStats has leaks")
	}
	for _, n := range []uint64{100, 50} {
		if err := s.RecordAllocation(n); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.RecordDeallocation(30); err != nil {
		t.Fatal(err)
	}
	want := Stats{TotalAllocated: 150, CurrentUsed: 120, PeakUsage: 150, AllocationCount: 2, DeallocationCount: 1,
		LiveAllocations: 1}
	if got := statsOfTracker(t, s); got != want {
		t.Fatalf("stats %+v, want %+v", got, want)
	}
	total, _ := s.TotalAllocated()
	used, _ := s.CurrentUsed()
	peak, _ := s.PeakUsage()
	allocs, _ := s.AllocationCount()
	frees, _ := s.DeallocationCount()
	frag, err := s.FragmentationRatio()
	if total != 150 || used != 120 || peak != 150 || allocs != 2 || frees != 1 || frag != 0 || err != nil {
		t.Fatal("getters:", total, used, peak, allocs, frees, frag, err)
	}
	if leaks, _ := s.HasMemoryLeaks(); !leaks {
		t.Fatal("a live allocation is a leak")
	}

	// Bad input changes nothing.
	expect(t, s.RecordAllocation(0), ErrInvalidArgument, "0 bytes")
	expect(t, s.RecordDeallocation(1000), ErrInvalidArgument, "deallocation of 1000 bytes")
	if got := statsOfTracker(t, s); got != want {
		t.Fatalf("refused records changed the stats: %+v", got)
	}

	// Pointers: recorded while tracking is on; the address is never read.
	var a, b [2]uint64
	pa, pb := unsafe.Pointer(&a), unsafe.Pointer(&b)
	if err := s.TrackAllocation(pa, 64); err != nil {
		t.Fatal(err)
	}
	if err := s.TrackAllocation(pb, 32); err != nil {
		t.Fatal(err)
	}
	expect(t, s.TrackAllocation(pa, 8), ErrInvalidPointer, "tracked already")
	expect(t, s.TrackDeallocation(unsafe.Pointer(&want)), ErrInvalidPointer, "not tracked")
	expect(t, s.TrackDeallocation(nil), ErrInvalidPointer, "NULL")
	live, err := s.ActiveAllocations()
	if err != nil || len(live) != 2 || live[0].Ptr != pa || live[0].Size != 64 || live[1].Ptr != pb ||
		live[1].Size != 32 || live[0].Sequence >= live[1].Sequence {
		t.Fatalf("active allocations %+v (%v)", live, err)
	}
	if err := s.TrackDeallocation(pa); err != nil {
		t.Fatal(err)
	}
	expect(t, s.TrackDeallocation(pa), ErrInvalidPointer, "not tracked")
	if live, _ := s.ActiveAllocations(); len(live) != 1 || live[0].Ptr != pb {
		t.Fatalf("after the free: %+v", live)
	}
	// 150+64+32 allocated in 4, 30+64 freed in 2.
	want = Stats{TotalAllocated: 246, CurrentUsed: 152, PeakUsage: 216, AllocationCount: 4, DeallocationCount: 2,
		LiveAllocations: 2}
	if got := statsOfTracker(t, s); got != want {
		t.Fatalf("stats %+v, want %+v", got, want)
	}

	// Tracking off: pointers are neither counted nor recorded.
	if err := s.SetTrackingEnabled(false); err != nil {
		t.Fatal(err)
	}
	if on, _ := s.TrackingEnabled(); on {
		t.Fatal("tracking is still on")
	}
	if err := s.TrackAllocation(pa, 8); err != nil {
		t.Fatal(err)
	}
	if got := statsOfTracker(t, s); got != want {
		t.Fatalf("an untracked allocation was counted: %+v", got)
	}

	text, err := s.StatsString()
	if err != nil || !strings.Contains(text, "152") {
		t.Fatal(text, err)
	}
	js, err := s.StatsJSON()
	if err != nil || !strings.Contains(js, `"current_used":152`) || !strings.Contains(js, `"allocation_count":4`) {
		t.Fatal(js, err)
	}

	// Reset starts the counts again from what is live.
	if err := s.Reset(); err != nil {
		t.Fatal(err)
	}
	want = Stats{TotalAllocated: 152, CurrentUsed: 152, PeakUsage: 152, AllocationCount: 2, DeallocationCount: 0,
		LiveAllocations: 2}
	if got := statsOfTracker(t, s); got != want {
		t.Fatalf("after Reset %+v, want %+v", got, want)
	}
	if live, _ := s.ActiveAllocations(); len(live) != 1 {
		t.Fatal("Reset dropped the records", live)
	}
}

func TestAClosedMemoryStatsReturnsErrClosedFromEveryCall(t *testing.T) {
	s, err := NewMemoryStats()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal("a second Close:", err)
	}
	var x int
	ptr := unsafe.Pointer(&x)
	calls := map[string]func() error{
		"RecordAllocation":   func() error { return s.RecordAllocation(8) },
		"RecordDeallocation": func() error { return s.RecordDeallocation(8) },
		"TrackAllocation":    func() error { return s.TrackAllocation(ptr, 8) },
		"TrackDeallocation":  func() error { return s.TrackDeallocation(ptr) },
		"Stats":              func() error { _, err := s.Stats(); return err },
		"TotalAllocated":     func() error { _, err := s.TotalAllocated(); return err },
		"FragmentationRatio": func() error { _, err := s.FragmentationRatio(); return err },
		"ActiveAllocations":  func() error { _, err := s.ActiveAllocations(); return err },
		"HasMemoryLeaks":     func() error { _, err := s.HasMemoryLeaks(); return err },
		"StatsString":        func() error { _, err := s.StatsString(); return err },
		"StatsJSON":          func() error { _, err := s.StatsJSON(); return err },
		"SetTrackingEnabled": func() error { return s.SetTrackingEnabled(true) },
		"TrackingEnabled":    func() error { _, err := s.TrackingEnabled(); return err },
		"Reset":              func() error { return s.Reset() },
		"Clone":              func() error { _, err := s.Clone(); return err },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, ErrClosed) {
			t.Errorf("%s after Close: %v", name, err)
		}
	}
}

// Goroutines record, read and clone while another closes: each call either
// runs on the live tracker or returns ErrClosed; none reaches a freed one.
func TestCloseRacingCallsOnOtherGoroutinesIsSafe(t *testing.T) {
	for round := 0; round < 20; round++ {
		s, err := NewMemoryStats()
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		started := make(chan struct{}, raceWorkers)
		for w := 0; w < raceWorkers; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				var slot [8]byte
				for i := 0; ; i++ {
					if i == 1 {
						started <- struct{}{}
					}
					var err error
					switch i % 4 {
					case 0:
						err = s.RecordAllocation(16)
					case 1:
						if err = s.TrackAllocation(unsafe.Pointer(&slot[w%8]), 8); err == nil {
							err = s.TrackDeallocation(unsafe.Pointer(&slot[w%8]))
						}
					case 2:
						_, err = s.StatsString()
					case 3:
						var c *MemoryStats
						if c, err = s.Clone(); err == nil {
							err = c.Close()
						}
					}
					if errors.Is(err, ErrClosed) {
						return
					}
					if err != nil {
						t.Error(err)
						return
					}
				}
			}(w)
		}
		for w := 0; w < raceWorkers; w++ {
			<-started
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
	}
}

func TestMemoryStatsCountsExactlyAcrossGoroutines(t *testing.T) {
	s := mustStats(t)
	const workers, rounds = 8, 1000
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < rounds; i++ {
				if err := s.RecordAllocation(8); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if st := statsOfTracker(t, s); st.AllocationCount != workers*rounds || st.CurrentUsed != 8*workers*rounds {
		t.Fatalf("%+v", st)
	}
}

func TestAForgottenMemoryStatsIsFreedByItsFinalizer(t *testing.T) {
	before := statsFinalized.Load()
	func() {
		s, err := NewMemoryStats()
		if err != nil {
			t.Fatal(err)
		}
		s.RecordAllocation(1)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for statsFinalized.Load() == before {
		if time.Now().After(deadline) {
			t.Fatal("the finalizer did not run")
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
}

func TestAPoolsStatsSnapshotIsACopyThatOutlivesThePool(t *testing.T) {
	cfg, err := DefaultCPU()
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPool("go-snapshot-copy", CPU, cfg)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := p.Allocate(10000)
	b, _ := p.Allocate(20000)
	view, _ := p.Stats() // a value: a snapshot already
	snap, err := p.StatsSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Close()
	if err := p.Deallocate(a); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Allocate(5000); err != nil {
		t.Fatal(err)
	}
	got := statsOfTracker(t, snap)
	if got.CurrentUsed != 30000 || got.AllocationCount != 2 || got.DeallocationCount != 0 || got != view {
		t.Fatalf("the snapshot moved with the pool: %+v, want %+v", got, view)
	}
	live, err := snap.ActiveAllocations()
	if err != nil || len(live) != 2 || live[0].Ptr != a || live[1].Ptr != b {
		t.Fatalf("the snapshot's records: %+v (%v)", live, err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := p.StatsSnapshot(); !errors.Is(err, ErrClosed) {
		t.Fatal("a snapshot of a closed pool:", err)
	}
	// It outlives the pool, records on its own, and its clone on its own.
	if err := snap.RecordAllocation(100); err != nil {
		t.Fatal(err)
	}
	clone, err := snap.Clone()
	if err != nil {
		t.Fatal(err)
	}
	defer clone.Close()
	if err := clone.TrackDeallocation(a); err != nil {
		t.Fatal("the clone lost the records:", err)
	}
	if s := statsOfTracker(t, snap); s.CurrentUsed != 30100 || s.AllocationCount != 3 {
		t.Fatalf("the snapshot after its record: %+v", s)
	}
	if c := statsOfTracker(t, clone); c.CurrentUsed != 20100 || c.DeallocationCount != 1 {
		t.Fatalf("the clone: %+v", c)
	}
	if s := statsOfTracker(t, snap); s.CurrentUsed != 30100 {
		t.Fatalf("a record in the clone reached the original: %+v", s)
	}
}

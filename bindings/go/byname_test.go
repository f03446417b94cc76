package mempool

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"
)

// The by-name helpers are calls of the registry pool's *Pool: while the pool
// is held alone (as Reset, Trim, ResetAllPools and DestroyPool hold it) a
// by-name Allocate or Deallocate waits. Before, they went to C directly.
func TestByNameHelpersWaitWhileTheRegistryPoolIsHeldAlone(t *testing.T) {
	cfg, _ := FixedSizeCPU(64)
	p, err := CreateCPUPool("go-byname-held", cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer DestroyPool("go-byname-held")
	ptr, err := Allocate(64, "go-byname-held") // wraps nothing new: the one *Pool
	if err != nil {
		t.Fatal(err)
	}
	for _, call := range []func() error{
		func() error { q, err := Allocate(64, "go-byname-held"); ptr = q; return err },
		func() error { return Deallocate(ptr, "go-byname-held") },
	} {
		p.mu.Lock() // what Reset holds
		done := make(chan error, 1)
		go func() { done <- call() }()
		select {
		case err := <-done:
			p.mu.Unlock()
			t.Fatalf("a by-name call ran while its pool was held alone (err %v)", err)
		case <-time.After(50 * time.Millisecond):
		}
		p.mu.Unlock()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

// The adversarial run's resetrace: by-name allocations racing Reset of a
// lock-free registry pool got the same block twice between two resets.
func TestByNameAllocateDoesNotRaceReset(t *testing.T) {
	cfg, _ := FixedSizeCPU(64)
	cfg.SyncType = LockFree
	cfg.TrackStats = false
	cfg.InitialSize = 1 << 16
	p, err := CreateCPUPool("go-byname-reset", cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer DestroyPool("go-byname-reset")
	var resets, inReset, dups atomic.Int64
	var stop atomic.Bool
	var wg sync.WaitGroup
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.LockOSThread() // one thread cache per worker
			defer runtime.UnlockOSThread()
			seen := map[unsafe.Pointer]bool{}
			window := int64(-1)
			for !stop.Load() {
				e1, f1 := resets.Load(), inReset.Load()
				ptr, err := Allocate(64, "go-byname-reset")
				e2, f2 := resets.Load(), inReset.Load()
				if err != nil || e1 != e2 || f1 != 0 || f2 != 0 {
					continue // failed, or straddled a reset
				}
				if e1 != window {
					window, seen = e1, map[unsafe.Pointer]bool{}
				}
				if seen[ptr] {
					dups.Add(1)
				}
				seen[ptr] = true
			}
		}()
	}
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); {
		inReset.Store(1)
		if err := p.Reset(); err != nil {
			t.Error(err)
		}
		resets.Add(1)
		inReset.Store(0)
		time.Sleep(50 * time.Microsecond)
	}
	stop.Store(true)
	wg.Wait()
	if dups.Load() > 0 {
		t.Fatalf("%d blocks handed out twice between two resets (%d resets)", dups.Load(), resets.Load())
	}
}

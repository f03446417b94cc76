package mempool

import (
	"bytes"
	"errors"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/mempool-project/mempool/bindings/go/internal/capi"
)

// A raw free of a live Block's memory is refused on every raw path; before,
// Deallocate(b.Pointer()) left the Block live over freed memory, the next
// AllocateBlock aliased it, and after Trim its ReadAt faulted.
func TestARawFreeOfALiveBlocksMemoryIsRefused(t *testing.T) {
	cfg, _ := DefaultCPU()
	p, err := CreateCPUPool("go-alias", cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer DestroyPool("go-alias")
	r, err := NewRouter("go-alias-router")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := r.Add(^uint64(0), p); err != nil {
		t.Fatal(err)
	}
	a, err := p.AllocateBlock(4096)
	if err != nil {
		t.Fatal(err)
	}
	a.WriteAt([]byte("live"), 0)
	for what, free := range map[string]func() error{
		"Pool.Deallocate":         func() error { return p.Deallocate(a.Pointer()) },
		"Deallocate by name":      func() error { return Deallocate(a.Pointer(), "go-alias") },
		"Router.Deallocate":       func() error { return r.Deallocate(a.Pointer()) },
		"Pool.DeallocateOnStream": func() error { return p.DeallocateOnStream(a.Pointer(), 0) },
	} {
		var e *Error
		if err := free(); !errors.Is(err, ErrInvalidOperation) || !errors.As(err, &e) || !strings.Contains(e.Detail, "live Block") {
			t.Errorf("%s of a live Block's memory: %v, want ErrInvalidOperation", what, err)
		}
	}
	b, err := p.AllocateBlock(4096)
	if err != nil {
		t.Fatal(err)
	}
	if b.Pointer() == a.Pointer() {
		t.Fatal("two live Blocks share memory")
	}
	b.WriteAt([]byte("BBBB"), 0)
	if err := p.Trim(0); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 4)
	if _, err := a.ReadAt(got, 0); err != nil || string(got) != "live" {
		t.Fatalf("the Block reads %q, %v", got, err)
	}
	// raw blocks of the same pool are still freed raw, and a Block's memory once it is freed is C's to judge
	raw, err := p.Allocate(64)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Deallocate(raw); err != nil {
		t.Fatal(err)
	}
	ptr := a.Pointer()
	if err := a.Free(); err != nil {
		t.Fatal(err)
	}
	if err := p.Deallocate(ptr); !errors.Is(err, ErrInvalidPointer) {
		t.Fatalf("a second free of a freed Block's memory: %v", err)
	}
	if err := b.Free(); err != nil {
		t.Fatal(err)
	}
}

// The C pool may hand out memory that a live Block holds: after two raw
// frees of one block that raced on a lock-free pool (undetected there). The
// binding refuses a second Block over it and leaves the first alone.
func TestMemoryHandedOutTwiceIsNotMadeASecondBlock(t *testing.T) {
	lockFree, _ := FixedSizeCPU(64)
	lockFree.SyncType = LockFree
	lockFree.TrackStats = false
	mutex, _ := FixedSizeCPU(64)
	for name, cfg := range map[string]Config{"lock-free": lockFree, "mutex": mutex} {
		runtime.LockOSThread() // the lock-free pool's thread cache hands the block back to this thread
		p, err := NewPool("go-twice", CPU, cfg)
		if err != nil {
			t.Fatal(err)
		}
		a, _ := p.AllocateBlock(64)
		a.WriteAt([]byte("first"), 0)
		if err := capi.Mp_pool_deallocate(p.h, uintptr(a.Pointer())); err != nil { // behind the binding's back
			t.Fatal(err)
		}
		b, err := p.AllocateBlock(64)
		if b != nil {
			t.Fatalf("%s: a second Block over live memory: %v, %v", name, b, err)
		}
		expect(t, err, ErrCorruption, "again while a live Block")
		got := make([]byte, 5)
		if _, err := a.ReadAt(got, 0); err != nil || string(got) != "first" {
			t.Fatalf("%s: the first Block reads %q, %v", name, got, err)
		}
		if err := p.Deallocate(a.Pointer()); !errors.Is(err, ErrInvalidOperation) {
			t.Fatalf("%s: the first Block is no longer known: %v", name, err)
		}
		if err := a.Free(); err != nil {
			t.Fatal(err)
		}
		p.Close()
		runtime.UnlockOSThread()
	}
}

// Blocks freed while others are made: the address leaves the table before C
// has the memory back, so its reuse by another goroutine is no alarm.
func TestReuseOfAFreedBlocksMemoryIsNoAlarm(t *testing.T) {
	cfg, _ := FixedSizeCPU(64)
	cfg.SyncType = LockFree
	cfg.TrackStats = false
	p, err := NewPool("go-reuse", CPU, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	var wg sync.WaitGroup
	var alarms atomic.Int64
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			fill := bytes.Repeat([]byte{byte(w)}, 64)
			got := make([]byte, 64)
			for i := 0; i < 20000; i++ {
				b, err := p.AllocateBlock(64)
				if errors.Is(err, ErrCorruption) {
					alarms.Add(1)
					continue
				}
				if err != nil {
					t.Error(err)
					return
				}
				b.WriteAt(fill, 0)
				b.ReadAt(got, 0)
				if !bytes.Equal(got, fill) {
					t.Error("a Block's memory changed under it")
				}
				b.Free()
			}
		}(w)
	}
	wg.Wait()
	if alarms.Load() != 0 {
		t.Fatalf("%d false alarms", alarms.Load())
	}
}

// The real race, bounded at two seconds: two goroutines on their own threads
// free one raw block of a lock-free pool at once until both frees succeed;
// then each makes a Block, and both get that memory from their thread caches.
func TestARacingRawDoubleFreeNeverGivesTwoBlocksOneMemory(t *testing.T) {
	cfg, _ := FixedSizeCPU(64)
	cfg.SyncType = LockFree
	cfg.TrackStats = false
	p, err := NewPool("go-double-free", CPU, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var phase, freed, done atomic.Int64
	var target atomic.Uintptr
	var hit, stop atomic.Bool
	var got [2]*Block
	var errs [2]error
	var wg sync.WaitGroup
	for k := 0; k < 2; k++ {
		wg.Add(1)
		go func(k int) {
			defer wg.Done()
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			for round := int64(1); ; round++ {
				for phase.Load() < round && !stop.Load() {
					runtime.Gosched()
				}
				if stop.Load() {
					break
				}
				if p.Deallocate(unsafe.Pointer(target.Load())) == nil {
					freed.Add(1)
				}
				done.Add(1)
			}
			if hit.Load() {
				got[k], errs[k] = p.AllocateBlock(64)
			}
		}(k)
	}
	round := int64(0)
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); {
		round++
		freed.Store(0)
		ptr, err := p.Allocate(64)
		if err != nil {
			t.Fatal(err)
		}
		target.Store(uintptr(ptr))
		phase.Store(round)
		for done.Load() < 2*round {
			runtime.Gosched()
		}
		if freed.Load() == 2 {
			hit.Store(true)
			break
		}
	}
	stop.Store(true)
	wg.Wait()
	t.Logf("race hit: %v after %d rounds; AllocateBlock errors %v", hit.Load(), round, errs)
	if got[0] != nil && got[1] != nil && got[0].Pointer() == got[1].Pointer() {
		t.Fatal("two live Blocks over one memory")
	}
	for _, err := range errs {
		if err != nil && !errors.Is(err, ErrCorruption) {
			t.Fatal(err)
		}
	}
	p.Close()
}

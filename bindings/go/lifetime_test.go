package mempool

// Lifetimes: closing or destroying a pool or router while other goroutines
// call it. Each race repeats 200 rounds with eight callers and one closer;
// before the guards these tests crashed (SIGSEGV inside the C library) or
// got errors from a destroyed handle.

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"unsafe"
)

const raceRounds, raceWorkers = 200, 8

// crew is raceWorkers goroutines, each calling op until op fails for good.
type crew struct {
	calls atomic.Int64  // successful calls so far
	done  chan struct{} // closed when every worker has returned
	errs  chan error    // the error that ended each worker
}

// startCrew starts the workers; an error for which again is true does not
// end a worker.
func startCrew(op func(worker int) error, again func(error) bool) *crew {
	c := &crew{done: make(chan struct{}), errs: make(chan error, raceWorkers)}
	var wg sync.WaitGroup
	for w := 0; w < raceWorkers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for {
				if err := op(w); err != nil && !again(err) {
					c.errs <- err
					return
				}
				c.calls.Add(1)
			}
		}(w)
	}
	go func() {
		wg.Wait()
		close(c.errs)
		close(c.done)
	}()
	return c
}

// await returns after n more calls, or once every worker has returned. It
// spins: a closer parked on a channel would wait for a worker's time slice
// to end (the workers never block), 10 ms a wake-up.
func (c *crew) await(n int64) {
	for target := c.calls.Load() + n; c.calls.Load() < target; {
		select {
		case <-c.done:
			return
		default:
		}
	}
}

// finish waits for the workers and fails unless each one ended with ErrClosed.
func (c *crew) finish(t *testing.T) {
	t.Helper()
	<-c.done
	for err := range c.errs {
		if !errors.Is(err, ErrClosed) {
			t.Fatalf("a call racing close got %v, want ErrClosed", err)
		}
	}
}

func never(error) bool { return false }

// hammer runs a crew of op, lets it make some calls, runs closeIt and checks
// that every worker then stopped with ErrClosed.
func hammer(t *testing.T, op func() error, closeIt func() error) {
	t.Helper()
	c := startCrew(func(int) error { return op() }, never)
	c.await(4 * raceWorkers)
	if err := closeIt(); err != nil {
		t.Fatal("close: ", err)
	}
	c.finish(t)
}

func allocateAndFree(alloc func(uint64) (unsafe.Pointer, error), free func(unsafe.Pointer) error) func() error {
	return func() error {
		ptr, err := alloc(64)
		if err != nil {
			return err
		}
		return free(ptr)
	}
}

func TestCloseWaitsForCallsInFlightAndLaterCallsReturnErrClosed(t *testing.T) {
	cfg, _ := DefaultCPU()
	for round := 0; round < raceRounds; round++ {
		p, err := NewPool("go-close-race", CPU, cfg)
		if err != nil {
			t.Fatal(err)
		}
		hammer(t, allocateAndFree(p.Allocate, p.Deallocate), p.Close)
		if _, err := p.Stats(); !errors.Is(err, ErrClosed) {
			t.Fatalf("stats after close: %v", err)
		}
		if err := p.Close(); err != nil {
			t.Fatal("a second close: ", err)
		}
	}
}

func TestDestroyPoolWaitsForCallsOnItsRegistryPool(t *testing.T) {
	cfg, _ := DefaultCPU()
	for round := 0; round < raceRounds; round++ {
		if _, err := CreateCPUPool("go-destroy-race", cfg); err != nil {
			t.Fatal(err)
		}
		p, err := CPUPool("go-destroy-race")
		if err != nil {
			t.Fatal(err)
		}
		hammer(t, allocateAndFree(p.Allocate, p.Deallocate), func() error { return DestroyPool("go-destroy-race") })
		if _, err := p.Allocate(8); !errors.Is(err, ErrClosed) {
			t.Fatalf("allocate after DestroyPool: %v", err)
		}
	}
}

func TestTheRegistryHandsOutOneGoPoolPerNameUntilItIsDestroyed(t *testing.T) {
	cfg, _ := DefaultCPU()
	made, err := CreateCPUPool("go-one-per-name", cfg)
	if err != nil {
		t.Fatal(err)
	}
	found, _ := CPUPool("go-one-per-name")
	any, _ := FindPool("go-one-per-name")
	if found != made || any != made {
		t.Fatal("one registry pool, several Go pools")
	}
	if err := made.Close(); err != nil { // a registry pool: nothing happens
		t.Fatal(err)
	}
	if err := DestroyPool("go-one-per-name"); err != nil {
		t.Fatal(err)
	}
	again, err := CreateCPUPool("go-one-per-name", cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer DestroyPool("go-one-per-name")
	if again == made {
		t.Fatal("a new pool of the same name reuses the destroyed one's Go pool")
	}
	if _, err := made.Stats(); !errors.Is(err, ErrClosed) {
		t.Fatalf("the destroyed pool's Go value: %v", err)
	}
	if _, err := again.Stats(); err != nil {
		t.Fatal(err)
	}
}

func TestRouterCloseWaitsForRouterCallsInFlight(t *testing.T) {
	cfg, _ := DefaultCPU()
	p := mustPool(t, "go-router-race", cfg, nil)
	for round := 0; round < raceRounds; round++ {
		r, err := NewRouter("go-router-race")
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Add(^uint64(0), p); err != nil {
			t.Fatal(err)
		}
		hammer(t, func() error {
			ptr, err := r.Allocate(64)
			if err != nil {
				return err
			}
			if err := r.Deallocate(ptr); err != nil {
				p.Deallocate(ptr) // the router closed between the two calls
				return err
			}
			return nil
		}, r.Close)
		if _, err := r.PoolFor(8); !errors.Is(err, ErrClosed) {
			t.Fatalf("a router call after close: %v", err)
		}
	}
	if s, _ := p.Stats(); s.LiveAllocations != 0 {
		t.Fatalf("%d blocks leaked through the router", s.LiveAllocations)
	}
}

func TestARouterRefusesToReachAPoolClosedUnderIt(t *testing.T) {
	cfg, _ := DefaultCPU()
	p, err := NewPool("go-routed", CPU, cfg)
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewRouter("go-router-closed-pool")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := r.Add(^uint64(0), p); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 1000; i++ { // the old code reached the freed pool: an error some times, a crash others
		if _, err := r.Allocate(64); !errors.Is(err, ErrClosed) {
			t.Fatalf("allocate through a router whose pool is closed: %v", err)
		}
	}
}

// The C router must be configured before it is shared; the Go one need not.
func TestRouterAddWhileOtherGoroutinesRouteThroughIt(t *testing.T) {
	cfg, _ := DefaultCPU()
	p := mustPool(t, "go-router-add", cfg, nil)
	for round := 0; round < raceRounds; round++ {
		r, err := NewRouter("go-router-add")
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Add(8, p); err != nil {
			t.Fatal(err)
		}
		hammer(t, func() error {
			ptr, err := r.Allocate(8)
			if err != nil {
				return err
			}
			return r.Deallocate(ptr)
		}, func() error {
			for max := uint64(16); max <= 1024; max += 8 { // each Add may move the C router's ranges
				if err := r.Add(max, p); err != nil {
					return err
				}
			}
			return r.Close()
		})
	}
}

// A pool configured without ThreadSafe has no lock in C; Go serialises it.
func TestAPoolThatIsNotThreadSafeIsSerialisedAcrossGoroutines(t *testing.T) {
	cfg, err := DefaultCPU()
	cfg.ThreadSafe = false
	p := mustPool(t, "go-unlocked", cfg, err)
	const rounds = 20000
	var wg sync.WaitGroup
	failures := make(chan error, raceWorkers)
	for w := 0; w < raceWorkers; w++ {
		wg.Add(1)
		go func(stamp byte) {
			defer wg.Done()
			for r := 0; r < rounds; r++ {
				size := 1 + (r*31+int(stamp))%500
				ptr, err := p.Allocate(uint64(size))
				if err == nil {
					b := Bytes(ptr, size)
					for i := range b {
						b[i] = stamp
					}
					for i := range b {
						if b[i] != stamp {
							err = errors.New("a block was handed to two goroutines")
							break
						}
					}
				}
				if err == nil {
					err = p.Deallocate(ptr)
				}
				if err != nil {
					failures <- err
					return
				}
			}
		}(byte(w + 1))
	}
	wg.Wait()
	close(failures)
	for err := range failures {
		t.Fatal(err)
	}
	if s, _ := p.Stats(); s.AllocationCount != raceWorkers*rounds || s.LiveAllocations != 0 {
		t.Fatalf("counts after the goroutines: %+v", s)
	}
	if err := p.Check(); err != nil {
		t.Fatal(err)
	}
}

// A constructor's nil result, used after its error was ignored, fails cleanly.
func TestANilPoolRouterOrBlockReturnsErrorsInsteadOfPanicking(t *testing.T) {
	var p *Pool
	var r *Router
	var b *Block
	if _, err := p.Allocate(8); !errors.Is(err, ErrInvalidArgument) {
		t.Fatal(err)
	}
	if _, err := p.AllocateBlock(8); !errors.Is(err, ErrInvalidArgument) {
		t.Fatal(err)
	}
	var x int
	if err := p.Deallocate(unsafe.Pointer(&x)); !errors.Is(err, ErrInvalidArgument) {
		t.Fatal(err)
	}
	if err := p.Deallocate(nil); err != nil { // freeing nil does nothing, even on a nil pool
		t.Fatal(err)
	}
	if _, err := p.Stats(); !errors.Is(err, ErrInvalidArgument) {
		t.Fatal(err)
	}
	if err := p.Reset(); !errors.Is(err, ErrInvalidArgument) {
		t.Fatal(err)
	}
	if _, err := r.Allocate(8); !errors.Is(err, ErrInvalidArgument) {
		t.Fatal(err)
	}
	if err := r.Add(8, p); !errors.Is(err, ErrInvalidArgument) {
		t.Fatal(err)
	}
	if _, err := b.ReadAt(make([]byte, 1), 0); !errors.Is(err, ErrInvalidArgument) {
		t.Fatal(err)
	}
	if err := b.Free(); err != nil { // a nil Block is freed as a nil pointer is: nothing happens
		t.Fatal(err)
	}
	var s *MemoryStats
	if err := s.RecordAllocation(8); !errors.Is(err, ErrInvalidArgument) {
		t.Fatal(err)
	}
	if _, err := s.Clone(); !errors.Is(err, ErrInvalidArgument) {
		t.Fatal(err)
	}
	if p.Close() != nil || r.Close() != nil || s.Close() != nil || p.Handle() != 0 || b.Size() != 0 || b.Pointer() != nil {
		t.Fatal("closing nothing should do nothing")
	}
}

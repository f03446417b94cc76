package mempool

// A router's pools are raw pointers inside the C router, and mp_router_add
// must not race the router's other calls ("configure the ranges before the
// router is shared"). So a Router has its own guard, held exclusively by Add
// and Close and shared by the other calls, and each routing call also holds
// every pool of the router for its duration: a pool closed (or destroyed
// through the registry) while in a router makes the router's calls return
// ErrClosed instead of reaching it. Holding them all is what keeps the
// choice of pool in C: which pool serves a size is the router's business.
// The pools are held in id order, the one order every multi-pool holder uses.

import (
	"fmt"
	"sort"
	"sync"
	"unsafe"

	"github.com/mempool-project/mempool/bindings/go/internal/capi"
)

// Router sends each request to a pool by size range: add ranges in
// increasing order, ^uint64(0) (SIZE_MAX) last for the rest. Any goroutine
// may call any method at any time, Add and Close included: they wait for the
// calls in flight. A pool closed while in the router makes the router's
// Allocate and Deallocate return ErrClosed.
type Router struct {
	mu        sync.RWMutex
	closed    bool    // under mu
	pools     []*Pool // under mu: the distinct pools of the ranges, by id
	h         uintptr
	errClosed error
}

var errNilRouter = fmt.Errorf("%w: nil *Router", ErrInvalidArgument)

// NewRouter creates an empty router.
func NewRouter(name string) (*Router, error) {
	if err := checkName("router", name); err != nil {
		return nil, err
	}
	out := []uintptr{0}
	if err := capi.Mp_router_create(name, out); err != nil {
		return nil, err
	}
	return &Router{h: out[0], errClosed: closedError("router '" + name + "' is closed")}, nil
}

// enter holds the router and all its pools for one call.
func (r *Router) enter() error {
	if r == nil {
		return errNilRouter
	}
	r.mu.RLock()
	if r.closed {
		r.mu.RUnlock()
		return r.errClosed
	}
	for i, p := range r.pools {
		if err := p.enter(); err != nil {
			for _, q := range r.pools[:i] {
				q.leave()
			}
			r.mu.RUnlock()
			return err
		}
	}
	return nil
}

func (r *Router) leave() {
	for _, p := range r.pools {
		p.leave()
	}
	r.mu.RUnlock()
}

// Add sends requests up to maxSize bytes (above the previous range) to pool.
func (r *Router) Add(maxSize uint64, pool *Pool) error {
	if r == nil {
		return errNilRouter
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return r.errClosed
	}
	err := pool.call(func(h uintptr) error { return capi.Mp_router_add(r.h, int64(maxSize), h) })
	if err != nil {
		return err
	}
	i := sort.Search(len(r.pools), func(i int) bool { return r.pools[i].id >= pool.id })
	if i == len(r.pools) || r.pools[i] != pool {
		r.pools = append(r.pools[:i], append([]*Pool{pool}, r.pools[i:]...)...)
	}
	return nil
}

// PoolFor is the handle of the pool serving size bytes.
func (r *Router) PoolFor(size uint64) (uintptr, error) {
	out := []uintptr{0}
	if err := r.enter(); err != nil {
		return 0, err
	}
	defer r.leave()
	err := capi.Mp_router_pool_for(r.h, int64(size), out)
	return out[0], err
}

func (r *Router) Allocate(size uint64) (unsafe.Pointer, error) {
	out := []uintptr{0}
	if err := r.enter(); err != nil {
		return nil, err
	}
	defer r.leave()
	err := capi.Mp_router_allocate(r.h, int64(size), out)
	return unsafe.Pointer(out[0]), err
}

// Deallocate frees a block of one of the router's pools; the memory of a
// live Block is refused (ErrInvalidOperation), as Pool.Deallocate does. A
// nil ptr does nothing and returns nil.
func (r *Router) Deallocate(ptr unsafe.Pointer) error {
	if ptr == nil {
		return nil
	}
	if err := r.enter(); err != nil {
		return err
	}
	defer r.leave()
	// Each pool that has made Blocks is held from the check to the C call, in
	// id order (as every holder of several).
	var held []*Pool
	defer func() {
		for i := len(held) - 1; i >= 0; i-- {
			held[i].making.Unlock()
		}
	}()
	for _, p := range r.pools {
		if !p.managed.Load() {
			continue
		}
		p.making.Lock()
		held = append(held, p)
		if err := p.refuseBlock(ptr); err != nil {
			return err
		}
	}
	return capi.Mp_router_deallocate(r.h, uintptr(ptr))
}

// Close destroys the router (its pools stay) once the calls in flight have
// returned; later calls return ErrClosed. Closing twice does nothing.
func (r *Router) Close() error {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	r.closed = true
	r.pools = nil
	return capi.Mp_router_destroy(r.h)
}

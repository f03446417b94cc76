package mempool

// The registry of named pools, as Go sees it. A destroy under a call in
// flight is undefined in C, so DestroyPool must wait for the calls on the
// pool, and for that every registry pool has exactly one *Pool here: the
// table maps each name to it, and CPUPool, GPUPool, FindPool and the Create
// functions all return that object. DestroyPool closes it (waiting for its
// calls), destroys the native pool and drops the name; old *Pool values then
// return ErrClosed, and a new pool of the same name gets a new object.
//
// Lock order: registry.mu, then pools by id, then a Block's own lock.

import (
	"sort"
	"strings"
	"sync"
	"unsafe"

	"mempool/internal/capi"
)

var registry = struct {
	mu    sync.Mutex // held across the C lookup, so a handle found is not destroyed before it is wrapped
	pools map[string]*Pool
}{pools: map[string]*Pool{}}

// registryPool runs lookup (which fills out with a handle) under the
// registry lock and returns the one *Pool of that name.
func registryPool(name string, lookup func(out []uintptr) error) (*Pool, error) {
	registry.mu.Lock()
	defer registry.mu.Unlock()
	out := []uintptr{0}
	if err := lookup(out); err != nil {
		return nil, err
	}
	old := registry.pools[name]
	if old != nil {
		if old.h == out[0] {
			return old, nil
		}
		old.markClosed() // destroyed and made again behind Go's back (by C code): the old handle is dead
	}
	p, err := wrap(out[0], name, false)
	if err != nil {
		return nil, err
	}
	registry.pools[name] = p
	return p, nil
}

func (p *Pool) markClosed() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
}

// CPUPool finds a registry CPU pool; "default" is created on first use.
func CPUPool(name string) (*Pool, error) {
	return registryPool(name, func(out []uintptr) error { return capi.Mp_registry_get_cpu_pool(name, out) })
}

// GPUPool finds a registry GPU pool; "default_gpu" is created on first use.
func GPUPool(name string) (*Pool, error) {
	return registryPool(name, func(out []uintptr) error { return capi.Mp_registry_get_gpu_pool(name, out) })
}

// FindPool finds a registry pool of either type; unlike CPUPool and GPUPool it
// never creates one.
func FindPool(name string) (*Pool, error) {
	return registryPool(name, func(out []uintptr) error { return capi.Mp_registry_find(name, out) })
}

func CreateCPUPool(name string, cfg Config) (*Pool, error) {
	c := cfg.native()
	defer capi.DeleteMp_config(c)
	return registryPool(name, func(out []uintptr) error { return capi.Mp_registry_create_cpu_pool(name, c, out) })
}

func CreateGPUPool(name string, cfg Config) (*Pool, error) {
	c := cfg.native()
	defer capi.DeleteMp_config(c)
	return registryPool(name, func(out []uintptr) error { return capi.Mp_registry_create_gpu_pool(name, c, out) })
}

// DestroyPool destroys a registry pool once the calls in flight on it have
// returned; its *Pool then returns ErrClosed, and its blocks are gone.
func DestroyPool(name string) error {
	registry.mu.Lock()
	defer registry.mu.Unlock()
	p := registry.pools[name]
	if p == nil {
		return capi.Mp_registry_destroy(name)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(registry.pools, name)
	p.closed = true
	return capi.Mp_registry_destroy(name)
}

// ResetAllPools empties every registry pool, after the calls in flight on
// the registry pools Go holds.
func ResetAllPools() {
	registry.mu.Lock()
	defer registry.mu.Unlock()
	held := make([]*Pool, 0, len(registry.pools))
	for _, p := range registry.pools {
		held = append(held, p)
	}
	sort.Slice(held, func(i, j int) bool { return held[i].id < held[j].id })
	for _, p := range held {
		p.mu.Lock()
	}
	capi.Mp_registry_reset_all()
	for _, p := range held {
		p.epoch++
		p.mu.Unlock()
	}
}

// PoolNames lists the registry's pools, sorted.
func PoolNames() ([]string, error) {
	out := []string{""}
	if err := capi.Mp_registry_names(out); err != nil {
		return nil, err
	}
	return strings.Fields(out[0]), nil
}

// AllStatsJSON is every registry pool's stats as one JSON object keyed by name.
func AllStatsJSON() (string, error) {
	out := []string{""}
	err := capi.Mp_registry_stats_json(out)
	return out[0], err
}

// The helpers by name find the pool inside the C library, which holds its
// registry lock across the call; DestroyPool cannot free a pool under them.

// Allocate takes size bytes from the registry CPU pool poolName.
func Allocate(size uint64, poolName string) (unsafe.Pointer, error) {
	out := []uintptr{0}
	err := capi.Mp_allocate(poolName, int64(size), out)
	return unsafe.Pointer(out[0]), err
}

func Deallocate(ptr unsafe.Pointer, poolName string) error {
	return capi.Mp_deallocate(poolName, uintptr(ptr))
}

// AllocateGPU takes size bytes from the registry GPU pool poolName.
func AllocateGPU(size uint64, poolName string) (unsafe.Pointer, error) {
	out := []uintptr{0}
	err := capi.Mp_allocate_gpu(poolName, int64(size), out)
	return unsafe.Pointer(out[0]), err
}

func DeallocateGPU(ptr unsafe.Pointer, poolName string) error {
	return capi.Mp_deallocate_gpu(poolName, uintptr(ptr))
}

package mempool

// The registry of named pools, as Go sees it. A destroy under a call in
// flight is undefined in C, so DestroyPool must wait for the calls on the
// pool, and for that every registry pool has exactly one *Pool here: the
// table maps each name to it, and CPUPool, GPUPool, FindPool and the Create
// functions all return that object. DestroyPool closes it (waiting for its
// calls), destroys the native pool and drops the name; old *Pool values then
// return ErrClosed, and a new pool of the same name gets a new object.
//
// The by-name helpers (Allocate, Deallocate, AllocateGPU, DeallocateGPU) are
// that object's own calls, so they hold its guard as method calls do: Reset,
// Trim, ResetAllPools and DestroyPool wait for them.
//
// Lock order: registry.mu, then pools by id, then a Block's own lock, then
// the pools' Block tables (making, by id, then blocksMu).

import (
	"errors"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/mempool-project/mempool/bindings/go/internal/capi"
)

var registry = struct {
	mu    sync.Mutex // held across the C lookup, so a handle found is not destroyed before it is wrapped
	pools map[string]*Pool
	// known is a copy of pools for the by-name helpers, which read it
	// without the lock; it is replaced, never changed, under mu.
	known atomic.Pointer[map[string]*Pool]
}{pools: map[string]*Pool{}}

// published copies the table for the helpers; the caller holds registry.mu.
func published() {
	m := make(map[string]*Pool, len(registry.pools))
	for n, p := range registry.pools {
		m[n] = p
	}
	registry.known.Store(&m)
}

// registryPool runs lookup (which fills out with a handle) under the
// registry lock and returns the one *Pool of that name.
func registryPool(name string, lookup func(out []uintptr) error) (*Pool, error) {
	if err := checkName("pool", name); err != nil {
		return nil, err
	}
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
	published()
	return p, nil
}

func (p *Pool) markClosed() {
	p.mu.Lock()
	p.closed = true
	p.blocks = nil
	p.mu.Unlock()
}

// CPUPool finds the registry CPU pool of that name, and GPUPool the GPU pool
// (the seed's getCPUPool and getGPUPool). The rule in Go: they return a pool
// or an error, never a nil pool without one. A name no pool has is an error
// that errors.Is(err, ErrNotFound), except "default" (CPUPool) and
// "default_gpu" (GPUPool), made with DefaultCPU's and DefaultGPU's
// configuration on first use; the name of a pool of the other memory type is
// the C status's error, errors.Is(err, ErrInvalidOperation). GPUPool is a GPU
// call: without a device, making "default_gpu" fails with a
// CudaUnavailableError.
func CPUPool(name string) (*Pool, error) {
	return registryPool(name, func(out []uintptr) error { return capi.Mp_registry_get_cpu_pool(name, out) })
}

// GPUPool finds a registry GPU pool; see CPUPool.
func GPUPool(name string) (*Pool, error) {
	p, err := registryPool(name, func(out []uintptr) error { return capi.Mp_registry_get_gpu_pool(name, out) })
	return p, cudaError(err, true)
}

// FindPool finds a registry pool of either type; unlike CPUPool and GPUPool it
// never creates one.
func FindPool(name string) (*Pool, error) {
	return registryPool(name, func(out []uintptr) error { return capi.Mp_registry_find(name, out) })
}

// CreateCPUPool makes a registry CPU pool; its zero Config fields are filled
// as NewPool fills them.
func CreateCPUPool(name string, cfg Config) (*Pool, error) {
	c := cfg.native(CPU)
	defer capi.DeleteMp_config(c)
	p, err := registryPool(name, func(out []uintptr) error { return capi.Mp_registry_create_cpu_pool(name, c, out) })
	return p, cudaError(err, cfg.usesCUDA(CPU))
}

// CreateGPUPool makes a registry GPU pool (a GPU call); see CreateCPUPool.
func CreateGPUPool(name string, cfg Config) (*Pool, error) {
	c := cfg.native(GPU)
	defer capi.DeleteMp_config(c)
	p, err := registryPool(name, func(out []uintptr) error { return capi.Mp_registry_create_gpu_pool(name, c, out) })
	return p, cudaError(err, true)
}

// DestroyPool destroys a registry pool once the calls in flight on it have
// returned; its *Pool then returns ErrClosed, and its blocks are gone.
func DestroyPool(name string) error {
	if err := checkName("pool", name); err != nil {
		return err
	}
	registry.mu.Lock()
	defer registry.mu.Unlock()
	p := registry.pools[name]
	if p == nil {
		return capi.Mp_registry_destroy(name)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(registry.pools, name)
	published()
	p.closed = true
	p.blocks = nil
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
		p.killBlocks()
		p.mu.Unlock()
	}
}

// PoolNames lists the registry's pools, sorted. Names may hold spaces; C
// lists one a line, and no name holds a line break (control characters are
// refused).
func PoolNames() ([]string, error) {
	out := []string{""}
	if err := capi.Mp_registry_names(out); err != nil {
		return nil, err
	}
	names := []string{}
	for _, n := range strings.Split(out[0], "\n") {
		if n != "" {
			names = append(names, n)
		}
	}
	return names, nil
}

// AllStatsJSON is every registry pool's stats as one JSON object keyed by name.
func AllStatsJSON() (string, error) {
	out := []string{""}
	err := capi.Mp_registry_stats_json(out)
	return out[0], err
}

// GetAllStats is the seed's getAllStats: each registry pool's stats text
// (Pool.StatsString) by name, read through the pool's guard. A pool
// destroyed while it runs is left out.
func GetAllStats() (map[string]string, error) {
	names, err := PoolNames()
	if err != nil {
		return nil, err
	}
	all := make(map[string]string, len(names))
	for _, name := range names {
		var text string
		p, err := FindPool(name)
		if err == nil {
			text, err = p.StatsString()
		}
		switch {
		case err == nil:
			all[name] = text
		case errors.Is(err, ErrNotFound), errors.Is(err, ErrClosed): // destroyed meanwhile
		default:
			return nil, err
		}
	}
	return all, nil
}

// StatsText is every live pool's stats, the registry's and those made
// directly, as mp_stats_print writes them: options "" or "text" for the
// text, "json" for one JSON object.
func StatsText(options string) (string, error) {
	out := []string{""}
	err := capi.Mp_stats_print(options, out)
	return out[0], err
}

// The helpers by name are calls of the registry pool's one *Pool: they hold
// its guard (Reset, Trim, ResetAllPools and DestroyPool wait for them), and
// Deallocate refuses the memory of a live Block as Pool.Deallocate does.
// They do not call C's helpers by name, which look the pool up again: the
// pool's own calls on the *Pool's handle are sure to reach the pool whose
// guard is held (the ABI description lists them as skipped for Go).

// helperPool is the registry pool of that name and type; the GPU side finds
// GPU pools only, the CPU side CPU pools, as in C.
func helperPool(name string, gpu bool) (*Pool, error) {
	if err := checkName("pool", name); err != nil {
		return nil, err
	}
	if known := registry.known.Load(); known != nil {
		if p := (*known)[name]; p != nil && p.gpu == gpu {
			return p, nil
		}
	}
	if gpu {
		return GPUPool(name)
	}
	return CPUPool(name)
}

// byName runs call on the registry pool of that name. A *Pool closed behind
// the helpers' back (its C pool destroyed and made again by C code) is
// looked up once more.
func byName(name string, gpu bool, call func(p *Pool) error) error {
	p, err := helperPool(name, gpu)
	if err != nil {
		return err
	}
	err = call(p)
	if errors.Is(err, ErrClosed) {
		var again *Pool
		if again, err = helperPool(name, gpu); err == nil {
			if again == p {
				return p.errClosed
			}
			err = call(again)
		}
	}
	return err
}

// Allocate takes size bytes from the registry CPU pool poolName.
func Allocate(size uint64, poolName string) (ptr unsafe.Pointer, err error) {
	err = byName(poolName, false, func(p *Pool) (e error) {
		ptr, e = p.Allocate(size)
		return e
	})
	return ptr, err
}

// Deallocate frees a block of the registry CPU pool poolName. A nil ptr
// does nothing and returns nil, without looking the pool up.
func Deallocate(ptr unsafe.Pointer, poolName string) error {
	if ptr == nil {
		return nil
	}
	return byName(poolName, false, func(p *Pool) error { return p.Deallocate(ptr) })
}

// AllocateGPU takes size bytes from the registry GPU pool poolName.
func AllocateGPU(size uint64, poolName string) (ptr unsafe.Pointer, err error) {
	err = byName(poolName, true, func(p *Pool) (e error) {
		ptr, e = p.Allocate(size)
		return e
	})
	return ptr, cudaError(err, true)
}

// DeallocateGPU frees a block of the registry GPU pool poolName. A nil ptr
// does nothing and returns nil, without looking the pool up.
func DeallocateGPU(ptr unsafe.Pointer, poolName string) error {
	if ptr == nil {
		return nil
	}
	return cudaError(byName(poolName, true, func(p *Pool) error { return p.Deallocate(ptr) }), true)
}

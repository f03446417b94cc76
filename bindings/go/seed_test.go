package mempool

// The seed's rules as Go spells them: nil frees, the registry look-ups,
// GetAllStats.

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"unsafe"
)

func TestFreeingNilDoesNothing(t *testing.T) {
	p := mustPool(t, "go-nil-free", NewConfig(), nil)
	r, err := NewRouter("go-nil-free")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := r.Add(^uint64(0), p); err != nil {
		t.Fatal(err)
	}
	var nilBlock *Block
	frees := map[string]func() error{
		"Pool.Deallocate":         func() error { return p.Deallocate(nil) },
		"Pool.DeallocateOnStream": func() error { return p.DeallocateOnStream(nil, 0) },
		"Router.Deallocate":       func() error { return r.Deallocate(nil) },
		"Deallocate":              func() error { return Deallocate(nil, "default") },
		"Deallocate, no pool":     func() error { return Deallocate(nil, "go-no-such-pool") },
		"DeallocateGPU":           func() error { return DeallocateGPU(nil, "default_gpu") },
		"DeallocateOf":            func() error { return DeallocateOf[int](p, nil) },
		"DeallocateGPUOf":         func() error { return DeallocateGPUOf[int](p, nil) },
		"Block.Free":              func() error { return nilBlock.Free() },
	}
	for name, free := range frees {
		if err := free(); err != nil {
			t.Errorf("%s(nil): %v", name, err)
		}
	}
	if s, _ := p.Stats(); s.DeallocationCount != 0 || s.AllocationCount != 0 {
		t.Fatalf("a nil free reached the pool: %+v", s)
	}
	// A pointer that is not nil is still checked.
	var x int
	expect(t, p.Deallocate(unsafe.Pointer(&x)), ErrInvalidPointer, "")
	expect(t, r.Deallocate(unsafe.Pointer(&x)), ErrInvalidPointer, "")
	p.Close()
	if err := p.Deallocate(nil); err != nil {
		t.Fatal("nil on a closed pool:", err)
	}
	if err := p.Deallocate(unsafe.Pointer(&x)); !errors.Is(err, ErrClosed) {
		t.Fatal(err)
	}
}

// CPUPool and GPUPool return a pool or an error: ErrNotFound for a name no
// pool has, the C status (ErrInvalidOperation) for a pool of the other type.
func TestCPUPoolAndGPUPoolReturnAPoolOrAnError(t *testing.T) {
	for name, get := range map[string]func(string) (*Pool, error){"CPUPool": CPUPool, "GPUPool": GPUPool} {
		p, err := get("go-rule-unknown")
		expect(t, err, ErrNotFound, "go-rule-unknown")
		if p != nil {
			t.Fatalf("%s of an unknown name returned a pool", name)
		}
	}
	made, err := CreateCPUPool("go-rule-cpu", NewConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer DestroyPool("go-rule-cpu")
	if p, err := CPUPool("go-rule-cpu"); err != nil || p != made {
		t.Fatal(p, err)
	}
	p, err := GPUPool("go-rule-cpu")
	expect(t, err, ErrInvalidOperation, "CPU pool")
	if p != nil {
		t.Fatal("GPUPool of a CPU pool's name returned a pool")
	}
	if p, err := CPUPool("default"); err != nil || p == nil {
		t.Fatal("default is made on first use:", err)
	}
}

func TestGetAllStatsMapsEachRegistryPoolToItsStatsText(t *testing.T) {
	a, err := CreateCPUPool("go-all-a", NewConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer DestroyPool("go-all-a")
	b, err := CreateCPUPool("go-all b", Config{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Allocate(4000); err != nil {
		t.Fatal(err)
	}
	all, err := GetAllStats()
	if err != nil {
		t.Fatal(err)
	}
	names, _ := PoolNames()
	keys := make([]string, 0, len(all))
	for k := range all {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if strings.Join(keys, "|") != strings.Join(names, "|") {
		t.Fatalf("GetAllStats has %q, the registry %q", keys, names)
	}
	for name, p := range map[string]*Pool{"go-all-a": a, "go-all b": b} {
		text, _ := p.StatsString()
		if all[name] != text || !strings.Contains(text, "pool '"+name+"'") {
			t.Errorf("%s: %q, want %q", name, all[name], text)
		}
	}
	if !strings.Contains(all["go-all-a"], "4000") {
		t.Fatal(all["go-all-a"])
	}
	if err := DestroyPool("go-all b"); err != nil {
		t.Fatal(err)
	}
	if all, _ = GetAllStats(); all["go-all b"] != "" {
		t.Fatal("a destroyed pool is still listed")
	}
}

// The README's standalone MemoryStats example.
func ExampleMemoryStats() {
	stats, _ := NewMemoryStats()
	defer stats.Close()
	stats.RecordAllocation(4096)
	stats.RecordDeallocation(1024)
	used, _ := stats.CurrentUsed()
	fmt.Println(used)
	// Output: 3072
}

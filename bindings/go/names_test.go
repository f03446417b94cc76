package mempool

import (
	"errors"
	"strings"
	"testing"
	"unsafe"
)

// A name with a NUL byte is refused before C, which would cut it at the NUL:
// "a\x00x" made the C pool "a", and CPUPool("a") then gave one C pool a
// second *Pool with its own guard (a Block of the first read unmapped memory
// after DestroyPool("a")).
func TestNamesWithANulByteAreRefusedBeforeC(t *testing.T) {
	cfg, _ := DefaultCPU()
	var word [8]byte
	some := unsafe.Pointer(&word[0]) // never reaches C
	for _, name := range []string{"go-nul\x00x", "\x00", "go-nul\x00"} {
		calls := map[string]func() error{
			"NewPool":       func() error { _, err := NewPool(name, CPU, cfg); return err },
			"CreateCPUPool": func() error { _, err := CreateCPUPool(name, cfg); return err },
			"CreateGPUPool": func() error { _, err := CreateGPUPool(name, cfg); return err },
			"CPUPool":       func() error { _, err := CPUPool(name); return err },
			"GPUPool":       func() error { _, err := GPUPool(name); return err },
			"FindPool":      func() error { _, err := FindPool(name); return err },
			"DestroyPool":   func() error { return DestroyPool(name) },
			"Allocate":      func() error { _, err := Allocate(64, name); return err },
			"Deallocate":    func() error { return Deallocate(some, name) },
			"AllocateGPU":   func() error { _, err := AllocateGPU(64, name); return err },
			"DeallocateGPU": func() error { return DeallocateGPU(some, name) },
			"NewRouter":     func() error { _, err := NewRouter(name); return err },
		}
		for what, call := range calls {
			var e *Error
			err := call()
			if !errors.Is(err, ErrInvalidArgument) || !errors.As(err, &e) || !strings.Contains(e.Detail, "NUL") {
				t.Errorf("%s(%q): %v, want ErrInvalidArgument naming the NUL", what, name, err)
			}
		}
	}
	if p, err := FindPool("go-nul"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("C made a pool of the name cut at the NUL: %v %v", p, err)
	}
}

// PoolNames splits the C listing at line breaks only: names may hold spaces.
func TestPoolNamesKeepsNamesWithSpaces(t *testing.T) {
	cfg, _ := DefaultCPU()
	names := []string{"go my pool", "go nbsp\u00a0pool", "go line\u2028sep", "go trailing "}
	for _, n := range names {
		if _, err := CreateCPUPool(n, cfg); err != nil {
			t.Fatal(n, err)
		}
		defer DestroyPool(n)
	}
	listed, err := PoolNames()
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, n := range listed {
		if n == "" {
			t.Fatalf("an empty name in %q", listed)
		}
		have[n] = true
		if _, err := FindPool(n); err != nil {
			t.Errorf("PoolNames lists %q, which FindPool does not find: %v", n, err)
		}
	}
	for _, n := range names {
		if !have[n] {
			t.Errorf("PoolNames() = %q lacks %q", listed, n)
		}
	}
}

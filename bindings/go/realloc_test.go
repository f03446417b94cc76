package mempool

import (
	"errors"
	"testing"
	"unsafe"
)

func fill(ptr unsafe.Pointer, n int, seed byte) {
	for i, b := 0, Bytes(ptr, n); i < n; i++ {
		b[i] = seed + byte(i)
	}
}

func filled(t *testing.T, ptr unsafe.Pointer, n int, seed byte) {
	t.Helper()
	for i, b := range Bytes(ptr, n) {
		if b != seed+byte(i) {
			t.Fatalf("byte %d of %d changed", i, n)
		}
	}
}

func TestReallocateResizesAFixedBlockInPlace(t *testing.T) {
	cfg, err := FixedSizeCPU(64)
	p := mustPool(t, "go-realloc-fixed", cfg, err)
	a, err := p.Allocate(10)
	if err != nil {
		t.Fatal(err)
	}
	fill(a, 10, 1)
	if n, err := p.UsableSize(a); err != nil || n != 64 {
		t.Fatal(n, err)
	}
	if b, err := p.Reallocate(a, 64); err != nil || b != a {
		t.Fatal("not in place:", b, a, err)
	}
	filled(t, a, 10, 1)
	if s, _ := p.Stats(); s.AllocationCount != 1 || s.CurrentUsed != 64 {
		t.Fatalf("stats %+v", s)
	}
	b, err := p.Reallocate(a, 65)
	expect(t, err, ErrInvalidArgument, "fixed pool")
	if b != a { // the block back, live and unchanged
		t.Fatal("a refusal lost the block")
	}
	_, err = p.Reallocate(a, 0)
	expect(t, err, ErrInvalidArgument, "mp_pool_deallocate")
	filled(t, a, 10, 1)
	if err := p.Deallocate(a); err != nil {
		t.Fatal(err)
	}
	_, err = p.Reallocate(a, 8)
	expect(t, err, ErrInvalidPointer, "go-realloc-fixed")
	_, err = p.UsableSize(a)
	expect(t, err, ErrInvalidPointer, "go-realloc-fixed")
}

func TestReallocateMovesAVariableBlockWithItsBytes(t *testing.T) {
	cfg, err := DefaultCPU()
	p := mustPool(t, "go-realloc", cfg, err)
	a, err := p.Reallocate(nil, 100) // nil: allocates
	if err != nil {
		t.Fatal(err)
	}
	fill(a, 100, 7)
	b, err := p.Reallocate(a, 100000)
	if err != nil || b == a {
		t.Fatal("did not move:", err)
	}
	filled(t, b, 100, 7)
	if n, err := p.UsableSize(b); err != nil || n < 100000 {
		t.Fatal(n, err)
	}
	if owned, _ := p.Owns(a); owned {
		t.Fatal("the old block is still live")
	}
	if s, _ := p.Stats(); s.AllocationCount != 2 || s.DeallocationCount != 1 || s.CurrentUsed != 100000 {
		t.Fatalf("stats %+v", s)
	}
	c, err := p.Reallocate(b, 1<<50)
	expect(t, err, ErrOutOfMemory, "2^48")
	if c != b {
		t.Fatal("a refusal lost the block")
	}
	filled(t, b, 100, 7)
	if err := p.Deallocate(b); err != nil {
		t.Fatal(err)
	}
}

func TestReallocateRefusesABlocksMemoryAndAClosedPool(t *testing.T) {
	cfg, err := DefaultCPU()
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPool("go-realloc-block", CPU, cfg)
	if err != nil {
		t.Fatal(err)
	}
	blk, err := p.AllocateBlock(64)
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Reallocate(blk.Pointer(), 4096)
	expect(t, err, ErrInvalidOperation, "live Block")
	if n, err := p.UsableSize(blk.Pointer()); err != nil || n < 64 {
		t.Fatal(n, err)
	}
	raw, _ := p.Allocate(8)
	p.Close()
	if _, err := p.Reallocate(raw, 16); !errors.Is(err, ErrClosed) {
		t.Fatal(err)
	}
	if _, err := p.UsableSize(raw); !errors.Is(err, ErrClosed) {
		t.Fatal(err)
	}
}

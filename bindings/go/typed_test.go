package mempool

import (
	"errors"
	"math"
	"testing"
	"unsafe"
)

type point struct {
	X, Y float64
	Tag  [4]int32
}

func TestAllocateOfGivesASliceOfThePoolsMemory(t *testing.T) {
	p := mustPool(t, "go-typed", NewConfig(), nil)
	xs, err := AllocateOf[float64](p, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(xs) != 100 || cap(xs) != 100 {
		t.Fatal(len(xs), cap(xs))
	}
	for i := range xs {
		xs[i] = float64(i) / 2
	}
	if owned, _ := p.Owns(unsafe.Pointer(&xs[0])); !owned {
		t.Fatal("the slice is not the pool's memory")
	}
	pts, err := AllocateOf[point](p, 3)
	if err != nil {
		t.Fatal(err)
	}
	pts[2] = point{X: 1, Y: 2, Tag: [4]int32{7}}
	if s, _ := p.Stats(); s.CurrentUsed != 800+3*uint64(unsafe.Sizeof(point{})) || s.LiveAllocations != 2 {
		t.Fatalf("%+v", s)
	}
	if xs[99] != 49.5 || pts[2].Tag[0] != 7 {
		t.Fatal("values lost")
	}
	if err := DeallocateOf(p, xs); err != nil {
		t.Fatal(err)
	}
	if err := DeallocateOf(p, pts[:0]); err != nil { // length 0, the same block
		t.Fatal(err)
	}
	if s, _ := p.Stats(); s.CurrentUsed != 0 || s.DeallocationCount != 2 {
		t.Fatalf("%+v", s)
	}
	expect(t, DeallocateOf(p, xs), ErrInvalidPointer, "")
}

func TestAllocateOfRefusesBadCountsTypesAndPools(t *testing.T) {
	p := mustPool(t, "go-typed-bad", NewConfig(), nil)
	_, err := AllocateOf[int64](p, 0)
	expect(t, err, ErrInvalidArgument, "count 0")
	_, err = AllocateOf[int64](p, -3)
	expect(t, err, ErrInvalidArgument, "count -3")
	_, err = AllocateOf[struct{}](p, 4)
	expect(t, err, ErrInvalidArgument, "size 0")
	// count * size wraps 64 bits: refused before any C call.
	_, err = AllocateOf[[1 << 20]byte](p, math.MaxInt)
	expect(t, err, ErrInvalidArgument, "overflow 64 bits")
	_, err = AllocateOf[uint64](p, 1<<61) // 2^64 bytes
	expect(t, err, ErrInvalidArgument, "overflow 64 bits")
	// Just below the wrap: C's own limit refuses it.
	_, err = AllocateOf[uint64](p, 1<<61-1)
	expect(t, err, ErrOutOfMemory, "beyond the 2^48-byte limit")
	// Go pointers must not live in pool memory.
	_, err = AllocateOf[*int](p, 1)
	expect(t, err, ErrInvalidArgument, "Go pointers")
	_, err = AllocateOf[string](p, 1)
	expect(t, err, ErrInvalidArgument, "Go pointers")
	_, err = AllocateOf[struct {
		N int
		B [2][]byte
	}](p, 1)
	expect(t, err, ErrInvalidArgument, "Go pointers")
	_, err = AllocateOf[any](p, 1)
	expect(t, err, ErrInvalidArgument, "Go pointers")
	if s, _ := p.Stats(); s.AllocationCount != 0 || s.CurrentUsed != 0 {
		t.Fatalf("refusals reached the pool: %+v", s)
	}
	_, err = AllocateGPUOf[float32](p, 4)
	expect(t, err, ErrInvalidOperation, "CPU pool")
	var nilPool *Pool
	if _, err = AllocateOf[int](nilPool, 1); !errors.Is(err, ErrInvalidArgument) {
		t.Fatal("a nil pool:", err)
	}
	p.Close()
	_, err = AllocateOf[int](p, 1)
	if err == nil || err.Error() != p.errClosed.Error() {
		t.Fatal("a closed pool:", err)
	}
}

// A pool aligned below T's alignment may hand out an address T cannot live
// at: such a block is freed and refused.
func TestAllocateOfRefusesAnAddressMisalignedForT(t *testing.T) {
	cfg := NewConfig()
	cfg.AllocatorType, cfg.BlockSize, cfg.Alignment = FixedSize, 12, 4
	p := mustPool(t, "go-typed-misaligned", cfg, nil)
	refused := 0
	for i := 0; i < 8; i++ {
		xs, err := AllocateOf[uint64](p, 1)
		if err != nil {
			expect(t, err, ErrInvalidArgument, "not aligned to 8 bytes")
			refused++
			continue
		}
		if uintptr(unsafe.Pointer(&xs[0]))%8 != 0 {
			t.Fatal("a misaligned slice was handed out")
		}
	}
	if s, _ := p.Stats(); refused == 0 || s.LiveAllocations != uint64(8-refused) {
		t.Fatalf("%d refused; %+v", refused, s)
	}
}

func TestAllocateGPUOfOrSkip(t *testing.T) {
	if n, _ := DeviceCount(); n == 0 {
		t.Skip("no CUDA device")
	}
	gcfg, _ := DefaultGPU()
	g, err := NewPool("go-typed-gpu", GPU, gcfg)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	d, err := AllocateGPUOf[float32](g, 1024)
	if err != nil || d == nil {
		t.Fatal(err)
	}
	if err := DeallocateGPUOf(g, d); err != nil {
		t.Fatal(err)
	}
	if _, err := AllocateOf[float32](g, 4); err == nil {
		t.Fatal("a []float32 over device memory")
	}
}

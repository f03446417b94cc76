package mempool

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"unsafe"

	"github.com/mempool-project/mempool/bindings/go/internal/capi"
)

func TestABlockReadsBackWhatWasWrittenThroughReaderAtAndWriterAt(t *testing.T) {
	cfg, err := DefaultCPU()
	p := mustPool(t, "go-block", cfg, err)
	b, err := p.AllocateBlock(100)
	if err != nil {
		t.Fatal(err)
	}
	if b.Size() != 100 || b.Pool() != p {
		t.Fatalf("size %d, pool %p", b.Size(), b.Pool())
	}
	want := make([]byte, 100)
	for i := range want {
		want[i] = byte(i * 7)
	}
	if n, err := b.WriteAt(want[:60], 0); n != 60 || err != nil {
		t.Fatal(n, err)
	}
	if n, err := b.WriteAt(want[60:], 60); n != 40 || err != nil {
		t.Fatal(n, err)
	}
	got, err := io.ReadAll(io.NewSectionReader(b, 0, b.Size()))
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("read back %v (%v)", got, err)
	}
	if owned, _ := p.Owns(b.Pointer()); !owned || Bytes(b.Pointer(), 100)[99] != want[99] {
		t.Fatal("the block's pointer is not its memory")
	}
	if err := b.Free(); err != nil {
		t.Fatal(err)
	}
	if s, _ := p.Stats(); s.LiveAllocations != 0 {
		t.Fatal("Free did not free the block")
	}
}

func TestABlockRefusesAccessOutsideItsBounds(t *testing.T) {
	cfg, err := DefaultCPU()
	p := mustPool(t, "go-block-bounds", cfg, err)
	b, _ := p.AllocateBlock(16)
	defer b.Free()
	for _, c := range []struct {
		n   int
		off int64
	}{{17, 0}, {1, 16}, {8, 9}, {1, -1}, {0, 17}} {
		if n, err := b.WriteAt(make([]byte, c.n), c.off); n != 0 || !errors.Is(err, ErrInvalidArgument) {
			t.Fatalf("write of %d bytes at %d: %d, %v", c.n, c.off, n, err)
		}
	}
	buf := make([]byte, 8)
	if n, err := b.ReadAt(buf, 12); n != 4 || err != io.EOF {
		t.Fatalf("read across the end: %d, %v", n, err)
	}
	if n, err := b.ReadAt(buf, 16); n != 0 || err != io.EOF {
		t.Fatalf("read at the end: %d, %v", n, err)
	}
	if _, err := b.ReadAt(buf, -1); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("read at -1: %v", err)
	}
	if n, err := b.WriteAt(nil, 16); n != 0 || err != nil {
		t.Fatalf("an empty write at the end: %d, %v", n, err)
	}
}

func expectClosed(t *testing.T, b *Block, when string) {
	t.Helper()
	if _, err := b.ReadAt(make([]byte, 1), 0); !errors.Is(err, ErrClosed) {
		t.Fatalf("read %s: %v", when, err)
	}
	if _, err := b.WriteAt([]byte{1}, 0); !errors.Is(err, ErrClosed) {
		t.Fatalf("write %s: %v", when, err)
	}
	if err := b.Free(); !errors.Is(err, ErrClosed) {
		t.Fatalf("free %s: %v", when, err)
	}
}

func TestABlockRefusesAccessOnceFreedResetOrClosed(t *testing.T) {
	cfg, _ := FixedSizeCPU(64)
	p, err := NewPool("go-block-dead", CPU, cfg)
	if err != nil {
		t.Fatal(err)
	}
	freed, _ := p.AllocateBlock(64)
	freed.Free()
	expectClosed(t, freed, "after Free")

	reset, _ := p.AllocateBlock(64)
	if err := p.Reset(); err != nil {
		t.Fatal(err)
	}
	newer, _ := p.AllocateBlock(64) // a LIFO fixed pool hands out the same address again
	if newer.Pointer() != reset.Pointer() {
		t.Fatal("the test needs the address to be reused")
	}
	expectClosed(t, reset, "after Reset")
	if s, _ := p.Stats(); s.LiveAllocations != 1 {
		t.Fatal("freeing a block of before the reset freed the newer block at its address")
	}
	if _, err := newer.WriteAt([]byte{7}, 0); err != nil {
		t.Fatal(err)
	}
	p.Close()
	expectClosed(t, newer, "after Close")

	if _, err := CreateCPUPool("go-block-registry", cfg); err != nil {
		t.Fatal(err)
	}
	q, _ := CPUPool("go-block-registry")
	all, _ := q.AllocateBlock(64)
	ResetAllPools()
	expectClosed(t, all, "after ResetAllPools")
	gone, _ := q.AllocateBlock(64)
	DestroyPool("go-block-registry")
	expectClosed(t, gone, "after DestroyPool")
}

// Reset, Trim and Close wait for the accessors in flight: without that, a
// read or write could land in a chunk that Trim has just unmapped.
func TestBlockAccessorsHoldOffResetTrimAndClose(t *testing.T) {
	cfg, _ := DefaultCPU()
	cfg.InitialSize = 64 << 10 // small chunks: each Reset + Trim(0) unmaps every one
	for round := 0; round < raceRounds; round++ {
		p, err := NewPool("go-block-race", CPU, cfg)
		if err != nil {
			t.Fatal(err)
		}
		c := startCrew(func(w int) error {
			fill := bytes.Repeat([]byte{byte(w + 1)}, 4096)
			got := make([]byte, 4096)
			b, err := p.AllocateBlock(4096)
			if err == nil {
				_, err = b.WriteAt(fill, 0)
			}
			if err == nil {
				_, err = b.ReadAt(got, 0)
				if err == nil && !bytes.Equal(got, fill) {
					err = errors.New("a block changed under its owner")
				}
			}
			if err == nil {
				err = b.Free()
			}
			return err
		}, func(err error) bool {
			return errors.Is(err, ErrClosed) && p.Handle() != 0 // a Reset killed the block: the pool lives on
		})
		for i := 0; i < 3; i++ {
			c.await(raceWorkers)
			if err := p.Reset(); err != nil {
				t.Fatal(err)
			}
			if err := p.Trim(0); err != nil {
				t.Fatal(err)
			}
		}
		p.Close()
		c.finish(t)
	}
}

func TestOnlyHostAddressableBackendsAllowHostAccess(t *testing.T) {
	for backend, want := range map[int]bool{
		int(capi.MP_BACKEND_HOST): true, int(capi.MP_BACKEND_CUDA_PINNED): true,
		int(capi.MP_BACKEND_CUDA_MANAGED): true, int(capi.MP_BACKEND_CUDA_DEVICE): false, 99: false,
	} {
		if hostAddressable(backend) != want {
			t.Fatalf("backend %d: host-addressable should be %v", backend, want)
		}
	}
}

func TestABlockOfDeviceMemoryRefusesHostAccess(t *testing.T) {
	if n, _ := DeviceCount(); n == 0 {
		t.Skip("no CUDA device")
	}
	cfg, _ := DefaultGPU()
	gpu, err := NewPool("go-gpu-block", GPU, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer gpu.Close()
	b, err := gpu.AllocateBlock(256)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.WriteAt([]byte{1}, 0); !errors.Is(err, ErrInvalidOperation) {
		t.Fatalf("a host write into device memory: %v", err)
	}
	if _, err := b.ReadAt(make([]byte, 1), 0); !errors.Is(err, ErrInvalidOperation) {
		t.Fatalf("a host read of device memory: %v", err)
	}
	h := []byte{42}
	if err := gpu.CopyHostToDevice(b.Pointer(), unsafe.Pointer(&h[0]), 1); err != nil {
		t.Fatal(err)
	}
	if err := b.Free(); err != nil {
		t.Fatal(err)
	}
}

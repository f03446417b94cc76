package mempool

import (
	"errors"
	"sync"
	"testing"

	"github.com/mempool-project/mempool/bindings/go/internal/capi"
)

// The enum values are constants: these lines do not compile if one is a variable.
const (
	_ AllocatorType = FixedSize + VariableSize
	_ SyncType      = Mutex + LockFree
	_ MemoryType    = CPU + GPU
	_ AllocFlags    = AllocNone + AllocPinned + AllocManaged
	_ uint64        = DefaultAlignment + DefaultGPUAlignment
)

func TestEnumValuesMatchTheCLibrary(t *testing.T) {
	same := []struct {
		name      string
		inGo, inC int64
	}{
		{"Mutex", int64(Mutex), int64(capi.MP_SYNC_MUTEX)},
		{"LockFree", int64(LockFree), int64(capi.MP_SYNC_LOCK_FREE)},
		{"CPU", int64(CPU), int64(capi.MP_MEMORY_CPU)},
		{"GPU", int64(GPU), int64(capi.MP_MEMORY_GPU)},
		{"AllocNone", int64(AllocNone), int64(capi.MP_ALLOC_NONE)},
		{"AllocPinned", int64(AllocPinned), int64(capi.MP_ALLOC_PINNED)},
		{"AllocManaged", int64(AllocManaged), int64(capi.MP_ALLOC_MANAGED)},
		// AllocatorType is mapped, so that its zero value is the reference's default.
		{"FixedSize", int64(FixedSize.native()), int64(capi.MP_ALLOCATOR_FIXED_SIZE)},
		{"VariableSize", int64(VariableSize.native()), int64(capi.MP_ALLOCATOR_VARIABLE_SIZE)},
		{"FixedSize back", int64(allocatorTypeOf(capi.MP_ALLOCATOR_FIXED_SIZE)), int64(FixedSize)},
		{"VariableSize back", int64(allocatorTypeOf(capi.MP_ALLOCATOR_VARIABLE_SIZE)), int64(VariableSize)},
	}
	for _, v := range same {
		if v.inGo != v.inC {
			t.Errorf("%s is %d in Go and %d in C", v.name, v.inGo, v.inC)
		}
	}
	var zero AllocatorType
	if zero != VariableSize {
		t.Error("the zero AllocatorType is not VariableSize")
	}
	expect(t, Config{AllocatorType: 7}.Validate(CPU), ErrInvalidArgument, "allocator_type 7")
}

func TestDefaultAlignmentIsTheCLibrarys(t *testing.T) {
	cpu, err := DefaultCPU()
	if err != nil {
		t.Fatal(err)
	}
	gpu, err := DefaultGPU()
	if err != nil {
		t.Fatal(err)
	}
	if DefaultAlignment != cpu.Alignment || DefaultAlignment != uint64(capi.MP_DEFAULT_ALIGNMENT) {
		t.Fatalf("DefaultAlignment %d; C: MP_DEFAULT_ALIGNMENT %d, mp_config_default_cpu %d",
			DefaultAlignment, capi.MP_DEFAULT_ALIGNMENT, cpu.Alignment)
	}
	if DefaultGPUAlignment != gpu.Alignment {
		t.Fatalf("DefaultGPUAlignment %d; mp_config_default_gpu %d", DefaultGPUAlignment, gpu.Alignment)
	}
}

func TestNewConfigHasTheReferencesDefaults(t *testing.T) {
	want := Config{AllocatorType: VariableSize, InitialSize: 1 << 20, BlockSize: 256, ThreadSafe: true,
		SyncType: Mutex, TrackStats: true, Alignment: DefaultAlignment, GrowthFactor: 2}
	if got := NewConfig(); got != want {
		t.Fatalf("NewConfig %+v, want %+v", got, want)
	}
}

func TestTheZeroConfigMakesAWorkingPool(t *testing.T) {
	if err := (Config{}).Validate(CPU); err != nil {
		t.Fatal("the zero Config is refused:", err)
	}
	p := mustPool(t, "go-zero-config", Config{}, nil)
	got, err := p.Config()
	if err != nil {
		t.Fatal(err)
	}
	want := Config{AllocatorType: VariableSize, BlockSize: 256, Alignment: DefaultAlignment, GrowthFactor: 2}
	if got != want {
		t.Fatalf("the pool's config %+v, want %+v", got, want)
	}
	// A variable-size pool that reserves on demand, shared by goroutines
	// (without ThreadSafe the binding serialises the calls).
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 1; i <= 200; i++ {
				ptr, err := p.Allocate(uint64(i * (w + 1) * 8))
				if err == nil {
					Bytes(ptr, 8)[0] = byte(i)
					err = p.Deallocate(ptr)
				}
				if err != nil {
					t.Error(err)
					return
				}
			}
		}(w)
	}
	wg.Wait()
	if err := p.Check(); err != nil {
		t.Fatal(err)
	}
}

func TestZeroFieldsAreFilledAndOthersKept(t *testing.T) {
	cfg := Config{AllocatorType: FixedSize, BlockSize: 128, Alignment: 64, GrowthFactor: 3, InitialSize: 4096,
		ThreadSafe: true, TrackStats: true}
	p := mustPool(t, "go-config-kept", cfg, nil)
	got, _ := p.Config()
	if got.AllocatorType != FixedSize || got.BlockSize != 128 || got.Alignment != 64 || got.GrowthFactor != 3 ||
		got.InitialSize != 4096 || !got.ThreadSafe || !got.TrackStats {
		t.Fatalf("%+v", got)
	}
	fixed := mustPool(t, "go-config-fixed-zero", Config{AllocatorType: FixedSize}, nil)
	if got, _ := fixed.Config(); got.BlockSize != 256 {
		t.Fatalf("a fixed pool's block size 0 became %d, want 256", got.BlockSize)
	}
	// A value that is not zero is C's to judge.
	expect(t, Config{Alignment: 3}.Validate(CPU), ErrInvalidArgument, "alignment 3")
	_, err := NewPool("go-config-bad", CPU, Config{GrowthFactor: 65})
	expect(t, err, ErrInvalidArgument, "growth_factor 65")
	if !errors.Is(Config{}.Validate(MemoryType(5)), ErrInvalidArgument) {
		t.Fatal("memory type 5 passed")
	}
}

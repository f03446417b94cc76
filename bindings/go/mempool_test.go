package mempool

import (
	"bufio"
	"errors"
	"math"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"unsafe"
)

func mustPool(t *testing.T, name string, cfg Config, err error) *Pool {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPool(name, CPU, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func TestAllocatedMemoryIsWritableThroughItsByteView(t *testing.T) {
	cfg, err := DefaultCPU()
	p := mustPool(t, "go-rw", cfg, err)
	ptr, err := p.Allocate(1024)
	if err != nil || ptr == nil {
		t.Fatal(err)
	}
	b := Bytes(ptr, 1024)
	for i := range b {
		b[i] = byte(i)
	}
	again := Bytes(ptr, 1024)
	for i := range again {
		if again[i] != byte(i) {
			t.Fatalf("byte %d lost", i)
		}
	}
	if owned, err := p.Owns(ptr); err != nil || !owned {
		t.Fatal("the pool does not own its block", err)
	}
	if err := p.Deallocate(ptr); err != nil {
		t.Fatal(err)
	}
}

func TestStatsCountAllocationsExactly(t *testing.T) {
	cfg, err := DefaultCPU()
	p := mustPool(t, "go-stats", cfg, err)
	// Above the small-block classes (8 KiB): TLSF blocks, side by side.
	a, _ := p.Allocate(10000)
	b, _ := p.Allocate(20000)
	if err := p.Deallocate(a); err != nil {
		t.Fatal(err)
	}
	s, err := p.Stats()
	if err != nil {
		t.Fatal(err)
	}
	// The freed first block is a hole before b.
	hole := 10000.0 / float64(1<<20-20000)
	if s.FragmentationRatio < hole-1e-12 || s.FragmentationRatio > hole+1e-12 {
		t.Fatalf("fragmentation %v, want %v", s.FragmentationRatio, hole)
	}
	want := Stats{TotalAllocated: 30000, CurrentUsed: 20000, PeakUsage: 30000, AllocationCount: 2, DeallocationCount: 1,
		FragmentationRatio: s.FragmentationRatio, ReservedBytes: 1 << 20, ChunkCount: 1, LiveAllocations: 1,
		PeakReservedBytes: 1 << 20}
	if s != want {
		t.Fatalf("stats %+v, want %+v", s, want)
	}
	live, err := p.ActiveAllocations()
	if err != nil || len(live) != 1 || live[0].Ptr != b || live[0].Size != 20000 || live[0].Sequence != 2 {
		t.Fatalf("active allocations %+v (%v)", live, err)
	}
	if leaks, _ := p.HasLeaks(); !leaks {
		t.Fatal("a live block is not a leak")
	}
	text, _ := p.StatsString()
	js, _ := p.StatsJSON()
	if !strings.Contains(text, "pool 'go-stats'") || !strings.Contains(js, `"current_used":20000`) {
		t.Fatal(text, js)
	}
	if err := p.ResetStats(); err != nil {
		t.Fatal(err)
	}
	// The counts start again from what is live: b.
	if s, _ := p.Stats(); s.AllocationCount != 1 || s.DeallocationCount != 0 || s.TotalAllocated != 20000 ||
		s.PeakUsage != 20000 || s.CurrentUsed != 20000 || s.LiveAllocations != 1 {
		t.Fatalf("after ResetStats: %+v", s)
	}
	if err := p.Deallocate(b); err != nil {
		t.Fatal(err)
	}
	if s, _ := p.Stats(); s.AllocationCount != 1 || s.DeallocationCount != 1 || s.CurrentUsed != 0 {
		t.Fatalf("a free after ResetStats: %+v", s)
	}
	if err := p.SetTracking(false); err != nil {
		t.Fatal(err)
	}
	if on, _ := p.Tracking(); on {
		t.Fatal("tracking is still on")
	}
}

func TestResetTrimAndDescription(t *testing.T) {
	cfg, err := FixedSizeCPU(100)
	cfg.Alignment = 64
	p := mustPool(t, "go-fixed", cfg, err)
	for i := 0; i < 50; i++ {
		if _, err := p.Allocate(100); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Reset(); err != nil {
		t.Fatal(err)
	}
	if err := p.Check(); err != nil {
		t.Fatal(err)
	}
	if err := p.Trim(0); err != nil {
		t.Fatal(err)
	}
	s, _ := p.Stats()
	if s.LiveAllocations != 0 || s.ReservedBytes != 0 {
		t.Fatalf("after reset and trim: %+v", s)
	}
	got, _ := p.Config()
	name, _ := p.Name()
	mt, _ := p.MemoryType()
	backend, _ := p.Backend()
	if got.BlockSize != 128 || got.AllocatorType != FixedSize || name != "go-fixed" || mt != CPU || backend != 0 {
		t.Fatalf("config %+v name %q type %v backend %d", got, name, mt, backend)
	}
}

func TestPresetsComeFromTheLibrary(t *testing.T) {
	d, _ := DefaultCPU()
	g, _ := DefaultGPU()
	hp, _ := HighPerformanceCPU()
	hg, _ := HighPerformanceGPU(3)
	dc, _ := DebugCPU()
	dg, _ := DebugGPU(2)
	fg, _ := FixedSizeGPU(4096, 1)
	if d.InitialSize != 1<<20 || d.Alignment != 16 || !d.ThreadSafe || d.SyncType != Mutex || d.GrowthFactor != 2 ||
		g.Alignment != 256 || hp.SyncType != LockFree || hp.TrackStats || hg.DeviceID != 3 ||
		!dc.EnableDebugging || dg.DeviceID != 2 || fg.BlockSize != 4096 || fg.AllocatorType != FixedSize {
		t.Fatal("a preset differs from the library's")
	}
	if err := d.Validate(CPU); err != nil {
		t.Fatal(err)
	}
	if _, err := FixedSizeCPU(0); !errors.Is(err, ErrInvalidArgument) {
		t.Fatal(err)
	}
	gp, err := GeneralPurposeCPU()
	if err != nil || gp.AllocatorType != VariableSize || gp.SyncType != LockFree || !gp.ThreadSafe ||
		!gp.TrackStats || !gp.CountersOnly || gp.EnableDebugging || gp.Alignment != 16 || gp.GrowthFactor != 2 ||
		d.CountersOnly {
		t.Fatalf("general-purpose preset %+v (%v)", gp, err)
	}
}

func TestGeneralPurposePresetMakesAWorkingPool(t *testing.T) {
	cfg, _ := GeneralPurposeCPU()
	p, err := NewPool("go-general", CPU, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if got, _ := p.Config(); !got.CountersOnly {
		t.Fatalf("config %+v", got)
	}
	var ptrs []unsafe.Pointer
	for n := uint64(1); n <= 5000; n += 97 {
		q, err := p.Allocate(n)
		if err != nil {
			t.Fatal(err)
		}
		ptrs = append(ptrs, q)
	}
	for _, q := range ptrs {
		if err := p.Deallocate(q); err != nil {
			t.Fatal(err)
		}
	}
	s, _ := p.Stats()
	if s.AllocationCount != uint64(len(ptrs)) || s.DeallocationCount != uint64(len(ptrs)) || s.CurrentUsed != 0 {
		t.Fatalf("stats %+v", s)
	}
	if _, err := p.ActiveAllocations(); !errors.Is(err, ErrInvalidOperation) {
		t.Fatalf("ActiveAllocations on a counters-only pool: %v", err)
	}
}

func TestCloseTwiceIsHarmlessAndUseAfterCloseFails(t *testing.T) {
	cfg, _ := DefaultCPU()
	p, err := NewPool("go-close", CPU, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = p.Allocate(8)
	if !errors.Is(err, ErrClosed) || err.Error() != "mempool: pool 'go-close' is closed" {
		t.Fatalf("use after close: %v", err)
	}
	if h := p.Handle(); h != 0 {
		t.Fatalf("a closed pool hands out its old handle %#x", h)
	}
}

// Every failure status of the manifest has its sentinel, and *Error unwraps to it.
func TestEveryStatusOfTheManifestHasItsSentinel(t *testing.T) {
	sentinels := map[string]error{
		"InvalidArgument": ErrInvalidArgument, "OutOfMemory": ErrOutOfMemory, "InvalidPointer": ErrInvalidPointer,
		"InvalidOperation": ErrInvalidOperation, "Cuda": ErrCuda, "NotFound": ErrNotFound,
		"AlreadyExists": ErrAlreadyExists, "Unsupported": ErrUnsupported, "Corruption": ErrCorruption,
		"BufferTooSmall": ErrBufferTooSmall,
	}
	f, err := os.Open(os.Getenv("MEMPOOL_MANIFEST"))
	if err != nil {
		t.Fatal("set MEMPOOL_MANIFEST to docs/abi-manifest.tsv: ", err)
	}
	defer f.Close()
	seen := 0
	for sc := bufio.NewScanner(f); sc.Scan(); {
		fields := strings.Split(sc.Text(), "\t")
		if fields[0] != "status" || fields[3] == "" {
			continue
		}
		status, _ := strconv.Atoi(fields[2])
		want, ok := sentinels[fields[3]]
		if !ok {
			t.Fatalf("status %s (%s) has no sentinel Err%s", fields[1], fields[3], fields[3])
		}
		if err := error(&Error{Status: status}); !errors.Is(err, want) {
			t.Fatalf("status %d does not unwrap to Err%s", status, fields[3])
		}
		if StatusName(status) != fields[1] {
			t.Fatalf("status %d is named %s", status, StatusName(status))
		}
		seen++
	}
	if seen != len(sentinels) {
		t.Fatalf("the manifest lists %d failure statuses, the test knows %d", seen, len(sentinels))
	}
}

func expect(t *testing.T, err, sentinel error, word string) {
	t.Helper()
	var e *Error
	if !errors.Is(err, sentinel) || !errors.As(err, &e) || !strings.Contains(e.Detail, word) {
		t.Fatalf("got %v, want %v mentioning %q", err, sentinel, word)
	}
}

func TestEachFailureReturnsItsError(t *testing.T) {
	cfg, err := FixedSizeCPU(64)
	cfg.InitialSize, cfg.MaxSize = 4096, 4096
	p := mustPool(t, "go-errors", cfg, err)
	_, err = p.Allocate(0)
	expect(t, err, ErrInvalidArgument, "size 0")
	_, err = p.Allocate(65)
	expect(t, err, ErrInvalidArgument, "64-byte blocks")
	for i := 0; i < 64; i++ {
		if _, err := p.Allocate(64); err != nil {
			t.Fatal(err)
		}
	}
	_, err = p.Allocate(64)
	expect(t, err, ErrOutOfMemory, "max_size")

	dcfg, err := DebugCPU()
	q := mustPool(t, "go-debug", dcfg, err)
	a, _ := q.Allocate(40)
	Bytes(a, 41)[40] = 0
	expect(t, q.Check(), ErrCorruption, "overflow")
	expect(t, q.Deallocate(a), ErrCorruption, "overflow")
	expect(t, q.Deallocate(a), ErrInvalidPointer, "double free")
	expect(t, q.SetDevice(0), ErrInvalidOperation, "host memory")
	_, err = q.AllocateOnStream(64, 0)
	expect(t, err, ErrInvalidOperation, "host memory")
	expect(t, q.SetReleaseThreshold(0), ErrInvalidOperation, "host memory")
	_, err = q.ReleaseThreshold()
	expect(t, err, ErrInvalidOperation, "host memory")

	_, err = CPUPool("nowhere")
	expect(t, err, ErrNotFound, "nowhere")
	if _, err := CreateCPUPool("go-twice", cfg); err != nil {
		t.Fatal(err)
	}
	_, err = CreateCPUPool("go-twice", cfg)
	expect(t, err, ErrAlreadyExists, "go-twice")
	if err := DestroyPool("go-twice"); err != nil {
		t.Fatal(err)
	}
	if n, _ := DeviceCount(); n == 0 {
		gcfg, _ := DefaultGPU()
		_, err = NewPool("go-gpu", GPU, gcfg)
		expect(t, err, ErrUnsupported, "")
	}
}

func TestRegistryAndGlobalHelpers(t *testing.T) {
	cfg, _ := FixedSizeCPU(32)
	made, err := CreateCPUPool("go-reg", cfg)
	if err != nil {
		t.Fatal(err)
	}
	found, err := CPUPool("go-reg")
	if err != nil || found.h != made.h {
		t.Fatal("the registry returns another pool", err)
	}
	if any, err := FindPool("go-reg"); err != nil || any.h != made.h {
		t.Fatal("FindPool returns another pool", err)
	}
	_, err = FindPool("go-nowhere")
	expect(t, err, ErrNotFound, "go-nowhere")
	ptr, err := Allocate(32, "go-reg")
	if err != nil {
		t.Fatal(err)
	}
	if owned, _ := found.Owns(ptr); !owned {
		t.Fatal("the named pool does not own the block")
	}
	expect(t, Deallocate(ptr, "default"), ErrInvalidPointer, "belongs to pool 'go-reg'")
	names, _ := PoolNames()
	js, _ := AllStatsJSON()
	if !strings.Contains(strings.Join(names, ","), "go-reg") || !strings.Contains(js, `"go-reg":{"name":"go-reg"`) {
		t.Fatal(names, js)
	}
	ResetAllPools()
	if s, _ := found.Stats(); s.LiveAllocations != 0 {
		t.Fatal("reset-all left blocks")
	}
	found.Close() // a registry pool: nothing happens
	if err := DestroyPool("go-reg"); err != nil {
		t.Fatal(err)
	}
	expect(t, DestroyPool("go-reg"), ErrNotFound, "go-reg")
	_, err = GPUPool("default")
	expect(t, err, ErrInvalidOperation, "CPU pool")
	if !strings.HasPrefix(Version(), "1.") || VersionNumber()/10000 != 1 {
		t.Fatal(Version())
	}
}

func TestGPURoundTripOrSkip(t *testing.T) {
	n, err := DeviceCount()
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		_, err := AllocateGPU(64, "default_gpu")
		expect(t, err, ErrUnsupported, "")
		t.Skip("no CUDA device: GPU round trip skipped")
	}
	gcfg, _ := DefaultGPU()
	gpu, err := NewPool("go-gpu", GPU, gcfg)
	if err != nil {
		t.Fatal(err)
	}
	defer gpu.Close()
	s, err := gpu.AllocateOnStream(1<<20, 0)
	if err != nil || s == nil {
		t.Fatal("AllocateOnStream:", err)
	}
	if err := gpu.DeallocateOnStream(s, 0); err != nil {
		t.Fatal(err)
	}
	if err := gpu.SetReleaseThreshold(math.MaxUint64); err != nil {
		t.Fatal(err)
	}
	if th, err := gpu.ReleaseThreshold(); err != nil || th != math.MaxUint64 {
		t.Fatal("ReleaseThreshold:", th, err)
	}
	d, _ := gpu.Allocate(256)
	h := make([]byte, 256)
	h[7] = 42
	if err := gpu.CopyHostToDevice(d, unsafe.Pointer(&h[0]), 256); err != nil {
		t.Fatal(err)
	}
	h[7] = 0
	if err := gpu.CopyDeviceToHost(unsafe.Pointer(&h[0]), d, 256); err != nil || h[7] != 42 {
		t.Fatal("round trip lost the byte", err)
	}
}

func TestGoroutinesShareOnePool(t *testing.T) {
	cfg, err := DefaultCPU()
	p := mustPool(t, "go-threads", cfg, err)
	const workers, rounds = 8, 3000
	var wg sync.WaitGroup
	failures := make(chan string, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(stamp byte) {
			defer wg.Done()
			for r := 0; r < rounds; r++ {
				size := 1 + (r*31+int(stamp))%500
				ptr, err := p.Allocate(uint64(size))
				if err != nil {
					failures <- err.Error()
					return
				}
				b := Bytes(ptr, size)
				for i := range b {
					b[i] = stamp
				}
				for i := range b {
					if b[i] != stamp {
						failures <- "a block was shared between goroutines"
						return
					}
				}
				if err := p.Deallocate(ptr); err != nil {
					failures <- err.Error()
					return
				}
			}
		}(byte(w + 1))
	}
	wg.Wait()
	close(failures)
	for f := range failures {
		t.Fatal(f)
	}
	s, _ := p.Stats()
	if s.AllocationCount != workers*rounds || s.DeallocationCount != workers*rounds || s.LiveAllocations != 0 {
		t.Fatalf("counts after the goroutines: %+v", s)
	}
	if err := p.Check(); err != nil {
		t.Fatal(err)
	}
}

func TestRouterSendsEachSizeToItsPool(t *testing.T) {
	fcfg, _ := FixedSizeCPU(64)
	small := mustPool(t, "go-small", fcfg, nil)
	vcfg, _ := DefaultCPU()
	rest := mustPool(t, "go-rest", vcfg, nil)
	r, err := NewRouter("go-router")
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Add(64, small); err != nil {
		t.Fatal(err)
	}
	if err := r.Add(^uint64(0), rest); err != nil {
		t.Fatal(err)
	}
	if h, _ := r.PoolFor(65); h != rest.Handle() {
		t.Fatal("65 bytes should go to the variable pool")
	}
	a, _ := r.Allocate(10)
	b, _ := r.Allocate(1000)
	if owned, _ := small.Owns(a); !owned {
		t.Fatal("10 bytes did not come from the fixed pool")
	}
	if err := r.Deallocate(a); err != nil {
		t.Fatal(err)
	}
	if err := r.Deallocate(b); err != nil {
		t.Fatal(err)
	}
	expect(t, r.Deallocate(a), ErrInvalidPointer, "")
	expect(t, r.Add(32, small), ErrInvalidArgument, "above the last one")
	if err := small.TrimAuto(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil || r.Close() != nil {
		t.Fatal("closing twice failed")
	}
}

func TestPeakReservedBytesOutlivesATrimUntilResetStats(t *testing.T) {
	cfg, err := DefaultCPU()
	if err != nil {
		t.Fatal(err)
	}
	cfg.InitialSize = 1 << 16
	p, err := NewPool("go-peak-reserved", CPU, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	stats := func() Stats {
		t.Helper()
		s, err := p.Stats()
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if s := stats(); s.PeakReservedBytes != 1<<16 {
		t.Fatalf("a new pool: peak reserved %d, want %d", s.PeakReservedBytes, 1<<16)
	}
	big, err := p.Allocate(200000)
	if err != nil {
		t.Fatal(err)
	}
	grown := stats()
	if grown.ReservedBytes <= 1<<16+200000 || grown.PeakReservedBytes != grown.ReservedBytes {
		t.Fatalf("after growth: %+v", grown)
	}
	if err := p.Deallocate(big); err != nil {
		t.Fatal(err)
	}
	if err := p.Trim(0); err != nil {
		t.Fatal(err)
	}
	if s := stats(); s.ReservedBytes >= grown.ReservedBytes || s.PeakReservedBytes != grown.ReservedBytes {
		t.Fatalf("after a trim: %+v, peak should stay %d", s, grown.ReservedBytes)
	}
	if err := p.ResetStats(); err != nil {
		t.Fatal(err)
	}
	if s := stats(); s.PeakReservedBytes != s.ReservedBytes {
		t.Fatalf("after ResetStats: %+v", s)
	}
}

package mempool

import (
	"errors"
	"strings"
	"testing"
)

func TestMemorySnapshotHasTheTotalsTheChunksAndTheClasses(t *testing.T) {
	cfg, err := DefaultCPU()
	if err != nil {
		t.Fatal(err)
	}
	cfg.GrowthFactor = 1
	p, err := NewPool("go-snapshot", CPU, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	small, _ := p.Allocate(24)
	big, _ := p.Allocate(1000000) // past the first chunk
	s, err := p.MemorySnapshot()
	if err != nil {
		t.Fatal(err)
	}
	st, _ := p.Stats()
	if s.ReservedBytes != st.ReservedBytes || s.IdleBytes != 0 || s.ChunkCount != 2 || len(s.Chunks) != 2 || s.LiveBlocks != 2 ||
		s.MemoryType != CPU || s.RequestBytes != 0 {
		t.Fatalf("snapshot %+v, stats %+v", s, st)
	}
	if s.InUseBytes+s.FreeBytes+s.CachedBytes+s.PendingBytes != s.AddressSpaceBytes {
		t.Fatalf("the bytes do not add up: %+v", s)
	}
	if s.Chunks[0].Base >= s.Chunks[1].Base || s.Chunks[0].Size+s.Chunks[1].Size != s.AddressSpaceBytes {
		t.Fatalf("chunks %+v", s.Chunks)
	}
	if len(s.Classes) != 1 || s.Classes[0] != (ClassInfo{BlockSize: 32, Pages: 1, PageBytes: 65536, UsedBlocks: 1,
		FreeBlocks: 65536/32 - 1}) {
		t.Fatalf("classes %+v", s.Classes)
	}
	js, err := p.MemorySnapshotJSON()
	if err != nil || !strings.HasPrefix(js, `{"pool":"go-snapshot","kind":"now",`) {
		t.Fatal(js, err)
	}
	p.Deallocate(small)
	p.Deallocate(big)
}

func TestLastOOMSnapshotKeepsTheFailureUntilResetStats(t *testing.T) {
	cfg, _ := DefaultCPU()
	cfg.InitialSize, cfg.MaxSize = 65536, 65536
	p, err := NewPool("go-oom", CPU, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if _, err := p.LastOOMSnapshot(); !errors.Is(err, ErrNotFound) {
		t.Fatalf("no failure yet: %v", err)
	}
	a, _ := p.Allocate(40000)
	_, err = p.Allocate(50000)
	if !errors.Is(err, ErrOutOfMemory) || !strings.Contains(err.Error(),
		"; request 50000 bytes aligned 16: reserved 65536 (peak 65536, max_size 65536), in use 40000 in 1 blocks") {
		t.Fatalf("the failure says: %v", err)
	}
	s, err := p.LastOOMSnapshot()
	if err != nil || s.RequestBytes != 50000 || s.RequestAlignment != 16 || s.InUseBytes != 40000 ||
		s.LargestFreeBlock != 25536 || len(s.Chunks) != 1 || len(s.Classes) != 0 {
		t.Fatalf("last failure %+v (%v)", s, err)
	}
	js, err := p.LastOOMSnapshotJSON()
	if err != nil || !strings.Contains(js, `"status":"MP_ERR_OUT_OF_MEMORY"`) || !strings.Contains(js, `"request_bytes":50000`) {
		t.Fatal(js, err)
	}
	if err := p.ResetStats(); err != nil {
		t.Fatal(err)
	}
	if _, err := p.LastOOMSnapshotJSON(); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after ResetStats: %v", err)
	}
	p.Deallocate(a)
	p.Close()
	if _, err := p.MemorySnapshot(); !errors.Is(err, ErrClosed) {
		t.Fatalf("a closed pool: %v", err)
	}
}

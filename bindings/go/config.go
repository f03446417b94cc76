package mempool

// Configurations: the seed's PoolConfig, its enums and presets. Every
// default comes from the C library's presets; Go adds only the meaning of
// its zero values (see Config).

import "github.com/mempool-project/mempool/bindings/go/internal/capi"

// AllocatorType says how a pool carves its chunks. Its zero value is
// VariableSize, the reference's default, so that a zero Config gets it; C
// numbers the two the other way round (MP_ALLOCATOR_FIXED_SIZE is 0), and
// Config maps between them.
type AllocatorType int32

// SyncType is the synchronisation of a thread-safe pool.
type SyncType int32

// MemoryType says where a pool's memory lives.
type MemoryType int32

// AllocFlags picks the memory kind of one allocation.
type AllocFlags int32

// The enums' values. All but AllocatorType's are the C library's numbers
// (a test compares each with C's).
const (
	VariableSize AllocatorType = 0 // TLSF good-fit blocks of any size (the default)
	FixedSize    AllocatorType = 1 // equal blocks of BlockSize

	Mutex    SyncType = 0 // one lock around each operation (the default)
	LockFree SyncType = 1 // per-thread caches, when the pool keeps no records (see README)

	CPU MemoryType = 0
	GPU MemoryType = 1

	AllocNone    AllocFlags = 0 // the pool's own memory
	AllocPinned  AllocFlags = 1 // page-locked host memory
	AllocManaged AllocFlags = 2 // CUDA managed memory
)

// DefaultAlignment is C's MP_DEFAULT_ALIGNMENT, the alignment of a CPU pool
// unless its Config says otherwise; DefaultGPUAlignment is
// MP_DEFAULT_GPU_ALIGNMENT, a GPU pool's.
const (
	DefaultAlignment    = uint64(capi.MP_DEFAULT_ALIGNMENT)
	DefaultGPUAlignment = uint64(capi.MP_DEFAULT_GPU_ALIGNMENT)
)

// native is the C number of an allocator type; values that are neither
// type pass unchanged, for C to refuse.
func (a AllocatorType) native() capi.Enum_SS_mp_allocator_type {
	switch a {
	case VariableSize:
		return capi.MP_ALLOCATOR_VARIABLE_SIZE
	case FixedSize:
		return capi.MP_ALLOCATOR_FIXED_SIZE
	}
	return capi.Enum_SS_mp_allocator_type(a)
}

func allocatorTypeOf(c capi.Enum_SS_mp_allocator_type) AllocatorType {
	switch c {
	case capi.MP_ALLOCATOR_VARIABLE_SIZE:
		return VariableSize
	case capi.MP_ALLOCATOR_FIXED_SIZE:
		return FixedSize
	}
	return AllocatorType(c)
}

// Config is a pool configuration (the seed's PoolConfig). Start from
// NewConfig (the reference's defaults), a preset, or the zero value.
//
// The zero value works. A field whose zero means nothing to C takes the C
// library's default for the pool's memory type (DefaultCPU's or
// DefaultGPU's): Alignment 0 is DefaultAlignment (DefaultGPUAlignment for a
// GPU pool), GrowthFactor 0 is 2, BlockSize 0 is 256. Zeros that mean
// something keep it: InitialSize 0 reserves nothing until the first
// allocation, MaxSize 0 sets no limit, DeviceID 0 is the first device,
// AllocatorType's zero is VariableSize and SyncType's Mutex.
//
// The bools are Go's false: no statistics (TrackStats), no debugging, and
// ThreadSafe false, a C pool without a lock. Such a pool is still safe to
// share between goroutines: the binding serialises its calls, one at a time
// (slower under contention than the C lock of NewConfig's pools). Only C
// code handed its Handle, and the whole-library readers of C
// (StatsText, AllStatsJSON) that bypass the binding, must not run while
// Go calls it. NewConfig has ThreadSafe and TrackStats on, as the reference.
type Config struct {
	AllocatorType    AllocatorType
	InitialSize      uint64
	BlockSize        uint64
	ThreadSafe       bool
	SyncType         SyncType
	TrackStats       bool
	EnableDebugging  bool
	DeviceID         int
	UsePinnedMemory  bool
	UseManagedMemory bool
	Alignment        uint64
	GrowthFactor     uint64
	MaxSize          uint64
	CountersOnly     bool // with TrackStats: counters without per-allocation records (1.3)
}

// NewConfig is the reference's PoolConfig{}: a variable-size pool, 1 MiB
// reserved, 256-byte blocks, thread-safe with a mutex, statistics on,
// DefaultAlignment, growth 2, no limit (C's mp_config_default_cpu).
func NewConfig() Config {
	cfg, err := DefaultCPU()
	if err != nil { // a preset without arguments cannot fail
		panic(err)
	}
	return cfg
}

func fromNative(c capi.Mp_config) Config {
	return Config{
		AllocatorType:    allocatorTypeOf(c.GetAllocator_type()),
		InitialSize:      uint64(c.GetInitial_size()),
		BlockSize:        uint64(c.GetBlock_size()),
		ThreadSafe:       c.GetThread_safe(),
		SyncType:         SyncType(c.GetSync_type()),
		TrackStats:       c.GetTrack_stats(),
		EnableDebugging:  c.GetEnable_debugging(),
		DeviceID:         c.GetDevice_id(),
		UsePinnedMemory:  c.GetUse_pinned_memory(),
		UseManagedMemory: c.GetUse_managed_memory(),
		Alignment:        uint64(c.GetAlignment()),
		GrowthFactor:     uint64(c.GetGrowth_factor()),
		MaxSize:          uint64(c.GetMax_size()),
		CountersOnly:     c.GetCounters_only(),
	}
}

// native returns the C struct for a pool of type t, its meaningless zeros
// filled from C's default preset for t; the caller deletes it.
func (cfg Config) native(t MemoryType) capi.Mp_config {
	c := capi.NewMp_config()
	if t == GPU {
		capi.Mp_config_default_gpu(c)
	} else {
		capi.Mp_config_default_cpu(c)
	}
	c.SetAllocator_type(cfg.AllocatorType.native())
	c.SetInitial_size(int64(cfg.InitialSize))
	if cfg.BlockSize != 0 {
		c.SetBlock_size(int64(cfg.BlockSize))
	}
	c.SetThread_safe(cfg.ThreadSafe)
	c.SetSync_type(capi.Enum_SS_mp_sync_type(cfg.SyncType))
	c.SetTrack_stats(cfg.TrackStats)
	c.SetEnable_debugging(cfg.EnableDebugging)
	c.SetDevice_id(cfg.DeviceID)
	c.SetUse_pinned_memory(cfg.UsePinnedMemory)
	c.SetUse_managed_memory(cfg.UseManagedMemory)
	if cfg.Alignment != 0 {
		c.SetAlignment(int64(cfg.Alignment))
	}
	if cfg.GrowthFactor != 0 {
		c.SetGrowth_factor(int64(cfg.GrowthFactor))
	}
	c.SetMax_size(int64(cfg.MaxSize))
	c.SetCounters_only(cfg.CountersOnly)
	return c
}

// usesCUDA: a pool of this configuration needs a CUDA device.
func (cfg Config) usesCUDA(t MemoryType) bool {
	return t == GPU || cfg.UsePinnedMemory || cfg.UseManagedMemory
}

func preset(fill func(capi.Mp_config) error) (Config, error) {
	c := capi.NewMp_config()
	defer capi.DeleteMp_config(c)
	if err := fill(c); err != nil {
		return Config{}, err
	}
	return fromNative(c), nil
}

// The seed's eight presets, as the C library defines them.

func DefaultCPU() (Config, error) { return preset(capi.Mp_config_default_cpu) }
func DefaultGPU() (Config, error) { return preset(capi.Mp_config_default_gpu) }
func FixedSizeCPU(blockSize uint64) (Config, error) {
	return preset(func(c capi.Mp_config) error { return capi.Mp_config_fixed_size_cpu(c, int64(blockSize)) })
}
func FixedSizeGPU(blockSize uint64, device int) (Config, error) {
	return preset(func(c capi.Mp_config) error { return capi.Mp_config_fixed_size_gpu(c, int64(blockSize), device) })
}
func HighPerformanceCPU() (Config, error) { return preset(capi.Mp_config_high_performance_cpu) }
func HighPerformanceGPU(device int) (Config, error) {
	return preset(func(c capi.Mp_config) error { return capi.Mp_config_high_performance_gpu(c, device) })
}
func DebugCPU() (Config, error) { return preset(capi.Mp_config_debug_cpu) }
func DebugGPU(device int) (Config, error) {
	return preset(func(c capi.Mp_config) error { return capi.Mp_config_debug_gpu(c, device) })
}

// GeneralPurposeCPU is a general-purpose heap (beyond the seed): lock-free
// thread caches, counters without per-allocation records, chunks on demand.
func GeneralPurposeCPU() (Config, error) { return preset(capi.Mp_config_general_purpose_cpu) }

// Validate checks the configuration, zeros filled as NewPool fills them,
// for a pool of type t without creating one.
func (cfg Config) Validate(t MemoryType) error {
	c := cfg.native(t)
	defer capi.DeleteMp_config(c)
	return cudaError(capi.Mp_config_validate(c, capi.Enum_SS_mp_memory_type(t)), cfg.usesCUDA(t))
}

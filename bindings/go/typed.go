package mempool

// Typed allocation, the seed's allocate<T> and deallocate<T>: the byte count
// is count * the size of T, checked for overflow here since Go has no
// size_t arithmetic to trust; the pool does the rest.

import (
	"math"
	"reflect"
	"sync"
	"unsafe"

	"github.com/mempool-project/mempool/bindings/go/internal/capi"
)

// AllocateOf allocates count values of T from the pool and returns them as a
// []T of length count over the pool's memory (the seed's allocate<T>). The
// memory is not zeroed and is not Go's: the slice is raw like Bytes, dead
// once freed (DeallocateOf) or its pool reset, trimmed or closed, and T must
// hold no Go pointers (no pointer, slice, string, map, chan, func or
// interface inside), since the garbage collector does not see pool memory;
// such a T is refused. Refused too, with ErrInvalidArgument: count 0 or
// less, a T of size 0, and a count whose byte size overflows 64 bits; with
// ErrInvalidOperation: a pool of CUDA device memory (see AllocateGPUOf).
func AllocateOf[T any](p *Pool, count int) ([]T, error) {
	size, err := bytesOf[T](count)
	if err != nil {
		return nil, err
	}
	if p != nil && !p.host {
		return nil, refusal(capi.MP_ERR_INVALID_OPERATION, "the pool's memory is CUDA device memory: "+
			"a []%s over it cannot be used from the host; use AllocateGPUOf", typeOf[T]())
	}
	ptr, err := allocateAligned[T](p, size)
	if err != nil {
		return nil, err
	}
	return unsafe.Slice((*T)(ptr), count), nil
}

// DeallocateOf frees the block of a slice from AllocateOf (the seed's
// deallocate<T>); a nil slice, or one of capacity 0, does nothing.
func DeallocateOf[T any](p *Pool, s []T) error {
	if cap(s) == 0 {
		return nil
	}
	return p.Deallocate(unsafe.Pointer(&s[:1][0]))
}

// AllocateGPUOf allocates count values of T from a GPU pool and returns a
// pointer to the first (the seed's allocateGPU<T>): device memory, for the
// copies and for C and CUDA code, never for Go to dereference. The checks are
// AllocateOf's, and a CPU pool is refused (ErrInvalidOperation).
func AllocateGPUOf[T any](p *Pool, count int) (*T, error) {
	size, err := bytesOf[T](count)
	if err != nil {
		return nil, err
	}
	if p != nil && !p.gpu {
		return nil, refusal(capi.MP_ERR_INVALID_OPERATION, "AllocateGPUOf needs a GPU pool; this is a CPU pool")
	}
	ptr, err := allocateAligned[T](p, size)
	return (*T)(ptr), err
}

// DeallocateGPUOf frees a block from AllocateGPUOf (the seed's
// deallocateGPU<T>); a nil ptr does nothing.
func DeallocateGPUOf[T any](p *Pool, ptr *T) error {
	return cudaError(p.Deallocate(unsafe.Pointer(ptr)), true)
}

// bytesOf is the byte size of count values of T, or why there is none.
func bytesOf[T any](count int) (uint64, error) {
	var zero T
	size := uint64(unsafe.Sizeof(zero))
	switch {
	case count <= 0:
		return 0, refusal(capi.MP_ERR_INVALID_ARGUMENT, "count %d of %s: at least one is needed", count, typeOf[T]())
	case size == 0:
		return 0, refusal(capi.MP_ERR_INVALID_ARGUMENT, "%s has size 0: no memory to allocate", typeOf[T]())
	case uint64(count) > math.MaxUint64/size:
		return 0, refusal(capi.MP_ERR_INVALID_ARGUMENT, "%d values of %s (%d bytes each) overflow 64 bits",
			count, typeOf[T](), size)
	case hasPointers(typeOf[T]()):
		return 0, refusal(capi.MP_ERR_INVALID_ARGUMENT, "%s holds Go pointers, which pool memory must not hold "+
			"(the garbage collector does not see it)", typeOf[T]())
	}
	return uint64(count) * size, nil
}

// allocateAligned allocates size bytes and checks that they suit T: a pool
// aligned below T's alignment (or a fixed pool whose block size is not a
// multiple of it) may return an address T cannot live at.
func allocateAligned[T any](p *Pool, size uint64) (unsafe.Pointer, error) {
	ptr, err := p.Allocate(size)
	if err != nil {
		return nil, err
	}
	var zero T
	if align := unsafe.Alignof(zero); uintptr(ptr)%align != 0 {
		p.Deallocate(ptr)
		return nil, refusal(capi.MP_ERR_INVALID_ARGUMENT, "the pool returned %p, not aligned to %d bytes as %s needs",
			ptr, align, typeOf[T]())
	}
	return ptr, nil
}

func typeOf[T any]() reflect.Type { return reflect.TypeOf((*T)(nil)).Elem() }

var pointerFree sync.Map // reflect.Type -> bool: hasPointers, computed once per type

// hasPointers says whether a value of t holds a Go pointer.
func hasPointers(t reflect.Type) bool {
	if v, ok := pointerFree.Load(t); ok {
		return !v.(bool)
	}
	has := false
	switch t.Kind() {
	case reflect.Array:
		has = t.Len() > 0 && hasPointers(t.Elem())
	case reflect.Struct:
		for i := 0; i < t.NumField() && !has; i++ {
			has = hasPointers(t.Field(i).Type)
		}
	case reflect.Pointer, reflect.UnsafePointer, reflect.Slice, reflect.String, reflect.Map, reflect.Chan,
		reflect.Func, reflect.Interface:
		has = true
	}
	pointerFree.Store(t, !has)
	return has
}

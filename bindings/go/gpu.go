package mempool

// GPU calls, and the error they return when CUDA is not there.

import (
	"errors"
	"unsafe"

	"github.com/mempool-project/mempool/bindings/go/internal/capi"
)

// CudaUnavailableError is the error of a GPU call that failed with
// MP_ERR_UNSUPPORTED because this machine has no usable CUDA device (or the
// library was built without CUDA): errors.Is(err, ErrCuda) holds, as the
// reference's CudaException, and so does errors.Is(err, ErrUnsupported),
// the C status; errors.As finds it and the *Error inside. Other
// MP_ERR_UNSUPPORTED failures stay a plain *Error.
//
// The GPU calls: NewPool, CreateCPUPool, CreateGPUPool and Validate for a GPU
// pool or a pinned or managed configuration, GPUPool, AllocateGPU and
// DeallocateGPU, AllocateFlags with AllocPinned or AllocManaged, and the
// Pool methods of device, stream, release threshold and copies.
type CudaUnavailableError struct {
	Err *Error // the C status (MP_ERR_UNSUPPORTED) and its detail
}

func (e *CudaUnavailableError) Error() string {
	return e.Err.Error() + " (no CUDA device is available)"
}
func (e *CudaUnavailableError) Unwrap() error        { return e.Err }
func (e *CudaUnavailableError) Is(target error) bool { return target == ErrCuda }

// cudaError is err, made a CudaUnavailableError when gpu says the call
// needs CUDA, err is MP_ERR_UNSUPPORTED and no device is usable.
func cudaError(err error, gpu bool) error {
	var e *Error
	if !gpu || !errors.As(err, &e) || !isStatus(e, ErrUnsupported) {
		return err
	}
	if _, already := err.(*CudaUnavailableError); already {
		return err
	}
	if n, derr := DeviceCount(); derr == nil && n > 0 {
		return err
	}
	return &CudaUnavailableError{Err: e}
}

// gpuCall is call for the GPU methods.
func (p *Pool) gpuCall(f func(h uintptr) error) error { return cudaError(p.call(f), true) }

func (p *Pool) SetDevice(device int) error {
	return p.gpuCall(func(h uintptr) error { return capi.Mp_pool_set_device(h, device) })
}

func (p *Pool) Device() (int, error) {
	out := []int32{0}
	err := p.gpuCall(func(h uintptr) error { return capi.Mp_pool_get_device(h, out) })
	return int(out[0]), err
}

// SetStream sets the cudaStream_t (0: the default stream) of the pool's copies.
func (p *Pool) SetStream(stream uintptr) error {
	return p.gpuCall(func(h uintptr) error { return capi.Mp_pool_set_stream(h, stream) })
}

func (p *Pool) Stream() (uintptr, error) {
	out := []uintptr{0}
	err := p.gpuCall(func(h uintptr) error { return capi.Mp_pool_get_stream(h, out) })
	return out[0], err
}

// SetReleaseThreshold sets the idle device memory the pool keeps mapped
// whatever its age (mp_pool_set_release_threshold); what is above it goes
// back after a second idle. math.MaxUint64 keeps everything until Trim.
func (p *Pool) SetReleaseThreshold(bytes uint64) error {
	return p.gpuCall(func(h uintptr) error { return capi.Mp_pool_set_release_threshold(h, int64(bytes)) })
}

// ReleaseThreshold is the pool's release threshold in bytes.
func (p *Pool) ReleaseThreshold() (uint64, error) {
	out := []uint64{0}
	err := p.gpuCall(func(h uintptr) error { return capi.Mp_pool_get_release_threshold(h, out) })
	return out[0], err
}

// AllocateOnStream returns size bytes for work on stream (0: the default
// stream), ordered after earlier frees (mp_pool_allocate_on_stream).
func (p *Pool) AllocateOnStream(size uint64, stream uintptr) (unsafe.Pointer, error) {
	out := []uintptr{0}
	err := p.gpuCall(func(h uintptr) error { return capi.Mp_pool_allocate_on_stream(h, int64(size), stream, out) })
	return unsafe.Pointer(out[0]), err
}

// DeallocateOnStream frees a block that work on stream may still use; the
// pool reuses it once that work is done. A nil ptr does nothing.
func (p *Pool) DeallocateOnStream(ptr unsafe.Pointer, stream uintptr) error {
	if ptr == nil {
		return nil
	}
	return p.gpuCall(func(h uintptr) error {
		return p.rawFree(ptr, func() error { return capi.Mp_pool_deallocate_on_stream(h, uintptr(ptr), stream) })
	})
}

// The copies take raw pointers, as Bytes does: the caller vouches for the
// host side; the C library checks the device side against the pool.

func (p *Pool) CopyHostToDevice(dst, src unsafe.Pointer, size uint64) error {
	return p.gpuCall(func(h uintptr) error {
		return capi.Mp_pool_copy_host_to_device(h, uintptr(dst), uintptr(src), int64(size))
	})
}

func (p *Pool) CopyDeviceToHost(dst, src unsafe.Pointer, size uint64) error {
	return p.gpuCall(func(h uintptr) error {
		return capi.Mp_pool_copy_device_to_host(h, uintptr(dst), uintptr(src), int64(size))
	})
}

func (p *Pool) CopyDeviceToDevice(dst, src unsafe.Pointer, size uint64) error {
	return p.gpuCall(func(h uintptr) error {
		return capi.Mp_pool_copy_device_to_device(h, uintptr(dst), uintptr(src), int64(size))
	})
}

// DeviceCount is the number of usable CUDA devices (0 without CUDA or a device).
func DeviceCount() (int, error) {
	out := []int32{0}
	err := capi.Mp_gpu_device_count(out)
	return int(out[0]), err
}

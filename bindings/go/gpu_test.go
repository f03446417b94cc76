package mempool

import (
	"errors"
	"testing"

	"github.com/mempool-project/mempool/bindings/go/internal/capi"
)

// expectNoCuda checks the error of a GPU call on a machine without a device:
// ErrCuda, as the reference's CudaException, and still C's ErrUnsupported.
func expectNoCuda(t *testing.T, what string, err error) {
	t.Helper()
	var cu *CudaUnavailableError
	var e *Error
	if !errors.Is(err, ErrCuda) || !errors.Is(err, ErrUnsupported) || !errors.As(err, &cu) || !errors.As(err, &e) ||
		e.Status != int(capi.MP_ERR_UNSUPPORTED) || cu.Err != e {
		t.Errorf("%s: %v (%T), want a CudaUnavailableError", what, err, err)
	}
}

func TestGPUCallsWithoutADeviceFailWithErrCuda(t *testing.T) {
	if n, err := DeviceCount(); err != nil || n > 0 {
		t.Skip("a CUDA device is present: GPU calls succeed", n, err)
	}
	gcfg, err := DefaultGPU()
	if err != nil {
		t.Fatal(err)
	}
	_, err = NewPool("go-nocuda", GPU, gcfg)
	expectNoCuda(t, "NewPool(GPU)", err)
	_, err = NewPool("go-nocuda-zero", GPU, Config{})
	expectNoCuda(t, "NewPool(GPU, Config{})", err)
	_, err = NewPool("go-nocuda-pinned", CPU, Config{UsePinnedMemory: true})
	expectNoCuda(t, "NewPool(CPU, pinned)", err)
	_, err = CreateGPUPool("go-nocuda", gcfg)
	expectNoCuda(t, "CreateGPUPool", err)
	_, err = CreateCPUPool("go-nocuda-managed", Config{UseManagedMemory: true})
	expectNoCuda(t, "CreateCPUPool(managed)", err)
	_, err = GPUPool("default_gpu")
	expectNoCuda(t, "GPUPool(default_gpu)", err)
	_, err = AllocateGPU(64, "default_gpu")
	expectNoCuda(t, "AllocateGPU", err)
	expectNoCuda(t, "Validate(GPU)", gcfg.Validate(GPU))

	p := mustPool(t, "go-nocuda-flags", NewConfig(), nil)
	_, err = p.AllocateFlags(64, AllocPinned)
	expectNoCuda(t, "AllocateFlags(pinned)", err)
	if e := err.Error(); e == "" || !errors.Is(err, ErrCuda) {
		t.Fatal(e)
	}

	// Other failures of GPU calls keep their own status.
	expect(t, p.SetDevice(0), ErrInvalidOperation, "host memory")
	if errors.Is(p.SetDevice(0), ErrCuda) {
		t.Fatal("a GPU call on a CPU pool is not a CUDA error")
	}
	_, err = GPUPool("go-nocuda-unknown")
	if errors.Is(err, ErrCuda) || !errors.Is(err, ErrNotFound) {
		t.Fatal("an unknown GPU pool:", err)
	}
}

// MP_ERR_UNSUPPORTED of a call that needs no CUDA stays a plain *Error, and
// so does any other status of a GPU call.
func TestOnlyUnsupportedGPUCallsBecomeCudaErrors(t *testing.T) {
	unsupported := &Error{Status: int(capi.MP_ERR_UNSUPPORTED), Name: "MP_ERR_UNSUPPORTED"}
	if err := cudaError(unsupported, false); err != error(unsupported) || errors.Is(err, ErrCuda) {
		t.Fatal("a non-GPU call's MP_ERR_UNSUPPORTED became", err)
	}
	oom := &Error{Status: int(capi.MP_ERR_OUT_OF_MEMORY), Name: "MP_ERR_OUT_OF_MEMORY"}
	if err := cudaError(oom, true); err != error(oom) {
		t.Fatal("a GPU call's MP_ERR_OUT_OF_MEMORY became", err)
	}
	if cudaError(nil, true) != nil {
		t.Fatal("success became an error")
	}
	if n, _ := DeviceCount(); n == 0 {
		once := cudaError(unsupported, true)
		if twice := cudaError(once, true); twice != once {
			t.Fatal("wrapped twice:", twice)
		}
	}
}

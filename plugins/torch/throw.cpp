// The callback PyTorch is given (mempool_torch_malloc_throw): PyTorch's
// CUDAPluggableAllocator::malloc stores whatever pointer comes back as the
// tensor's data, so a NULL from a failed allocation would surface later as an
// illegal address in some kernel. A C++ exception thrown here unwinds through
// PyTorch's C++ frames to its Python binding, which raises RuntimeError with
// what(). Out of memory derives from std::bad_alloc, so C++ callers can tell
// it apart; the detail (pool, request, reserved bytes, CUDA error) is the same
// one mempool_torch_last_error() keeps.
#include "internal.h"

#include <new>
#include <stdexcept>
#include <string>

namespace {

class out_of_memory : public std::bad_alloc {
  public:
    explicit out_of_memory(const char *what) : what_(what) {}
    const char *what() const noexcept override { return what_.c_str(); }

  private:
    std::string what_;
};

} // namespace

extern "C" void *mempool_torch_malloc_throw(size_t size, int device, cudaStream_t stream)
{
    char why[512];
    void *p = nullptr;
    mp_status s = mpt__allocate(size, device, stream, &p, why, sizeof why);
    if (s == MP_OK)
        return p;
    if (s == MP_ERR_OUT_OF_MEMORY)
        throw out_of_memory(why);
    throw std::runtime_error(why);
}

// Kernels for the GPU suite: a fill that writes a pattern into pool memory,
// and a spin that keeps a stream busy for a while (the long-running work
// behind the stream-safe reuse test). Built for sm_90.
#include <cuda_runtime.h>
#include <stddef.h>

__global__ static void fill(unsigned *p, size_t n, unsigned seed)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
        p[i] = seed ^ (unsigned)(i * 2654435761u);
}

__global__ static void spin(unsigned *p, long long cycles)
{
    long long t0 = clock64();
    while (clock64() - t0 < cycles) {
    }
    p[0] = 0xC0FFEEu;
}

extern "C" int mpt_fill(void *p, size_t words, unsigned seed, void *stream)
{
    fill<<<256, 256, 0, (cudaStream_t)stream>>>((unsigned *)p, words, seed);
    return (int)cudaGetLastError();
}

extern "C" int mpt_spin(void *p, double ms, void *stream)
{
    spin<<<1, 1, 0, (cudaStream_t)stream>>>((unsigned *)p, (long long)(ms * 2.0e6)); // ~2 GHz SM clock
    return (int)cudaGetLastError();
}

// What on-demand device memory costs the driver, per 2 MiB, by the size of
// the physical allocation (bench/RESULTS.md, issue 22 run 10). One-off probe:
//   nvcc -O2 -arch=sm_90 -o vmm_cost tools/device/vmm_cost.cu -L/usr/local/cuda/lib64/stubs -lcuda
// then run it on the GPU machine (carry the binary).
#include <cuda.h>
#include <cuda_runtime.h>
#include <chrono>
#include <cstdio>
using C = std::chrono::steady_clock;
static double us(C::time_point a, C::time_point b) { return std::chrono::duration<double, std::micro>(b - a).count(); }
int main()
{
    cudaFree(0);
    CUmemAllocationProp prop = {};
    prop.type = CU_MEM_ALLOCATION_TYPE_PINNED;
    prop.location.type = CU_MEM_LOCATION_TYPE_DEVICE;
    prop.location.id = 0;
    size_t g = 0;
    cuMemGetAllocationGranularity(&g, &prop, CU_MEM_ALLOC_GRANULARITY_MINIMUM);
    CUmemAccessDesc d = {};
    d.location = prop.location;
    d.flags = CU_MEM_ACCESS_FLAGS_PROT_READWRITE;
    const size_t total = (size_t)1 << 30; // 1 GiB per setting
    CUdeviceptr va;
    cuMemAddressReserve(&va, total, 0, 0, 0);
    for (size_t mib : {2, 8, 32, 128, 512}) {
        for (int rep = 0; rep < 2; rep++) {
            size_t sz = mib << 20, n = total / sz;
            CUmemGenericAllocationHandle h[512];
            double tc = 0, tm = 0, ts = 0;
            for (size_t i = 0; i < n; i++) {
                auto t0 = C::now();
                cuMemCreate(&h[i], sz, &prop, 0);
                auto t1 = C::now();
                cuMemMap(va + i * sz, sz, 0, h[i], 0);
                auto t2 = C::now();
                cuMemSetAccess(va + i * sz, sz, &d, 1);
                auto t3 = C::now();
                tc += us(t0, t1); tm += us(t1, t2); ts += us(t2, t3);
            }
            // map a granule-sized piece of a big handle at an offset: allowed?
            auto u0 = C::now();
            for (size_t i = 0; i < n; i++) {
                cuMemUnmap(va + i * sz, sz);
                cuMemRelease(h[i]);
            }
            double tu = us(u0, C::now());
            printf("physical %4zu MiB: per 2 MiB create %.2f us, map %.2f, set access %.2f, unmap+release %.2f\n", mib,
                   tc / (total / g), tm / (total / g), ts / (total / g), tu / (total / g));
        }
    }
    // one 32 MiB handle mapped as 16 granule pieces (offsets), access set per piece
    {
        size_t sz = 32 << 20;
        CUmemGenericAllocationHandle h;
        auto t0 = C::now();
        CUresult r0 = cuMemCreate(&h, sz, &prop, 0);
        auto t1 = C::now();
        CUresult r1 = CUDA_SUCCESS;
        for (size_t i = 0; i < sz / g; i++)
            if ((r1 = cuMemMap(va + i * g, g, i * g, h, 0)) != CUDA_SUCCESS)
                break;
        auto t2 = C::now();
        CUresult r2 = cuMemSetAccess(va, sz, &d, 1);
        auto t3 = C::now();
        printf("one 32 MiB handle in 2 MiB pieces: create %d %.1f us, 16 maps %d %.1f us, one set access %d %.1f us\n",
               (int)r0, us(t0, t1), (int)r1, us(t1, t2), (int)r2, us(t2, t3));
        CUresult r3 = cuMemUnmap(va + 5 * g, g); // one piece back
        printf("unmap one piece: %d\n", (int)r3);
    }
    return 0;
}

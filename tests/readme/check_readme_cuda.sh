#!/bin/sh
# The README's CUDA C++ (CCCL) example compiles with nvcc and, where there is
# a device, runs on a fresh GPU pool and stream: the vector ends sorted, the
# pool served it and the sort's scratch memory, and nothing is live after.
# Without a device it exits 77 once compiled (ctest: skipped).
# usage: check_readme_cuda.sh SOURCE_DIR NVCC INCLUDE_DIR STATIC_LIBRARY CUDA_ARCH
set -eu
src=$1 nvcc=$2 inc=$3 lib=$4 arch=$5
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$(dirname "$0")/extract.sh" "$src/README.md" '^### CUDA C[+][+]' cpp >"$tmp/snippet"
[ -s "$tmp/snippet" ] || { echo "FAIL: no CUDA C++ example found in README.md"; exit 1; }
{
  grep '^#include' "$tmp/snippet"
  echo '#include <thrust/device_vector.h>'; echo '#include <thrust/execution_policy.h>'
  echo '#include <thrust/logical.h>'; echo '#include <thrust/sort.h>'; echo '#include <cstdio>'
  echo 'int main() { if (mempool::deviceCount() == 0) {'
  echo '  std::puts("SKIP: no CUDA device; the README CUDA C++ example compiled"); return 77; }'
  echo 'mempool::GPUMemoryPool pool("readme-cuda", mempool::PoolConfig::DefaultGPU());'
  echo 'cudaStream_t stream; if (cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking) != cudaSuccess) return 1;'
  echo '{'
  grep -v '^#include' "$tmp/snippet"
  echo '(void)ref; cudaStreamSynchronize(stream);'
  echo 'bool sorted = thrust::is_sorted(thrust::cuda::par.on(stream), v.begin(), v.end());'
  echo 'mp_stats s = pool.getStats().snapshot();'
  printf '%s\n' 'std::printf("sorted %d, %llu allocations, %llu live\n", (int)sorted, (unsigned long long)s.allocation_count, (unsigned long long)s.live_allocations);'
  echo 'if (!sorted || s.allocation_count < 2 || s.live_allocations != 1) return 1; }'
  echo 'cudaStreamDestroy(stream); return pool.getStats().snapshot().live_allocations != 0; }'
} >"$tmp/example.cu"
"$nvcc" -std=c++17 -arch="sm_$arch" -Xcompiler=-Wall,-Wextra -Werror=all-warnings -I"$inc" "$tmp/example.cu" "$lib" \
  -lpthread -ldl -lrt -o "$tmp/example"
set +e
"$tmp/example"
rc=$?
set -e
[ $rc -eq 77 ] && exit 77
[ $rc -eq 0 ] || { echo "FAIL: the README's CUDA C++ example failed (exit $rc)"; exit 1; }
echo "ok: the README's CUDA C++ example compiles without warnings and runs on the pool"

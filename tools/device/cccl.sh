#!/usr/bin/env bash
# The CUDA C++ (CCCL) adapter's device tests (<mempool/mempool_cuda.hpp>,
# issue 22 part 3), for the GPU machine. Build them where the toolkit is:
#
#   cmake --preset device && cmake --build --preset device -j2 --target test_cccl test_cccl_per_thread
#
# then, in the repository root on the GPU machine (build-device carried along;
# the binaries link mempool and cudart statically and need nothing else):
#
#   tools/device/cccl.sh [build-dir]        # default build-device
#
# Each test prints PASS/FAIL per case and exits 0 (all passed), 1 (a case
# failed) or 77 (no device seen: here that is a failure too); each takes
# seconds (a 300 s limit each, 124 when it is hit). Logs go to
# $OUT when it is set. The cross-device case runs only on two or more GPUs.
# Where nvcc is at hand (NVCC, PATH or /usr/local/cuda), the README's CUDA
# C++ example is compiled there against $dir/libmempool.a and run as well.
set -uo pipefail
cd "$(dirname "$0")/../.."
dir=${1:-build-device}
out=${OUT:-${TMPDIR:-/tmp}}
mkdir -p "$out" || exit 1
command -v nvidia-smi >/dev/null && nvidia-smi -L
status=0
for t in test_cccl test_cccl_per_thread; do
    bin="$dir/tests/$t"
    if [ ! -x "$bin" ]; then
        echo "MISSING $bin: build it with the device preset first (see the top of $0)"
        status=1
        continue
    fi
    echo "== $t"
    timeout 300 "$bin" 2>&1 | tee "$out/$t.log"
    rc=${PIPESTATUS[0]}
    case $rc in
    0) echo "== $t: passed" ;;
    77) echo "== $t: skipped, no CUDA device seen"; status=1 ;;
    *) echo "== $t: FAILED (exit $rc)"; status=1 ;;
    esac
done
nvcc=${NVCC:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}
if [ -x "$nvcc" ] && [ -e "$dir/libmempool.a" ]; then
    echo "== README CUDA C++ example"
    timeout 300 tests/readme/check_readme_cuda.sh . "$nvcc" include "$dir/libmempool.a" 90 2>&1 |
        tee "$out/readme_cuda.log"
    rc=${PIPESTATUS[0]}
    [ "$rc" -eq 0 ] || { echo "== README CUDA C++ example: FAILED or skipped (exit $rc)"; status=1; }
else
    echo "== README CUDA C++ example: not run (no nvcc at $nvcc or no $dir/libmempool.a)"
fi
exit $status

#!/bin/sh
# The library's GPU suites and benchmarks on the GPU machine, in one go:
# run from the repository root with build-device carried, after, here:
#   cmake --preset device && cmake --build --preset device -j2
# Writes to $OUT (./core-out where OUT is unset): core.log (everything),
# gpu_bench.{txt,json}, then runs tools/device/trace.sh (the multi-stream
# trace benchmark and its traces). Each step prints its own verdict and a
# failure does not stop the next.
set -u
out=${OUT:-core-out}
mkdir -p "$out"
export LD_LIBRARY_PATH="$PWD/build-device${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
log="$out/core.log"
step() { # name command...
    name=$1; shift
    echo "== $name" | tee -a "$log"
    start=$(date +%s)
    "$@" >> "$log" 2>&1
    rc=$?
    echo "-- $name: exit $rc in $(( $(date +%s) - start )) s" | tee -a "$log"
    tail -4 "$log" | grep -E "Checks|passed|FAIL|SKIP" | head -3
}
nvidia-smi --query-gpu=name,driver_version,memory.used,memory.total --format=csv | tee -a "$log"
t=build-device/tests
step "test_gpu device" timeout 240 $t/test_gpu device
step "test_gpu nodevice" timeout 60 $t/test_gpu nodevice
step "test_realloc gpu" timeout 120 $t/test_realloc gpu
step "test_backing (stand-in)" timeout 120 $t/test_backing
step "test_streams (stand-in)" timeout 120 $t/test_streams
step "test_tracker" timeout 120 $t/test_tracker
step "test_cpp" timeout 120 $t/test_cpp
step "test_multigpu" timeout 60 $t/test_multigpu
true # the CUDA C++ tests: tools/device/cccl.sh
echo "== gpu_bench" | tee -a "$log"
timeout 200 build-device/bench/gpu_bench "$out/gpu_bench.json" > "$out/gpu_bench.txt" 2>&1
echo "-- gpu_bench: exit $?" | tee -a "$log"
tail -40 "$out/gpu_bench.txt"
[ -x tools/device/trace.sh ] && sh tools/device/trace.sh

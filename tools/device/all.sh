#!/bin/sh
# Every GPU check and benchmark of the project in one device call (the
# device tool returns 8 files at most, so each script writes into its own
# folder and the lot comes back as one archive, results.tgz):
#   core.sh   the C suites on the device, gpu_bench, gpu_trace (two phases, traces)
#   cccl.sh   the CUDA C++ resource's device tests
#   torch.sh  the PyTorch plug-in: its suites, a training loop, train_bench
# Run from the repository root with build-device carried, after, here:
#   cmake --preset device && cmake --build --preset device -j2
set -u
top=${OUT:-all-out}
mkdir -p "$top"
TRACE_SECONDS=${TRACE_SECONDS:-100} OUT="$top/core" sh tools/device/core.sh 2>&1 | tail -60
OUT="$top/cccl" bash tools/device/cccl.sh 2>&1 | tail -25
OUT="$top/torch" DEADLINE=${TORCH_DEADLINE:-400} bash tools/device/torch.sh 2>&1 | tail -60
for f in "$top"/torch/train_bench.md "$top"/torch/summary.txt; do
    [ -f "$f" ] && { echo "== $f"; cat "$f"; }
done
(cd "$top" && tar czf results.tgz core cccl torch 2>/dev/null && rm -rf core cccl torch)
ls -la "$top"

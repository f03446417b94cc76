#!/bin/bash
# The PyTorch plug-in on the GPU machine. Run from the repository root with
# build-device carried (built beforehand, elsewhere, by
#   cmake --preset device && cmake --build --preset device -j2);
# it builds nothing. Needs python3 with torch (CUDA) on the machine.
#
#   OUT=/some/dir tools/device/torch.sh
#
# Steps (each one prints a banner and its exit status; a failure does not
# stop the later ones; the whole run keeps under DEADLINE seconds, 420 by
# default, by capping each step's time to what is left):
#   1. the machine: GPU, driver, python, torch, the carried binaries
#   2. the plug-in's C suites on the device (test_torch_plugin device and
#      devicetrace, test_torch_throw device), its exports, torch_trace_time
#      on a small trace
#   3. tests/gpu/torch_train.py: training on PyTorch's allocator and on
#      mempool, losses identical; out of memory; two streams
#   4. bench/torch/train_bench.py --trace: the table, the JSON, the trace
# Files in $OUT (at most 8): torch.log (everything), summary.txt (one line
# per step), suites.txt, torch_train.txt, train_bench.md (the tables),
# train_bench.log (its progress), train_bench.json, gpt2-train.trace.
set -u
cd "$(dirname "$0")/../.." || exit 1
OUT=${OUT:-$PWD/out-torch}
mkdir -p "$OUT"
DEADLINE=${DEADLINE:-420}
START=$(date +%s)
BUILD=${BUILD:-build-device}
LIB=$PWD/$BUILD/plugins/torch/libmempool_torch.so
LOG=$OUT/torch.log
SUMMARY=$OUT/summary.txt
: >"$LOG"
: >"$SUMMARY"
# The carried binaries' RUNPATH names the directory they were built in.
export LD_LIBRARY_PATH=$PWD/$BUILD:$PWD/$BUILD/plugins/torch${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export PYTHONUNBUFFERED=1
export OUT BUILD LIB

left() { echo $((DEADLINE - ($(date +%s) - START))); }

# step NAME CAP FILE CMD...: runs CMD with at most min(CAP, time left - 10)
# seconds, its output into FILE (appended) and the log; records the status.
step() {
  local name=$1 cap=$2 file=$3
  shift 3
  local budget
  budget=$(left)
  budget=$((budget - 10))
  [ "$budget" -gt "$cap" ] && budget=$cap
  {
    echo
    echo "==== $name ($(date -u +%H:%M:%S), budget ${budget}s) ===="
    echo "\$ $*"
  } | tee -a "$LOG" >>"$file"
  if [ "$budget" -le 5 ]; then
    echo "SKIPPED: no time left" | tee -a "$LOG" >>"$file"
    printf '%-44s %s\n' "$name" "skipped (no time left)" >>"$SUMMARY"
    return 0
  fi
  local t0=$(date +%s) rc
  timeout -k 10 "$budget" "$@" 2>&1 | tee -a "$LOG" >>"$file"
  rc=${PIPESTATUS[0]}
  local took=$(($(date +%s) - t0)) verdict
  case $rc in
    0) verdict=passed ;;
    77) verdict="skipped (77)" ;;
    124 | 137) verdict="TIMED OUT after ${took}s" ;;
    *) verdict="FAILED (exit $rc)" ;;
  esac
  echo "---- $name: $verdict, ${took}s" | tee -a "$LOG" >>"$file"
  printf '%-44s %s, %ss\n' "$name" "$verdict" "$took" >>"$SUMMARY"
}

machine() {
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || echo "nvidia-smi failed"
  command -v python3 && python3 --version
  python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "device",
torch.cuda.get_device_name(0) if torch.cuda.is_available() else None)' || echo "torch is not importable"
  ls -l "$LIB" "$BUILD/tests/gpu/test_torch_plugin" "$BUILD/tests/gpu/test_torch_throw" \
    "$BUILD/bench/torch/torch_trace_time" || echo "some carried binaries are missing"
  ldd "$LIB" || true
}

# The benchmark's tables alone in train_bench.md; its progress to the log.
bench() {
  python3 bench/torch/train_bench.py --library "$LIB" --trace "$OUT/gpt2-train.trace" \
    --trace-tool "$BUILD/bench/torch/torch_trace_time" --out "$OUT/train_bench.json" 2>&1 >"$OUT/train_bench.md"
  local rc=$?
  cat "$OUT/train_bench.md"
  return $rc
}
export -f machine bench

step "machine" 30 "$OUT/suites.txt" bash -c machine
step "plug-in C suite, device" 90 "$OUT/suites.txt" "$BUILD/tests/gpu/test_torch_plugin" device
step "plug-in C suite, trace and timing switches" 60 "$OUT/suites.txt" "$BUILD/tests/gpu/test_torch_plugin" devicetrace
step "throwing callback, device" 60 "$OUT/suites.txt" "$BUILD/tests/gpu/test_torch_throw" device
step "exports" 20 "$OUT/suites.txt" tests/gpu/check_exports.sh "$LIB"
step "torch_trace_time, small trace" 60 "$OUT/suites.txt" \
  "$BUILD/bench/torch/torch_trace_time" "$BUILD/bench/torch/sample.trace" --passes 2
step "torch_train.py (native vs mempool, oom, streams)" 200 "$OUT/torch_train.txt" \
  python3 tests/gpu/torch_train.py --library "$LIB"
step "train_bench.py --trace" 330 "$OUT/train_bench.log" bash -c bench

{
  echo
  echo "==== summary ($(($(date +%s) - START))s in all) ===="
  cat "$SUMMARY"
  [ -f "$OUT/gpt2-train.trace" ] && ls -l "$OUT/gpt2-train.trace"
} | tee -a "$LOG"
ls -l "$OUT"
exit 0

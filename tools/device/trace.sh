#!/bin/sh
# Runs bench/gpu_trace on the GPU machine (issue 22: the multi-stream trace
# benchmark, and the traces CI replays). Run from the repository root with
# build-device carried, after, here:
#   cmake --preset device && cmake --build --preset device -j2 --target gpu_trace
# Writes to $OUT (./trace-out where OUT is unset), five files:
#   gpu_trace.log          everything printed, the tables last
#   gpu_trace.json         every figure, each repetition's too
#   single_stream.trace    the request records with this run's baselines,
#   multi_stream.trace       to copy into bench/traces/
#   nvidia-smi.txt         the card as found (clocks, memory, processes)
# and checks that the records equal the ones --trace-only makes without CUDA
# and that each trace passes bench/check_trace.sh. Ends in under 5 minutes:
# gpu_trace gets 200 s of repetitions (--max-seconds) and a hard 270 s limit.
set -u
out=${OUT:-trace-out}
bin=build-device/bench/gpu_trace
mkdir -p "$out"
if [ ! -x "$bin" ]; then
    echo "trace.sh: $bin is missing: build it (see the top of this script) and carry build-device"
    exit 1
fi
nvidia-smi > "$out/nvidia-smi.txt" 2>&1
nvidia-smi --query-gpu=name,driver_version,memory.used,memory.total,clocks.sm,clocks.max.sm --format=csv 2>&1 | tee -a "$out/nvidia-smi.txt"

echo "== gpu_trace (every allocator, both phases)"
timeout 270 "$bin" --json "$out/gpu_trace.json" --trace-dir "$out" --max-seconds ${TRACE_SECONDS:-200} > "$out/gpu_trace.log" 2>&1
rc=$?
case $rc in
0) verdict="ok" ;;
3) verdict="ERRORS: a row failed or a kernel read another block's signature (see the log)" ;;
77) verdict="found no CUDA device" ;;
124) verdict="TIMED OUT after 270 s (no tables)" ;;
*) verdict="exited $rc" ;;
esac

echo "== trace records: GPU run against --trace-only"
records=ok
tmp=$(mktemp -d)
if "$bin" --trace-only --trace-dir "$tmp" > /dev/null; then
    for t in single_stream multi_stream; do
        if [ ! -f "$out/$t.trace" ]; then
            echo "$t.trace: not written by the GPU run"
            records=missing
            continue
        fi
        grep -v '^#' "$out/$t.trace" > "$tmp/$t.gpu"
        grep -v '^#' "$tmp/$t.trace" > "$tmp/$t.cpu"
        if cmp -s "$tmp/$t.gpu" "$tmp/$t.cpu"; then
            echo "$t.trace: records identical to --trace-only ($(wc -l < "$tmp/$t.gpu") lines, $(wc -c < "$out/$t.trace") bytes)"
        else
            echo "$t.trace: records DIFFER from --trace-only"
            records=differ
        fi
        bench/check_trace.sh --file "$out/$t.trace" || records=invalid
        grep '^# \(baseline\|measured\)' "$out/$t.trace"
    done
else
    records="--trace-only failed"
fi
rm -rf "$tmp"

echo "== gpu_trace output (also in gpu_trace.log)"
cat "$out/gpu_trace.log"
echo
echo "RESULT: gpu_trace $verdict; trace records $records; files in $out: $(ls "$out" | tr '\n' ' ')"
[ "$rc" = 0 ] && [ "$records" = ok ]

#!/bin/sh
# Checks gpu_trace's request records without a GPU: --trace-only twice (the
# two runs must be byte-identical), then each trace against
# bench/traces/FORMAT.md, independently of the generator: the header; a, f and
# s records well formed; an id allocated only while not live and freed only
# while live; nothing live at the end; every free on a stream other than the
# block's followed by an s of that stream (a replay completes it); the
# "peak_live" of the metadata equal to the peak recomputed from the records;
# and each file under 2 MB.
# usage: check_trace.sh path/to/gpu_trace OUTDIR   (a trace file: check_trace.sh --file F)
set -eu

check() {
    awk -v name="$1" '
    function fail(msg) { printf "%s:%d: %s\n", name, NR, msg > "/dev/stderr"; bad = 1; exit 1 }
    NR == 1 { if ($0 != "# mempool-trace 1") fail("first line is not \"# mempool-trace 1\""); next }
    /^# / {
        for (i = 2; i < NF; i++) if ($i == "peak_live" && claimed == "") claimed = $(i + 1)
        next
    }
    $1 == "a" {
        if (NF != 4 || $2 !~ /^[0-9]+$/ || $3 !~ /^[1-9][0-9]*$/ || $4 !~ /^[0-9]+$/) fail("malformed a record")
        if ($2 in size) fail("id " $2 " allocated while live")
        size[$2] = $3; home[$2] = $4; live += $3; if (live > peak) peak = live; allocs++
        next
    }
    $1 == "f" {
        if (NF != 3 || $2 !~ /^[0-9]+$/ || $3 !~ /^[0-9]+$/) fail("malformed f record")
        if (!($2 in size)) fail("id " $2 " freed while not live")
        live -= size[$2]
        if ($3 != home[$2]) pending[$3]++
        delete size[$2]; delete home[$2]; frees++
        next
    }
    $1 == "s" {
        if (NF != 2 || $2 !~ /^[0-9]+$/) fail("malformed s record")
        pending[$2] = 0; syncs++
        next
    }
    { fail("not a record: " $0) }
    END {
        if (bad) exit 1
        for (id in size) { printf "%s: id %s still live at the end\n", name, id > "/dev/stderr"; exit 1 }
        for (s in pending) if (pending[s]) { printf "%s: %d frees on stream %s never followed by s %s\n", name, pending[s], s, s > "/dev/stderr"; exit 1 }
        if (syncs == 0) { printf "%s: no s record\n", name > "/dev/stderr"; exit 1 }
        if (claimed != "" && claimed + 0 != peak) { printf "%s: metadata peak_live %s, records give %.0f\n", name, claimed, peak > "/dev/stderr"; exit 1 }
        printf "%s: %d allocations, %d frees, %d syncs, peak live %.0f bytes: ok\n", name, allocs, frees, syncs, peak
    }' "$1"
    bytes=$(wc -c < "$1")
    if [ "$bytes" -ge 2000000 ]; then
        echo "$1: $bytes bytes, not under 2 MB" >&2
        exit 1
    fi
}

if [ "${1:-}" = "--file" ]; then
    check "$2"
    exit 0
fi
bin=$1 out=$2
rm -rf "$out"
mkdir -p "$out/a" "$out/b"
"$bin" --trace-only --trace-dir "$out/a" > /dev/null
"$bin" --trace-only --trace-dir "$out/b" > /dev/null
for t in single_stream multi_stream; do
    cmp "$out/a/$t.trace" "$out/b/$t.trace"
    check "$out/a/$t.trace"
done

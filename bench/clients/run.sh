#!/usr/bin/env bash
# Real-client benchmark: a Lua 5.4 state (lua_client) and SQLite
# (sqlite_client) on every allocator, runs interleaved round-robin.
#
#   bench/clients/run.sh [-n RUNS] [-o DIR] [-s SCALE] [-a "ALLOCATORS"]
#                        [-c "CLIENTS"] [-b BUILD_DIR] [--no-build]
#
# To reproduce, on a quiet machine (nothing else running; the figures in
# bench/RESULTS.md name the machine and date):
#
#   scripts/deps.sh                       # liblua5.4-dev libsqlite3-dev, the peers, gnuplot-nox
#   cmake --preset default                # RelWithDebInfo, as the figures use
#   bench/clients/run.sh -n 9 -o bench/results/clients-$(date +%F)
#
# The clients (bench/clients/lua_client.c, sqlite_client.c) are built with
# `cmake --build BUILD_DIR --target bench_clients` first (BUILD_DIR defaults to
# build/, configured with the default preset if it is not yet; --no-build
# takes the binaries as they are). Each run is one process, timed from the
# pool's creation (or malloc's first use) to the state's close / SQLite's
# shutdown and the pool's destruction; peak RSS is its ru_maxrss.
#
# ALLOCATORS (default: all): glibc (the plain process); jemalloc, mimalloc,
# tcmalloc (Debian's libjemalloc.so.2, libmimalloc.so.2 and
# libtcmalloc_minimal.so.4, found with dpkg -S, through LD_PRELOAD); and the
# mempool presets through the adapters (mp_lua_alloc, the SQLite example's
# sqlite3_mem_methods): default (mp_config_default_cpu), fast
# (mp_config_high_performance_cpu), general (mp_config_general_purpose_cpu),
# each used as the preset makes it. A peer that is not installed, or a preset
# the library lacks, is left out with a note: every pair is tried once on a
# tiny workload before the rounds.
#
# Each of RUNS rounds (default 5) runs every (client, allocator) pair once,
# the order rotated by one pair per round. SCALE (default 1: about 1-2 s on
# glibc for each client) sizes the workloads. Every run of a client must give
# the same checksum, or the script fails.
#
# DIR (default: a new directory under ${TMPDIR:-/tmp}) receives:
#   results.tsv   client, allocator, run, seconds, peak_kib, checksum (one line per run)
#   summary.md    per client: median time, min-max, median peak RSS, and the
#                 ratios to the fastest and to the leanest peer (glibc,
#                 jemalloc, mimalloc, tcmalloc)
#   clients.svg   bar chart of median time (min-max bars) and median peak RSS
#                 per allocator, one row per client (needs gnuplot)
#   host.txt      machine, versions, the command line
# Needs bash, awk, dpkg (for the peers), cmake (unless --no-build).
set -euo pipefail

runs=5 out="" scale=1 build="" nobuild=0
allocators="glibc jemalloc mimalloc tcmalloc default fast general"
clients="lua sqlite"
while [ $# -gt 0 ]; do
  case $1 in
    -n) runs=$2; shift 2 ;;
    -o) out=$2; shift 2 ;;
    -s) scale=$2; shift 2 ;;
    -a) allocators=$2; shift 2 ;;
    -c) clients=$2; shift 2 ;;
    -b) build=$2; shift 2 ;;
    --no-build) nobuild=1; shift ;;
    -h|--help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
case $runs in ''|*[!0-9]*|0) echo "run.sh: -n needs a positive count" >&2; exit 2 ;; esac

root=$(cd "$(dirname "$0")/../.." && pwd)
build=${build:-$root/build}
out=${out:-$(mktemp -d "${TMPDIR:-/tmp}/mempool-clients.XXXXXX")}
mkdir -p "$out"
out=$(cd "$out" && pwd)

if [ $nobuild = 0 ]; then
  [ -f "$build/CMakeCache.txt" ] || cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMEMPOOL_ASSERTS=OFF >/dev/null
  cmake --build "$build" --target bench_clients -j "${JOBS:-2}" >/dev/null
fi

# The peers: the real path of Debian's library, or nothing.
peer_lib() {
  local so=$1 path
  path=$(dpkg -S "*/$so" 2>/dev/null | awk -F': ' 'NR == 1 {print $2}')
  [ -n "$path" ] || path=$(/sbin/ldconfig -p 2>/dev/null | awk -v so="$so" '$1 == so {print $NF; exit}')
  [ -n "$path" ] && [ -e "$path" ] && echo "$path"
}

notes=()
pairs=()      # "client allocator"
declare -A preload mode
for a in $allocators; do
  case $a in
    glibc) mode[$a]=malloc; preload[$a]="" ;;
    jemalloc|mimalloc|tcmalloc)
      case $a in jemalloc) so=libjemalloc.so.2 ;; mimalloc) so=libmimalloc.so.2 ;; tcmalloc) so=libtcmalloc_minimal.so.4 ;; esac
      lib=$(peer_lib "$so" || true)
      if [ -z "$lib" ]; then notes+=("$a: $so not found (scripts/deps.sh installs it)"); continue; fi
      mode[$a]=malloc; preload[$a]=$lib ;;
    default|fast|general) mode[$a]=$a; preload[$a]="" ;;
    *) echo "run.sh: unknown allocator $a" >&2; exit 2 ;;
  esac
  for c in $clients; do
    bin=$build/bench/${c}_client
    if [ ! -x "$bin" ]; then echo "run.sh: $bin is missing (build target bench_clients)" >&2; exit 2; fi
    # One tiny run first: a preset the library lacks, or a broken peer, is left out here.
    rc=0
    msg=$(env ${preload[$a]:+LD_PRELOAD=${preload[$a]}} "$bin" -s 0.005 -l "$a" "${mode[$a]}" 2>&1 >/dev/null) || rc=$?
    if [ $rc = 0 ]; then
      pairs+=("$c $a")
    else
      notes+=("$c on $a: ${msg:-exit status $rc}")
    fi
  done
done
[ ${#pairs[@]} -gt 0 ] || { echo "run.sh: nothing to run" >&2; printf '%s\n' "${notes[@]}" >&2; exit 1; }
for n in "${notes[@]}"; do echo "run.sh: left out: $n" >&2; done

{
  echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "host: $(uname -n), $(uname -sr), $(nproc) CPUs, $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo 2>/dev/null)"
  echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"
  echo "mempool: $(git -C "$root" describe --always --dirty 2>/dev/null || echo unknown), build $build"
  for a in jemalloc mimalloc tcmalloc; do [ -n "${preload[$a]:-}" ] && echo "$a: ${preload[$a]}"; done
  echo "command: $0 -n $runs -s $scale -a \"$allocators\" -c \"$clients\""
} >"$out/host.txt"

printf 'client\tallocator\trun\tseconds\tpeak_kib\tchecksum\n' >"$out/results.tsv"
total=$(( runs * ${#pairs[@]} )) done_=0
for ((r = 1; r <= runs; r++)); do
  for ((i = 0; i < ${#pairs[@]}; i++)); do
    # shellcheck disable=SC2086 # "client allocator", split on purpose
    set -- ${pairs[$(( (i + r - 1) % ${#pairs[@]} ))]}
    c=$1 a=$2
    line=$(env ${preload[$a]:+LD_PRELOAD=${preload[$a]}} "$build/bench/${c}_client" -s "$scale" -l "$a" "${mode[$a]}") || {
      echo "run.sh: $c on $a failed in round $r" >&2; exit 1; }
    echo "$line" | awk -v run="$r" '{
        for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
        printf "%s\t%s\t%d\t%s\t%s\t%s\n", v["client"], v["allocator"], run, v["seconds"], v["peak_kib"], v["checksum"] }' \
      >>"$out/results.tsv"
    done_=$((done_ + 1))
    [ -t 2 ] && printf '\rrun.sh: %d/%d runs' "$done_" "$total" >&2
  done
done
[ -t 2 ] && echo >&2

# Summary, plot data and the checksum check, from results.tsv alone.
order="$allocators"
printf '%s\n' "${notes[@]}" >"$out/notes.txt"
awk -F'\t' -v order="$order" -v runs="$runs" -v scale="$scale" -v plotdat="$out/plot.dat" -v notesfile="$out/notes.txt" '
  function sortn(a, n,   i, j, t) { for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t } }
  function median(a, n) { sortn(a, n); return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
  function peer(al) { return al == "glibc" || al == "jemalloc" || al == "mimalloc" || al == "tcmalloc" }
  NR == 1 { next }
  {
    c = $1; al = $2; k = c SUBSEP al
    if (!(c in seen)) { seen[c] = 1; cl[++nc] = c }
    n[k]++; t[k, n[k]] = $4 + 0; m[k, n[k]] = $5 + 0
    if (!((c, $6) in sums)) { sums[c, $6] = 1; nsum[c]++; sumlist[c] = sumlist[c] " " $6; who[c, $6] = "" }
    if (index(" " who[c, $6] " ", " " al " ") == 0) who[c, $6] = who[c, $6] " " al
  }
  END {
    na = split(order, ord, " ")
    print "# Real clients: time and peak RSS per allocator\n"
    printf "%d runs of each pair, interleaved round-robin, scale %s; medians, lower is better. ", runs, scale
    print "Peers (glibc, jemalloc, mimalloc, tcmalloc) replace malloc; mempool presets serve the client through its adapter.\n"
    bad = 0
    for (ci = 1; ci <= nc; ci++) {
      c = cl[ci]; bt = 0; bm = 0; any = 0
      for (ai = 1; ai <= na; ai++) {
        k = c SUBSEP ord[ai]; if (!(k in n)) continue
        for (i = 1; i <= n[k]; i++) { tt[i] = t[k, i]; mm[i] = m[k, i] }
        mt[k] = median(tt, n[k]); lo[k] = tt[1]; hi[k] = tt[n[k]]; mr[k] = median(mm, n[k])
      }
      for (pass = 1; pass <= 2 && !any; pass++)
        for (ai = 1; ai <= na; ai++) {
          k = c SUBSEP ord[ai]; if (!(k in n) || (pass == 1 && !peer(ord[ai]))) continue
          if (!any || mt[k] < bt) bt = mt[k]
          if (!any || mr[k] < bm) bm = mr[k]
          any = 1; basis = pass == 1 ? "peer" : "allocator"
        }
      sub(/^ /, "", sumlist[c])
      if (nsum[c] == 1)
        printf "## %s\n\nchecksum %s on every run\n\n", c, sumlist[c]
      else {
        bad = 1; ns = split(sumlist[c], sl, " ")
        printf "## %s\n\nCHECKSUMS DIFFER:", c
        for (i = 1; i <= ns; i++) printf " %s (%s)", sl[i], substr(who[c, sl[i]], 2)
        print "\n"
      }
      printf "| allocator | median time | min-max | vs fastest %s | median peak RSS | vs leanest %s |\n", basis, basis
      print "| --- | --- | --- | --- | --- | --- |"
      for (ai = 1; ai <= na; ai++) {
        al = ord[ai]; k = c SUBSEP al; if (!(k in n)) continue
        name = peer(al) ? al : "mempool " al
        printf "| %s | %.3f s | %.3f-%.3f | %.2fx | %.1f MiB | %.2fx |\n", name, mt[k], lo[k], hi[k], mt[k] / bt, mr[k] / 1024, mr[k] / bm
        printf "%s\t%s\t%.4f\t%.4f\t%.4f\t%.2f\n", c, (peer(al) ? al : "mempool-" al), mt[k], lo[k], hi[k], mr[k] / 1024 >plotdat
      }
      print ""
    }
    while ((getline line <notesfile) > 0) if (line != "") { if (!hdr++) print "Left out:\n"; print "- " line }
    exit bad
  }' "$out/results.tsv" >"$out/summary.md" || { cat "$out/summary.md"; echo "run.sh: checksums differ within a client (see above)" >&2; exit 1; }
rm -f "$out/notes.txt"

if command -v gnuplot >/dev/null 2>&1; then
  nclients=$(cut -f1 "$out/plot.dat" | sort -u | wc -l)
  {
    echo "set terminal svg size 1200,$(( 380 * nclients )) noenhanced font 'sans,11'"
    echo "set output '$out/clients.svg'"
    echo "set multiplot layout $nclients,2 title 'Real clients: median of $runs runs, scale $scale (lower is better)'"
    echo "set style fill solid 0.7 border -1; set boxwidth 0.7; set yrange [0:*]; set grid y"
    echo "set xtics rotate by -30 nomirror; unset key"
    for c in $(cut -f1 "$out/plot.dat" | awk '!s[$0]++'); do
      awk -F'\t' -v c="$c" '$1 == c' "$out/plot.dat" >"$out/plot-$c.dat"
      echo "set title '$c: wall time (s), min-max bars'"
      echo "plot '$out/plot-$c.dat' using 0:3:xtic(2) with boxes lc rgb '#4477aa', '' using 0:3:4:5 with yerrorbars lc rgb 'black' pt 0"
      echo "set title '$c: peak RSS (MiB)'"
      echo "plot '$out/plot-$c.dat' using 0:6:xtic(2) with boxes lc rgb '#cc6677'"
    done
    echo "unset multiplot"
  } >"$out/clients.gp"
  gnuplot "$out/clients.gp" && echo "run.sh: plot $out/clients.svg" >&2
else
  echo "run.sh: gnuplot not found: no plot (apt-get install gnuplot-nox)" >&2
fi
cat "$out/summary.md"
echo "run.sh: results in $out" >&2

#!/usr/bin/env bash
# A/B benchmark: an old revision against the current working tree, on the
# same machine, runs interleaved.
#
#   bench/ab.sh [-n ROUNDS] [--quick] [--only TEXT] [--keep] [-o DIR] [OLD_REV]
#
# Builds each side from its own tree with the default preset's flags
# (RelWithDebInfo; CUDA as the toolkit allows), only the targets mempool and
# cpu_bench: the old one in a temporary git worktree at OLD_REV, the new one
# from this checkout's working tree (uncommitted edits included). Each side
# gets its own cpu_bench, because the inline thread-cache code is compiled
# into the benchmark from mempool.h; each binary runs with LD_LIBRARY_PATH
# set to its own build, so it loads its own libmempool.so.
#
# Then ROUNDS rounds (default 5), alternating the order (old, new; new, old;
# ...), run `MP_BENCH_ONLY=TEXT cpu_bench [--quick]` for each side; TEXT
# defaults to "mempool" (the peers' rows are not needed). Each cpu_bench run
# reports its own median of several runs; the table gives, per row, the
# median over the rounds of each side, new/old, each side's min-max, and a
# verdict: "within 5%", "within noise" (new median inside old's min-max), or
# "SLOWER"/"faster" by the percentage. Lower is better everywhere.
#
# OLD_REV defaults to the merge-base of HEAD with origin/HEAD (or
# origin/main, origin/master, main). Results (each run's JSON and text, and
# the table) stay in DIR (default: a new directory under ${TMPDIR:-/tmp});
# the worktree and the builds are removed unless --keep. JOBS (default 2)
# sets the build parallelism. Needs git, cmake, python3.
set -euo pipefail

rounds=5 quick="" only="mempool" keep=0 out="" rev=""
while [ $# -gt 0 ]; do
  case $1 in
    -n) rounds=$2; shift 2 ;;
    --quick) quick=--quick; shift ;;
    --only) only=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    -o) out=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) echo "ab.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) rev=$1; shift ;;
  esac
done
case $rounds in ''|*[!0-9]*|0) echo "ab.sh: -n needs a positive count" >&2; exit 2 ;; esac

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
if [ -z "$rev" ]; then
  for base in origin/HEAD origin/main origin/master main; do
    if git rev-parse -q --verify "$base^{commit}" >/dev/null; then
      rev=$(git merge-base HEAD "$base") && break
    fi
  done
  [ -n "$rev" ] || { echo "ab.sh: no origin or main branch to take a merge-base with: name OLD_REV" >&2; exit 2; }
fi
old=$(git rev-parse --verify "$rev^{commit}")
new_desc="$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . 2>/dev/null || echo +edits)"

out=${out:-$(mktemp -d "${TMPDIR:-/tmp}/mempool-ab.XXXXXX")}
mkdir -p "$out"
out=$(cd "$out" && pwd)
work="$out/work"
mkdir -p "$work"
cleanup() {
  if [ "$keep" = 0 ]; then
    git -C "$root" worktree remove --force "$work/old-src" 2>/dev/null || true
    git -C "$root" worktree prune 2>/dev/null || true
    rm -rf "$work"
  fi
}
trap cleanup EXIT

echo "A/B: old $(git log -1 --format='%h %s' "$old" | cut -c1-70)"
echo "     new $new_desc (working tree of $root)"
git worktree add -q --detach "$work/old-src" "$old"

# The default preset, in a build directory of our own; nothing but the
# library and the benchmark is built.
build() { # src dir
  echo "building $2 ..."
  if ! { cmake -S "$1" -B "$2" --preset default -DMEMPOOL_BINDINGS=OFF -DBUILD_TESTING=OFF \
           -DMEMPOOL_BUILD_EXAMPLES=OFF &&
         cmake --build "$2" --target cpu_bench -j"${JOBS:-2}"; } >"$2.log" 2>&1; then
    tail -n 30 "$2.log" >&2
    echo "ab.sh: the build in $2 failed (log: $2.log)" >&2
    exit 1
  fi
  [ -x "$2/bench/cpu_bench" ] || { echo "ab.sh: $2 has no cpu_bench (C++ compiler and libboost-dev needed)" >&2; exit 1; }
}
build "$work/old-src" "$work/old"
build "$root" "$work/new"
for side in old new; do
  lib=$(LD_LIBRARY_PATH="$work/$side" ldd "$work/$side/bench/cpu_bench" | awk '/libmempool/ {print $3}')
  case $lib in
    "$work/$side"/*) echo "$side cpu_bench loads $lib" ;;
    *) echo "ab.sh: $side cpu_bench would load '$lib', not its own build" >&2; exit 1 ;;
  esac
done

run() { # side round
  echo "round $2/$rounds: $1"
  LD_LIBRARY_PATH="$work/$1" MP_BENCH_ONLY="$only" \
    "$work/$1/bench/cpu_bench" $quick "$out/$1-$2.json" >"$out/$1-$2.txt" 2>&1 ||
    { tail -n 20 "$out/$1-$2.txt" >&2; echo "ab.sh: $1 cpu_bench failed" >&2; exit 1; }
}
for r in $(seq 1 "$rounds"); do
  if [ $((r % 2)) = 1 ]; then run old "$r"; run new "$r"; else run new "$r"; run old "$r"; fi
done

python3 - "$out" "$rounds" "$(git rev-parse --short "$old")" "$new_desc" "$only" "$quick" <<'EOF' | tee "$out/ab.txt"
import json, statistics, sys
out, rounds, old_name, new_name, only, quick = sys.argv[1], int(sys.argv[2]), *sys.argv[3:]
def load(side):
    rows = {}
    for r in range(1, rounds + 1):
        d = json.load(open(f"{out}/{side}-{r}.json"))
        for w, allocs in d["workloads"].items():
            for a, v in allocs.items():
                rows.setdefault((w, a), []).append(v)
        for a, l in d.get("latency_ns", {}).items():
            for k, v in l.items():
                rows.setdefault(("lat " + k, a), []).append(v)
    return rows
old, new = load("old"), load("new")
order = {"pair": 0, "batch": 1, "churn": 2, "xthr": 3, "lat p50": 4, "lat p99": 5, "lat p99.9": 6}
print(f"\nA/B of cpu_bench {quick} MP_BENCH_ONLY={only}: old {old_name}, new {new_name}, {rounds} rounds,"
      " alternating; ns, lower is better")
print(f"{'workload':10} {'allocator':32} {'old med':>8} {'new med':>8} {'new/old':>8}"
      f"  {'old min-max':>15}  {'new min-max':>15}  verdict")
flagged = 0
for key in sorted(set(old) & set(new), key=lambda k: (order.get(k[0], 9), k[0], k[1])):
    o, n = old[key], new[key]
    om, nm = statistics.median(o), statistics.median(n)
    ratio = nm / om if om > 0 else float("nan")
    if om > 0 and abs(ratio - 1) <= 0.05:
        verdict = "within 5%"
    elif min(o) <= nm <= max(o):
        verdict = "within noise" if om > 0 or nm == 0 else "within noise (old median 0)"
    elif om > 0:
        verdict = f"{'SLOWER' if ratio > 1 else 'faster'} {abs(ratio - 1) * 100:.0f}%"
        flagged += 1
    else:
        verdict = "SLOWER (old median 0)"
        flagged += 1
    span = lambda v: f"{min(v):.2f}-{max(v):.2f}"
    rs = f"{ratio:8.3f}" if om > 0 else f"{'n/a':>8}"
    print(f"{key[0]:10} {key[1]:32} {om:8.2f} {nm:8.2f} {rs}  {span(o):>15}  {span(n):>15}  {verdict}")
for key in sorted(set(old) ^ set(new)):
    print(f"{key[0]:10} {key[1]:32} only in {'old' if key in old else 'new'}")
print(f"\n{flagged} row(s) outside 5% and outside old's own spread; raw runs in {out}")
EOF

#!/bin/sh
# The README's standalone MemoryStats example in Go ("### In Go") builds and
# runs inside the built Go module, and prints what its comment says.
# usage: check_readme_go_seed.sh SOURCE_DIR GO MODULE_DIR (the Go environment is set by the caller)
set -eu
src=$1 go=$2 mod=$3
dir="$mod/cmd/readme-memory-stats"
rm -rf "$dir"
mkdir -p "$dir"
trap 'rm -rf "$dir"' EXIT
body=$("$(dirname "$0")/extract.sh" "$src/README.md" '^### In Go$' go)
[ -n "$body" ] || { echo "FAIL: no Go example under '### In Go' in README.md"; exit 1; }
{
  printf 'package main\n\nimport (\n\t"fmt"\n\n\tmempool "github.com/mempool-project/mempool/bindings/go"\n)\n\nfunc main() {\n'
  printf '%s\n' "$body"
  printf '\tfmt.Println(used)\n}\n'
} >"$dir/main.go"
cd "$mod"
out=$("$go" run ./cmd/readme-memory-stats)
echo "$out"
[ "$out" = "3072" ] || { echo "FAIL: expected 3072, as the example's comment says"; exit 1; }
echo "ok: the README's Go MemoryStats example runs"

#!/bin/sh
# The README's Go example builds and runs inside the built Go module.
# usage: check_readme_go.sh SOURCE_DIR GO MODULE_DIR (the Go environment is set by the caller)
set -eu
src=$1 go=$2 mod=$3
dir="$mod/cmd/readme-example"
rm -rf "$dir"
mkdir -p "$dir"
trap 'rm -rf "$dir"' EXIT
"$(dirname "$0")/extract.sh" "$src/README.md" '^## Examples$' go >"$dir/main.go"
[ -s "$dir/main.go" ] || { echo "FAIL: no Go example found in README.md"; exit 1; }
cd "$mod"
out=$("$go" run ./cmd/readme-example)
echo "$out"
[ "$out" = "48 bytes in use" ] || { echo "FAIL: expected '48 bytes in use'"; exit 1; }
echo "ok: the README's Go example builds and runs"

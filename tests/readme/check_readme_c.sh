#!/bin/sh
# The README's C example compiles and runs: its #include lines go on top,
# the rest becomes the body of main.
# usage: check_readme_c.sh SOURCE_DIR INCLUDE_DIR LIBRARY
set -eu
src=$1 inc=$2 lib=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$(dirname "$0")/extract.sh" "$src/README.md" '^### C$' c >"$tmp/snippet"
[ -s "$tmp/snippet" ] || { echo "FAIL: no C example found in README.md"; exit 1; }
{ grep '^#include' "$tmp/snippet"; echo "int main(void) {"; grep -v '^#include' "$tmp/snippet"; echo "return 0; }"; } >"$tmp/example.c"
cc -std=c11 -Wall -Werror -I"$inc" "$tmp/example.c" "$lib" -Wl,-rpath,"$(dirname "$lib")" -o "$tmp/example"
"$tmp/example"
echo "ok: the README's C example compiles without warnings and runs"

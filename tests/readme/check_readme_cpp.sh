#!/bin/sh
# The README's C++ example compiles with g++ -std=c++17 and runs: its
# #include and using lines go on top, the rest becomes the body of main.
# usage: check_readme_cpp.sh SOURCE_DIR CXX INCLUDE_DIR LIBRARY
set -eu
src=$1 cxx=$2 inc=$3 lib=$4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$(dirname "$0")/extract.sh" "$src/README.md" '^### C[+][+]' cpp >"$tmp/snippet"
[ -s "$tmp/snippet" ] || { echo "FAIL: no C++ example found in README.md"; exit 1; }
{ grep -E '^(#include|using)' "$tmp/snippet"; echo "int main() {"; grep -vE '^(#include|using)' "$tmp/snippet"; echo "return 0; }"; } >"$tmp/example.cpp"
"$cxx" -std=c++17 -Wall -Wextra -Werror -I"$inc" "$tmp/example.cpp" "$lib" -Wl,-rpath,"$(dirname "$lib")" -o "$tmp/example"
out=$("$tmp/example")
echo "$out"
echo "$out" | grep -q "MP_ERR_INVALID_ARGUMENT: pool 'particles': 65 bytes" || { echo "FAIL: the exception was not printed"; exit 1; }
echo "$out" | grep -q "^1 allocations$" || { echo "FAIL: expected '1 allocations'"; exit 1; }
echo "ok: the README's C++ example compiles without warnings and runs"

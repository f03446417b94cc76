#!/bin/sh
# The README's standalone MemoryStats example in Java ("### In Java")
# compiles inside a main method and prints what its comment says.
# usage: check_readme_java_seed.sh SOURCE_DIR JAVAC JAVA JAR
set -eu
src=$1 javac=$2 java=$3 jar=$4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$(dirname "$0")/extract.sh" "$src/README.md" '^### In Java$' java >"$tmp/body"
[ -s "$tmp/body" ] || { echo "FAIL: no Java example under '### In Java' in README.md"; exit 1; }
{ echo 'import org.mempool.*;'; echo 'public class StatsExample { public static void main(String[] args) {'
  cat "$tmp/body"; echo '} }'; } >"$tmp/StatsExample.java"
"$javac" -Xlint:all -Werror -cp "$jar" -d "$tmp" "$tmp/StatsExample.java"
out=$("$java" -cp "$jar:$tmp" StatsExample)
echo "$out"
[ "$out" = "132 1" ] || { echo "FAIL: expected '132 1'"; exit 1; }
echo "ok: the README's Java MemoryStats example runs"

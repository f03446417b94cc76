#!/bin/sh
# The README's Java example compiles and runs against the built jar (which
# loads the JNI library it carries).
# usage: check_readme_java.sh SOURCE_DIR JAVAC JAVA JAR
set -eu
src=$1 javac=$2 java=$3 jar=$4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$(dirname "$0")/extract.sh" "$src/README.md" '^### Java$' java >"$tmp/Example.java"
[ -s "$tmp/Example.java" ] || { echo "FAIL: no Java example found in README.md"; exit 1; }
"$javac" -Xlint:all -Werror -cp "$jar" -d "$tmp" "$tmp/Example.java"
out=$("$java" -cp "$jar:$tmp" Example)
echo "$out"
[ "$out" = "48 bytes in use" ] || { echo "FAIL: expected '48 bytes in use'"; exit 1; }
echo "ok: the README's Java example compiles and runs"

#!/bin/sh
# The Java package as a user gets it: installs the build into a temporary
# prefix, then, in a folder outside the build tree and with no
# LD_LIBRARY_PATH or java.library.path, runs README.md's "## Install > Java"
# commands on README's Java example and compiles and runs Consumer.java with
# the installed jar alone on the class path. Checks the jar (versioned, the
# JNI library inside, needing no libmempool.so), the pom's coordinates and
# the load error's message.
# usage: check_java_package.sh SOURCE_DIR BUILD_DIR JAVAC JAVA VERSION
set -eu
src=$1 build=$2 javac=$3 java=$4 version=$5
unset LD_LIBRARY_PATH JAVA_TOOL_OPTIONS _JAVA_OPTIONS
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
share=$tmp/prefix/share/java
jar=$share/mempool-$version.jar
test -s "$jar" || fail "share/java/mempool-$version.jar not installed"
[ "$(readlink "$share/mempool.jar")" = "mempool-$version.jar" ] || fail "share/java/mempool.jar is not a link to mempool-$version.jar"
pom=$share/mempool-$version.pom
test -s "$pom" || fail "share/java/mempool-$version.pom not installed"
for c in "<groupId>org.mempool</groupId>" "<artifactId>mempool</artifactId>" "<version>$version</version>"; do
  grep -qF "$c" "$pom" || fail "the pom lacks $c"
done

# The JNI library inside the jar: no libmempool.so to find, no RUNPATH.
mkdir "$tmp/x"
(cd "$tmp/x" && "$(dirname "$javac")/jar" xf "$jar")
so=$tmp/x/native/linux-x86_64/libmempool_jni.so
test -s "$so" || fail "the jar has no native/linux-x86_64/libmempool_jni.so"
grep -q "Implementation-Version: $version" "$tmp/x/META-INF/MANIFEST.MF" || fail "the manifest has no Implementation-Version $version"
test -s "$tmp/x/META-INF/maven/org.mempool/mempool/pom.xml" || fail "the jar has no META-INF/maven/org.mempool/mempool/pom.xml"
dyn=$(readelf -d "$so")
echo "$dyn" | grep -q 'NEEDED.*libmempool' && fail "libmempool_jni.so needs libmempool.so: $dyn"
echo "$dyn" | grep -q 'R.*PATH' && fail "libmempool_jni.so has a RUNPATH: $dyn"
readelf --dyn-syms -W "$so" | awk '$7 != "UND" && $8 ~ /^mp_/' | grep -q . && fail "libmempool_jni.so exports mempool's C symbols"

# README's commands, verbatim but for the prefix and the build folder.
mkdir "$tmp/app"
"$src/tests/readme/extract.sh" "$src/README.md" '^### Java$' java >"$tmp/app/Example.java"
"$src/tests/readme/extract.sh" "$src/README.md" '^### Java$' sh >"$tmp/readme.sh"
grep -q '^cmake --install build --prefix "\$prefix"$' "$tmp/readme.sh" || fail "README's Install > Java commands not found"
sed -e "s|^prefix=.*|prefix='$tmp/prefix'|" -e '/^cmake --preset/d' -e '/^cmake --build/d' \
    -e "s|^cmake --install build |cmake --install '$build' |" "$tmp/readme.sh" >"$tmp/run.sh"
out=$(cd "$tmp/app" && PATH="$(dirname "$javac"):$PATH" sh -eu "$tmp/run.sh" | tail -n 1)
[ "$out" = "48 bytes in use" ] || fail "README's Install > Java commands printed '$out', expected '48 bytes in use'"
echo "ok: README's Install > Java commands print '$out'"

cp "$src/tests/package/java/Consumer.java" "$tmp/app/"
(cd "$tmp/app" && "$javac" -Xlint:all -Werror -cp "$jar" Consumer.java)
out=$(cd "$tmp/app" && "$java" -cp "$jar:." Consumer)
echo "$out"
case $out in
  "mempool $version"*": allocations 1, deallocations 1, in use 0") ;;
  *) fail "Consumer printed '$out'" ;;
esac

# A bad mempool.jni.library: the error names what to set and what was tried.
if err=$(cd "$tmp/app" && "$java" -Dmempool.jni.library=/nonexistent/libmempool_jni.so -cp "$jar:." Consumer 2>&1); then
  fail "a missing mempool.jni.library loaded"
fi
for w in "mempool.jni.library" "java.library.path" "/nonexistent/libmempool_jni.so"; do
  echo "$err" | grep -qF -- "$w" || fail "the load error does not mention $w: $err"
done
echo "ok: mempool-$version.jar (JNI library inside) and its pom install to share/java and run from outside the build tree"

#!/bin/sh
# Binding overhead: Java and Go against C, each in one process on one pool.
# usage: bench/bindings/run.sh [BUILD_DIR] [RUNS] [PAIRS]
set -eu
build=${1:-build} runs=${2:-9} pairs=${3:-1000000}
b=$(cd "$build" && pwd)
# The benchmark's library holds the JNI wrapper too (one copy of mempool for
# the Java and the C loop): it is mempool.jni.library as well.
java -Dmempool.jni.library="$b/bindings/java/libmempool_bench_jni.so" \
     -Dmempool.bench.library="$b/bindings/java/libmempool_bench_jni.so" \
     -cp "$(ls "$b"/bindings/java/mempool-*.jar | head -n 1):$b/bindings/java/bench-classes" \
     org.mempool.bench.OverheadBench "$runs" "$pairs"
cd "$b/bindings/go/module"
GOCACHE="$b/bindings/go/gocache" GOPATH="$b/bindings/go/gopath" GOFLAGS=-mod=mod GOPROXY=off \
PKG_CONFIG_PATH="$b" \
  go run ./cmd/overhead -runs "$runs" -pairs "$pairs"

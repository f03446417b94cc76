#!/bin/sh
# Binding overhead: Java and Go against C, each in one process on one pool.
# usage: bench/bindings/run.sh [BUILD_DIR] [RUNS] [PAIRS]
set -eu
build=${1:-build} runs=${2:-9} pairs=${3:-1000000}
b=$(cd "$build" && pwd)
java -Dmempool.jni.library="$b/bindings/java/libmempool_jni.so" \
     -Dmempool.bench.library="$b/bindings/java/libmempool_bench_jni.so" \
     -cp "$b/bindings/java/mempool.jar:$b/bindings/java/bench-classes" org.mempool.bench.OverheadBench "$runs" "$pairs"
cd "$b/bindings/go/module"
GOCACHE="$b/bindings/go/gocache" GOPATH="$b/bindings/go/gopath" GOFLAGS=-mod=mod GOPROXY=off \
PKG_CONFIG_PATH="$b" \
  go run ./cmd/overhead -runs "$runs" -pairs "$pairs"

#!/bin/sh
# libmempool_torch.so exports mempool_torch_* and nothing else (mempool and
# cudart are linked in statically and stay hidden), and needs no library that
# a PyTorch machine may lack: no libmempool, no libcudart.
set -eu
lib=$1
for tool in nm readelf; do
  command -v $tool >/dev/null || { echo "SKIP: $tool (binutils) is not installed"; exit 77; }
done
extra=$(nm -D --defined-only "$lib" | awk '{print $3}' | sed 's/@.*//' | grep -v -e '^mempool_torch_' -e '^MEMPOOL_TORCH_' || true)
if [ -n "$extra" ]; then
  echo "FAIL: $lib exports more than mempool_torch_*:"; echo "$extra" | head -20; exit 1
fi
for want in mempool_torch_malloc mempool_torch_malloc_throw mempool_torch_free mempool_torch_configure \
            mempool_torch_last_error mempool_torch_stats mempool_torch_trim mempool_torch_pools_json \
            mempool_torch_trace_synchronized mempool_torch_trace_flush; do
  nm -D --defined-only "$lib" | grep -q " T $want@" || { echo "FAIL: $want is not exported"; exit 1; }
done
needed=$(readelf -d "$lib" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
for n in $needed; do
  case $n in
    libc.so.*|libm.so.*|libstdc++.so.*|libgcc_s.so.*|ld-linux*|libpthread.so.*|libdl.so.*|librt.so.*) ;;
    *) echo "FAIL: $lib needs $n"; exit 1 ;;
  esac
done
echo "ok: mempool_torch_* only; needs $(echo $needed)"

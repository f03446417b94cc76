#!/bin/sh
# Copies what the device scripts run out of build-device into build-slim
# (no object files, debug sections stripped), so the carried folder stays
# under the device tool's 64 MiB. On the device: ln -sfn build-slim build-device.
set -eu
rm -rf build-slim
cd build-device
find . -path '*/CMakeFiles' -prune -o -type f ! -name 'Makefile' ! -name '*.cmake' ! -name '*.o' -print |
while read -r f; do
    mkdir -p "../build-slim/$(dirname "$f")"
    cp -P "$f" "../build-slim/$f"
    if file "$f" | grep -q ELF; then strip --strip-debug "../build-slim/$f" 2>/dev/null || true; fi
done
find . -type l ! -path '*/CMakeFiles/*' -exec sh -c 'mkdir -p "../build-slim/$(dirname "$1")"; cp -P "$1" "../build-slim/$1"' _ {} \;
cd ..
du -sh build-slim

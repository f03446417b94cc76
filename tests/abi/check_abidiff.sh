#!/bin/sh
# Compares the built library with the ABI baseline kept in the repository
# (abidw output): an incompatible change fails unless the SONAME (the major
# version) changed too; compatible additions pass and are listed.
# usage: check_abidiff.sh BASELINE NEW   (each a .so or abidw XML)
set -u
base=$1 new=$2
soname_of() {
  case "$1" in
    *.so*) objdump -p "$1" | awk '/SONAME/ {print $2}' ;;
    *) grep -o "soname='[^']*'" "$1" | head -n 1 | cut -d"'" -f2 ;;
  esac
}
old_soname=$(soname_of "$base") new_soname=$(soname_of "$new")
if [ "$old_soname" != "$new_soname" ]; then
  echo "ok: the SONAME changed ($old_soname -> $new_soname): a new major version, so a new baseline is due"
  exit 0
fi
out=$(abidiff --no-show-locs "$base" "$new" 2>&1)
rc=$?
if [ $((rc & 3)) -ne 0 ]; then
  echo "FAIL: abidiff could not compare ($rc):"; echo "$out"; exit 1
fi
if [ $((rc & 8)) -ne 0 ]; then
  echo "FAIL: an incompatible ABI change under the same SONAME $new_soname:"; echo "$out"; exit 1
fi
if [ $((rc & 4)) -ne 0 ]; then
  echo "ok: compatible changes only (refresh the baseline with abidw when releasing):"; echo "$out" | head -n 20
else
  echo "ok: the ABI is the baseline's"
fi

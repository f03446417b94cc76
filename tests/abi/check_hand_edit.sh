#!/bin/sh
# Shows that check_generated.sh catches a hand edit: on a copy of the tree,
# edits each generated file in turn and expects the check to fail.
# usage: check_hand_edit.sh LUA SOURCE_DIR
set -u
lua=$1 src=$2
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
status=0
for f in $("$lua" "$src/tools/abigen.lua" --root "$src" --list); do
  rm -rf "$tmp/src"
  mkdir -p "$tmp/src"
  (cd "$src" && cp -r --parents capi tools include docs swig bindings "$tmp/src/")
  "$here/check_generated.sh" "$lua" "$tmp/src" >/dev/null || { echo "FAIL: the pristine copy does not pass"; exit 1; }
  echo "/* edited by hand */" >>"$tmp/src/$f"
  if "$here/check_generated.sh" "$lua" "$tmp/src" >/dev/null; then
    echo "FAIL: a hand edit of $f went unnoticed"
    status=1
  else
    echo "ok: a hand edit of $f is detected"
  fi
done
exit $status

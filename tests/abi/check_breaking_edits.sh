#!/bin/sh
# The generator refuses edits that break the released ABI and accepts a
# compatible addition. Each edit is made on a fresh copy of the description.
# usage: check_breaking_edits.sh LUA SOURCE_DIR
set -u
lua=$1 src=$2
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
status=0
desc=capi/mempool.abi.lua

fresh() {
  rm -rf "$tmp/src" "$tmp/out"
  mkdir -p "$tmp/src" "$tmp/out"
  (cd "$src" && cp -r --parents capi tools include "$tmp/src/")
}

# refuses WHAT SED-EXPRESSION EXPECTED-WORDS
refuses() {
  fresh
  sed -i "$2" "$tmp/src/$desc"
  if cmp -s "$src/$desc" "$tmp/src/$desc"; then
    echo "FAIL: the edit for '$1' changed nothing (the test is stale)"; status=1; return
  fi
  if "$lua" "$tmp/src/tools/abigen.lua" --root "$tmp/src" --out "$tmp/out" 2>"$tmp/err"; then
    echo "FAIL: abigen accepted: $1"; status=1
  elif ! grep -q "$3" "$tmp/err"; then
    echo "FAIL: abigen refused '$1' without saying '$3':"; cat "$tmp/err"; status=1
  else
    echo "ok: refused $1"
  fi
}

for v in 1.0 1.1 1.2; do
  [ -f "$src/capi/abi/released-$v.lua" ] || { echo "FAIL: no released record capi/abi/released-$v.lua"; exit 1; }
done

refuses "renumbering an enum value" 's/{ "MP_ERR_OUT_OF_MEMORY", 2,/{ "MP_ERR_OUT_OF_MEMORY", 12,/' "renumbered"
refuses "removing a function" '/name = "mp_pool_trim"/,/errors = /d' "was removed"
refuses "renaming a released struct field" 's/{ "uint64_t", "current_used",/{ "uint64_t", "current_used_x",/' "reordered or retyped"
refuses "retyping a struct field" 's/{ "size_t", "initial_size",/{ "uint64_t", "initial_size",/' "reordered or retyped"
refuses "changing a released signature" 's/P("in", "size_t", "keep_bytes"/P("in", "unsigned", "keep_bytes"/' "changed from"
refuses "adding to a released version" 's/^  functions = {/  functions = {\n    { name = "mp_new_thing", group = "pool", since = "1.0", ret = "void", doc = "x", params = {}, errors = {} },/' "not in released 1.0"
refuses "slipping a function into released 1.2" 's/^  functions = {/  functions = {\n    { name = "mp_new_thing", group = "pool", since = "1.2", ret = "void", doc = "x", params = {}, errors = {} },/' "not in released 1.2"
refuses "an unknown status in errors" 's/errors = { "INVALID_ARGUMENT", "CORRUPTION" } },/errors = { "INVALID_ARGUMENT", "MELTDOWN" } },/' "unknown status"

# A compatible addition: the next minor version (1.3: 1.0, 1.1 and 1.2
# are frozen), a new function since it.
fresh
sed -i 's/version = { major = 1, minor = [0-9]*, patch = [0-9]* }/version = { major = 1, minor = 3, patch = 0 }/' "$tmp/src/$desc"
sed -i 's/^  functions = {/  functions = {\n    { name = "mp_new_thing", group = "pool", since = "1.3", ret = "void", doc = "x", params = {}, errors = {} },/' "$tmp/src/$desc"
if "$lua" "$tmp/src/tools/abigen.lua" --root "$tmp/src" --out "$tmp/out" 2>"$tmp/err" &&
   grep -q "^MEMPOOL_1.3 {" "$tmp/out/capi/mempool.map" && grep -q "} MEMPOOL_1.2;" "$tmp/out/capi/mempool.map" &&
   grep -q "mp_new_thing" "$tmp/out/include/mempool/mempool.h"; then
  echo "ok: a new function since 1.3 lands in node MEMPOOL_1.3, which inherits MEMPOOL_1.2"
else
  echo "FAIL: a compatible addition was refused or misplaced:"; cat "$tmp/err"; status=1
fi
exit $status

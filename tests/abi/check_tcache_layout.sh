#!/bin/sh
# The thread-cache layout (include/mempool/mempool_tcache.h between its
# markers, and the typedefs marked layout = true) cannot change under a
# frozen MP_TCACHE_LAYOUT: abigen refuses it and says what to do. A comment
# edit is no change; a change with the number of the ABI version under way
# is accepted and recorded in the generated files.
# usage: check_tcache_layout.sh LUA SOURCE_DIR
set -u
lua=$1 src=$2
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
status=0
hdr=include/mempool/mempool_tcache.h desc=capi/mempool.abi.lua

fresh() {
  rm -rf "$tmp/src" "$tmp/out"
  mkdir -p "$tmp/src" "$tmp/out"
  (cd "$src" && cp -r --parents capi tools include docs swig bindings "$tmp/src/")
}
edit() { # FILE SED-EXPRESSION
  sed -i "$2" "$tmp/src/$1"
  if cmp -s "$src/$1" "$tmp/src/$1"; then echo "FAIL: the edit '$2' changed nothing (the test is stale)"; exit 1; fi
}
gen() { "$lua" "$tmp/src/tools/abigen.lua" --root "$tmp/src" --out "$tmp/out" 2>"$tmp/err"; }
refused() { # WHAT EXPECTED-WORDS
  if gen; then echo "FAIL: abigen accepted $1"; status=1
  elif ! grep -q "$2" "$tmp/err"; then echo "FAIL: abigen refused $1 without saying '$2':"; cat "$tmp/err"; status=1
  else echo "ok: refused $1"; fi
}

grep -q '^  \[101\] = "fnv1a64:' "$src/capi/abi/tcache-layouts.lua" ||
  { echo "FAIL: layout 101 (ABI 1.1's) is not frozen in capi/abi/tcache-layouts.lua"; exit 1; }

fresh
edit "$hdr" 's/#define MP_TCACHE_CACHED 0x80u/#define MP_TCACHE_CACHED 0x40u/'
refused "a new state-byte encoding under layout 101" "MP_TCACHE_LAYOUT is still 101"

fresh
edit "$hdr" 's/return t->class_of ? t->class_of\[(size - 1) >> t->class_shift\] : 1u;/return t->class_of ? t->class_of[size >> t->class_shift] : 1u;/'
refused "a new class lookup under layout 101" "MP_TCACHE_LAYOUT is still 101"

fresh
edit "$desc" 's/    uint32_t class_shift;\\n    uint32_t nbins;/    uint32_t nbins;\\n    uint32_t class_shift;/'
refused "reordered mp_tcache fields under layout 101" "MP_TCACHE_LAYOUT is still 101"

fresh
edit "$hdr" 's/^#define MP_TCACHE_LAYOUT 101 /#define MP_TCACHE_LAYOUT 150 /'
refused "a layout number that is neither frozen nor the ABI version under way" "must be the ABI version under way"

# Comments and spacing are no change: the pristine generated files still match.
fresh
edit "$hdr" 's|^/\* ---- the layout (fingerprinted by abigen) ---- \*/$|&\n/* a new comment */  |'
if gen && "$here/check_generated.sh" "$lua" "$tmp/src" >/dev/null; then echo "ok: a comment in the layout is no change"
else echo "FAIL: a comment in the layout was taken for a change:"; cat "$tmp/err"; status=1; fi

# A real change with the number of the ABI version under way (the
# description's: 1.3 is layout 103) is a new layout.
fresh
new=$("$lua" -e "local v = dofile('$tmp/src/$desc').version print(v.major * 100 + v.minor)") ||
  { echo "FAIL: cannot read the ABI version from $desc"; exit 1; }
edit "$hdr" 's/#define MP_TCACHE_CACHED 0x80u/#define MP_TCACHE_CACHED 0x40u/'
edit "$hdr" "s/^#define MP_TCACHE_LAYOUT 101 /#define MP_TCACHE_LAYOUT $new /"
if gen && grep -q "^tcache_layout	$new	fnv1a64:" "$tmp/out/docs/abi-manifest.tsv" &&
   grep -q "^#if MP_TCACHE_LAYOUT != $new\$" "$tmp/out/include/mempool/mempool.h"; then
  echo "ok: a changed layout numbered $new (the ABI version under way) is accepted and recorded"
else
  echo "FAIL: a new layout $new was refused or not recorded:"; cat "$tmp/err"; status=1
fi
# ... and the committed files then drift until they are regenerated.
if "$here/check_generated.sh" "$lua" "$tmp/src" >/dev/null; then
  echo "FAIL: a new layout left the committed generated files matching"; status=1
else
  echo "ok: the generated files drift until abigen runs"
fi
exit $status

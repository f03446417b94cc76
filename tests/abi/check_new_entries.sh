#!/bin/sh
# A new status and new fields of mp_stats and mp_memory_snapshot, added to the
# description alone, reach every generated form with no hand edit: the C
# header, the C++ exception class and its throw, Java's class, Go's sentinel,
# both stats formatters and the snapshot's JSON.
# Each is made on a copy of the tree, in the ABI version under way (the
# description's; the ones before it are frozen).
# usage: check_new_entries.sh LUA SOURCE_DIR CC CXX
set -u
lua=$1 src=$2 cc=$3 cxx=$4
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
status=0
desc=capi/mempool.abi.lua
(cd "$src" && cp -r --parents capi tools include docs swig bindings "$tmp/")

ver=$("$lua" -e "local v = dofile('$tmp/$desc').version print(v.major .. '.' .. v.minor)") ||
  { echo "FAIL: cannot read the ABI version from $desc"; exit 1; }
sed -i '/{ "MP_ERR_BUFFER_TOO_SMALL", 10,/a\        { "MP_ERR_MELTDOWN", 11, "the core melted down", error = "Meltdown", since = "'"$ver"'" },' "$tmp/$desc"
sed -i '/{ "uint64_t", "pending_frees",/a\        { "uint64_t", "melted_blocks", "blocks lost to meltdowns", since = "'"$ver"'" },' "$tmp/$desc"
sed -i '/{ "uint64_t", "request_alignment",/a\        { "uint64_t", "melted_chunks", "chunks lost to meltdowns", since = "'"$ver"'" },' "$tmp/$desc"
grep -q MP_ERR_MELTDOWN "$tmp/$desc" && grep -q melted_blocks "$tmp/$desc" && grep -q melted_chunks "$tmp/$desc" ||
  { echo "FAIL: the edits changed nothing (the test is stale)"; exit 1; }
"$lua" "$tmp/tools/abigen.lua" --root "$tmp" 2>"$tmp/err" || { echo "FAIL: abigen refused the additions:"; cat "$tmp/err"; exit 1; }

# has WHAT FILE FIXED-STRING: FILE is generated (in --list) and holds the string.
list=$("$lua" "$tmp/tools/abigen.lua" --root "$tmp" --list)
has() {
  if ! echo "$list" | grep -qx "$2"; then echo "FAIL: $2 is not in abigen --list (not drift-checked)"; status=1
  elif ! grep -qF -- "$3" "$tmp/$2"; then echo "FAIL: $1: $2 lacks '$3'"; status=1
  else echo "ok: $1"; fi
}
has "C: the status value" include/mempool/mempool.h "MP_ERR_MELTDOWN = 11,"
has "C++: the exception class" include/mempool/mempool_errors.hpp "class MeltdownException : public MemoryPoolException {"
has "C++: the throw by status" include/mempool/mempool_errors.hpp "case MP_ERR_MELTDOWN: throw MeltdownException(s, d);"
has "Java: the exception class" bindings/java/src/main/java/org/mempool/MeltdownException.java \
  "public class MeltdownException extends MemoryPoolException {"
has "Java: the status-to-class table" swig/mempool_abi.i '"BufferTooSmall", "Meltdown"}'
has "Go: the sentinel" bindings/go/errors_gen.go "ErrMeltdown = capi.ErrMeltdown"
has "C: the stats field" include/mempool/mempool.h "uint64_t melted_blocks;"
has "stats JSON: the new field" capi/stats/stats_format.c '\"pending_frees\":%llu,\"melted_blocks\":%llu'
has "stats text: the new field's line" capi/stats/stats_format.c '"  melted blocks: %llu\n"'
has "snapshot JSON: the new field's key" capi/stats/json_format.c '\"melted_chunks\":%llu'
has "snapshot JSON: the new field's value" capi/stats/json_format.c '(unsigned long long)v->melted_chunks,'

# The generated C++ and C compile: the class is thrown and caught, the
# formatter reads the new field.
cat >"$tmp/new_status.cpp" <<'CPP'
#include <mempool/mempool.hpp>
static_assert(sizeof(mempool::MeltdownException) > 0, "generated");
int main()
{
    try {
        mempool::detail::raise(MP_ERR_MELTDOWN);
    } catch (const mempool::MeltdownException &e) {
        return e.status() == MP_ERR_MELTDOWN ? 0 : 1;
    }
}
CPP
if "$cxx" -std=c++17 -Wall -Wextra -Werror -fsyntax-only -I"$tmp/include" "$tmp/new_status.cpp" 2>"$tmp/err"; then
  echo "ok: C++ with the new status compiles"
else
  echo "FAIL: C++ with the new status does not compile:"; cat "$tmp/err"; status=1
fi
if "$cc" -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -fsyntax-only -I"$tmp/include" -I"$tmp/capi" \
    "$tmp/capi/stats/stats_format.c" "$tmp/capi/stats/json_format.c" 2>"$tmp/err"; then
  echo "ok: the stats formatters with the new field compile"
else
  echo "FAIL: the stats formatters with the new field do not compile:"; cat "$tmp/err"; status=1
fi
exit $status

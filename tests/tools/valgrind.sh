#!/bin/sh
# The C suites under Valgrind memcheck (forked test children too), a leak
# check of the demo, and proof that memcheck sees a write into a freed pool
# block. usage: tests/tools/valgrind.sh BUILD_DIR   (a build without CUDA)
set -u
b=$1
vg="valgrind --quiet --error-exitcode=99 --trace-children=yes --child-silent-after-fork=no --leak-check=no"
# Check's per-test timeouts are set for native speed; memcheck runs 20-50x slower.
export CK_TIMEOUT_MULTIPLIER=${CK_TIMEOUT_MULTIPLIER:-25}
export MP_TEST_SCALE=${MP_TEST_SCALE:-25}
status=0
# test_backing_attack is left out: its thread races take over ten minutes under memcheck.
for t in config fixed variable small stats counters registry errors threads lockfree debug policy handles races fork tracker realloc lua_alloc streams streams_steal streams_attack backing backing_runs; do
  if $vg "$b/tests/test_$t" >"$b/valgrind-$t.log" 2>&1; then
    echo "ok: test_$t is clean under memcheck"
  else
    echo "FAIL: test_$t under memcheck:"; tail -n 30 "$b/valgrind-$t.log"; status=1
  fi
done
if MP_STRESS_SECONDS=1 $vg "$b/tests/test_stress" >"$b/valgrind-stress.log" 2>&1 &&
   $vg "$b/tests/fuzz_replay" "$(dirname "$0")/../fuzz/corpus" >"$b/valgrind-fuzz.log" 2>&1; then
  echo "ok: the stress test and the fuzz corpus are clean under memcheck"
else
  echo "FAIL: stress or fuzz replay under memcheck:"; tail -n 30 "$b"/valgrind-stress.log "$b"/valgrind-fuzz.log; status=1
fi
if valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
     "$b/examples/mempool_demo" >/dev/null 2>"$b/valgrind-demo.log"; then
  echo "ok: the demo leaks nothing under memcheck"
else
  echo "FAIL: the demo under memcheck:"; tail -n 30 "$b/valgrind-demo.log"; status=1
fi
valgrind "$b/tests/valgrind_use_after_free" >/dev/null 2>"$b/valgrind-uaf.log"
if grep -q "Invalid write of size 1" "$b/valgrind-uaf.log" && grep -q "Address .* is .* inside a block of size 64 free'd" "$b/valgrind-uaf.log"; then
  echo "ok: memcheck reports a write into a freed pool block, as for malloc"
else
  echo "FAIL: memcheck did not see the use-after-free:"; cat "$b/valgrind-uaf.log"; status=1
fi
[ $status = 0 ] && echo "1 passed, 0 failed" || echo "0 passed, 1 failed"
exit $status

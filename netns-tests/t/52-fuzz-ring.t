#!/usr/bin/env bash
# A bounded libFuzzer run of the ring logic against a hostile peer
# (src/fuzz/fuzz-ring.c): no crash, no ASan or UBSan report. The harness is
# its own sanitizer build, so it runs once, with the plain build; `make
# fuzz-smoke` does the same by hand. FUZZ_SECONDS sets the time (default 20).
# shellcheck source=SCRIPTDIR/../lib.sh
. "$(dirname "$0")/../lib.sh"

FUZZ="$BUILD/fuzz/fuzz-ring"
SECS=${FUZZ_SECONDS:-20}

case "$BUILD" in
*build-san) skip_all "the fuzzer is built with ASan and UBSan anyway; it runs with build/" ;;
esac
[ -x "$FUZZ" ] || bail_out "$FUZZ not built (run make; needs clang)"

mkdir -p "$WORK/corpus" "$WORK/crash"
"$FUZZ" -max_total_time="$SECS" -print_final_stats=1 -artifact_prefix="$WORK/crash/" \
	"$WORK/corpus" >"$WORK/fuzz.log" 2>&1
rc=$?
is "$rc" 0 "fuzz-ring ran $SECS s against a hostile peer without a finding" ||
	diag "$(grep -E 'ERROR|SUMMARY|invariant|runtime error' "$WORK/fuzz.log" | head -n 20)"
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$WORK/fuzz.log")
like "$runs" '^[0-9]+$' "libFuzzer reports its runs ($runs)"
is "$(find "$WORK/crash" -type f | wc -l)" 0 "no crash or leak artifact was written"
diag "fuzz-ring: $runs runs in $SECS s, $(grep -c . "$WORK/fuzz.log") log lines," \
	"corpus of $(find "$WORK/corpus" -type f | wc -l) inputs"

done_testing

#!/usr/bin/env bash
# Every libFuzzer harness (BUILD/fuzz/fuzz-*: the ring against a hostile peer,
# the configuration parser, the frame parser) runs for a bounded smoke time
# under ASan and UBSan: no crash, no leak, no sanitizer report.
# FUZZ_SECONDS sets the time per harness (default 10).
. "$(dirname "$0")/../lib.sh"

SECS=${FUZZ_SECONDS:-10}

case "$BUILD" in
*-san) skip_all "the fuzzers carry ASan and UBSan themselves; they run with build/" ;;
esac
shopt -s nullglob
fuzzers=("$BUILD"/fuzz/fuzz-*)
[ ${#fuzzers[@]} -gt 0 ] || bail_out "no fuzzer in $BUILD/fuzz (run make; needs clang)"

for fuzz in "${fuzzers[@]}"; do
	[ -x "$fuzz" ] && [ -f "$fuzz" ] || continue
	name=$(basename "$fuzz")
	mkdir -p "$WORK/$name/corpus" "$WORK/$name/crash"
	"$fuzz" -max_total_time="$SECS" -print_final_stats=1 -artifact_prefix="$WORK/$name/crash/" \
		"$WORK/$name/corpus" >"$WORK/$name.log" 2>&1
	rc=$?
	is "$rc" 0 "$name ran $SECS s without a finding" ||
		diag "$(grep -E 'ERROR|SUMMARY|invariant|runtime error' "$WORK/$name.log" | head -n 20)"
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$WORK/$name.log")
	like "$runs" '^[0-9]+$' "$name: libFuzzer reports its runs ($runs)"
	is "$(find "$WORK/$name/crash" -type f | wc -l)" 0 "$name: no crash or leak artifact"
done

done_testing

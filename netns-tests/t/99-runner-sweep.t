#!/usr/bin/env bash
# The test runner cleans up after a test it had to kill: a test that ignores
# the SIGTERM at its time limit is killed 5 s later and cannot run its own
# cleanup, so the runner stops the test's xensim and removes its network
# namespace and work directory, from the ledger lib.sh keeps for it.
# shellcheck source=SCRIPTDIR/../lib.sh
# shellcheck disable=SC2016 # the hung test's text is written as it is
. "$(dirname "$0")/../lib.sh"

[ "$(id -u)" -eq 0 ] || skip_all "needs root for network namespaces"

# A test that makes a xensim and a namespace, reports them, then hangs
# deaf to SIGTERM (sleep inherits the ignored signal).
mkdir "$WORK/t"
cat >"$WORK/t/hung.t" <<EOF
#!/usr/bin/env bash
. "$TOP/netns-tests/lib.sh"
sim_start
netns_add NS
echo "\$WORK \$(cat "\$SIM_DIR/xenstored.pid") \$NS" >"$WORK/report"
trap '' TERM
sleep 60
EOF
chmod +x "$WORK/t/hung.t"

start=$(now_ms)
out=$(TEST_TIME_LIMIT=1 TESTS="$WORK/t/hung.t" "$TOP/netns-tests/run" "$BUILD" 2>&1)
rc=$?
secs=$((($(now_ms) - start) / 1000))
ok $((rc == 0)) "the runner fails the hung test (exit status $rc, after $secs s)" || diag "$out"
like "$out" "FAIL .*hung.t +killed 5 s after its time limit \(1s\)" "and says it killed it"
read -r work xenstored ns <"$WORK/report"
ok $? "the hung test made a xensim and a namespace ($ns)"

[ ! -e "/run/netns/$ns" ]
ok $? "its namespace is gone"
[ ! -d "$work" ]
ok $? "its work directory is gone"
# A zombie has ended too: its parent, init here, reaps it in its own time.
ended() { ! kill -0 "$1" 2>/dev/null || grep -q '^State:.*zombie' "/proc/$1/status" 2>/dev/null; }
ended "$xenstored"
ok $? "its xenstored (pid $xenstored) has ended"
like "$out" "# swept after the test: netns $ns" "the runner's output names what it swept"

done_testing

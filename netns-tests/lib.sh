# Shared by every netns test: TAP output, a private xensim, network namespaces,
# background processes, and cleanup that runs even when a test fails.
#
# A test sources this file, calls sim_start, creates what it needs with
# sim_domain / netns_add / spawn, asserts with ok/is/wait_for and ends with
# done_testing. Everything it started is torn down on exit, by PID and name,
# never by pattern.
#
# Environment, set by netns-tests/run: BUILD (build directory, default
# "build"); TEST_LEDGER, a file where the test notes its work directory and
# each network namespace as it makes them, for the runner to sweep after a
# test that was killed and could not clean up.

set -u

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$TOP/$BUILD" ;; esac
XENSIM="$BUILD/bin/xensim"
# non-empty when the build runs under AddressSanitizer (make SAN=1)
SANITIZED=$(grep -l __asan_init "$BUILD/bin/vchan-tund" 2>/dev/null)
TOOLS="$BUILD/tools"

TEST_NAME=$(basename "$0" .t)
T_RUN=0
T_FAILED=0
SPAWNED=()
NETNS=()
HOLD_SEQ=0
SIM_DIR=
WORK=$(mktemp -d "/tmp/vchan-tun-test.${TEST_NAME}.XXXXXX")
# ledger KIND WHAT: notes for the runner what this test made (see above).
ledger() { [ -z "${TEST_LEDGER:-}" ] || echo "$1 $2" >>"$TEST_LEDGER"; }
ledger work "$WORK"

# --- TAP ---------------------------------------------------------------------

ok() { # ok COND_STATUS DESCRIPTION  (status 0 = pass)
	local status=$1
	shift
	T_RUN=$((T_RUN + 1))
	if [ "$status" -eq 0 ]; then
		echo "ok $T_RUN - $*"
	else
		echo "not ok $T_RUN - $*"
		T_FAILED=$((T_FAILED + 1))
	fi
	return "$status"
}

pass() { ok 0 "$@"; }
fail() { ok 1 "$@"; }

is() { # is ACTUAL EXPECTED DESCRIPTION
	if [ "$1" = "$2" ]; then
		ok 0 "$3"
	else
		ok 1 "$3"
		diag "got:      '$1'"
		diag "expected: '$2'"
		return 1
	fi
}

like() { # like ACTUAL EXTENDED_REGEX DESCRIPTION
	if printf '%s' "$1" | grep -Eq -- "$2"; then
		ok 0 "$3"
	else
		ok 1 "$3"
		diag "got:          '$1'"
		diag "expected match: /$2/"
		return 1
	fi
}

diag() { printf '# %s\n' "$*" | sed '2,$s/^/# /'; }

# run_ok DESCRIPTION CMD...: passes when CMD exits 0; shows its output otherwise.
run_ok() {
	local desc=$1 out
	shift
	if out=$("$@" 2>&1); then
		ok 0 "$desc"
	else
		local rc=$?
		ok 1 "$desc"
		diag "exit status $rc from: $*"
		diag "$out"
		return 1
	fi
}

# run_fails DESCRIPTION CMD...: passes when CMD exits non-zero.
run_fails() {
	local desc=$1 out
	shift
	if out=$("$@" 2>&1); then
		ok 1 "$desc"
		diag "unexpected success of: $*"
		diag "$out"
		return 1
	fi
	ok 0 "$desc"
}

skip_all() {
	echo "1..0 # SKIP $*"
	exit 0
}

bail_out() {
	echo "Bail out! $*"
	exit 255
}

done_testing() {
	echo "1..$T_RUN"
	[ "$T_FAILED" -eq 0 ]
	exit $?
}

# --- waiting -----------------------------------------------------------------

# wait_for SECONDS CMD...: polls CMD every 10 ms until it succeeds; fails after SECONDS.
# For conditions that have no event to block on (a file appearing, a port bound).
wait_for() {
	local deadline=$(($(date +%s%N) + ${1%.*} * 1000000000)) cmd
	shift
	while :; do
		"$@" >/dev/null 2>&1 && return 0
		[ "$(date +%s%N)" -ge "$deadline" ] && return 1
		sleep 0.01
	done
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# --- xensim ------------------------------------------------------------------

sim_start() { # sim_start [xensim start options]
	[ "$(id -u)" -eq 0 ] || skip_all "needs root for network namespaces"
	[ -x "$XENSIM" ] || bail_out "$XENSIM not built (run make)"
	SIM_DIR="$WORK/xensim"
	export XENSIM_DIR="$SIM_DIR"
	"$XENSIM" start "$@" || bail_out "xensim start failed: $(cat "$SIM_DIR"/*.log 2>/dev/null)"
}

sim_domain() { # sim_domain DOMID [NAME]
	"$XENSIM" domain create "$1" ${2:+--name "$2"} || bail_out "cannot create domain $1"
}

# sim_exec DOMID NETNS|- CMD...: runs CMD as DOMID in NETNS ('-' for none), in the foreground.
sim_exec() {
	local dom=$1 ns=$2
	shift 2
	if [ "$ns" = - ]; then
		"$XENSIM" exec "$dom" -- "$@"
	else
		"$XENSIM" exec "$dom" --netns "$ns" -- "$@"
	fi
}

# --- network namespaces --------------------------------------------------------

# netns_add VAR: creates a namespace with a unique name and stores the name in VAR.
netns_add() {
	local name="vt$$-${#NETNS[@]}"
	ledger netns "$name"
	ip netns add "$name" || bail_out "cannot create netns $name"
	NETNS+=("$name")
	ip -n "$name" link set lo up
	printf -v "$1" '%s' "$name"
}

# --- background processes ----------------------------------------------------

# spawn VAR LOG CMD...: starts CMD in the background, output to LOG, PID into VAR.
# CMD must be a program (e.g. "$XENSIM" exec ...), not a shell function, or
# the PID would be a subshell's.
spawn() {
	local var=$1 log=$2
	shift 2
	# <&0: a background job's stdin would be /dev/null, not the caller's redirection.
	"$@" <&0 >"$log" 2>&1 &
	local pid=$!
	SPAWNED+=("$pid")
	printf -v "$var" '%s' "$pid"
}

# as VAR LOG DOMID NETNS CMD...: spawns CMD as domain DOMID in NETNS; VAR gets
# CMD's own PID (xensim exec and ip netns exec both exec).
as() {
	local var=$1 log=$2 dom=$3 ns=$4
	shift 4
	spawn "$var" "$log" "$XENSIM" exec "$dom" --netns "$ns" -- "$@"
}

# show_log LABEL FILE: the end of a log, as TAP diagnostics.
show_log() {
	diag "$1:"
	diag "$(tail -n 20 "$2")"
}

# reap PID [SECONDS]: waits for PID to exit (default 30 s) and returns its status;
# kills it when it outlives SECONDS, and then returns 124.
reap() {
	local pid=$1 secs=${2:-30} timer first rc
	# bash drops a job it has reported dead from its table, where `wait -n`
	# looks; plain `wait PID` still knows its status.
	if ! jobs -p | grep -qx "$pid"; then
		wait "$pid"
		return $?
	fi
	# The timer also ends when PID is gone: a job that dies between the check
	# above and `wait -n` (killed by a signal, bash reports and drops it at
	# once) is invisible to `wait -n`, which would sit out the whole timeout.
	timeout "$secs" bash -c 'while kill -0 "$1" 2>/dev/null; do sleep 0.05; done' _ "$pid" &
	timer=$!
	wait -n -p first "$pid" "$timer"
	rc=$?
	if [ "$first" = "$timer" ]; then
		if [ "$rc" -eq 0 ]; then
			wait "$pid" 2>/dev/null
			return $?
		fi
		kill -9 "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		return 124
	fi
	# SIGKILL: until it has exec'd sleep, the timer is a copy of this shell
	# and would run the test's traps on SIGTERM.
	kill -9 "$timer" 2>/dev/null
	wait "$timer" 2>/dev/null
	return "$rc"
}

# --- cleanup -----------------------------------------------------------------

cleanup() {
	local pid ns
	for pid in "${SPAWNED[@]}"; do
		kill -9 "$pid" 2>/dev/null
	done
	for pid in "${SPAWNED[@]}"; do
		wait "$pid" 2>/dev/null
	done
	if [ -n "$SIM_DIR" ]; then
		"$XENSIM" stop >/dev/null 2>&1
	fi
	for ns in "${NETNS[@]}"; do
		ip netns del "$ns" 2>/dev/null
	done
	if [ "$T_FAILED" -ne 0 ]; then
		for f in "$WORK"/*.log ${SIM_DIR:+"$SIM_DIR"/*.log}; do
			[ -s "$f" ] && diag "--- $f" && diag "$(tail -n 40 "$f")"
		done
	fi
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP PIPE

# hold VAR LOG DOMID NETNS CMD...: runs CMD as DOMID in the background with its
# stdin on a pipe this test holds open; `release VAR` closes it, which is how
# xen-probe's share and offer-port are told to let go.
hold() {
	local var=$1 log=$2 dom=$3 ns=$4 fifo fd
	shift 4
	fifo="$WORK/hold.$var.$((HOLD_SEQ++))"
	mkfifo "$fifo"
	if [ "$ns" = - ]; then
		"$XENSIM" exec "$dom" -- "$@" <"$fifo" >"$log" 2>"$log.err" &
	else
		"$XENSIM" exec "$dom" --netns "$ns" -- "$@" <"$fifo" >"$log" 2>"$log.err" &
	fi
	SPAWNED+=("$!")
	printf -v "$var" '%s' "$!"
	exec {fd}>"$fifo"
	printf -v "${var}_fd" '%s' "$fd"
}

release() {
	local fd_var="${1}_fd"
	eval "exec ${!fd_var}>&-"
}

# first_line FILE: waits up to 10 s for FILE to have a complete first line, prints it.
first_line() {
	wait_for 10 grep -q . "$1" && head -n 1 "$1"
}

#!/usr/bin/env bash
# vchan-cat: its command line, full duplex between two of them at several ring
# orders, a client that waits (on a XenStore watch) for its server, and a
# client facing hostile XenStore keys or a garbage control page.
# shellcheck source=SCRIPTDIR/../lib.sh
# shellcheck disable=SC2154,SC2317 # spawn and reap set and call by name
. "$(dirname "$0")/../lib.sh"

CAT="$BUILD/bin/vchan-cat"
PROBE="$TOOLS/xen-probe"
[ -x "$CAT" ] || bail_out "$CAT not built (run make)"

BYTES=8388608
case "$BUILD" in *build-san) BYTES=2097152 ;; esac

# --- the command line (no simulation needed) ----------------------------------------

out=$("$CAT" --help 2>&1)
ok $? "--help exits 0"
like "$out" '^usage: vchan-cat -l ' "--help prints the usage"

usage_error() { # usage_error DESCRIPTION PATTERN ARGS...
	local desc=$1 pattern=$2 out rc
	shift 2
	out=$("$CAT" "$@" 2>&1 </dev/null)
	rc=$?
	is "$rc" 2 "usage error exits 2: $desc"
	like "$out" "$pattern" "and says so: $desc" || diag "$out"
}

usage_error "no arguments" 'expected SERVER_DOMID and XS_PATH, got 0 arguments'
usage_error "a domid that is not a number" "bad SERVER_DOMID 'x1': expected an integer from 0 to 32751" x1 /p
usage_error "a domid too large" "bad PEER_DOMID '32752'" -l 32752 /p
usage_error "a ring order below 10" "bad --read-order '9': expected an integer from 10 to 20" \
	-l --read-order 9 1 /p
usage_error "two in-page rings of one order" 'both rings have order 11' \
	-l --read-order 11 --write-order 11 1 /p
usage_error "grants running into an in-page ring" 'end at byte 1048 of the control page, past 1024' \
	-l --read-order 10 --write-order 20 1 /p
usage_error "ring orders on the client" 'are for the server' --read-order 12 1 /p
usage_error "-w on the server" '-w is for the client' -l -w 3 1 /p
usage_error "a negative -q" "bad -q '-1'" -q -1 1 /p

# --- between two domains ---------------------------------------------------------------

# shellcheck disable=SC2119
sim_start
sim_domain 1
sim_domain 2
netns_add NS1
netns_add NS2

sum_of() { sha256sum <"$1" | cut -d' ' -f1; }

head -c "$BYTES" /dev/urandom >"$WORK/a"
head -c $((BYTES / 2 + 12345)) /dev/urandom >"$WORK/b"

# duplex N LABEL [server options]: the server sends a and quits 1 s after the
# client read it all; the client sends b and ends when the server closes.
duplex() {
	local n=$1 label=$2 spid cpid path=/local/domain/1/data/vchan/2/$1
	shift 2
	as spid "$WORK/s$n.err" 1 "$NS1" sh -c \
		"exec '$CAT' -v -q 1 $* -l 2 $path <'$WORK/a' >'$WORK/s$n.out'"
	as cpid "$WORK/c$n.err" 2 "$NS2" sh -c "exec '$CAT' -v 1 $path <'$WORK/b' >'$WORK/c$n.out'"
	reap "$spid" 60
	is "$?" 0 "$label: the server exits 0" || show_log server "$WORK/s$n.err"
	reap "$cpid" 60
	is "$?" 0 "$label: the client exits 0 once the server closed" || show_log client "$WORK/c$n.err"
	is "$(sum_of "$WORK/c$n.out")" "$(sum_of "$WORK/a")" "$label: the client got all the server sent"
	is "$(sum_of "$WORK/s$n.out")" "$(sum_of "$WORK/b")" "$label: the server got all the client sent"
}

duplex 1 "default orders (16/16)"
duplex 2 "orders 10/11" --read-order 10 --write-order 11
duplex 3 "orders 11/20" --read-order 11 --write-order 20
like "$(cat "$WORK/c3.err")" 'read ring order 20, write ring order 11' \
	"the client takes its orders from the server's page, mirrored"

# A client started first waits on a XenStore watch, not a poll loop.
path=/local/domain/1/data/vchan/2/4
as cpid "$WORK/c4.err" 2 "$NS2" sh -c "exec '$CAT' -v -w 20 1 $path </dev/null >'$WORK/c4.out'"
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null; }
sleep 0.2
c0=$(cpu_ticks "$cpid")
sleep 1
c1=$(cpu_ticks "$cpid")
ok $((c1 - c0 > 2)) "a client started before its server waits without spinning ($((c1 - c0)) ticks in 1 s)"
t0=$(now_ms)
as spid "$WORK/s4.err" 1 "$NS1" sh -c "exec '$CAT' -v -q 0 -l 2 $path <'$WORK/b' >/dev/null"
wait_for 5 grep -q connected "$WORK/c4.err"
ok $? "it connects as soon as the server offers (after $(($(now_ms) - t0)) ms)" ||
	show_log client "$WORK/c4.err"
reap "$spid" 30
reap "$cpid" 30
is "$?" 0 "and exits 0 when the server is done" || show_log client "$WORK/c4.err"
is "$(sum_of "$WORK/c4.out")" "$(sum_of "$WORK/b")" "having received everything"

# SIGTERM: the server closes the channel and removes its keys before it exits.
path=/local/domain/1/data/vchan/2/term
mkfifo "$WORK/quiet"
as spid "$WORK/term.err" 1 "$NS1" sh -c "exec '$CAT' -v -l 2 $path <>'$WORK/quiet' >/dev/null"
as cpid "$WORK/term-c.err" 2 "$NS2" sh -c "exec '$CAT' -v 1 $path <>'$WORK/quiet' >/dev/null"
wait_for 10 grep -q connected "$WORK/term.err" || show_log server "$WORK/term.err"
kill -TERM "$spid"
reap "$spid" 10
is "$?" 143 "SIGTERM: the server exits with 128+15"
reap "$cpid" 10
is "$?" 0 "and its client sees the channel close and exits 0" || show_log client "$WORK/term-c.err"
is "$(sim_exec 0 - xenstore-exists "$path" && echo present || echo gone)" gone \
	"and the server's XenStore path is gone"

# No server at all: -w bounds the wait, and the error names the path.
t0=$(now_ms)
out=$(sim_exec 2 "$NS2" "$CAT" -w 1 1 /local/domain/1/data/vchan/2/none 2>&1 </dev/null)
rc=$?
t1=$(now_ms)
is "$rc" 1 "with no server, the client gives up with status 1"
like "$out" '/local/domain/1/data/vchan/2/none/ring-ref.*gave up after 1000 ms' \
	"naming the key it waited for and the time"
ok $(((t1 - t0) < 900 || (t1 - t0) > 3000)) "after about a second ($((t1 - t0)) ms)"

# Hostile or broken XenStore keys: precise errors, no hang.
keys() { # keys PATH RING_REF EVENT_CHANNEL: written by domain 1, readable by domain 2
	sim_exec 1 "$NS1" xenstore-write "$1/ring-ref" "$2" "$1/event-channel" "$3" &&
		sim_exec 1 "$NS1" xenstore-chmod "$1/ring-ref" n1 r2 &&
		sim_exec 1 "$NS1" xenstore-chmod "$1/event-channel" n1 r2
}

bad_keys() { # bad_keys N RING_REF EVENT_CHANNEL PATTERN DESCRIPTION
	local path=/local/domain/1/data/vchan/2/bad$1 out rc
	keys "$path" "$2" "$3" || fail "domain 1 writes keys $2 / $3"
	out=$(sim_exec 2 "$NS2" timeout 10 "$CAT" -w 2 1 "$path" 2>&1 </dev/null)
	rc=$?
	is "$rc" 1 "$5: the client fails with status 1"
	like "$out" "$4" "$5: and says why" || diag "$out"
}

bad_keys 1 abc 5 "ring-ref is 'abc': expected a number from 1 to 4294967295" "ring-ref 'abc'"
bad_keys 2 0 5 "ring-ref is '0'" "ring-ref 0"
bad_keys 3 8 131072 "event-channel is '131072': expected a number from 1 to 131071" \
	"port 131072, past the FIFO event channel ABI's last"
# FIFO event channels go far past the 2-level ABI's 4095: such a port is tried
bad_keys 7 8 99999 "cannot bind to event channel port 99999 of domain 1" "port 99999 is tried"
bad_keys 4 " 8" 5 "ring-ref is ' 8'" "a ring-ref with a leading space"
bad_keys 5 99999999999 5 "ring-ref is '99999999999" "a ring-ref beyond 32 bits"
bad_keys 6 12 7 "cannot bind to event channel port 7 of domain 1" "a port nobody offered"
# what the peer wrote is quoted without the terminal escapes it may hold
bad_keys 8 $'1\e[2J\e]0;x\a' 5 "ring-ref is '1\\\\x1b\\[2J\\\\x1b\\]0;x\\\\x07'" \
	"a ring-ref with terminal escapes, quoted escaped"

# A garbage control page behind valid keys: the orders are checked before any mapping.
if [ -x "$PROBE" ]; then
	hold share "$WORK/share" 1 "$NS1" "$PROBE" share 2 rw
	hold port "$WORK/port" 1 "$NS1" "$PROBE" offer-port 2
	ref=$(first_line "$WORK/share")
	evt=$(first_line "$WORK/port")
	path=/local/domain/1/data/vchan/2/garbage
	keys "$path" "$ref" "$evt" || fail "domain 1 writes keys for its garbage page"
	out=$(sim_exec 2 "$NS2" timeout 10 "$CAT" -w 0 1 "$path" 2>&1 </dev/null)
	is "$?" 1 "a control page full of text: the client fails with status 1"
	like "$out" "control page is invalid: left ring order [0-9]+ is outside 10..20" \
		"and names the bad order" || diag "$out"
	release share
	release port
fi

done_testing

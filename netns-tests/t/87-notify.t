#!/usr/bin/env bash
# vchan-tund tells systemd (Type=notify) how it is, through $NOTIFY_SOCKET,
# here a socket this test listens on: READY=1 once its links are set up and
# its control socket answers, a STATUS= line as links come and go,
# RELOADING=1 with MONOTONIC_USEC=, then READY=1, around each reload (SIGHUP
# or vchan-tunctl, failed or not), STOPPING=1 on SIGTERM. Over a real link
# between two simulated domains; one daemon has a socket path, the other an
# abstract name; a socket nobody listens on costs one warning, and nothing
# else.
# shellcheck source=SCRIPTDIR/../lib.sh
# shellcheck disable=SC2154,SC2317,SC2119 # spawn sets variables by name; sim_start takes no $1
. "$(dirname "$0")/../lib.sh"
# shellcheck source=SCRIPTDIR/../daemon-lib.sh
. "$TOP/netns-tests/daemon-lib.sh"

sim_start
sim_domain 1 left
sim_domain 2 right
netns_add NA
netns_add NB
CONF="$WORK/conf"
mkdir -p "$CONF"
printf '[Link]\nPeer = 2\nRole = server\nAddress = 10.87.0.1\nPeerAddress = 10.87.0.2\n' >"$CONF/t87.conf"

LA="$WORK/notify-left"
LB="$WORK/notify-right"
notify_listen la "$LA" "$NA" "$WORK/notify.sock"
notify_listen lb "$LB" "$NB" "@vchan-tun-t87-$$"

NOTIFY_SOCKET="$WORK/notify.sock" daemon da left 1 "$NA" --config-dir "$CONF"

# --- READY=1 --------------------------------------------------------------------------

if wait_for 10 notify_has "$LA" 2 '^READY=1$'; then
	pass "the daemon sends READY=1"
	# checked at once: ready means ready
	ctl left status >/dev/null 2>&1
	ok $? "and by then its control socket answers"
	ok "$(dev_exists "$NA" vchan2; echo $?)" "and its link's device exists"
else
	fail "the daemon sends READY=1"
	show_daemon_log left
fi
is "$(notify_notes "$LA")" "STATUS=1 link, 0 running
READY=1" "first the status (no link running yet), then READY=1, and nothing else"

NOTIFY_SOCKET="@vchan-tun-t87-$$" daemon db right 2 "$NB" --name t87 --peer 1 --role client \
	--address 10.87.0.2 --peer-address 10.87.0.1/32
wait_for 10 notify_has "$LB" 2 '^READY=1$'
ok $? "the other daemon sends READY=1 to an abstract socket (@name)" || show_daemon_log right
wait_state left t87 RUNNING || bail_out "no link"
wait_for 10 notify_has "$LA" 2 '^STATUS=1 link, 1 running$'
ok $? "STATUS= says so when the link runs: '1 link, 1 running'" || diag "$(notify_notes "$LA")"

# --- reloads ------------------------------------------------------------------------------

# reloaded LOG FROM DESC: from line FROM on, RELOADING=1 with MONOTONIC_USEC=
# (the time it was sent, close to the time it came), then READY=1.
reloaded() {
	local log=$1 from=$2 desc=$3 line usec came
	wait_for 10 notify_has "$log" "$from" '^READY=1$'
	line=$(tail -n +"$from" "$log" | grep -m1 ' RELOADING=1')
	like "$(notify_notes "$log" "$from" | grep -E '^(RELOADING|READY)' | head -n 2 | tr '\n' '|')" \
		'^RELOADING=1 MONOTONIC_USEC=[0-9]+\|READY=1\|$' "$desc: RELOADING=1 with MONOTONIC_USEC=, then READY=1" ||
		diag "$(notify_notes "$log" "$from")"
	came=${line%% *}
	usec=$(sed -n 's/.*MONOTONIC_USEC=\([0-9]*\).*/\1/p' <<<"$line")
	ok "$([ -n "$usec" ] && [ $((came - usec)) -ge 0 ] && [ $((came - usec)) -lt 5000000 ]; echo $?)" \
		"$desc: MONOTONIC_USEC is the time of sending ($((came - ${usec:-0})) us before it came)"
}

from=$(notify_next_line "$LA")
kill -HUP "$da"
reloaded "$LA" "$from" "SIGHUP"
is "$(field left t87 connects)" 1 "the unchanged link stayed up across the reload"

from=$(notify_next_line "$LA")
ctl left reload >/dev/null
reloaded "$LA" "$from" "vchan-tunctl reload"

printf '[Link]\nPeer = 3\nRole = server\nMTU = huge\n' >"$CONF/zz-broken.conf"
from=$(notify_next_line "$LA")
ctl left reload >/dev/null 2>&1
is $? 1 "a reload of a broken configuration fails"
reloaded "$LA" "$from" "the failed reload"
wait_for 10 notify_has "$LA" "$from" "^STATUS=1 link, 1 running; the last reload failed: .*zz-broken\.conf:4: MTU = 'huge'"
ok $? "and STATUS= says that it failed, and why" || diag "$(notify_notes "$LA" "$from")"
rm "$CONF/zz-broken.conf"
from=$(notify_next_line "$LA")
kill -HUP "$da"
wait_for 10 notify_has "$LA" "$from" '^STATUS=1 link, 1 running$'
ok $? "a good reload clears that from STATUS=" || diag "$(notify_notes "$LA" "$from")"

# --- stopping ----------------------------------------------------------------------------------

from=$(notify_next_line "$LA")
kill -TERM "$db"
reap "$db" 10
is $? 0 "SIGTERM: the client daemon exits 0"
notify_has "$LB" 2 '^STOPPING=1$'
ok $? "and has sent STOPPING=1"
wait_for 10 notify_has "$LA" "$from" '^STATUS=1 link, 0 running$'
ok $? "the server's STATUS= says its link no longer runs" || diag "$(notify_notes "$LA" "$from")"

from=$(notify_next_line "$LA")
kill -TERM "$da"
reap "$da" 10
is $? 0 "SIGTERM: the server daemon exits 0"
is "$(notify_notes "$LA" "$from")" "STOPPING=1" "and has sent STOPPING=1, last"

# --- nobody listening ----------------------------------------------------------------------------

mkdir -p "$WORK/empty"
NOTIFY_SOCKET="$WORK/nobody.sock" daemon dc lonely 1 "$NA" --config-dir "$WORK/empty"
wait_for 10 ctl lonely status
ok $? "a daemon whose NOTIFY_SOCKET nobody listens on runs all the same" || show_daemon_log lonely
kill -TERM "$dc"
reap "$dc" 10
is $? 0 "and exits 0 on SIGTERM"
is "$(grep -c 'cannot notify the service manager' "$WORK/lonely.log")" 1 \
	"after one warning for READY, STATUS and STOPPING together"
like "$(cat "$WORK/lonely.log")" "NOTIFY_SOCKET '$WORK/nobody\.sock': (No such file or directory|Connection refused)" \
	"which names the socket and why"

done_testing

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

# Prints each datagram on one line (its newlines as spaces), after the
# CLOCK_MONOTONIC microseconds at which it came.
# shellcheck disable=SC2016 # perl's variables
LISTENER='
use strict;
use Socket;
use Time::HiRes qw(clock_gettime CLOCK_MONOTONIC);
my $name = shift;
(my $addr = $name) =~ s/^@/\0/;
socket(my $s, AF_UNIX, SOCK_DGRAM, 0) or die "socket: $!\n";
bind($s, pack_sockaddr_un($addr)) or die "bind $name: $!\n";
$| = 1;
print "listening\n";
while (defined(recv($s, my $buf, 4096, 0))) {
	$buf =~ s/\n/ /g;
	printf "%d %s\n", clock_gettime(CLOCK_MONOTONIC) * 1e6, $buf;
}'

# listen VAR LOG NETNS ADDRESS: a listener on ADDRESS (a path, or @name in NETNS)
listen() {
	spawn "$1" "$2" ip netns exec "$3" perl -e "$LISTENER" "$4"
	wait_for 10 grep -q '^listening' "$2" || bail_out "no listener on $4: $(cat "$2")"
}

notes() { # notes LOG [FROM]: the messages from line FROM (default 2) on
	tail -n +"${2:-2}" "$1" | cut -d' ' -f2-
}

# has LOG FROM REGEX: a message from line FROM on matches, for wait_for
has() {
	notes "$1" "$2" | grep -Eq -- "$3"
}

next_line() { # next_line LOG: the number of the line the next message will be
	echo $(($(wc -l <"$1") + 1))
}

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
listen la "$LA" "$NA" "$WORK/notify.sock"
listen lb "$LB" "$NB" "@vchan-tun-t87-$$"

NOTIFY_SOCKET="$WORK/notify.sock" daemon da left 1 "$NA" --config-dir "$CONF"

# --- READY=1 --------------------------------------------------------------------------

if wait_for 10 has "$LA" 2 '^READY=1$'; then
	pass "the daemon sends READY=1"
	# checked at once: ready means ready
	ctl left status >/dev/null 2>&1
	ok $? "and by then its control socket answers"
	ok "$(dev_exists "$NA" vchan2; echo $?)" "and its link's device exists"
else
	fail "the daemon sends READY=1"
	show_daemon_log left
fi
is "$(notes "$LA")" "STATUS=1 link, 0 running
READY=1" "first the status (no link running yet), then READY=1, and nothing else"

NOTIFY_SOCKET="@vchan-tun-t87-$$" daemon db right 2 "$NB" --name t87 --peer 1 --role client \
	--address 10.87.0.2 --peer-address 10.87.0.1/32
wait_for 10 has "$LB" 2 '^READY=1$'
ok $? "the other daemon sends READY=1 to an abstract socket (@name)" || show_daemon_log right
wait_state left t87 RUNNING || bail_out "no link"
wait_for 10 has "$LA" 2 '^STATUS=1 link, 1 running$'
ok $? "STATUS= says so when the link runs: '1 link, 1 running'" || diag "$(notes "$LA")"

# --- reloads ------------------------------------------------------------------------------

# reloaded LOG FROM DESC: from line FROM on, RELOADING=1 with MONOTONIC_USEC=
# (the time it was sent, close to the time it came), then READY=1.
reloaded() {
	local log=$1 from=$2 desc=$3 line usec came
	wait_for 10 has "$log" "$from" '^READY=1$'
	line=$(tail -n +"$from" "$log" | grep -m1 ' RELOADING=1')
	like "$(notes "$log" "$from" | grep -E '^(RELOADING|READY)' | head -n 2 | tr '\n' '|')" \
		'^RELOADING=1 MONOTONIC_USEC=[0-9]+\|READY=1\|$' "$desc: RELOADING=1 with MONOTONIC_USEC=, then READY=1" ||
		diag "$(notes "$log" "$from")"
	came=${line%% *}
	usec=$(sed -n 's/.*MONOTONIC_USEC=\([0-9]*\).*/\1/p' <<<"$line")
	ok "$([ -n "$usec" ] && [ $((came - usec)) -ge 0 ] && [ $((came - usec)) -lt 5000000 ]; echo $?)" \
		"$desc: MONOTONIC_USEC is the time of sending ($((came - ${usec:-0})) us before it came)"
}

from=$(next_line "$LA")
kill -HUP "$da"
reloaded "$LA" "$from" "SIGHUP"
is "$(field left t87 connects)" 1 "the unchanged link stayed up across the reload"

from=$(next_line "$LA")
ctl left reload >/dev/null
reloaded "$LA" "$from" "vchan-tunctl reload"

printf '[Link]\nPeer = 3\nRole = server\nMTU = huge\n' >"$CONF/zz-broken.conf"
from=$(next_line "$LA")
ctl left reload >/dev/null 2>&1
is $? 1 "a reload of a broken configuration fails"
reloaded "$LA" "$from" "the failed reload"
wait_for 10 has "$LA" "$from" "^STATUS=1 link, 1 running; the last reload failed: .*zz-broken\.conf:4: MTU = 'huge'"
ok $? "and STATUS= says that it failed, and why" || diag "$(notes "$LA" "$from")"
rm "$CONF/zz-broken.conf"
from=$(next_line "$LA")
kill -HUP "$da"
wait_for 10 has "$LA" "$from" '^STATUS=1 link, 1 running$'
ok $? "a good reload clears that from STATUS=" || diag "$(notes "$LA" "$from")"

# --- stopping ----------------------------------------------------------------------------------

from=$(next_line "$LA")
kill -TERM "$db"
reap "$db" 10
is $? 0 "SIGTERM: the client daemon exits 0"
has "$LB" 2 '^STOPPING=1$'
ok $? "and has sent STOPPING=1"
wait_for 10 has "$LA" "$from" '^STATUS=1 link, 0 running$'
ok $? "the server's STATUS= says its link no longer runs" || diag "$(notes "$LA" "$from")"

from=$(next_line "$LA")
kill -TERM "$da"
reap "$da" 10
is $? 0 "SIGTERM: the server daemon exits 0"
is "$(notes "$LA" "$from")" "STOPPING=1" "and has sent STOPPING=1, last"

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

# shellcheck shell=bash
# Helpers for the vchan-tund tests (t/70-* and later), on top of lib.sh, which
# the test sources first: starting daemons as simulated domains, asking them
# for their status, and looking at their devices.
#
# A daemon's control socket is $WORK/NAME.sock, its log $WORK/NAME.log.

DAEMON="$BUILD/bin/vchan-tund"
CTL="$BUILD/bin/vchan-tunctl"
[ -x "$DAEMON" ] || bail_out "$DAEMON not built (run make)"
[ -x "$CTL" ] || bail_out "$CTL not built (run make)"

# daemon VAR NAME DOMID NETNS ARGS...: starts vchan-tund as DOMID in NETNS with
# --control $WORK/NAME.sock; its PID (the daemon's own: xensim and ip netns
# exec replace themselves) goes into VAR. Under the command in the array
# DAEMON_UNDER when it is set (e.g. one that drops a capability), which must
# exec its arguments too.
DAEMON_UNDER=()
daemon() {
	local var=$1 name=$2 dom=$3 ns=$4
	shift 4
	rm -f "$WORK/$name.sock"
	spawn "$var" "$WORK/$name.log" "${DAEMON_UNDER[@]}" "$XENSIM" exec "$dom" --netns "$ns" -- \
		"$DAEMON" -v --control "$WORK/$name.sock" "$@"
}

ctl() { # ctl NAME ARGS...: vchan-tunctl against daemon NAME
	local name=$1
	shift
	"$CTL" --control "$WORK/$name.sock" "$@"
}

# field NAME LINK KEY...: one value of LINK in NAME's status --json, the keys
# leading to it, e.g. "state" or "rx drops malformed"; "null" for null.
field() {
	local name=$1
	shift
	ctl "$name" status --json 2>/dev/null | perl -MJSON::PP -e '
		my ($link, @path) = @ARGV;
		my $s = decode_json(do { local $/; <STDIN> });
		my ($l) = grep { $_->{name} eq $link } @{$s->{links}} or exit 1;
		my $v = $l;
		$v = $v->{$_} for @path;
		print defined $v ? "$v\n" : "null\n";' "$@"
}

# state_is NAME LINK STATE: for wait_for.
state_is() {
	[ "$(field "$1" "$2" state)" = "$3" ]
}

# wait_state NAME LINK STATE [SECS]: waits (default 20 s) and reports as a test.
wait_state() {
	local secs=${4:-20}
	if wait_for "$secs" state_is "$1" "$2" "$3"; then
		pass "$1: link $2 reaches $3"
	else
		fail "$1: link $2 reaches $3 (it is $(field "$1" "$2" state))"
		show_daemon_log "$1"
		return 1
	fi
}

show_daemon_log() {
	diag "--- $1's log:"
	diag "$(tail -n 30 "$WORK/$1.log")"
}

# no_carrier NETNS IFNAME: true while ip(8) shows the device without carrier.
no_carrier() {
	ip -n "$1" link show dev "$2" 2>/dev/null | grep -q 'NO-CARRIER'
}

# has_carrier NETNS IFNAME: true when the device is up with carrier.
has_carrier() {
	local l
	l=$(ip -n "$1" link show dev "$2" 2>/dev/null) || return 1
	! grep -q 'NO-CARRIER' <<<"$l" && grep -q 'LOWER_UP' <<<"$l"
}

dev_exists() { # dev_exists NETNS IFNAME
	ip -n "$1" link show dev "$2" >/dev/null 2>&1
}

# ms_until SECS CMD...: polls CMD every 5 ms; prints the milliseconds it took,
# or fails after SECS.
ms_until() {
	local secs=$1 start
	shift
	start=$(now_ms)
	while ! "$@" >/dev/null 2>&1; do
		[ $(($(now_ms) - start)) -ge $((secs * 1000)) ] && return 1
		sleep 0.005
	done
	echo $(($(now_ms) - start))
}

# csum_errors NETNS: segments and datagrams the kernel dropped for a bad
# checksum (TCP InCsumErrors + UDP InCsumErrors), since the namespace began.
csum_errors() {
	ip netns exec "$1" cat /proc/net/snmp | awk '
		$1 == "Tcp:" && !t { for (i = 2; i <= NF; i++) tn[i] = $i; t = 1; next }
		$1 == "Tcp:" { for (i = 2; i <= NF; i++) if (tn[i] == "InCsumErrors") s += $i }
		$1 == "Udp:" && !u { for (i = 2; i <= NF; i++) un[i] = $i; u = 1; next }
		$1 == "Udp:" { for (i = 2; i <= NF; i++) if (un[i] == "InCsumErrors") s += $i }
		END { print s + 0 }'
}

# iperf_rate FILE [sender|receiver]: Gbit/s from iperf3 -J output (TCP: the
# receiver's sum; UDP: the receiver's rate), "?" if unreadable.
iperf_rate() {
	perl -MJSON::PP -e '
		my $j = eval { decode_json(do { local $/; <STDIN> }) } or do { print "?\n"; exit };
		my $e = $j->{end} or do { print "?\n"; exit };
		my $s = $e->{sum_received} // $e->{sum};
		printf "%.2f\n", ($s->{bits_per_second} // 0) / 1e9;' <"$1"
}

# iperf_udp_loss FILE: lost_percent of a UDP run.
iperf_udp_loss() {
	perl -MJSON::PP -e '
		my $j = eval { decode_json(do { local $/; <STDIN> }) } or do { print "?\n"; exit };
		printf "%.3f\n", $j->{end}{sum}{lost_percent} // -1;' <"$1"
}

listening() { # listening NETNS PORT: a TCP socket listens on PORT
	ip netns exec "$1" ss -Htln "sport = :$2" | grep -q .
}

# iperf_pair DESC SERVER_NS CLIENT_NS ADDR PORT OUT ARGS...: a one-off iperf3
# server in SERVER_NS, the client in CLIENT_NS with -J and ARGS, output to OUT.
iperf_pair() {
	local desc=$1 sns=$2 cns=$3 addr=$4 port=$5 out=$6 spid
	shift 6
	spawn spid "$out.server" ip netns exec "$sns" iperf3 -s -1 -p "$port"
	wait_for 5 listening "$sns" "$port"
	if ip netns exec "$cns" timeout 30 iperf3 -J -c "$addr" -p "$port" "$@" >"$out" 2>&1; then
		pass "$desc"
	else
		fail "$desc"
		diag "$(tail -n 20 "$out")"
	fi
	reap "$spid" 10 >/dev/null
}

# --- sd_notify ----------------------------------------------------------------

# Prints each datagram on one line (its newlines as spaces), after the
# CLOCK_MONOTONIC microseconds at which it came.
# shellcheck disable=SC2016 # perl's variables
NOTIFY_LISTENER='
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

# notify_listen VAR LOG NETNS ADDRESS: a listener for $NOTIFY_SOCKET on
# ADDRESS (a path, or @name in NETNS), writing what it hears to LOG.
notify_listen() {
	spawn "$1" "$2" ip netns exec "$3" perl -e "$NOTIFY_LISTENER" "$4"
	wait_for 10 grep -q '^listening' "$2" || bail_out "no listener on $4: $(cat "$2")"
}

notify_notes() { # notify_notes LOG [FROM]: the messages from line FROM (default 2) on
	tail -n +"${2:-2}" "$1" | cut -d' ' -f2-
}

# notify_has LOG FROM REGEX: a message from line FROM on matches, for wait_for
notify_has() {
	notify_notes "$1" "$2" | grep -Eq -- "$3"
}

notify_next_line() { # notify_next_line LOG: the number of the line the next message will be
	echo $(($(wc -l <"$1") + 1))
}

#!/usr/bin/env bash
# Under systemd (JOURNAL_STREAM set), vchan-tund logs to journald's native
# socket with LINK, IFNAME and PEER_DOMID fields, so that
# `journalctl LINK=NAME` shows one link;
# where that socket cannot be reached it falls back to the stream, each line
# led by its "<N>" level. journald is played by a listener on the socket in
# a mount namespace of the test's own (a tmpfs over /run/systemd), so the
# host's journal, if there is one, sees nothing.
# shellcheck source=SCRIPTDIR/../lib.sh
# shellcheck disable=SC2154,SC2119 # spawn sets variables by name; sim_start takes no $1
. "$(dirname "$0")/../lib.sh"
# shellcheck source=SCRIPTDIR/../daemon-lib.sh
. "$TOP/netns-tests/daemon-lib.sh"

[ -d /run/systemd ] || skip_all "no /run/systemd to mount a stand-in journald's socket on"
command -v unshare >/dev/null || skip_all "unshare(1) is not installed"

sim_start
sim_domain 1 host
netns_add N1

# journald.sh LOG PIDFILE CMD...: in a private mount namespace, a stand-in
# journald writing each datagram (NUL-terminated) to LOG, then CMD.
cat >"$WORK/journald.sh" <<'EOF'
#!/bin/bash
set -e
log=$1 pidfile=$2
shift 2
mount -t tmpfs -o mode=0755 vchan-tun-test /run/systemd
mkdir /run/systemd/journal
perl -MIO::Socket::UNIX -MSocket -e '
	my $s = IO::Socket::UNIX->new(Type => SOCK_DGRAM,
		Local => "/run/systemd/journal/socket") or die "listen: $!";
	open(my $f, ">>", $ARGV[0]) or die "$ARGV[0]: $!";
	$f->autoflush(1);
	print $f "listening\0";
	while (defined $s->recv(my $m, 65536)) { print $f $m, "\0" }' "$log" &
echo $! >"$pidfile"
for _ in $(seq 100); do [ -S /run/systemd/journal/socket ] && break; sleep 0.05; done
exec "$@"
EOF
chmod +x "$WORK/journald.sh"

run_daemon() { # run_daemon VAR NAME: the daemon as domain 1, under systemd's JOURNAL_STREAM
	local var=$1 name=$2
	shift 2
	rm -f "$WORK/$name.sock"
	spawn "$var" "$WORK/$name.log" "$@" "$XENSIM" exec 1 --netns "$N1" -- \
		env JOURNAL_STREAM=8:1234 "$DAEMON" --control "$WORK/$name.sock" \
		--name jt --peer 2 --role server --address 10.91.0.1/30 --peer-address 10.91.0.2
}

# --- with journald --------------------------------------------------------------------------

run_daemon d1 d1 unshare -m --propagation private "$WORK/journald.sh" "$WORK/journal" \
	"$WORK/journald.pid"
wait_for 5 test -s "$WORK/journald.pid" || bail_out "the stand-in journald did not start"
SPAWNED+=("$(cat "$WORK/journald.pid")") # ended with the test's processes, even on failure
wait_for 5 grep -qa 'LINK=jt' "$WORK/journal"
ok $? "an entry with LINK=jt reached the stand-in journald" ||
	diag "$(tr '\0' '\n' <"$WORK/journal" 2>/dev/null)" "$(cat "$WORK/d1.log")"
record() { # record PATTERN: the first journal entry with a line matching PATTERN, its field names
	perl -0 -ne "if (/^$1/m) { print join(' ', map { /^([A-Z_]+)=/ } split /\n/), \"\n\"; exit }" \
		"$WORK/journal"
}
value() { # value PATTERN FIELD: that entry's FIELD
	perl -0 -ne "if (/^$1/m) { print \$1, \"\n\" if /^$2=(.*)\$/m; exit }" "$WORK/journal"
}
is "$(record 'MESSAGE=jt: device vchan2 ready')" \
	"MESSAGE PRIORITY SYSLOG_IDENTIFIER LINK IFNAME PEER_DOMID" \
	"the link's entry: MESSAGE, PRIORITY, SYSLOG_IDENTIFIER, LINK, IFNAME and PEER_DOMID"
like "$(value 'MESSAGE=jt: device vchan2 ready' MESSAGE)" '^jt: device vchan2 ready \(tun, mtu 1500' \
	"its MESSAGE is the line, the link's name first"
is "$(value 'MESSAGE=jt: device vchan2 ready' PRIORITY)" 6 "PRIORITY=6 (info)"
is "$(value 'MESSAGE=jt: cannot offer' PRIORITY)" 3 "PRIORITY=3 for an error"
is "$(value 'MESSAGE=jt: device vchan2 ready' SYSLOG_IDENTIFIER)" vchan-tund \
	"SYSLOG_IDENTIFIER=vchan-tund"
is "$(value 'MESSAGE=jt: device vchan2 ready' LINK)" jt "LINK=jt"
is "$(value 'MESSAGE=jt: device vchan2 ready' IFNAME)" vchan2 "IFNAME=vchan2, the link's device"
is "$(value 'MESSAGE=jt: cannot offer' PEER_DOMID)" 2 "PEER_DOMID=2, the peer's id"
is "$(record 'MESSAGE=running as domain 1')" "MESSAGE PRIORITY SYSLOG_IDENTIFIER" \
	"a line about no link has no LINK field"
is "$(grep -c 'device vchan2 ready' "$WORK/d1.log")" 0 "and the stream has none of those lines"
kill -TERM "$d1"
reap "$d1" 10
is $? 0 "SIGTERM: the daemon exits 0"
kill "$(cat "$WORK/journald.pid")" 2>/dev/null

# --- without: the stream -------------------------------------------------------------------

run_daemon d2 d2
wait_for 5 grep -q 'jt: device vchan2 ready' "$WORK/d2.log"
ok $? "no journald socket: the lines go to the stream" || diag "$(cat "$WORK/d2.log")"
like "$(grep 'jt: device vchan2 ready' "$WORK/d2.log")" '^<[0-7]>jt: device vchan2 ready' \
	"each led by its level, as sd-daemon(3) has it"
kill -TERM "$d2"
reap "$d2" 10
is $? 0 "SIGTERM: the daemon exits 0"

done_testing

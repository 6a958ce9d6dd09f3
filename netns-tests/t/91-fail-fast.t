#!/usr/bin/env bash
# What retrying cannot mend fails fast. A daemon whose only link cannot be
# set up exits 1 with one message and a hint, without READY=1 to its
# $NOTIFY_SOCKET: no /dev/net/tun (a private mount namespace hides it), no
# CAP_NET_ADMIN (dropped with setpriv), Peer = this domain, Peer by name in a
# guest, the interface name taken by another device; and two links that both
# fail. With two links of which one fails, the other carries ping, READY=1 is
# sent, and the failed one is FAILED with its reason in the status (text and
# JSON), holds no device and no state key, and is not tried again until a
# reload, whose reply says so; once the name is free, a reload brings it up.
# shellcheck source=SCRIPTDIR/../lib.sh
# shellcheck disable=SC2154,SC2317,SC2119 # spawn sets variables by name; sim_start takes no $1
. "$(dirname "$0")/../lib.sh"
# shellcheck source=SCRIPTDIR/../daemon-lib.sh
. "$TOP/netns-tests/daemon-lib.sh"
# shellcheck source=SCRIPTDIR/../watch-lib.sh
. "$TOP/netns-tests/watch-lib.sh"

sim_start
sim_domain 1 left
sim_domain 2 right
sim_domain 3 third
netns_add NA
netns_add NB

NOTE="$WORK/notify"
notify_listen nl "$NOTE" "$NA" "$WORK/notify.sock"
export NOTIFY_SOCKET="$WORK/notify.sock"

# fails_at_start NAME PID DESC REGEX: daemon NAME exits 1, its log matches
# REGEX, and it has told the service manager nothing (no READY=1).
fails_at_start() {
	local name=$1 pid=$2 desc=$3 regex=$4 from rc
	from=$(notify_next_line "$NOTE")
	reap "$pid" 10
	rc=$?
	is "$rc" 1 "$desc: the daemon exits 1" || show_daemon_log "$name"
	like "$(cat "$WORK/$name.log")" "$regex" "$desc: and says why"
	# anything it sent is in the listener's log by now, or very nearly
	sleep 0.2
	is "$(notify_notes "$NOTE" "$from")" "" "$desc: and sends no READY=1 (nothing at all)"
}

# --- each reason alone ----------------------------------------------------------------------

mkdir -p "$WORK/nodev"
DAEMON_UNDER=(unshare -m -- sh -c 'mount --bind "$0" /dev/net && exec "$@"' "$WORK/nodev")
daemon d1 notun 1 "$NA" --name t91 --peer 2 --role server
DAEMON_UNDER=()
fails_at_start notun "$d1" "no /dev/net/tun" \
	't91: error: tun: cannot create vchan2: /dev/net/tun: No such file or directory \(no TUN/TAP driver: modprobe tun\) \(not retried before a reload\)'
like "$(cat "$WORK/notun.log")" 'error: no link can run \(the reason is above\): exiting' \
	"no /dev/net/tun: and that no link can run"

DAEMON_UNDER=(setpriv --inh-caps=-net_admin --bounding-set=-net_admin)
daemon d2 nocap 1 "$NA" --name t91 --peer 2 --role server
DAEMON_UNDER=()
fails_at_start nocap "$d2" "no CAP_NET_ADMIN" \
	't91: error: tun: cannot create vchan2: TUNSETIFF: Operation not permitted \(vchan-tund needs CAP_NET_ADMIN\)'

daemon d3 self 1 "$NA" --name t91 --peer 1 --role server
fails_at_start self "$d3" "Peer = this domain" \
	"t91: error: a link's Peer cannot be this domain itself \(domain 1\) \(not retried before a reload\)"
ok "$(dev_exists "$NA" vchan1; echo $((!$?)))" "Peer = this domain: no device was made"

daemon d4 byname 1 "$NA" --name t91 --peer right --role client
fails_at_start byname "$d4" "Peer by name in a guest" \
	't91: error: Peer = right: a guest must name its peer by domain id \(only dom0 may look domains up by name\)'

ip -n "$NA" link add vchan2 type bridge || bail_out "cannot make a bridge"
daemon d5 taken 1 "$NA" --name t91 --peer 2 --role server
fails_at_start taken "$d5" "interface name taken" \
	't91: error: interface vchan2 exists and is not a tun device this daemon can take over: not touching it; remove it or set another Interface'
like "$(ip -n "$NA" -d link show dev vchan2)" 'bridge ' "interface name taken: the other device is left alone"
ip -n "$NA" link del vchan2

mkdir -p "$WORK/both"
printf '[Link]\nPeer = 1\nRole = server\n' >"$WORK/both/self.conf"
printf '[Link]\nPeer = right\nRole = client\n' >"$WORK/both/named.conf"
daemon d6 both 1 "$NA" --config-dir "$WORK/both"
fails_at_start both "$d6" "two links, both failing" \
	"each link's reason is above"
is "$(grep -c ' error: ' "$WORK/both.log")" 3 "two links, both failing: one line for each, and one to end"

# --- one link of two fails --------------------------------------------------------------------

CONF="$WORK/conf"
mkdir -p "$CONF"
printf '[Link]\nPeer = 2\nRole = server\nAddress = 10.91.0.1\nPeerAddress = 10.91.0.2\n' \
	>"$CONF/good.conf"
printf '[Link]\nPeer = 3\nRole = client\nAddress = 10.91.3.1\nPeerAddress = 10.91.3.2\n' \
	>"$CONF/blocked.conf"
ip -n "$NA" link add vchan3 type bridge || bail_out "cannot make a bridge"

from=$(notify_next_line "$NOTE")
daemon da left 1 "$NA" --config-dir "$CONF"
unset NOTIFY_SOCKET
daemon db right 2 "$NB" --name good --peer 1 --role client \
	--address 10.91.0.2 --peer-address 10.91.0.1/32
wait_for 10 notify_has "$NOTE" "$from" '^READY=1$'
ok $? "one link of two failing: READY=1 is sent" || show_daemon_log left
wait_state left good RUNNING || bail_out "no link"
run_ok "the other link carries ping" ip netns exec "$NA" ping -c 3 -i 0.2 -W 2 10.91.0.2

is "$(field left blocked state)" FAILED "the failed link is FAILED"
is "$(field left blocked failure reason)" \
	"interface vchan3 exists and is not a tun device this daemon can take over: not touching it; remove it or set another Interface" \
	"its JSON status gives the reason"
is "$(field left blocked failure retry)" on_reload "and that only a reload retries it"
is "$(field left good failure)" null "a running link has no failure"
like "$(ctl left status blocked)" \
	'^blocked: FAILED since [-0-9T:]+Z \([0-9]+ s\): interface vchan3 exists and is not a tun device .*; retried on reload' \
	"the text status says FAILED, why, and that a reload retries it"
like "$(ip -n "$NA" -d link show dev vchan3)" 'bridge ' "the device of that name is left alone"
is "$(state_key 1 3 blocked)" "" "the failed link has no state key"

# Setup failures that may mend are retried after 1 s, then 2 s: none of that.
lines=$(grep -c 'blocked' "$WORK/left.log")
since=$(field left blocked since)
sleep 3
is "$(($(grep -c 'blocked' "$WORK/left.log") - lines))" 0 \
	"no retry by itself: 0 log lines about the link in 3 s"
is "$(field left blocked since)" "$since" "and it has stayed FAILED since it failed"

out=$(ctl left reload)
is "$out" "reloaded: 2 links (0 added, 0 changed in place, 0 restarted, 0 removed, 2 unchanged, 1 of them failed and retried)" \
	"a reload retries it, and its reply says so"
is "$(field left blocked state)" FAILED "still FAILED, the name being still taken"
is "$(grep -c 'blocked: error: interface vchan3 exists' "$WORK/left.log")" 2 \
	"and says why once more, once"
is "$(field left good connects)" 1 "the running link was not touched"

ip -n "$NA" link del vchan3
kill -HUP "$da"
wait_for 10 grep -q 'configuration reloaded: 2 links (0 added, 0 changed in place, 0 restarted, 0 removed, 2 unchanged, 1 of them failed and retried)' \
	"$WORK/left.log"
ok $? "SIGHUP retries it too, and the log says so" || show_daemon_log left
wait_state left blocked CONNECTING
ok "$(dev_exists "$NA" vchan3; echo $?)" "once the name is free, its device is there"
is "$(field left blocked failure)" null "and it has no failure"
out=$(ctl left reload)
is "$out" "reloaded: 2 links (0 added, 0 changed in place, 0 restarted, 0 removed, 2 unchanged)" \
	"a reload with nothing failed says nothing of retries"
run_ok "the first link still carries ping" ip netns exec "$NA" ping -c 2 -i 0.2 -W 2 10.91.0.2

kill -TERM "$db"
reap "$db" 10
kill -TERM "$da"
reap "$da" 10
is $? 0 "the daemon exits 0 on SIGTERM"

done_testing

#!/usr/bin/env bash
# Restarts. A link between two guests (domains 1 and 2), each end with its
# daemon and its watcher (Watched = yes, IPv4 and IPv6 with point-to-point
# peers, a recording hook).
#  - A watcher killed (kill -9) and started again while the link is up: no
#    flap (ip monitor sees the device change in no way) and no hook; one
#    started again after the link went down meanwhile brings it down, with
#    its hook, once.
#  - xenstored-lite restarted (a live update: the store is kept, every
#    connection dropped): the daemons and the watchers reconnect, the link
#    keeps running (a ping across loses nothing) and nobody runs a hook;
#    the state keys are there, XenStore holds as many watches as before, and
#    a later stop and start of a peer still brings the link down and up.
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
netns_add NA
netns_add NB

conf() { # conf NAME SELF PEER ROLE: NAME's end of link t82, in $WORK/conf-NAME
	mkdir -p "$WORK/conf-$1"
	record_hook "$1"
	cat >"$WORK/conf-$1/t82.conf" <<-EOF
		[Link]
		Peer = $3
		Role = $4
		Watched = yes
		Address = 10.82.0.$2, fd82::$2
		PeerAddress = 10.82.0.$3/32, fd82::$3/128
		Hook = $WORK/$1.hook
	EOF
}
conf left 1 2 server
conf right 2 1 client
start_left() { daemon da left 1 "$NA" --config-dir "$WORK/conf-left"; }
start_right() { daemon db right 2 "$NB" --config-dir "$WORK/conf-right"; }
watch_left() { watcher wa "wl$1" 1 "$NA" --config-dir "$WORK/conf-left"; }
watch_right() { watcher wb "wr$1" 2 "$NB" --config-dir "$WORK/conf-right"; }

start_left
start_right
watch_left 1
watch_right 1
wait_for 5 oper_up "$NA" vchan2
ok $? "domain 1's vchan2 comes up" || show_watcher_log wl1
wait_for 5 oper_up "$NB" vchan1
ok $? "domain 2's vchan1 comes up" || show_watcher_log wr1
wait_calls left 1
wait_calls right 1
is "$(hook_calls left up) $(hook_calls right up)" "1 1" "each watcher ran its hook up once"
run_ok "ping IPv4 across" ip netns exec "$NA" ping -c 2 -i 0.1 -W 2 10.82.0.2
run_ok "ping IPv6 across, to the point-to-point peer" \
	ip netns exec "$NB" ping -c 2 -i 0.1 -W 2 fd82::1 ||
	{ diag "$(ip -n "$NB" -6 route)"; show_daemon_log right; show_watcher_log wr1; }

# monitor NS NAME: ip monitor link in NS, into $WORK/mon-NAME, PID in MON_NAME
monitor() {
	spawn "MON_$2" "$WORK/mon-$2" ip -n "$1" monitor link
	sleep 0.2 # ip monitor has no "ready" line; its socket is bound by then
}
unmonitor() { # unmonitor NAME: ip monitor ends on SIGTERM
	local v="MON_$1"
	kill "${!v}"
	wait "${!v}" 2>/dev/null
}

# --- the watcher restarted -------------------------------------------------------------------

monitor "$NA" a1
monitor "$NB" b1
kill -9 "$wa"
reap "$wa" 5
kill -9 "$wb"
reap "$wb" 5
watch_left 2
watch_right 2
wait_for 5 grep -q 'vchan2 is up already: no hook' "$WORK/wl2.log"
ok $? "domain 1's new watcher finds the link up already" || show_watcher_log wl2
wait_for 5 grep -q 'vchan1 is up already: no hook' "$WORK/wr2.log"
ok $? "so does domain 2's"
run_ok "ping across" ip netns exec "$NA" ping -c 2 -i 0.1 -W 2 10.82.0.2
unmonitor a1
unmonitor b1
is "$(grep -c vchan "$WORK/mon-a1")" 0 "ip monitor saw no change of domain 1's device"
is "$(grep -c vchan "$WORK/mon-b1")" 0 "nor of domain 2's"
is "$(hook_calls left) $(hook_calls right)" "1 1" "and no hook ran"

# The link goes down while domain 1 has no watcher.
kill -9 "$wa"
reap "$wa" 5
kill -TERM "$db"
reap "$db" 10
wait_for 5 oper_not_up "$NB" vchan1
ok $? "domain 2's watcher takes the link down when domain 2's daemon stops"
wait_for 2 no_carrier "$NA" vchan2
ok "$(admin_up "$NA" vchan2; echo $?)" "domain 1's device is still up, but without carrier"
watch_left 3
wait_calls left 2
is "$(hook_calls left down)" 1 "domain 1's new watcher runs the hook down"
ok "$(admin_up "$NA" vchan2; echo $((!$?)))" "and sets the device down"
like "$(cat "$WORK/wl3.log")" 'peer daemon gone \(domain 2\): down, hook down' "saying why (a guest may not read the peer's name)"
start_right
wait_for 5 oper_up "$NA" vchan2
ok $? "domain 2's daemon is back: the link is up"
wait_calls left 3
is "$(hook_calls left up) $(hook_calls left down)" "2 1" "with the hook up"
wait_for 5 oper_up "$NB" vchan1
wait_calls right 3

# --- xenstored-lite restarted ---------------------------------------------------------------------

watches=$(xs_watches)
calls="$(hook_calls left) $(hook_calls right)"
monitor "$NA" a2
monitor "$NB" b2
spawn pinger "$WORK/ping.out" ip netns exec "$NA" ping -c 40 -i 0.05 -W 1 10.82.0.2
sleep 0.5
run_ok "xensim xenstored restart" "$XENSIM" xenstored restart
for who in left right wl3 wr2; do
	wait_for 10 grep -q 'reconnected to XenStore' "$WORK/$who.log"
	ok $? "$who reconnects to XenStore" || diag "$(tail -n 5 "$WORK/$who.log")"
done
reap "$pinger" 20
ok $? "a ping across while XenStore restarts: every reply comes" ||
	diag "$(tail -n 3 "$WORK/ping.out")"
like "$(tail -n 2 "$WORK/ping.out")" ' 0% packet loss' "none lost"
unmonitor a2
unmonitor b2
is "$(grep -c vchan "$WORK/mon-a2")" 0 "ip monitor saw no change of domain 1's device"
is "$(grep -c vchan "$WORK/mon-b2")" 0 "nor of domain 2's"
is "$(hook_calls left) $(hook_calls right)" "$calls" "no hook ran"
is "$(field left t82 state) $(field left t82 reconnects)" "RUNNING 1" \
	"domain 1's link kept running, no reconnect of its own"
is "$(state_key 1 2 t82) $(state_key 2 1 t82)" "connected connected" "both state keys are there"
is "$(xs_watches)" "$watches" "XenStore holds as many watches as before"

kill -TERM "$db"
reap "$db" 10
wait_for 5 oper_not_up "$NA" vchan2
ok $? "after the restart, a peer that stops still brings the link down" || show_watcher_log wl3
wait_calls left 4
is "$(hook_calls left down)" 2 "with the hook down"
start_right
wait_for 10 oper_up "$NA" vchan2
ok $? "and one that starts brings it up again" || { show_watcher_log wl3; show_daemon_log left; }
wait_calls left 5
is "$(hook_calls left up)" 3 "with the hook up"
wait_for 5 oper_up "$NB" vchan1
ok $? "at both ends"
run_ok "ping across" ip netns exec "$NA" ping -c 2 -i 0.1 -W 2 10.82.0.2
run_ok "ping IPv6 across" ip netns exec "$NB" ping -c 2 -i 0.1 -W 2 fd82::1

kill -TERM "$wa" "$wb"
reap "$wa" 10
is $? 0 "domain 1's watcher exits 0"
reap "$wb" 10
is $? 0 "domain 2's watcher exits 0"
kill -TERM "$da" "$db"
reap "$da" 10
reap "$db" 10

done_testing

#!/usr/bin/env bash
# vchan-tun-watch and its hooks, as a guest (domain 1) sees its links to
# domain 2. The shipped default hook (scripts/vchan-tun-hook) puts a TAP link
# with a Bridge into the bridge when it comes up, and out when it goes down;
# for a TUN link it routes the peer and the link's Routes, and removes them.
# A hook of one's own: its output goes to the watcher's log, a failure is
# logged with its exit status, one that hangs is killed (SIGTERM, then
# SIGKILL, with what it started) after --hook-timeout; a link's hooks run in
# order (its down waits for its up), other links' hooks do not wait. SIGHUP:
# a link with new settings runs down with the old and up with the new ones,
# and a new link whose device is up already runs its up.
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
CONF="$WORK/conf1"
mkdir -p "$CONF"

run_ok "a bridge in domain 1's namespace" sh -c "ip -n $NA link add br81 type bridge stp_state 0 &&
	ip -n $NA addr add 10.83.0.1/24 dev br81 && ip -n $NA link set br81 up"

# bridged: TAP into br81 by the default hook; routed: TUN with routes; own: our hook.
cat >"$CONF/bridged.conf" <<EOF
[Link]
Peer = 2
Role = server
Mode = tap
Interface = vtap81
Watched = yes
Bridge = br81
AllowedSources = 10.83.0.0/24
EOF
cat >"$CONF/routed.conf" <<EOF
[Link]
Peer = 2
Role = server
Interface = vrt81
Watched = yes
Address = 10.81.0.1
PeerAddress = 10.81.0.2/32
Routes = 10.82.0.0/16
EOF
cat >"$CONF/own.conf" <<EOF
[Link]
Peer = 2
Role = server
Interface = vown81
Watched = yes
Hook = $WORK/own.hook
EOF

# The hook of "own" does what $WORK/own.mode says: ok, slow (1 s), fail, hang.
cat >"$WORK/own.hook" <<EOF
#!/bin/sh
echo "start \$1 \$(date +%s%N)" >>"$WORK/own.calls"
echo "hello from \$1"
echo "and to stderr" >&2
case \$(cat "$WORK/own.mode") in
slow) sleep 1 ;;
fail) exit 3 ;;
hang)
	trap '' TERM
	sleep 60 &
	echo "\$\$ \$!" >"$WORK/own.pids"
	wait
	;;
esac
echo "end \$1 \$(date +%s%N)" >>"$WORK/own.calls"
EOF
chmod +x "$WORK/own.hook"
echo ok >"$WORK/own.mode"
: >"$WORK/own.calls"

daemon da left 1 "$NA" --config-dir "$CONF"
watcher wa wa 1 "$NA" --config-dir "$CONF" --hooks-dir "$TOP/scripts" --hook-timeout 3

peer() { # peer VAR LINK ARGS...: domain 2's end of LINK
	local var=$1 name=$2
	shift 2
	daemon "$var" "right-$name" 2 "$NB" --name "$name" --peer 1 --role client "$@"
}
peer_bridged() { peer pb bridged --mode tap --interface vtap81 --address 10.83.0.2/24; }
peer_routed() {
	peer pr routed --interface vrt81 --address 10.81.0.2 --peer-address 10.81.0.1/32 \
		--address 10.82.0.1/16
}
peer_own() { peer po own --interface vown81; }

master_of() { # master_of NETNS IFNAME
	ip -n "$1" -o link show dev "$2" 2>/dev/null | sed -n 's/.* master \([^ ]*\) .*/\1/p'
}
in_bridge() { [ "$(master_of "$NA" vtap81)" = br81 ]; }
not_in_bridge() { [ -z "$(master_of "$NA" vtap81)" ]; }
routed() { ip -n "$NA" route show 10.82.0.0/16 dev vrt81 proto static | grep -q .; }
not_routed() { ! routed; }
forwarding() { bridge -n "$NA" link show dev vtap81 | grep -q 'state forwarding'; }

# --- the default hook: a bridge ---------------------------------------------------------------

peer_bridged
wait_for 5 in_bridge
ok $? "bridged comes up: vtap81 joins br81" || show_watcher_log wa
wait_for 5 oper_up "$NA" vtap81
ok $? "and is operationally UP"
wait_for 5 forwarding
run_ok "ping through the bridge" ip netns exec "$NA" ping -c 2 -i 0.1 -W 2 10.83.0.2
like "$(cat "$WORK/wa.log")" 'bridged: hook up: vchan-tun-bridge: bridged: up: vtap81 joined bridge br81' \
	"the hook's message is in the watcher's log, with the link's name"

kill -TERM "$pb"
reap "$pb" 10
wait_for 2 not_in_bridge
ok $? "the peer stops: vtap81 leaves br81"
ok "$(oper_up "$NA" vtap81; echo $((!$?)))" "and is not UP"
peer_bridged
wait_for 5 in_bridge
ok $? "the peer is back: vtap81 joins br81 again"

# --- the default hook: routes -------------------------------------------------------------------

peer_routed
wait_for 5 routed
ok $? "routed comes up: the route to its Routes appears" || show_watcher_log wa
run_ok "ping across it, to an address of the routed network" \
	ip netns exec "$NA" ping -c 2 -i 0.1 -W 2 10.82.0.1
kill -TERM "$pr"
reap "$pr" 10
wait_for 2 not_routed
ok $? "the peer stops: the route is gone"
peer_routed
wait_for 5 routed
ok $? "the peer is back: so is the route"

# --- a hook of one's own ------------------------------------------------------------------------

peer_own
wait_for 5 grep -q '^end up' "$WORK/own.calls"
ok $? "own's hook ran up" || show_watcher_log wa
wait_for 2 grep -q 'own: hook up: and to stderr' "$WORK/wa.log"
ok $? "its stdout and stderr are in the watcher's log"
like "$(cat "$WORK/wa.log")" 'own: hook up: hello from up' "line by line, with the link's name"

# Its down waits for its up: up takes 1 s, the peer goes meanwhile.
echo slow >"$WORK/own.mode"
: >"$WORK/own.calls"
kill -TERM "$po"
reap "$po" 10
wait_for 5 grep -q '^end down' "$WORK/own.calls"
peer_own
wait_for 5 grep -q '^start up' "$WORK/own.calls"
kill -TERM "$po"
reap "$po" 10
ends() { [ "$(grep -c '^end' "$WORK/own.calls")" -ge "$1" ]; }
wait_for 10 ends 3
ok $? "down, up and down again all ran" || { diag "$(cat "$WORK/own.calls")"; show_watcher_log wa; }
is "$(awk '{ print $1, $2 }' "$WORK/own.calls" | tr '\n' ' ')" \
	"start down end down start up end up start down end down " \
	"one after the other, in the order of the transitions"

# Other links do not wait: routed goes down and up while own's hook runs.
: >"$WORK/own.calls"
peer_own
wait_for 5 grep -q '^start up' "$WORK/own.calls"
kill -TERM "$pr"
reap "$pr" 10
ms=$(ms_until 2 not_routed)
ok $? "while own's slow hook runs, routed's down hook runs (after ${ms:-more than 2000} ms)"
ok "$(grep -c '^end up' "$WORK/own.calls")" "before own's hook is done"
peer_routed
wait_for 5 grep -q '^end up' "$WORK/own.calls"

# A hook that fails.
echo fail >"$WORK/own.mode"
kill -TERM "$po"
reap "$po" 10
wait_for 5 grep -q 'own: error: hook down failed: exit status 3' "$WORK/wa.log"
ok $? "a failing hook is logged with its exit status" || show_watcher_log wa

# A hook that hangs, and ignores SIGTERM: killed with its child after 3 s and the grace.
echo hang >"$WORK/own.mode"
rm -f "$WORK/own.pids"
start=$(now_ms)
peer_own
wait_for 5 test -s "$WORK/own.pids"
read -r hook_pid sleep_pid <"$WORK/own.pids"
wait_for 10 grep -q 'own: error: hook up killed by Killed: it ran longer than 3 s' "$WORK/wa.log"
ok $? "a hook that hangs is killed" || show_watcher_log wa
secs=$((($(now_ms) - start) / 1000))
ok $((secs < 4 || secs > 8)) "after the time limit and the grace ($secs s)"
like "$(cat "$WORK/wa.log")" 'own: warning: hook up still runs after 3 s: SIGTERM' \
	"SIGTERM first, which it ignored"
ok "$(gone "$hook_pid"; echo $?)" "the hook is gone"
wait_for 2 gone "$sleep_pid" # killed with it, then an orphan until init reaps it
ok $? "and so is what it started"
is "$(children "$wa")" 0 "the watcher has no child left"

echo ok >"$WORK/own.mode"
kill -TERM "$po"
reap "$po" 10
wait_for 5 grep -q '^end down' "$WORK/own.calls"
ok $? "the next hook runs as usual"

# --- SIGHUP ------------------------------------------------------------------------------------

# routed gets other Routes: its down with the old ones, its up with the new;
# bridged goes: no longer watched, left as it is.
routed_to() { ip -n "$NA" route show "$1" dev vrt81 proto static | grep -q .; }
sed -i 's|^Routes = .*|Routes = 10.84.0.0/16|' "$CONF/routed.conf"
rm "$CONF/bridged.conf"
kill -HUP "$wa"
wait_for 5 grep -q 'configuration reloaded: 2 links (0 added, 1 changed, 1 removed)' "$WORK/wa.log"
ok $? "SIGHUP: the watcher reloads" || show_watcher_log wa
wait_for 5 routed_to 10.84.0.0/16
ok $? "routed's new network is routed"
ok "$(routed_to 10.82.0.0/16; echo $((!$?)))" "its old one is not any more"
ok "$(oper_up "$NA" vrt81; echo $?)" "and the device stayed up"
ok "$(in_bridge; echo $?)" "bridged, removed, is left as it was"
kill -TERM "$pb"
reap "$pb" 10
wait_for 2 grep -q 'bridged: carrier off' "$WORK/left.log"
ok "$(in_bridge; echo $?)" "and its peer's going changes nothing: nobody watches it"

# late: a link the watcher learns of by a reload when its daemons have
# connected already. No watcher ran its hook, so its up runs now.
daemon dl left-late 1 "$NA" --name late --peer 2 --role server --interface vlt81 \
	--address 10.86.0.1 --peer-address 10.86.0.2/32
peer pl late --interface vlt81 --address 10.86.0.2 --peer-address 10.86.0.1/32
wait_state left-late late RUNNING
printf '[Link]\nPeer = 2\nRole = server\nInterface = vlt81\nRoutes = 10.87.0.0/16\n' \
	>"$CONF/late.conf"
kill -HUP "$wa"
wait_for 5 grep -q 'configuration reloaded: 3 links (1 added, 0 changed, 0 removed)' "$WORK/wa.log"
ok $? "SIGHUP: the watcher takes the late link" || show_watcher_log wa
wait_for 5 eval 'ip -n "$NA" route show 10.87.0.0/16 dev vlt81 proto static | grep -q .'
ok $? "its device was up already, and still its hook routes its network" || show_watcher_log wa
like "$(grep 'late:' "$WORK/wa.log")" 'late: both daemons connected \(domain 2\): up, hook up' \
	"the log says so"
kill -TERM "$pl" "$dl"
reap "$pl" 10
reap "$dl" 10

kill -TERM "$wa"
reap "$wa" 10
is $? 0 "the watcher exits 0"
kill -TERM "$pr" "$da"
reap "$pr" 10
reap "$da" 10
is $? 0 "domain 1's daemon exits 0"

done_testing

#!/usr/bin/env bash
# vchan-tun-watch in dom0, for dom0's end of a link to the guest named
# "guest80" (Watched = yes, a recording hook): when the guest's daemon starts,
# the watcher sets the device up, which with the daemon's carrier makes it
# operationally UP within a second, and runs the hook `up` once, with the
# link in its environment and nothing else; when the guest's daemon stops
# (SIGTERM) or its domain is destroyed, the link is down within a second and
# the hook runs `down` once. A destroyed guest comes back under a new domain
# id, which the watcher follows by name. Twenty times, after which the
# watcher and the daemon hold as many descriptors and XenStore as many
# watches as before, and the watcher has no child left.
# shellcheck source=SCRIPTDIR/../lib.sh
# shellcheck disable=SC2154,SC2317,SC2119 # spawn sets variables by name; sim_start takes no $1
. "$(dirname "$0")/../lib.sh"
# shellcheck source=SCRIPTDIR/../daemon-lib.sh
. "$TOP/netns-tests/daemon-lib.sh"
# shellcheck source=SCRIPTDIR/../watch-lib.sh
. "$TOP/netns-tests/watch-lib.sh"

ROUNDS=20
IF=vchan-guest80

sim_start
netns_add N0
netns_add NG
CONF="$WORK/conf0"
mkdir -p "$CONF"
record_hook w0
cat >"$CONF/g80.conf" <<EOF
[Link]
Peer = guest80
Role = client
Watched = yes
Address = 10.80.0.1
PeerAddress = 10.80.0.2/32
Routes = 10.81.0.0/16, fd81::/48
Hook = $WORK/w0.hook
EOF

daemon d0 dom0 0 "$N0" --config-dir "$CONF"
watcher w0 w0 0 "$N0" --config-dir "$CONF"
wait_for 5 dev_exists "$N0" "$IF"
ok $? "dom0's daemon made $IF before its peer exists"
wait_for 5 grep -q 'watching 1 link as domain 0' "$WORK/w0.log"
ok $? "the watcher runs" || show_watcher_log w0
ok "$(admin_up "$N0" "$IF"; echo $((!$?)))" "Watched = yes: the daemon left $IF down"
is "$(hook_calls w0)" 0 "no hook ran yet"

domid=5
start_guest() {
	"$XENSIM" domain list | grep -q "^$domid " || sim_domain "$domid" guest80
	daemon dg guest "$domid" "$NG" --name g80 --peer 0 --role server \
		--address 10.80.0.2 --peer-address 10.80.0.1/32
}

# Rounds at least a second apart: closer, the watcher damps the link as one
# that flaps (pace.h: a penalty of 1000 per end, halved every second, damped
# above 5000), which 88-storms tests; here each round must come up at once.
last_down_ms=0
pace_rounds() {
	local left=$((last_down_ms + 1000 - $(now_ms)))
	[ "$left" -gt 0 ] && sleep "$(printf '%d.%03d' $((left / 1000)) $((left % 1000)))"
	return 0
}

# up_round N: the guest's daemon starts; up within a second, hook `up` for the Nth time.
up_round() {
	local n=$1 ms
	pace_rounds
	start_guest
	ms=$(ms_until 5 oper_up "$N0" "$IF")
	ok $? "round $n: $IF is operationally UP after ${ms:-more than 5000} ms" ||
		show_watcher_log w0
	ok $((${ms:-9999} > 1000)) "round $n: within one second" ||
		{ show_daemon_log dom0; show_daemon_log guest; show_watcher_log w0; }
	wait_calls w0 $((2 * n - 1))
	is "$(hook_calls w0 up) $(hook_calls w0 down)" "$n $((n - 1))" \
		"round $n: the hook ran up once more"
}

# down_round N HOW: the guest's daemon stops (HOW: term) or its domain goes (destroy).
down_round() {
	local n=$1 how=$2 ms
	if [ "$how" = term ]; then
		kill -TERM "$dg"
		reap "$dg" 10 >/dev/null 2>&1
	else
		"$XENSIM" domain destroy "$domid"
		domid=$((domid + 1))
	fi
	ms=$(ms_until 5 oper_not_up "$N0" "$IF")
	ok $? "round $n ($how): $IF is not UP after ${ms:-more than 5000} ms" ||
		show_watcher_log w0
	# xensim killed the destroyed domain's processes, as Xen does
	[ "$how" = term ] || reap "$dg" 10 >/dev/null 2>&1
	ok $((${ms:-9999} > 1000)) "round $n ($how): within one second"
	last_down_ms=$(now_ms)
	wait_calls w0 $((2 * n))
	is "$(hook_calls w0 up) $(hook_calls w0 down)" "$n $n" \
		"round $n ($how): the hook ran down once more"
}

# --- the first round, closely ---------------------------------------------------------------

up_round 1
is "$(last_call w0)" "argv: up
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
VCHAN_TUN_ACTION=up
VCHAN_TUN_ADDRESSES=10.80.0.1/32
VCHAN_TUN_BRIDGE=
VCHAN_TUN_INTERFACE=$IF
VCHAN_TUN_LINK=g80
VCHAN_TUN_MODE=tun
VCHAN_TUN_PEER_ADDRESSES=10.80.0.2/32
VCHAN_TUN_PEER_DOMID=5
VCHAN_TUN_PEER_NAME=guest80
VCHAN_TUN_ROUTES=10.81.0.0/16 fd81::/48" \
	"the hook got 'up' as its argument and the link, and nothing else, as its environment"
like "$(cat "$WORK/w0.log")" 'g80: (peer|our) daemon connected \(domain 5 guest80\): up, hook up' \
	"the watcher's log says what happened and why"
is "$(state_key 0 5 g80)" connected "dom0's daemon says connected in XenStore"
is "$(state_key 5 0 g80)" connected "and so does the guest's"
run_ok "ping across the link" ip netns exec "$N0" ping -c 2 -i 0.1 -W 2 10.80.0.2

down_round 1 term
is "$(last_call w0 | grep -E '^(argv|VCHAN_TUN_ACTION)')" "argv: down
VCHAN_TUN_ACTION=down" "the hook got 'down'"
# whichever daemon the watcher hears of first: the peer's going, or ours losing it
like "$(cat "$WORK/w0.log")" 'g80: (peer daemon gone|our daemon connecting) \(domain 5 guest80\): down, hook down' \
	"the log says why the link went down"
is "$(state_key 5 0 g80)" "" "SIGTERM: the guest's daemon removed its state key"

up_round 2
down_round 2 destroy
like "$(cat "$WORK/w0.log")" 'down, hook down' "destroying the guest's domain brings the link down"

# --- the other rounds: the same, and nothing leaks -----------------------------------------------

w0_fds=$(fds "$w0")
d0_fds=$(fds "$d0")
watches=$(xs_watches)
diag "after round 2: watcher $w0_fds fds, daemon $d0_fds fds, $watches XenStore watches"
for ((n = 3; n <= ROUNDS; n++)); do
	up_round "$n"
	if ((n % 2)); then
		down_round "$n" term
	else
		down_round "$n" destroy
	fi
done
is "$(last_call w0 | sed -n 's/^VCHAN_TUN_PEER_DOMID=//p')" $((domid - 1)) \
	"the last down was for the guest's last domain id, $((domid - 1))"
is "$(fds "$w0")" "$w0_fds" "the watcher holds as many descriptors as after round 2"
is "$(fds "$d0")" "$d0_fds" "so does dom0's daemon"
is "$(xs_watches)" "$watches" "and XenStore holds as many watches"
is "$(children "$w0")" 0 "no hook process is left"

# --- SIGTERM leaves the link as it is -------------------------------------------------------------

up_round $((ROUNDS + 1))
kill -TERM "$w0"
reap "$w0" 10
is $? 0 "SIGTERM: the watcher exits 0"
ok "$(oper_up "$N0" "$IF"; echo $?)" "and leaves the link UP"
is "$(hook_calls w0)" $((2 * ROUNDS + 1)) "without running a hook"
like "$(tail -n 1 "$WORK/w0.log")" 'SIGTERM|Terminated: stopping; the links stay as they are' \
	"it says it leaves the links alone"

kill -TERM "$dg" "$d0"
reap "$dg" 10
reap "$d0" 10
is $? 0 "dom0's daemon exits 0"
run_fails "it removed its state key and the directories it brought" \
	sim_exec 0 - xenstore-exists /local/domain/0/data/vchan-tun

done_testing

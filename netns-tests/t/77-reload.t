#!/usr/bin/env bash
# SIGHUP re-reads the configuration directory: a new file starts a link, a
# removed one stops its link (device gone, peer without carrier), one whose
# MTU and addresses changed takes them in place (same device, same ifindex;
# the old address gone, the new one there, a new channel that agrees on the
# MTU; Watched set and unset too), one whose Interface changed restarts (the
# log says which key), and an unchanged one (even rewritten with other
# comments) is not touched: its channel stays up and a ping across it loses
# nothing. A broken file makes the reload fail with the configuration's
# message (vchan-tunctl reload exits 1) and changes nothing.
# shellcheck source=SCRIPTDIR/../lib.sh
# shellcheck disable=SC2154,SC2317,SC2119 # spawn sets variables by name; sim_start takes no $1
. "$(dirname "$0")/../lib.sh"
# shellcheck source=SCRIPTDIR/../daemon-lib.sh
. "$TOP/netns-tests/daemon-lib.sh"

sim_start
sim_domain 1 host
netns_add N1
CONF="$WORK/conf1"
mkdir -p "$CONF"
declare -A NS
for g in 2 3 4 5 6; do
	sim_domain "$g"
	netns_add "NS_$g"
	v="NS_$g"
	NS[$g]=${!v}
done

link_file() { # link_file NAME DOMID [EXTRA]: the host's end of a link to guest DOMID
	printf '# link to guest %s\n[Link]\nPeer = %s\nRole = server\nAddress = 10.77.1%s.1\nPeerAddress = 10.77.1%s.2\n%b' \
		"$2" "$2" "$2" "$2" "${3:-}" >"$CONF/$1.conf"
}
link_file keep 2
link_file change 3 'Address = 10.77.113.1\n'
link_file drop 4
link_file move 6

daemon d1 host 1 "$N1" --config-dir "$CONF"
start_guest() { # start_guest DOMID NAME (the daemon runs until the test ends)
	# shellcheck disable=SC2034
	local guest_pid
	daemon guest_pid "guest$1" "$1" "${NS[$1]}" --name "$2" --peer 1 --role client \
		--address "10.77.1$1.2" --peer-address "10.77.1$1.1/32"
}
start_guest 2 keep
start_guest 3 change
start_guest 4 drop
start_guest 5 add
start_guest 6 move
for l in keep change drop move; do
	wait_state host "$l" RUNNING || bail_out "no link $l"
done
is "$(field host add state)" "" "link add is not configured yet"
since=$(field host keep since)
ifindex() { ip -n "$N1" -o link show dev "$1" | cut -d: -f1; }
changed_ifindex=$(ifindex vchan3)

spawn ping "$WORK/ping" ip netns exec "${NS[2]}" ping -c 40 -i 0.05 -W 2 10.77.12.1
link_file keep 2 '# rewritten, same settings\n'
link_file change 3 'MTU = 1400\nAddress = 10.77.213.1\n'
rm "$CONF/drop.conf"
link_file add 5
link_file move 6 'Interface = vmove\n'
kill -HUP "$d1"

wait_state host add RUNNING
wait_state host change RUNNING
wait_state host move RUNNING
wait_for 5 no_carrier "${NS[4]}" vchan1
ok $? "the removed link's peer shows NO-CARRIER"
ok "$(dev_exists "$N1" vchan4; echo $((!$?)))" "the removed link's device is gone"
is "$(field host drop state)" "" "and status no longer lists it"
is "$(ifindex vchan3)" "$changed_ifindex" "the changed link kept its device (same ifindex)"
like "$(ip -n "$N1" link show dev vchan3)" 'mtu 1400' "with the new MTU"
addrs=$(ip -n "$N1" -4 -o addr show dev vchan3)
like "$addrs" 'inet 10\.77\.213\.1/32' "and the new address"
is "$(grep -c '10\.77\.113\.1' <<<"$addrs")" 0 "without the one no longer configured"
like "$addrs" 'inet 10\.77\.13\.1 peer 10\.77\.13\.2/32' "and with the one kept, and its peer"
is "$(field host change agreed mtu)" 1400 "the channel agreed on the new MTU"
is "$(field guest3 change reconnects)" 1 "its peer saw one reconnect"
run_ok "ping across the changed link" ip netns exec "${NS[3]}" ping -c 2 -i 0.1 -W 2 10.77.13.1
ok "$(dev_exists "$N1" vchan6; echo $((!$?)))" "the link with a new Interface restarted: vchan6 is gone"
ok "$(dev_exists "$N1" vmove; echo $?)" "and vmove is there"
like "$(cat "$WORK/host.log")" 'move: stopped: configuration changed \(Interface\): restarting' \
	"the log says which key made it restart"
run_ok "ping across the restarted link" ip netns exec "${NS[6]}" ping -c 2 -i 0.1 -W 2 10.77.16.1
is "$(field host keep since)" "$since" "the unchanged link was not touched (same 'since')"
is "$(field host keep connects)" 1 "and still on its first channel"
is "$(field guest2 keep reconnects)" 0 "its peer saw no reconnect"
reap "$ping" 20
is $? 0 "a ping across the unchanged link during the reload succeeded"
like "$(cat "$WORK/ping")" ' 0% packet loss' "without losing a packet"
like "$(cat "$WORK/host.log")" \
	'configuration reloaded: 4 links \(1 added, 1 changed in place, 1 restarted, 1 removed, 1 unchanged\)' \
	"the log sums the reload up"
run_ok "ping across the added link" ip netns exec "${NS[5]}" ping -c 2 -i 0.1 -W 2 10.77.15.1

# --- Watched, in place ---------------------------------------------------------------------

# Watched: the device is the watcher's to set down (as ip does here); no longer
# Watched: the daemon's again, and it sets it up; the device stays the same.
link_file change 3 'MTU = 1400\nAddress = 10.77.213.1\nWatched = yes\n'
is "$(ctl host reload 2>&1)" \
	"reloaded: 4 links (0 added, 1 changed in place, 0 restarted, 0 removed, 3 unchanged)" \
	"Watched = yes: changed in place"
ip -n "$N1" link set vchan3 down
wait_for 5 sh -c "! ip -n '$N1' link show dev vchan3 | grep -q '[<,]UP[,>]'"
ok $? "the device is down, as a watcher would set it"
link_file change 3 'MTU = 1400\nAddress = 10.77.213.1\n'
is "$(ctl host reload 2>&1)" \
	"reloaded: 4 links (0 added, 1 changed in place, 0 restarted, 0 removed, 3 unchanged)" \
	"Watched = no: changed in place"
wait_for 5 sh -c "ip -n '$N1' link show dev vchan3 | grep -q '[<,]UP[,>]'"
ok $? "the daemon set its device up again"
is "$(ifindex vchan3)" "$changed_ifindex" "the same device throughout"
run_ok "ping across it" ip netns exec "${NS[3]}" ping -c 2 -i 0.1 -W 2 10.77.13.1

# --- a reload that fails --------------------------------------------------------------------

printf '[Link]\nPeer = 2\nRole = server\nMTU = huge\n' >"$CONF/zz-broken.conf"
out=$(ctl host reload 2>&1)
is $? 1 "vchan-tunctl reload exits 1 on a broken file"
is "$out" "vchan-tunctl: $CONF/zz-broken.conf:4: MTU = 'huge': expected a number from 68 to 65535" \
	"with the configuration's message"
is "$(field host keep state)" RUNNING "the running links are left as they were"
is "$(field host keep since)" "$since" "untouched"
rm "$CONF/zz-broken.conf"
out=$(ctl host reload 2>&1)
is $? 0 "vchan-tunctl reload exits 0 once the file is gone"
is "$out" "reloaded: 4 links (0 added, 0 changed in place, 0 restarted, 0 removed, 4 unchanged)" \
	"and says nothing changed"

kill -TERM "$d1"
reap "$d1" 10
is $? 0 "the daemon exits 0"

done_testing

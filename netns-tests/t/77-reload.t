#!/usr/bin/env bash
# SIGHUP re-reads the configuration directory: a new file starts a link, a
# removed one stops its link (device gone, peer without carrier), a changed
# one restarts its link with the new settings, and an unchanged one (even
# rewritten with other comments) is not touched: its channel stays up and a
# ping across it loses nothing. A broken file makes the reload fail with the
# configuration's message (vchan-tunctl reload exits 1) and changes nothing.
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
for g in 2 3 4 5; do
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
link_file change 3
link_file drop 4

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
for l in keep change drop; do
	wait_state host "$l" RUNNING || bail_out "no link $l"
done
is "$(field host add state)" "" "link add is not configured yet"
since=$(field host keep since)

spawn ping "$WORK/ping" ip netns exec "${NS[2]}" ping -c 40 -i 0.05 -W 2 10.77.12.1
link_file keep 2 '# rewritten, same settings\n'
link_file change 3 'MTU = 1400\n'
rm "$CONF/drop.conf"
link_file add 5
kill -HUP "$d1"

wait_state host add RUNNING
wait_state host change RUNNING
wait_for 5 no_carrier "${NS[4]}" vchan1
ok $? "the removed link's peer shows NO-CARRIER"
ok "$(dev_exists "$N1" vchan4; echo $((!$?)))" "the removed link's device is gone"
is "$(field host drop state)" "" "and status no longer lists it"
like "$(ip -n "$N1" link show dev vchan3)" 'mtu 1400' "the changed link's device has the new MTU"
is "$(field host change agreed mtu)" 1400 "and the channel agreed on it"
is "$(field guest3 change reconnects)" 1 "its peer saw one reconnect"
is "$(field host keep since)" "$since" "the unchanged link was not touched (same 'since')"
is "$(field host keep connects)" 1 "and still on its first channel"
is "$(field guest2 keep reconnects)" 0 "its peer saw no reconnect"
reap "$ping" 20
is $? 0 "a ping across the unchanged link during the reload succeeded"
like "$(cat "$WORK/ping")" ' 0% packet loss' "without losing a packet"
like "$(cat "$WORK/host.log")" 'configuration reloaded: 3 links \(1 added, 1 changed, 1 removed, 1 unchanged\)' \
	"the log sums the reload up"
run_ok "ping across the added link" ip netns exec "${NS[5]}" ping -c 2 -i 0.1 -W 2 10.77.15.1

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
is "$out" "reloaded: 3 links (0 added, 0 changed, 0 removed, 3 unchanged)" "and says nothing changed"

kill -TERM "$d1"
reap "$d1" 10
is $? 0 "the daemon exits 0"

done_testing

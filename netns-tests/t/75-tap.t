#!/usr/bin/env bash
# TAP mode: Ethernet frames, the device a port of a Linux bridge in each
# namespace, addresses on the bridges; ping across (ARP included), the full
# MTU. The server's device is persistent: after kill -9 of its daemon it
# stays in the bridge, and the restarted daemon takes it over and carries
# traffic again without anyone re-adding it; SIGTERM leaves it too.
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

bridge_up() { # bridge_up NS V4 V6
	ip -n "$1" link add br0 type bridge stp_state 0 &&
		ip -n "$1" addr add "$2" dev br0 &&
		ip -n "$1" addr add "$3" dev br0 nodad &&
		ip -n "$1" link set br0 up
}
run_ok "a bridge in domain 1's namespace" bridge_up "$NA" 10.77.5.1/24 fd77:5::1/64
run_ok "a bridge in domain 2's namespace" bridge_up "$NB" 10.77.5.2/24 fd77:5::2/64

# what each side's bridge may send from: the subnets behind it (the source filter)
SOURCES=10.77.5.0/24,fd77:5::/64
start_left() {
	daemon da left 1 "$NA" --name t75 --peer 2 --role server --mode tap --interface vtap \
		--persistent --allowed-sources "$SOURCES"
}
start_left
daemon db right 2 "$NB" --name t75 --peer 1 --role client --mode tap --interface vtap \
	--allowed-sources "$SOURCES"

wait_for 10 dev_exists "$NA" vtap
ok $? "domain 1's daemon created vtap"
wait_for 10 dev_exists "$NB" vtap
ok $? "domain 2's daemon created vtap"
like "$(ip -n "$NA" -d link show dev vtap)" 'tun type tap pi off' "it is a TAP device, without packet information"
run_ok "vtap joins br0 in domain 1" ip -n "$NA" link set vtap master br0
run_ok "vtap joins br0 in domain 2" ip -n "$NB" link set vtap master br0

wait_state left t75 RUNNING || bail_out "no link"
wait_state right t75 RUNNING || bail_out "no link"
is "$(field left t75 agreed max_payload)" 65564 \
	"the agreed payload fits a 64 KiB super-packet with an Ethernet header, a VLAN tag and a virtio-net header"

forwarding() { bridge -n "$1" link show dev vtap | grep -q 'state forwarding'; }
wait_for 5 forwarding "$NA"
ok $? "the bridge port is forwarding"
run_ok "ping across the bridges, IPv4 (ARP first)" ip netns exec "$NA" ping -c 3 -i 0.1 -W 2 10.77.5.2
run_ok "ping across the bridges, IPv6 (neighbour discovery first)" \
	ip netns exec "$NB" ping -c 3 -i 0.1 -W 2 fd77:5::1
run_ok "a full-MTU ping crosses" ip netns exec "$NA" ping -c 2 -i 0.1 -W 2 -M "do" -s 1472 10.77.5.2
like "$(ip -n "$NA" neigh show dev br0 10.77.5.2)" 'lladdr' "domain 1 learned domain 2's MAC by ARP"

# --- a persistent device outlives its daemon ------------------------------------------------

mac=$(ip -n "$NA" -br link show dev vtap | awk '{ print $3 }')
kill -9 "$da"
reap "$da" 5
ok "$(dev_exists "$NA" vtap; echo $?)" "kill -9: the persistent vtap stays"
like "$(ip -n "$NA" link show dev vtap)" 'master br0' "and stays in the bridge"
wait_for 2 no_carrier "$NB" vtap
ok $? "the other side shows NO-CARRIER"
ok "$(no_carrier "$NA" vtap; echo $?)" "and so does the orphaned device"

start_left
wait_state left t75 RUNNING
like "$(cat "$WORK/left.log")" 'device vtap ready \(tap, mtu 1500, 0 addresses, persistent\)' \
	"the new daemon took the persistent vtap over"
is "$(ip -n "$NA" -br link show dev vtap | awk '{ print $3 }')" "$mac" "the same device (same MAC)"
like "$(ip -n "$NA" link show dev vtap)" 'master br0' "still in the bridge, nobody re-added it"
wait_for 5 forwarding "$NA"
run_ok "ping works again" ip netns exec "$NA" ping -c 3 -i 0.1 -W 2 10.77.5.2

kill -TERM "$da"
reap "$da" 10
is $? 0 "SIGTERM: the server exits 0"
ok "$(dev_exists "$NA" vtap; echo $?)" "and leaves its persistent device"
kill -TERM "$db"
reap "$db" 10
is $? 0 "SIGTERM: the client exits 0"
ok "$(dev_exists "$NB" vtap; echo $((!$?)))" "and removes its device, which is not persistent"

done_testing

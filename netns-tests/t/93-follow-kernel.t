#!/usr/bin/env bash
# vchan-tund follows what ip(8) does to its device (vchan-tund(8), "The
# device"): another MTU is undone with one log line, an admin down is
# reported and respected (the peer's packets are counted as "device down",
# not as refused), the next admin up brings the configured addresses back
# (IPv6 ones too, which Linux drops on down), a rename is followed, an
# address of ours removed is logged and back after the next down and up or
# a reload, while one the administrator added is left alone, announcements
# lost in an overrun are made up for by reading the device again, and a
# deleted device is made again at once. Status shows the device as the
# kernel has it.
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

daemon da left 1 "$NA" --name t93 --peer 2 --role server \
	--address 10.93.0.1 --peer-address 10.93.0.2/32 --address fd93::1/64
daemon db right 2 "$NB" --name t93 --peer 1 --role client \
	--address 10.93.0.2 --peer-address 10.93.0.1/32 --address fd93::2/64

wait_state left t93 RUNNING || bail_out "no link"
wait_state right t93 RUNNING || bail_out "no link"

LOG="$WORK/left.log"
ifindex=$(ip netns exec "$NA" cat /sys/class/net/vchan2/ifindex)
like "$(ctl left status --json)" \
	"\"device\":\\{\"name\":\"vchan2\",\"ifindex\":$ifindex,\"mtu\":1500,\"admin_up\":true\\}" \
	"JSON: the device as the kernel has it: name, ifindex, MTU, administratively up"

pings_ok() { # pings_ok DESC: both families, both ways
	run_ok "$1: IPv4 from the peer" ip netns exec "$NB" ping -c 2 -i 0.1 -W 2 10.93.0.1
	run_ok "$1: IPv4 to the peer" ip netns exec "$NA" ping -c 2 -i 0.1 -W 2 10.93.0.2
	run_ok "$1: IPv6 from the peer" ip netns exec "$NB" ping -c 2 -i 0.1 -W 2 fd93::1
	run_ok "$1: IPv6 to the peer" ip netns exec "$NA" ping -c 2 -i 0.1 -W 2 fd93::2
}
count() { # count REGEX: lines of the left daemon's log that match
	grep -cE "$1" "$LOG"
}
logged() { # logged REGEX
	grep -qE "$1" "$LOG"
}
mtu_is() { # mtu_is IFNAME MTU
	ip -n "$NA" link show dev "$1" 2>/dev/null | grep -q "mtu $2 "
}
has_addr() { # has_addr IFNAME REGEX: in ip addr show
	ip -n "$NA" addr show dev "$1" 2>/dev/null | grep -qE "$2"
}
field_is() { # field_is LINK VALUE KEY...
	local link=$1 want=$2
	shift 2
	[ "$(field left "$link" "$@")" = "$want" ]
}
at_least() { # at_least N KEY...: a counter of the left end
	local n=$1
	shift
	[ "$(field left t93 "$@")" -ge "$n" ]
}

# --- the MTU -------------------------------------------------------------------

ip -n "$NA" link set vchan2 mtu 9000
ok $? "ip accepts MTU 9000 on vchan2"
wait_for 5 logged 'MTU of vchan2 was set to 9000'
ok $? "the daemon notices"
wait_for 5 mtu_is vchan2 1500
ok $? "and restores the link's MTU, 1500"
like "$(grep 'MTU of vchan2' "$LOG")" \
	'was set to 9000 \(with ip\?\); the link.s MTU is 1500 and is restored: to change it, restart vchan-tund with --mtu' \
	"the log line says what was set, the link's MTU and how to change it"
is "$(count 'MTU of vchan2 was set')" 1 "in one line"
is "$(field left t93 device mtu)" 1500 "JSON: the device's MTU is 1500"
like "$(ctl left status)" 'interface vchan2 \(tun, mtu 1500\)' "text: mtu 1500"

# --- admin down ----------------------------------------------------------------

ip -n "$NA" link set vchan2 down
# field prints JSON's false as 0, true as 1
wait_for 5 field_is t93 0 device admin_up
ok $? "after ip link set down, JSON: admin_up false"
like "$(ctl left status --json)" '"admin_up":false' "(false, in the JSON itself)"
like "$(ctl left status)" 'interface vchan2 \(tun, mtu 1500, administratively down\)' \
	"text: the interface is administratively down"
is "$(field left t93 state)" RUNNING "the channel stays up (the peer is still there)"
is "$(count 'device vchan2 is administratively down')" 1 "one log line says so"
run_fails "the peer's pings fail" ip netns exec "$NB" ping -c 5 -i 0.1 -W 1 10.93.0.1
wait_for 5 at_least 5 rx drops device_down
ok $? "its packets are counted as dropped with the device down ($(field left t93 rx drops device_down))"
is "$(field left t93 rx drops tun_write)" 0 "and not as refused by the device (tun write)"
like "$(ctl left status)" ' 0 tun write, [0-9]+ device down' "text: the counter, by name"
run_ok "ip shows the device still down: the daemon leaves it so" \
	bash -c "! ip -n '$NA' link show dev vchan2 | grep -q '[<,]UP[,>]'"
ok "$(has_addr vchan2 'inet6 fd93::1/' && echo 1 || echo 0)" "Linux dropped its IPv6 address"
ok "$(count 'address .* was removed')" "which is not reported as a removal by someone"

# --- admin up -------------------------------------------------------------------

ip -n "$NA" link set vchan2 up
wait_for 5 has_addr vchan2 'inet6 fd93::1/64'
ok $? "after ip link set up, the IPv6 address is back"
ok "$(has_addr vchan2 'inet 10\.93\.0\.1 peer 10\.93\.0\.2/32'; echo $?)" "and the IPv4 one"
is "$(field left t93 device admin_up)" 1 "JSON: admin_up true"
is "$(count 'device vchan2 is up again: its 2 addresses restored')" 1 "one log line says so"
pings_ok "after down and up"

# --- rename ---------------------------------------------------------------------

# Linux renames only a device that is down
ip -n "$NA" link set vchan2 down
ip -n "$NA" link set vchan2 name x93
ip -n "$NA" link set x93 up
wait_for 5 field_is t93 x93 device name
ok $? "after a rename, JSON: the device's name is x93"
is "$(field left t93 device ifindex)" "$ifindex" "and its ifindex is the same"
like "$(ctl left status)" 'interface x93 \(tun, mtu 1500\)' "text: interface x93"
ok "$(logged 'device vchan2 is now called x93'; echo $?)" "the log says so"
wait_for 5 has_addr x93 'inet6 fd93::1/64'
ok $? "the addresses are there under the new name"
pings_ok "after the rename"

# --- an address removed ----------------------------------------------------------

ip -n "$NA" addr add 10.99.0.1/32 dev x93
ip -n "$NA" addr del 10.93.0.1 peer 10.93.0.2/32 dev x93
wait_for 5 logged 'address 10\.93\.0\.1/32 was removed from x93'
ok $? "our address removed with ip is logged"
is "$(count 'was removed from')" 1 "in one line, and the administrator's address is not ours"
run_fails "IPv4 to the peer fails without it" ip netns exec "$NA" ping -c 1 -W 1 10.93.0.2
ip -n "$NA" link set x93 down
ip -n "$NA" link set x93 up
wait_for 5 has_addr x93 'inet 10\.93\.0\.1 peer 10\.93\.0\.2/32'
ok $? "after down and up, our address is back"
ok "$(has_addr x93 'inet 10\.99\.0\.1/32'; echo $?)" "and the administrator's is left alone"
pings_ok "with the address back"

ip -n "$NA" addr del fd93::1/64 dev x93
wait_for 5 logged 'address fd93::1/64 was removed from x93'
ok $? "an IPv6 address of ours removed is logged too"
kill -HUP "$da"
wait_for 5 has_addr x93 'inet6 fd93::1/64'
ok $? "and a reload (SIGHUP) brings it back"
is "$(count 'reload: its 2 addresses restored')" 1 "one log line says so"
run_ok "IPv6 to the peer works again" ip netns exec "$NA" ping -c 2 -i 0.1 -W 2 fd93::2

# A down and up that the daemon hears of only afterwards: by then the device
# is up, the daemon restores the IPv6 address that Linux dropped, and the
# removal it reads next is older than that, not one to warn of.
removed=$(count 'was removed from')
restored=$(count 'device x93 is up again')
kill -STOP "$da"
ip -n "$NA" link set x93 down
ip -n "$NA" link set x93 up
kill -CONT "$da"
wait_for 5 has_addr x93 'inet6 fd93::1/64'
ok $? "a down and up heard late: the IPv6 address is back"
wait_for 5 eval '[ "$(count "device x93 is up again")" -gt "$restored" ]'
ok $? "the log says it was restored"
# announcements come in order: once the daemon has heard of this MTU, it
# has read the removal's too
ip -n "$NA" link set x93 mtu 9001
wait_for 5 logged 'x93 was set to 9001'
ok $? "(the daemon has read on past the removal's announcement)"
is "$(count 'was removed from')" "$removed" "and warns of no removal: Linux's, before the restore, is no news"
run_ok "IPv6 to the peer works" ip netns exec "$NA" ping -c 2 -i 0.1 -W 2 fd93::2

# --- announcements lost ------------------------------------------------------------

# Stopped, the daemon reads nothing while another device changes its MTU
# thousands of times (a few KiB of announcement each): its socket overruns,
# and the MTU set after them is heard of only by reading every device's
# state again.
ip -n "$NA" tuntap add dev f93 mode tun
for i in $(seq 0 2999); do
	echo "link set f93 mtu $((1000 + i))"
done >"$WORK/flood"
kill -STOP "$da"
ip -n "$NA" -batch "$WORK/flood"
ip -n "$NA" link set x93 mtu 9000
kill -CONT "$da"
wait_for 10 logged "missed some of the kernel's announcements"
ok $? "an overrun of the netlink socket is logged"
wait_for 5 mtu_is x93 1500
ok $? "and the MTU set meanwhile is restored all the same"
ip -n "$NA" link del f93
run_ok "the link still carries packets" ip netns exec "$NB" ping -c 2 -i 0.1 -W 2 10.93.0.1

# --- deleted -------------------------------------------------------------------------

ip -n "$NA" link del x93
wait_for 5 logged 'device x93 failed \(deleted \(ip link del\?\)\): recreating it'
ok $? "a deleted device is noticed at once"
wait_for 10 dev_exists "$NA" vchan2
ok $? "and made again, by its configured name"
wait_state left t93 RUNNING
wait_for 5 field_is t93 vchan2 device name
ok $? "JSON: the device is vchan2 again"
new=$(field left t93 device ifindex)
ok $((new == ifindex)) "with a new ifindex ($new, was $ifindex)"
wait_state right t93 RUNNING
pings_ok "with the device made again"

done_testing

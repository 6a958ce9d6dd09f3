#!/usr/bin/env bash
# The shipped hooks (scripts/vchan-tun-hook, -route, -bridge), called as
# vchan-tun-watch calls them: one argument and a clean environment of
# VCHAN_TUN_* variables, in a network namespace with a TUN device, a TAP
# device and a bridge. Routes come and go exactly; the kernel's own and
# other bridges are left alone; bad values fail with a message that names
# them and change nothing; the default hook picks bridge or routes.
# shellcheck source=SCRIPTDIR/../lib.sh
. "$(dirname "$0")/../lib.sh"

[ "$(id -u)" -eq 0 ] || skip_all "needs root for network namespaces"
HOOKS="$TOP/scripts"

netns_add N
ip -n "$N" tuntap add dev vt0 mode tun
ip -n "$N" tuntap add dev vp0 mode tap
ip -n "$N" link add br85 type bridge
ip -n "$N" link add br86 type bridge
for dev in vt0 vp0 br85 br86; do
	ip -n "$N" link set "$dev" up
done
# 10.85.0.2 is routed by no address; the kernel routes 10.87.0.2, a
# point-to-point peer, itself.
ip -n "$N" addr add 10.85.0.1/24 dev vt0
ip -n "$N" addr add 10.87.0.1 peer 10.87.0.2/32 dev vt0
ip -n "$N" addr add fd85::1/64 dev vt0 nodad

# hook NAME ACTION [VAR=VALUE...]: runs scripts/NAME in N as the watcher
# would, for a TUN link on vt0 unless the assignments say otherwise. Its
# exit status goes to RC, its stderr and stdout to OUT.
hook() {
	local name=$1 action=$2
	shift 2
	OUT=$(ip netns exec "$N" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
		VCHAN_TUN_ACTION="$action" VCHAN_TUN_LINK=t85 VCHAN_TUN_INTERFACE=vt0 \
		VCHAN_TUN_MODE=tun VCHAN_TUN_PEER_DOMID=2 VCHAN_TUN_PEER_NAME=guest85 \
		VCHAN_TUN_ADDRESSES="10.85.0.1/24 10.87.0.1/32 fd85::1/64" \
		VCHAN_TUN_PEER_ADDRESSES="10.85.0.2 10.87.0.2/32 fd85::2" \
		VCHAN_TUN_ROUTES="10.86.0.0/16 fd86::/48" VCHAN_TUN_BRIDGE= \
		"$@" "$HOOKS/$name" "$action" 2>&1)
	RC=$?
}

route_of() { # route_of FAMILY DEST [FILTER...]: the route to exactly DEST through vt0
	local fam=$1 dest=$2
	shift 2
	ip -n "$N" "$fam" route show exact "$dest" dev vt0 "$@"
}

static_routes() { # every route of protocol static in N, both families
	ip -n "$N" -4 route show proto static
	ip -n "$N" -6 route show proto static
}

master_of() { # master_of IFNAME
	ip -n "$N" -o link show dev "$1" | sed -n 's/.* master \([^ ]*\) .*/\1/p'
}

# --- vchan-tun-route -------------------------------------------------------------

hook vchan-tun-route up
is "$RC" 0 "route up exits 0"
like "$(route_of -4 10.86.0.0/16 proto static)" . "up: a route to VCHAN_TUN_ROUTES' IPv4 network"
like "$(route_of -6 fd86::/48 proto static)" . "up: a route to its IPv6 network"
like "$(route_of -4 10.85.0.2/32 proto static)" . "up: a host route to the IPv4 peer address"
like "$(route_of -6 fd85::2/128 proto static)" . "up: a host route to the IPv6 peer address"
like "$(route_of -4 10.87.0.2/32)" 'proto kernel' \
	"up: the kernel's route to a point-to-point peer is left as it is"
is "$(static_routes | wc -l)" 4 "up: four routes, no more"
like "$OUT" '^vchan-tun-route: t85: up: route 10\.86\.0\.0/16 dev vt0' "up: each route is logged"

before=$(static_routes)
hook vchan-tun-route up
is "$RC" 0 "route up again exits 0"
is "$(static_routes)" "$before" "and changes nothing"

ip -n "$N" route add 10.88.0.0/16 dev vt0 proto static
hook vchan-tun-route down
is "$RC" 0 "route down exits 0"
is "$(static_routes | cut -d' ' -f1)" 10.88.0.0/16 \
	"down: the four routes are gone, a static route of another's stays"
like "$(route_of -4 10.87.0.2/32)" 'proto kernel' "down: the kernel's peer route stays"
like "$(route_of -4 10.85.0.0/24)" 'proto kernel' "down: the kernel's prefix route stays"
ip -n "$N" route del 10.88.0.0/16 dev vt0

hook vchan-tun-route down
is "$RC" 0 "route down again, with the routes gone, exits 0"
hook vchan-tun-route down VCHAN_TUN_INTERFACE=vgone
is "$RC" 0 "route down for an interface that is gone exits 0"
like "$OUT" 'vgone is gone' "and says so"

# --- vchan-tun-route: bad values ------------------------------------------------------

fails() { # fails DESC REGEX: the last hook failed, naming the value
	ok $((RC == 0)) "$1: exits non-zero ($RC)"
	like "$OUT" "$2" "$1: the message names the value"
}

hook vchan-tun-route up VCHAN_TUN_PEER_ADDRESSES="10.85.0.300"
fails "a malformed peer address" "error: peer address '10\.85\.0\.300': '10\.85\.0\.300' is not an IPv4 or IPv6 address"
is "$(static_routes)" "" "and no route was added, not even the good ones"
hook vchan-tun-route up VCHAN_TUN_ROUTES="10.86.0.0/16 10.90.0.0/33"
fails "a prefix length too long" "route '10\.90\.0\.0/33': prefix length '33'"
hook vchan-tun-route up VCHAN_TUN_ROUTES="fd86::g/48"
fails "a malformed IPv6 network" "route 'fd86::g/48'"
hook vchan-tun-route up VCHAN_TUN_ROUTES="fd86:1:2:3:4:5:6:7::/64"
fails "an IPv6 address of nine groups" "route 'fd86:1:2:3:4:5:6:7::/64'"
hook vchan-tun-route up VCHAN_TUN_ROUTES="10.86.0.0/016"
fails "a prefix length with a leading zero" "prefix length '016'"
hook vchan-tun-route up VCHAN_TUN_ROUTES="10.86.1.0/16"
fails "a network with host bits set (ip refuses it)" "cannot add the route to 10\.86\.1\.0/16 through vt0"
hook vchan-tun-route sideways
fails "an unknown action" "unknown action 'sideways'"
hook vchan-tun-route up VCHAN_TUN_INTERFACE="a/b"
fails "a bad interface name" "VCHAN_TUN_INTERFACE 'a/b'"
hook vchan-tun-route up VCHAN_TUN_ACTION=down
fails "an action that contradicts VCHAN_TUN_ACTION" "VCHAN_TUN_ACTION 'down' contradicts"
ip -n "$N" -4 route flush proto static
ip -n "$N" -6 route flush proto static

# --- vchan-tun-bridge --------------------------------------------------------------------

TAP=(VCHAN_TUN_INTERFACE=vp0 VCHAN_TUN_MODE=tap VCHAN_TUN_PEER_ADDRESSES= VCHAN_TUN_ROUTES=)

ip -n "$N" link set vp0 down
hook vchan-tun-bridge up "${TAP[@]}" VCHAN_TUN_BRIDGE=br85
is "$RC" 0 "bridge up exits 0"
is "$(master_of vp0)" br85 "up: the TAP device is a port of the bridge"
like "$(ip -n "$N" link show dev vp0)" '<[^>]*[,<]UP[,>]' "up: and it is up"
like "$OUT" 'up: vp0 joined bridge br85' "up: it says so"

hook vchan-tun-bridge down "${TAP[@]}" VCHAN_TUN_BRIDGE=br85
is "$RC" 0 "bridge down exits 0"
is "$(master_of vp0)" "" "down: the device left the bridge"
hook vchan-tun-bridge down "${TAP[@]}" VCHAN_TUN_BRIDGE=br85
is "$RC" 0 "bridge down again exits 0"
ip -n "$N" link set vp0 master br86
hook vchan-tun-bridge down "${TAP[@]}" VCHAN_TUN_BRIDGE=br85
is "$RC" 0 "bridge down for a device moved to another bridge exits 0"
is "$(master_of vp0)" br86 "and leaves it there"
ip -n "$N" link set vp0 nomaster
hook vchan-tun-bridge down "${TAP[@]}" VCHAN_TUN_INTERFACE=vgone VCHAN_TUN_BRIDGE=br85
is "$RC" 0 "bridge down for an interface that is gone exits 0"

hook vchan-tun-bridge up "${TAP[@]}" VCHAN_TUN_BRIDGE=nobr0
fails "a bridge that does not exist" "bridge 'nobr0' does not exist"
ok "$(ip -n "$N" link show dev nobr0 >/dev/null 2>&1; echo $((!$?)))" "and the hook did not create it"
hook vchan-tun-bridge up "${TAP[@]}" VCHAN_TUN_BRIDGE=vt0
fails "a bridge that is no bridge" "VCHAN_TUN_BRIDGE 'vt0' is an interface but not a bridge"
hook vchan-tun-bridge up VCHAN_TUN_BRIDGE=br85
fails "a TUN link with a bridge" "vt0 is a TUN device \(VCHAN_TUN_MODE 'tun'\)"
is "$(master_of vt0)" "" "and the TUN device is in no bridge"
hook vchan-tun-bridge up "${TAP[@]}" VCHAN_TUN_BRIDGE="br 85"
fails "a bridge name with a space" "VCHAN_TUN_BRIDGE 'br 85'"
is "$(master_of vp0)" "" "no failed call put the TAP device in a bridge"

# --- vchan-tun-hook, the default ----------------------------------------------------------

hook vchan-tun-hook up "${TAP[@]}" VCHAN_TUN_BRIDGE=br85
is "$RC" 0 "the default hook with a bridge exits 0"
like "$OUT" '^vchan-tun-bridge: ' "and runs vchan-tun-bridge"
is "$(master_of vp0)" br85 "which adds the device to the bridge"
hook vchan-tun-hook down "${TAP[@]}" VCHAN_TUN_BRIDGE=br85
is "$(master_of vp0)" "" "and on down takes it out"

hook vchan-tun-hook up
is "$RC" 0 "the default hook without a bridge exits 0"
like "$OUT" '^vchan-tun-route: ' "and runs vchan-tun-route"
like "$(route_of -4 10.86.0.0/16 proto static)" . "which adds the routes"
hook vchan-tun-hook down
is "$(static_routes)" "" "and on down removes them"
hook vchan-tun-hook up VCHAN_TUN_ROUTES="10.86.0.0/99"
fails "the default hook passes a failure on" "route '10\.86\.0\.0/99'"

done_testing

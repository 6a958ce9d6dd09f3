#!/usr/bin/env bash
# A guest that completes the handshake honestly and then sends what it may
# not (tools/bad-peer session): an IPv6 router advertisement, to become
# dom0's default router and hand it a prefix; a UDP datagram from an address
# that is not its own. dom0's device takes no orders (accept_ra, autoconf,
# redirects, source routing off, set by the daemon), so dom0's routes and
# addresses stay as they were; the spoofed datagram is dropped before the
# device and counted, while the same datagram from the guest's own address
# is delivered.
# shellcheck source=SCRIPTDIR/../lib.sh
# shellcheck disable=SC2154,SC2317,SC2119 # spawn sets variables by name; sim_start takes no $1
. "$(dirname "$0")/../lib.sh"
# shellcheck source=SCRIPTDIR/../daemon-lib.sh
. "$TOP/netns-tests/daemon-lib.sh"

BAD="$TOOLS/bad-peer"
[ -x "$BAD" ] || bail_out "$BAD not built (run make)"

sim_start
sim_domain 5 hostile
netns_add N0
netns_add NG

mkdir -p "$WORK/conf"
cat >"$WORK/conf/guest.conf" <<EOF
[Link]
Peer = 5
Role = client
Address = 10.79.0.1, fd79::1
PeerAddress = 10.79.0.2/32, fd79::2/128
EOF
daemon d0 dom0 0 "$N0" --config-dir "$WORK/conf"
wait_for 10 dev_exists "$N0" vchan5 || bail_out "no device"

sysctl_of() { # sysctl_of FAMILY KEY
	ip netns exec "$N0" cat "/proc/sys/net/$1/conf/vchan5/$2"
}
is "$(sysctl_of ipv6 accept_ra) $(sysctl_of ipv6 autoconf) $(sysctl_of ipv6 accept_redirects)" \
	"0 0 0" "the device takes no router advertisements, autoconfiguration or IPv6 redirects"
is "$(sysctl_of ipv4 accept_redirects) $(sysctl_of ipv4 accept_source_route)" "0 0" \
	"nor IPv4 redirects or source routes"

listening_udp() { ip netns exec "$N0" ss -Huln "sport = :7979" | grep -q .; }
spawn rx "$WORK/udp.log" ip netns exec "$N0" \
	socat -u UDP4-RECV:7979,bind=10.79.0.1 OPEN:"$WORK/udp",creat,append
wait_for 5 listening_udp || bail_out "no UDP listener"

# The RA first: when the datagram after it is in, the RA went through the kernel too.
spawn bp "$WORK/bad" "$XENSIM" exec 5 --netns "$NG" -- "$BAD" server 0 \
	/local/domain/5/data/vchan-tun/0/guest session ra udp:192.0.2.66:10.79.0.1 \
	udp:10.79.0.2:10.79.0.1 wait:1
reap "$bp" 30
is $? 0 "the hostile guest connected and sent its packets" || diag "$(cat "$WORK/bad" "$WORK/bad.err" 2>/dev/null)"
wait_for 10 grep -q 'from 10.79.0.2' "$WORK/udp"
ok $? "the datagram from the guest's own address reached dom0's socket"
is "$(grep -c 'from 192.0.2.66' "$WORK/udp")" 0 "the one from 192.0.2.66 did not"
is "$(field dom0 guest rx drops spoofed)" 1 "and was counted as spoofed"
like "$(grep 'spoof\|not the peer' "$WORK/dom0.log")" \
	'dropped a 44-byte packet from the peer: source 192\.0\.2\.66 is not the peer.s' \
	"the log says which source, once"
is "$(field dom0 guest rx packets)" 2 "the RA and the honest datagram were delivered to the device"

is "$(ip -n "$N0" -6 route show default)" "" "dom0 has no IPv6 default route through the guest"
is "$(ip -n "$N0" -6 route show | grep -c 'bad')" 0 "nor any route to or through what it announced"
is "$(ip -n "$N0" -6 addr show | grep -c '2001:db8:bad')" 0 "nor an address in its prefix"
is "$(field dom0 guest rx drops malformed)" 0 "the packets were well-formed: the link was not reset"
# a peer given by id: dom0 reads its name for the status
is "$(field dom0 guest peer name)" hostile "status --json names the peer configured by id"
like "$(ctl dom0 status guest)" 'client of domain 5 \(hostile\)' "and so does the text"

kill -TERM "$d0"
reap "$d0" 10
is $? 0 "the daemon exits 0 on SIGTERM"

done_testing

#!/usr/bin/env bash
# A hostile peer (tools/bad-peer) breaks the framing protocol in every way it
# can, one way per connection: the daemon resets that link each time, tells
# the peer why in a CLOSE frame, counts it, and meanwhile keeps serving
# another link without losing a packet. Both roles: the daemon as the client
# of a hostile server, and as the server of a hostile client, at once.
# shellcheck source=SCRIPTDIR/../lib.sh
# shellcheck disable=SC2154,SC2317,SC2119 # spawn sets variables by name; sim_start takes no $1
. "$(dirname "$0")/../lib.sh"
# shellcheck source=SCRIPTDIR/../daemon-lib.sh
. "$TOP/netns-tests/daemon-lib.sh"

BAD="$TOOLS/bad-peer"
[ -x "$BAD" ] || bail_out "$BAD not built (run make)"

sim_start
sim_domain 1 victim
sim_domain 2 badserver
sim_domain 3 friend
sim_domain 4 badclient
netns_add N1
netns_add N2
netns_add N3
netns_add N4

mkdir -p "$WORK/conf1"
printf '[Link]\nPeer = 2\nRole = client\n' >"$WORK/conf1/bad.conf"
printf '[Link]\nPeer = 3\nRole = client\nAddress = 10.77.3.1\nPeerAddress = 10.77.3.2\n' \
	>"$WORK/conf1/good.conf"
printf '[Link]\nPeer = 4\nRole = server\n' >"$WORK/conf1/bad2.conf"

daemon d1 victim 1 "$N1" --config-dir "$WORK/conf1"
daemon d3 friend 3 "$N3" --name good --peer 1 --role server \
	--address 10.77.3.2 --peer-address 10.77.3.1/32
wait_state victim good RUNNING || bail_out "no good link"

ATTACKS_AS_SERVER=(magic type flags length empty padding)
ATTACKS_AS_CLIENT=(vnet gso-size csum-out hello-twice packet-first hello-bad hello-tap)

spawn ping "$WORK/ping" ip netns exec "$N1" ping -c 100 -i 0.1 -W 2 10.77.3.2
spawn bs "$WORK/bad-server" "$XENSIM" exec 2 --netns "$N2" -- \
	"$BAD" server 1 /local/domain/2/data/vchan-tun/1/bad "${ATTACKS_AS_SERVER[@]}"
spawn bc "$WORK/bad-client" "$XENSIM" exec 4 --netns "$N4" -- \
	"$BAD" client 1 /local/domain/1/data/vchan-tun/4/bad2 "${ATTACKS_AS_CLIENT[@]}"

reap "$bs" 50
is $? 0 "the hostile server got every attack answered with a reset" || diag "$(cat "$WORK/bad-server")"
reap "$bc" 50
is $? 0 "the hostile client got every attack answered with a reset" || diag "$(cat "$WORK/bad-client")"

reason() { # reason LOG ATTACK: what the daemon said about it
	sed -n "s/^$2: //p" "$1"
}
M="reset: malformed frame from the peer"
check() { # check LOG ATTACK EXPECTED_REGEX
	like "$(reason "$1" "$2")" "$3" "$2: reset, and the CLOSE frame says why"
}
check "$WORK/bad-server" magic "^$M \(bad magic: bad magic; type 2, flags 0x0, length 8\): resetting the channel$"
check "$WORK/bad-server" type "^$M \(bad type: unknown frame type; type 9,"
check "$WORK/bad-server" flags "^$M \(bad flags: unknown flags on a PACKET; type 2, flags 0x8000,"
check "$WORK/bad-server" length "^$M \(bad length: PACKET longer than agreed; type 2, flags 0x0, length 1048568\)"
check "$WORK/bad-server" empty "^$M \(bad length: PACKET shorter than the smallest packet;"
check "$WORK/bad-server" padding "^$M \(bad padding: non-zero padding;"
check "$WORK/bad-client" vnet "^$M \(bad flags: virtio-net header, but VNET_HDR not agreed;"
check "$WORK/bad-client" hello-twice "^$M \(bad type: HELLO after the handshake;"
check "$WORK/bad-client" packet-first "^$M \(bad type: PACKET before the handshake;"
check "$WORK/bad-client" hello-bad "^reset: malformed HELLO from the peer: HELLO with an unknown mode$"
check "$WORK/bad-client" hello-tap "^reset: handshake failed: mode mismatch: we are tun, the peer is tap$"
# offloads agreed, and a virtio-net header the kernel must not get
V="$M (bad virtio-net header: virtio-net header:"
check "$WORK/bad-client" gso-size "^${V//(/\\(} GSO with gso_size 0;"
check "$WORK/bad-client" csum-out "^${V//(/\\(} checksum field beyond the packet;"

# --- what the daemon counted --------------------------------------------------------------

kill -0 "$d1"
ok $? "the daemon is still running"
is "$(field victim bad rx drops malformed)" 6 "link bad (daemon as client): 6 malformed frames counted"
is "$(field victim bad reconnects)" 6 "and 6 resets"
is "$(field victim bad2 rx drops malformed)" 6 \
	"link bad2 (daemon as server): 6 malformed frames counted (a tap HELLO is well formed)"
is "$(field victim bad2 reconnects)" 7 "and 7 resets"
is "$(field victim bad2 rx packets)" 0 "and no packet of the peer's reached the device"
like "$(field victim bad2 last_error)" 'mode mismatch' "its last error is the failed handshake"
like "$(ctl victim status)" 'bad2: [A-Z_]+ since .*
.*
.*
.*
  rx 0 packets 0 bytes, dropped: 6 malformed, 0 spoofed, 0 tun write' "the text status shows the count too"
is "$(grep -c 'malformed' "$WORK/victim.log")" 12 "the log has one line per malformed frame"

# --- the other link never noticed -------------------------------------------------------------

reap "$ping" 30
is $? 0 "a ping running across the good link meanwhile succeeded"
like "$(cat "$WORK/ping")" ' 0% packet loss' "without losing a packet"
is "$(field victim good state)" RUNNING "the good link is RUNNING"
is "$(field victim good reconnects)" 0 "and never reconnected"
is "$(field victim good rx drops malformed)" 0 "and saw no malformed frame"

kill -TERM "$d1"
reap "$d1" 10
is $? 0 "the daemon exits 0 on SIGTERM"

done_testing

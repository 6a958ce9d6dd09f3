#!/usr/bin/env bash
# vchan-tund between two domains in two network namespaces, one daemon each
# (domain 1 the server, domain 2 the client): ping over IPv4 and IPv6 both
# ways, iperf3 TCP and UDP both ways, a checksummed file over TCP, the full
# MTU and one byte more, no checksum errors anywhere, and the status that
# vchan-tunctl shows, as text and as JSON (and the link name the bash
# completion reads from it).
# shellcheck source=SCRIPTDIR/../lib.sh
# shellcheck disable=SC2154,SC2317,SC2119 # spawn sets variables by name; sim_start takes no $1
. "$(dirname "$0")/../lib.sh"
# shellcheck source=SCRIPTDIR/../daemon-lib.sh
. "$TOP/netns-tests/daemon-lib.sh"

MTU=1500
FILE_MB=32
case "$BUILD" in *build-san) FILE_MB=8 ;; esac

sim_start
sim_domain 1 left
sim_domain 2 right
netns_add NA
netns_add NB

daemon da left 1 "$NA" --name t70 --peer 2 --role server --mtu "$MTU" \
	--address 10.77.0.1 --peer-address 10.77.0.2/32 --address fd77::1/64
daemon db right 2 "$NB" --name t70 --peer 1 --role client --mtu "$MTU" \
	--address 10.77.0.2 --peer-address 10.77.0.1/32 --address fd77::2/64

wait_state left t70 RUNNING || bail_out "no link"
wait_state right t70 RUNNING || bail_out "no link"

# --- the devices --------------------------------------------------------------

ok "$(has_carrier "$NA" vchan2; echo $?)" "domain 1's vchan2 is up with carrier (LOWER_UP)"
ok "$(has_carrier "$NB" vchan1; echo $?)" "domain 2's vchan1 is up with carrier (LOWER_UP)"
like "$(ip -n "$NA" link show dev vchan2)" "mtu $MTU " "the MTU is set"
like "$(ip -n "$NA" addr show dev vchan2)" 'inet 10\.77\.0\.1 peer 10\.77\.0\.2/32' \
	"the IPv4 address and its point-to-point peer"
like "$(ip -n "$NB" -6 addr show dev vchan1)" 'inet6 fd77::2/64' "the IPv6 address"

# --- ping -----------------------------------------------------------------------

pings() { # pings NS ADDR DESC
	run_ok "$3" ip netns exec "$1" ping -c 5 -i 0.1 -W 2 "$2"
}
pings "$NA" 10.77.0.2 "ping IPv4 from domain 1 to domain 2"
pings "$NB" 10.77.0.1 "ping IPv4 from domain 2 to domain 1"
pings "$NA" fd77::2 "ping IPv6 from domain 1 to domain 2"
pings "$NB" fd77::1 "ping IPv6 from domain 2 to domain 1"

rtt=$(ip netns exec "$NA" ping -c 20 -i 0.01 -q 10.77.0.2 | sed -n 's/^rtt.* = [^/]*\/\([^/]*\)\/.*/\1/p')
diag "ping RTT (avg of 20): ${rtt:-?} ms"

# ping checks the data of each reply against what it sent: a pattern that
# covers every byte position of a large payload, both ways.
out=$(ip netns exec "$NA" ping -c 10 -i 0.05 -s 1400 -p 0123456789abcdef5aa5f00f 10.77.0.2 2>&1)
ok $? "ping with a data pattern from domain 1 comes back"
ok "$(grep -c 'wrong data' <<<"$out")" "and no reply has a wrong data byte"
out=$(ip netns exec "$NB" ping -c 10 -i 0.05 -s 1400 -p fedcba9876543210a55a 10.77.0.1 2>&1)
ok $? "ping with a data pattern from domain 2 comes back"
ok "$(grep -c 'wrong data' <<<"$out")" "and no reply has a wrong data byte"

# --- the MTU ----------------------------------------------------------------------

run_ok "a full-MTU ping (-M do -s $((MTU - 28))) crosses" \
	ip netns exec "$NA" ping -c 2 -i 0.1 -W 2 -M "do" -s $((MTU - 28)) 10.77.0.2
out=$(ip netns exec "$NA" ping -c 1 -W 2 -M "do" -s $((MTU - 27)) 10.77.0.2 2>&1)
rc=$?
ok $((rc == 0)) "one byte more does not (exit status $rc)"
like "$out" "message too long" "and fails cleanly: message too long"
run_ok "a full-MTU IPv6 ping (-M do -s $((MTU - 48))) crosses" \
	ip netns exec "$NB" ping -c 2 -i 0.1 -W 2 -M "do" -s $((MTU - 48)) fd77::1

# --- iperf3 ---------------------------------------------------------------------------

csum_before=$(($(csum_errors "$NA") + $(csum_errors "$NB")))
iperf_pair "iperf3 TCP from domain 2 to domain 1 (3 s)" "$NA" "$NB" 10.77.0.1 5201 \
	"$WORK/tcp-up.json" -t 3
iperf_pair "iperf3 TCP from domain 1 to domain 2 (-R, 3 s)" "$NA" "$NB" 10.77.0.1 5201 \
	"$WORK/tcp-down.json" -t 3 -R
iperf_pair "iperf3 UDP from domain 2 to domain 1 (200 Mbit/s, 3 s)" "$NA" "$NB" 10.77.0.1 5201 \
	"$WORK/udp-up.json" -u -b 200M -t 3
iperf_pair "iperf3 UDP from domain 1 to domain 2 (-R, 200 Mbit/s, 3 s)" "$NA" "$NB" 10.77.0.1 \
	5201 "$WORK/udp-down.json" -u -b 200M -t 3 -R
diag "TCP: $(iperf_rate "$WORK/tcp-up.json") Gbit/s 2->1, $(iperf_rate "$WORK/tcp-down.json") Gbit/s 1->2"
diag "UDP 200M: $(iperf_rate "$WORK/udp-up.json") Gbit/s 2->1 (loss $(iperf_udp_loss "$WORK/udp-up.json")%)," \
	"$(iperf_rate "$WORK/udp-down.json") Gbit/s 1->2 (loss $(iperf_udp_loss "$WORK/udp-down.json")%)"
like "$(iperf_rate "$WORK/udp-up.json")" '^0\.[0-9]*[1-9]' "UDP data arrived 2->1"
like "$(iperf_rate "$WORK/udp-down.json")" '^0\.[0-9]*[1-9]' "UDP data arrived 1->2"

# --- no corrupted data ------------------------------------------------------------------

# Packets written to a TUN device without a virtio-net header get their checksums
# verified by the stack: a corrupted one would be counted here.
is "$(($(csum_errors "$NA") + $(csum_errors "$NB") - csum_before))" 0 \
	"no TCP or UDP checksum errors in either namespace after iperf3"

head -c $((FILE_MB * 1048576)) /dev/urandom >"$WORK/file"
spawn rx "$WORK/socat-rx.log" ip netns exec "$NB" socat -u TCP-LISTEN:5301,reuseaddr \
	OPEN:"$WORK/file.rx",creat,trunc
wait_for 5 listening "$NB" 5301
run_ok "$FILE_MB MB over TCP with socat from domain 1 to domain 2" \
	ip netns exec "$NA" socat -u OPEN:"$WORK/file" TCP:10.77.0.2:5301
reap "$rx" 30
is "$(sha256sum <"$WORK/file.rx")" "$(sha256sum <"$WORK/file")" "and it arrived intact (sha256)"

# --- status ------------------------------------------------------------------------------

out=$(ctl left status)
ok $? "vchan-tunctl status exits 0"
like "$out" '^t70: RUNNING since ' "status shows the link RUNNING"
like "$out" 'interface vchan2 \(tun, mtu 1500\), server of domain 2' "and its device, role and peer"
# 64 KiB super-packets (+ the 10-byte virtio-net header) with the kernel's offloads
like "$out" 'rings read 256K write 256K, agreed mtu 1500, max payload 65546, offloads vnet-hdr,csum,tso4,tso6' \
	"and rings and agreement: offloads, 64 KiB super-packets"
like "$out" ' 0 oversize, 0 offload, ' "no packet too long or with an offload it could not carry"
like "$out" 'dropped: 0 malformed, 0 spoofed, 0 tun write' "and no malformed, spoofed or refused packets"

json=$(ctl left status --json)
ok $? "vchan-tunctl status --json exits 0"
perl -MJSON::PP -e 'decode_json(do { local $/; <STDIN> })' <<<"$json" 2>/dev/null
ok $? "and prints valid JSON"
# the bash completion reads the link names from there (t/84-completion.t tests the rest)
# shellcheck source=SCRIPTDIR/../../scripts/bash-completion/vchan-tunctl
. "$TOP/scripts/bash-completion/vchan-tunctl"
is "$(PATH="$(dirname "$CTL"):$PATH" _VCHAN_TUN_CONFIG_DIR="$WORK/none" _vchan_tun_links "$WORK/left.sock")" \
	t70 "the bash completion finds the link's name in the running daemon's status"
is "$(ctl left status --json t70 | perl -MJSON::PP -e '
	my $s = decode_json(do { local $/; <STDIN> });
	print scalar @{$s->{links}}, " ", $s->{links}[0]{name}')" "1 t70" "status --json t70: that link alone"
like "$(ctl left status t70)" 't70' "status t70: the link, in text"
out=$("$CTL" --control "$WORK/left.sock" status nosuch 2>&1)
is "$?,$out" "1,vchan-tunctl: no link 'nosuch'" "status nosuch: exit 1, and the daemon says why"
like "$(perl -MJSON::PP -e '
	my $s = decode_json(do { local $/; <STDIN> });
	print "$s->{schema} ", join(",", @{$s->{links}[0]{agreed}{offloads}})' <<<"$json")" \
	'^1 vnet-hdr,csum,tso4,tso6(,|$)' "JSON: schema 1; the offloads agreed, as an array"
is "$(field left t70 state)" RUNNING "JSON: state RUNNING"
is "$(field left t70 role)" server "JSON: role server"
is "$(field right t70 role)" client "JSON: the other end is the client"
is "$(field left t70 peer domid)" 2 "JSON: peer domid 2"
is "$(field right t70 ring read)" 262144 "JSON: the client reports the server's rings"
for dir in tx rx; do
	for who in left right; do
		n=$(field $who t70 $dir packets)
		ok $((n <= 1000)) "JSON: $who's $dir packet counter moved ($n)"
	done
done
avg=$(($(field left t70 tx bytes) / $(field left t70 tx packets)))
ok $((avg <= 3000)) "super-packets crossed: $avg bytes per packet on average, with an MTU of 1500"
is "$(field right t70 rx drops malformed)" 0 "JSON: no malformed frames"
is "$(field left t70 rx drops tun_write)" 0 "JSON: no packets refused by the device"
is "$(field left t70 reconnects)" 0 "JSON: no reconnects"
is "$(field left t70 last_error)" null "JSON: no last error"

run_fails "vchan-tunctl fails for a socket nobody answers on" \
	"$CTL" --control "$WORK/nobody.sock" status
"$CTL" --control "$WORK/left.sock" frobnicate >/dev/null 2>&1
is $? 2 "vchan-tunctl exits 2 on an unknown command"

# --- shutdown ---------------------------------------------------------------------------------

kill -TERM "$db"
reap "$db" 10
is $? 0 "SIGTERM: the client daemon exits 0"
ok "$(dev_exists "$NB" vchan1; echo $((!$?)))" "and its device is gone"
wait_for 2 no_carrier "$NA" vchan2
ok $? "the server's device loses its carrier"
kill -TERM "$da"
reap "$da" 10
is $? 0 "SIGTERM: the server daemon exits 0"
ok "$(dev_exists "$NA" vchan2; echo $((!$?)))" "and its device is gone"

done_testing

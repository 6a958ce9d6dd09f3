#!/usr/bin/env bash
# Xen's unmodified vchan-socket-proxy (xen-utils-4.17) carries a byte stream
# between two simulated domains in two network namespaces, each way.
. "$(dirname "$0")/../lib.sh"

PROXY=/usr/lib/xen-4.17/bin/vchan-socket-proxy
[ -x "$PROXY" ] || bail_out "$PROXY missing (scripts/install-deps installs xen-utils-4.17)"
SIZE=3000000

sim_start
sim_domain 1
sim_domain 2
netns_add NS1
netns_add NS2
head -c "$SIZE" /dev/urandom >"$WORK/data"
want=$(sha256sum <"$WORK/data")
path=/local/domain/1/data/vchan/2/proxy

size_is() { [ "$(stat -c %s "$1" 2>/dev/null)" = "$2" ]; }

# serve LOG SOCAT_ADDRESS: a proxy server in domain 1 whose vchan connections
# are joined to a socket in domain 1 that socat serves with SOCAT_ADDRESS.
serve() {
	local log=$1
	rm -f "$WORK/left.sock"
	spawn socat_pid "$log.socat" ip netns exec "$NS1" socat -u $2
	wait_for 5 test -S "$WORK/left.sock" || bail_out "socat did not listen: $(cat "$log.socat")"
	spawn proxy_pid "$log" "$XENSIM" exec 1 --netns "$NS1" -- \
		"$PROXY" --mode=server 2 "$path" "$WORK/left.sock"
	wait_for 5 sim_exec 0 - xenstore-read "$path/event-channel" ||
		bail_out "the proxy server did not publish $path: $(cat "$log")"
}

# Domain 2 -> domain 1: the client's stdin ends up in a file in domain 1. The
# client's stdin stays open until everything has arrived: at EOF the client
# closes the channel at once, and the server discards what it had not read yet.
serve "$WORK/server1" "UNIX-LISTEN:$WORK/left.sock OPEN:$WORK/received,creat"
hold client "$WORK/client1" 2 "$NS2" "$PROXY" --mode=client 1 "$path" -
cat "$WORK/data" >&"$client_fd"
wait_for 30 size_is "$WORK/received" "$SIZE"
ok $? "$SIZE bytes from domain 2's stdin reach the socket in domain 1"
is "$(sha256sum <"$WORK/received")" "$want" "unchanged"
release client
kill -9 "$client" "$proxy_pid" "$socat_pid" 2>/dev/null
for p in "$client" "$proxy_pid" "$socat_pid"; do wait "$p" 2>/dev/null; done

# Domain 1 -> domain 2: what the socket in domain 1 sends comes out of the
# client's stdout. (The proxy server keeps the channel open after its socket
# ends — upstream's "TODO: maybe signal the vchan client" — so we wait for the
# bytes, not for the client to exit.)
serve "$WORK/server2" "OPEN:$WORK/data UNIX-LISTEN:$WORK/left.sock"
hold client "$WORK/sent-back" 2 "$NS2" "$PROXY" --mode=client 1 "$path" -
wait_for 30 size_is "$WORK/sent-back" "$SIZE"
ok $? "$SIZE bytes sent by the socket in domain 1 come out of domain 2's stdout"
is "$(sha256sum <"$WORK/sent-back")" "$want" "unchanged"
release client

done_testing

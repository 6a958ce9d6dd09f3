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

servers=0
size_is() { [ "$(stat -c %s "$1" 2>/dev/null)" = "$2" ]; }

# serve LOG SOCAT_ARGS...: a proxy server in domain 1 whose vchan connections
# are joined to a socket in domain 1 that `socat -u SOCAT_ARGS` serves.
# Each server gets a path of its own: a killed server leaves its keys behind,
# and a client must not find them before the new server has written its own.
serve() {
	local log=$1
	shift
	path=/local/domain/1/data/vchan/2/proxy$((++servers))
	rm -f "$WORK/left.sock"
	spawn socat_pid "$log.socat" ip netns exec "$NS1" socat -u "$@"
	wait_for 5 test -S "$WORK/left.sock" || bail_out "socat did not listen: $(cat "$log.socat")"
	spawn proxy_pid "$log" "$XENSIM" exec 1 --netns "$NS1" -- \
		"$PROXY" --mode=server 2 "$path" "$WORK/left.sock"
	wait_for 5 sim_exec 0 - xenstore-read "$path/event-channel" ||
		bail_out "the proxy server did not publish $path: $(cat "$log")"
}

# Domain 2 -> domain 1: the client's stdin ends up in a file in domain 1. The
# client's stdin stays open until everything has arrived: at EOF the client
# closes the channel at once, and the server discards what it had not read yet.
#
# The data waits until the server has joined the connection to its socket:
# upstream's server takes the client's connect event in its wait for the
# client, then enters its select loop without looking at the ring; had the
# first write's event merged with the connect event (one pending bit, as on
# Xen), the server would sleep on data already in the ring.
serve "$WORK/server1" -d -d "UNIX-LISTEN:$WORK/left.sock" "OPEN:$WORK/received,creat"
hold client "$WORK/client1" 2 "$NS2" "$PROXY" --mode=client 1 "$path" -
wait_for 10 grep -q 'accepting connection' "$WORK/server1.socat" ||
	bail_out "the proxy server did not connect to its socket: $(cat "$WORK/server1")"
timeout 30 cat "$WORK/data" >&"$client_fd"
wait_for 30 size_is "$WORK/received" "$SIZE"
ok $? "$SIZE bytes from domain 2's stdin reach the socket in domain 1"
is "$(sha256sum <"$WORK/received")" "$want" "unchanged"
release client
kill -9 "$client" "$proxy_pid" "$socat_pid" 2>/dev/null
for p in "$client" "$proxy_pid" "$socat_pid"; do wait "$p" 2>/dev/null; done

# Domain 1 -> domain 2: what the socket in domain 1 sends comes out of the
# client's stdout. The socket stays open after the data (ignoreeof): were it
# to end, the proxy server would connect to it again, fail and close the
# channel, and the client would discard what it had not read yet. So the test
# waits for the bytes, not for anyone to exit.
serve "$WORK/server2" "OPEN:$WORK/data,ignoreeof" "UNIX-LISTEN:$WORK/left.sock"
hold client "$WORK/sent-back" 2 "$NS2" "$PROXY" --mode=client 1 "$path" -
wait_for 30 size_is "$WORK/sent-back" "$SIZE"
ok $? "$SIZE bytes sent by the socket in domain 1 come out of domain 2's stdout"
is "$(sha256sum <"$WORK/sent-back")" "$want" "unchanged"
release client

done_testing

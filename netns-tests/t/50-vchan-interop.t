#!/usr/bin/env bash
# Our vchan (src/vchan) against Xen's own, between two simulated domains in two
# network namespaces:
#  - ring-peer (ours) and vchan-peer (Debian's libxenvchan) in both roles, 100 MB
#    each way at once, random write sizes, every byte checked, at ring orders
#    10/11 (in the shared page), 12 and 20;
#  - vchan-cat against Xen's unmodified vchan-socket-proxy, each of them server
#    and client, a checksummed byte stream each way.
# shellcheck source=SCRIPTDIR/../lib.sh
# shellcheck disable=SC2154,SC2317 # spawn and reap set and call by name
. "$(dirname "$0")/../lib.sh"

OURS="$TOOLS/ring-peer"
XEN="$TOOLS/vchan-peer"
CAT="$BUILD/bin/vchan-cat"
PROXY=/usr/lib/xen-4.17/bin/vchan-socket-proxy
for f in "$OURS" "$XEN" "$CAT"; do
	[ -x "$f" ] || bail_out "$f not built (run make)"
done

BYTES=104857600
CAT_BYTES=16777216
# shellcheck source=SCRIPTDIR/../vchan-lib.sh
. "$(dirname "$0")/../vchan-lib.sh"
case "$BUILD" in
*build-san)
	BYTES=$((32 * 1048576))
	CAT_BYTES=$((4 * 1048576))
	diag "ASan/UBSan build: $BYTES bytes each way instead of 100 MB"
	;;
esac

# shellcheck disable=SC2119
sim_start
sim_domain 1
sim_domain 2
netns_add NS1
netns_add NS2

n=0
for pair in "$OURS $XEN" "$XEN $OURS"; do
	read -r server client <<<"$pair"
	transfer $((n += 1)) "orders 10/11" "$server" "$client" "10 11"
	transfer $((n += 1)) "order 12" "$server" "$client" "12 12" --read-min 4096 --write-min 4096
	transfer $((n += 1)) "order 20" "$server" "$client" "20 20" \
		--read-min 1048576 --write-min 1048576
done

# --- vchan-cat against vchan-socket-proxy ----------------------------------------

if [ ! -x "$PROXY" ]; then
	diag "$PROXY missing: skipping vchan-socket-proxy interop"
	done_testing
fi

head -c "$CAT_BYTES" /dev/urandom >"$WORK/data"
want=$(sha256sum <"$WORK/data" | cut -d' ' -f1)

sum_of() { sha256sum <"$1" | cut -d' ' -f1; }
size_is() { [ "$(stat -c %s "$1" 2>/dev/null)" = "$2" ]; }

# A stdin that never sends anything and never ends: a FIFO the reader opens read-write.
mkfifo "$WORK/quiet"

# vchan-cat server, proxy client on stdin/stdout ("-").
cat_server_to_proxy() {
	local path=/local/domain/1/data/vchan/2/cat1 spid ppid
	as spid "$WORK/cat1.err" 1 "$NS1" sh -c "exec '$CAT' -q 0 -l 2 $path <'$WORK/data'"
	as ppid "$WORK/cat1.err2" 2 "$NS2" sh -c "exec '$PROXY' 1 $path - >'$WORK/cat1.out' <>'$WORK/quiet'"
	reap "$spid" 60
	is "$?" 0 "vchan-cat -l sends to a vchan-socket-proxy client: vchan-cat exits 0" ||
		show_log vchan-cat "$WORK/cat1.err"
	reap "$ppid" 20
	is "$?" 0 "and the proxy exits 0 when vchan-cat closes" || show_log proxy "$WORK/cat1.err2"
	is "$(sum_of "$WORK/cat1.out")" "$want" "and it wrote out all $CAT_BYTES bytes (sha256)"
}

cat_server_from_proxy() {
	local path=/local/domain/1/data/vchan/2/cat2 spid ppid
	as spid "$WORK/cat2.err" 1 "$NS1" sh -c "exec '$CAT' -l 2 $path >'$WORK/cat2.out' </dev/null"
	as ppid "$WORK/cat2.err2" 2 "$NS2" sh -c "exec '$PROXY' 1 $path - <'$WORK/data' >/dev/null"
	reap "$ppid" 60
	is "$?" 0 "a vchan-socket-proxy client sends its stdin to vchan-cat -l and exits 0" ||
		show_log proxy "$WORK/cat2.err2"
	reap "$spid" 20
	is "$?" 0 "vchan-cat -l sees it close and exits 0" || show_log vchan-cat "$WORK/cat2.err"
	is "$(sum_of "$WORK/cat2.out")" "$want" "having written out all $CAT_BYTES bytes (sha256)"
}

# proxy_server N SOCAT_ADDRESS...: a proxy server in domain 1 that connects each
# vchan client to a socat listening on a unix socket. Sets PXS and SOCAT.
proxy_server() {
	local n=$1 sock=$WORK/px$1.sock
	shift
	spawn SOCAT "$WORK/socat$n.err" socat -u "$@"
	wait_for 10 test -S "$sock" || fail "socat listens on $sock"
	as PXS "$WORK/pxs$n.err" 1 "$NS1" "$PROXY" -m server 2 "/local/domain/1/data/vchan/2/cat$n" "$sock"
}

cat_client_to_proxy() {
	local cpid
	proxy_server 3 "UNIX-LISTEN:$WORK/px3.sock" "OPEN:$WORK/cat3.out,creat"
	as cpid "$WORK/cat3.err" 2 "$NS2" sh -c \
		"exec '$CAT' -q 0 1 /local/domain/1/data/vchan/2/cat3 <'$WORK/data' >/dev/null"
	reap "$cpid" 60
	is "$?" 0 "vchan-cat sends to a vchan-socket-proxy server and exits 0" ||
		show_log vchan-cat "$WORK/cat3.err"
	reap "$SOCAT" 20
	is "$?" 0 "the proxy passes it on and closes its socket when vchan-cat leaves" ||
		show_log proxy "$WORK/pxs3.err"
	is "$(sum_of "$WORK/cat3.out")" "$want" "all $CAT_BYTES bytes arrive (sha256)"
	kill "$PXS" 2>/dev/null
}

cat_client_from_proxy() {
	local cpid
	proxy_server 4 "OPEN:$WORK/data" "UNIX-LISTEN:$WORK/px4.sock"
	as cpid "$WORK/cat4.err" 2 "$NS2" sh -c \
		"exec '$CAT' 1 /local/domain/1/data/vchan/2/cat4 </dev/null >'$WORK/cat4.out'"
	wait_for 60 size_is "$WORK/cat4.out" "$CAT_BYTES"
	ok $? "vchan-cat receives all $CAT_BYTES bytes from a vchan-socket-proxy server" ||
		show_log vchan-cat "$WORK/cat4.err"
	is "$(sum_of "$WORK/cat4.out")" "$want" "intact (sha256)"
	# Once its socket peer is gone the proxy may connect again to the dying
	# socat and wait there for ever: end it, as its users do.
	kill "$PXS" 2>/dev/null
	reap "$cpid" 10
	is "$?" 0 "vchan-cat exits 0 when the proxy goes away" || show_log vchan-cat "$WORK/cat4.err"
}

cat_server_to_proxy
cat_server_from_proxy
cat_client_to_proxy
cat_client_from_proxy

done_testing

# Shared by the tests that stream through a vchan between two domains
# (30-libxenvchan.t, 50-vchan-interop.t): a server in domain 1 (netns $NS1)
# and a client in domain 2 ($NS2), either of them Xen's libxenvchan
# (vchan-peer) or ours (ring-peer), exchanging $BYTES each way with the same
# command line and the same checked streams. Source after lib.sh; set BYTES,
# NS1, NS2 and optionally PEER_TIMEOUT and REAP_TIMEOUT.

PEER_TIMEOUT=${PEER_TIMEOUT:-100} # the peers' own limit
REAP_TIMEOUT=${REAP_TIMEOUT:-120} # the watchdog's, above it

field() { # field LINE NAME
	local v
	v=$(grep -Eo "(^| )$2=[^ ]*" <<<"$1" | cut -d= -f2-)
	echo "${v:-none}"
}

# transfer N LABEL SERVER CLIENT ORDERS [server options]: SERVER (a peer program)
# in domain 1 and CLIENT in domain 2 exchange $BYTES each way.
transfer() {
	local n=$1 label=$2 server=$3 client=$4 orders=$5
	shift 5
	local path=/local/domain/1/data/vchan/2/$n
	local slog=$WORK/server.$n.log clog=$WORK/client.$n.log
	local spid cpid src crc sline cline sname cname
	local -a o
	read -ra o <<<"$orders"
	sname=$(basename "$server")
	cname=$(basename "$client")
	label="$label, $sname server, $cname client"

	as spid "$slog" 1 "$NS1" "$server" server 2 "$path" --bytes "$BYTES" --seed "$n" \
		--timeout "$PEER_TIMEOUT" "$@"
	as cpid "$clog" 2 "$NS2" "$client" client 1 "$path" --bytes "$BYTES" --seed "$n" \
		--timeout "$PEER_TIMEOUT"
	reap "$spid" "$REAP_TIMEOUT"
	src=$?
	reap "$cpid" "$REAP_TIMEOUT"
	crc=$?
	is "$src" 0 "$label: server exits 0" || show_log server "$slog"
	is "$crc" 0 "$label: client exits 0" || show_log client "$clog"
	grep -qx "rings read_order=${o[0]} write_order=${o[1]}" "$slog"
	ok $? "$label: server rings have orders ${o[0]}/${o[1]}" || show_log server "$slog"
	sline=$(grep -m1 '^ok sent=' "$slog")
	cline=$(grep -m1 '^ok sent=' "$clog")
	like "$sline" "^ok sent=$BYTES received=$BYTES " "$label: server sent and received $BYTES bytes"
	like "$cline" "^ok sent=$BYTES received=$BYTES " "$label: client sent and received $BYTES bytes"
	is "$(field "$cline" fnv64_received)" "$(field "$sline" fnv64_sent)" \
		"$label: client received what the server sent (fnv64)"
	is "$(field "$sline" fnv64_received)" "$(field "$cline" fnv64_sent)" \
		"$label: server received what the client sent (fnv64)"
	diag "$label: $(field "$sline" MB/s) MB/s each way"
}

#!/usr/bin/env bash
# Debian's unmodified libxenvchan between two simulated domains, each in its own
# network namespace, with nothing but xensim between them:
#  - 100 MB each way, full duplex, every byte checked, at ring orders 10/11
#    (inside the shared page), 12 (one granted page each) and 20 (the largest
#    the grant list in the shared page allows);
#  - kill -9 of either end is seen by the other within a second (unmap notify);
#  - and the checker itself catches a wrong stream and a peer that stops early.
# shellcheck source=SCRIPTDIR/../lib.sh
. "$(dirname "$0")/../lib.sh"

PEER="$TOOLS/vchan-peer"
[ -x "$PEER" ] || bail_out "$PEER not built (run make)"

BYTES=104857600
# shellcheck source=SCRIPTDIR/../vchan-lib.sh
. "$(dirname "$0")/../vchan-lib.sh"

# shellcheck disable=SC2119 # no xensim start options
sim_start
sim_domain 1
sim_domain 2
netns_add NS1
netns_add NS2

# peer VAR LOG DOMID NETNS ARGS...: vchan-peer as DOMID in NETNS, VAR its own PID.
peer() {
	local var=$1 log=$2 dom=$3 ns=$4
	shift 4
	as "$var" "$log" "$dom" "$ns" "$PEER" "$@"
}

transfer 1 "orders 10/11 (in-page rings)" "$PEER" "$PEER" "10 11"
transfer 2 "order 12" "$PEER" "$PEER" "12 12" --read-min 4096 --write-min 4096
transfer 3 "order 20 (largest)" "$PEER" "$PEER" "20 20" --read-min 1048576 --write-min 1048576

# peer_death N VICTIM: connects a --wait-close pair, kills VICTIM (server or client)
# with SIGKILL and expects the survivor to print peer-closed within a second.
peer_death() {
	local n=$1 victim=$2
	local path=/local/domain/1/data/vchan/2/$n
	local slog=$WORK/server.$n.log clog=$WORK/client.$n.log
	local spid cpid vpid vlog survivor slog_s spid_s t0 t1 rc
	peer spid "$slog" 1 "$NS1" server 2 "$path" --wait-close --timeout 60
	peer cpid "$clog" 2 "$NS2" client 1 "$path" --wait-close --timeout 60
	if ! wait_for 20 grep -qx connected "$slog" || ! wait_for 20 grep -qx connected "$clog"; then
		fail "kill -9 $victim: both ends connect"
		show_log server "$slog"
		show_log client "$clog"
		return
	fi
	if [ "$victim" = server ]; then
		vpid=$spid vlog=$slog survivor=client slog_s=$clog spid_s=$cpid
	else
		vpid=$cpid vlog=$clog survivor=server slog_s=$slog spid_s=$spid
	fi
	is "$(cat "/proc/$vpid/comm" 2>/dev/null)" vchan-peer \
		"kill -9 $victim: the spawned PID is vchan-peer itself"

	t0=$(now_ms)
	kill -9 "$vpid"
	wait_for 1 grep -qx peer-closed "$slog_s"
	rc=$?
	t1=$(now_ms)
	ok "$rc" "kill -9 $victim: the $survivor prints peer-closed" || show_log "$survivor" "$slog_s"
	ok "$((t1 - t0 > 1000))" "kill -9 $victim: seen within 1 s (took $((t1 - t0)) ms)"
	diag "kill -9 $victim: peer-closed after $((t1 - t0)) ms"

	reap "$spid_s" 10
	is "$?" 0 "kill -9 $victim: the $survivor exits 0" || show_log "$survivor" "$slog_s"
	# Already dead, and maybe already noted by bash (whose "wait -n" in reap
	# then no longer knows the job): a plain wait still has its status.
	wait "$vpid" 2>/dev/null
	is "$?" 137 "kill -9 $victim: the $victim died of SIGKILL" || show_log "$victim" "$vlog"
}

# The checker itself: a peer sending the wrong stream, and one that stops early.
peer spid "$WORK/server.20.log" 1 "$NS1" server 2 /local/domain/1/data/vchan/2/20 \
	--bytes 100000 --seed 7 --timeout 20
peer cpid "$WORK/client.20.log" 2 "$NS2" client 1 /local/domain/1/data/vchan/2/20 \
	--bytes 100000 --seed 8 --timeout 20
reap "$cpid" 30
is "$?" 1 "wrong stream: the client fails"
grep -q '^MISMATCH at offset 0: got 0x[0-9a-f]* expected 0x[0-9a-f]*$' "$WORK/client.20.log"
ok $? "wrong stream: the client reports the first mismatch" || show_log client "$WORK/client.20.log"
reap "$spid" 30
is "$?" 1 "wrong stream: the server fails" || show_log server "$WORK/server.20.log"

peer spid "$WORK/server.21.log" 1 "$NS1" server 2 /local/domain/1/data/vchan/2/21 \
	--bytes 10000000 --timeout 20
peer cpid "$WORK/client.21.log" 2 "$NS2" client 1 /local/domain/1/data/vchan/2/21 \
	--bytes 1000 --timeout 20
reap "$spid" 30
is "$?" 1 "early close: the server fails"
grep -q '^vchan-peer: peer closed the channel after [0-9]* of 10000000 bytes' "$WORK/server.21.log"
ok $? "early close: the server says so" || show_log server "$WORK/server.21.log"
reap "$cpid" 30

peer_death 10 client
peer_death 11 server

done_testing

#!/usr/bin/env bash
# Reconnecting: kill -9 of one daemon, and the other side shows NO-CARRIER
# within a second; restarting it brings the link back without touching the
# survivor, whose addresses were never removed. Both ways round (the client
# dies, then the server). Then SIGTERM: the daemon removes its device and its
# XenStore keys, and the peer loses carrier at once.
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
XS_PATH=/local/domain/1/data/vchan-tun/2/t71

start_left() {
	daemon da left 1 "$NA" --name t71 --peer 2 --role server \
		--address 10.77.1.1 --peer-address 10.77.1.2/32 --address fd77:1::1/64
}
start_right() {
	daemon db right 2 "$NB" --name t71 --peer 1 --role client \
		--address 10.77.1.2 --peer-address 10.77.1.1/32 --address fd77:1::2/64
}

start_left
start_right
wait_state left t71 RUNNING || bail_out "no link"
wait_state right t71 RUNNING || bail_out "no link"
run_ok "ping before anything happens" ip netns exec "$NA" ping -c 2 -i 0.1 -W 2 10.77.1.2

# addrs NS DEV: the addresses on DEV, one line
addrs() {
	ip -n "$1" addr show dev "$2" |
		awk '$1 ~ /^inet/ && $2 !~ /^fe80/ { print $3 == "peer" ? $2 " peer " $4 : $2 }' |
		tr '\n' ' '
}

# survivor_case WHO SURVIVOR NS DEV PEER_ADDR RESTART KILLED_PID_VAR
survivor_case() {
	local who=$1 surv=$2 ns=$3 dev=$4 peer=$5 restart=$6 pidvar=$7 mon before ms spid
	spid=$( [ "$surv" = left ] && echo "$da" || echo "$db")
	before=$(addrs "$ns" "$dev")
	spawn mon "$WORK/monitor-$surv" ip -n "$ns" monitor address
	sleep 0.2 # ip monitor has no "ready" line; its socket is bound by then

	kill -9 "${!pidvar}"
	reap "${!pidvar}" 5
	ms=$(ms_until 2 no_carrier "$ns" "$dev")
	ok $? "kill -9 of the $who: the $surv side shows NO-CARRIER (after ${ms:-more than 2000} ms)"
	ok $((${ms:-9999} >= 1000)) "within one second"
	wait_state "$surv" t71 "$( [ "$surv" = left ] && echo OFFERING || echo CONNECTING)" 5
	is "$(field "$surv" t71 reconnects)" 1 "$surv counts one reconnect"
	like "$(field "$surv" t71 last_error)" 'the peer closed the channel' \
		"and says why: the peer closed the channel"
	run_fails "ping fails meanwhile" ip netns exec "$ns" ping -c 1 -W 1 "$peer"

	$restart
	wait_state "$surv" t71 RUNNING
	ok "$(has_carrier "$ns" "$dev"; echo $?)" "the $surv side has carrier again"
	run_ok "ping works again" ip netns exec "$ns" ping -c 3 -i 0.1 -W 2 "$peer"
	kill -0 "$spid" 2>/dev/null
	ok $? "the surviving daemon was not restarted (same process)"
	is "$(field "$surv" t71 connects)" 2 "it counts two connects"
	is "$(addrs "$ns" "$dev")" "$before" "its addresses are the same as before"
	kill "$mon"
	reap "$mon" 5 >/dev/null 2>&1
	ok "$(grep -c "Deleted.*$dev" "$WORK/monitor-$surv")" \
		"ip monitor saw no address of the $surv side's device removed"
}

survivor_case client left "$NA" vchan2 10.77.1.2 start_right db
survivor_case server right "$NB" vchan1 10.77.1.1 start_left da
run_ok "IPv6 works after both restarts" ip netns exec "$NB" ping -c 2 -i 0.1 -W 2 fd77:1::1

# --- someone deletes the device -----------------------------------------------------------

run_ok "ip link del of the server's device" ip -n "$NA" link del vchan2
wait_for 5 dev_exists "$NA" vchan2
ok $? "the daemon makes it again"
wait_state left t71 RUNNING 10
like "$(field left t71 last_error)" 'device vchan2 failed' "and says what happened"
like "$(ip -n "$NA" addr show dev vchan2)" 'inet 10\.77\.1\.1 peer 10\.77\.1\.2/32' \
	"with its address"
run_ok "ping works again" ip netns exec "$NB" ping -c 2 -i 0.1 -W 2 10.77.1.1

# --- SIGTERM ----------------------------------------------------------------------------

run_ok "the server's keys are in XenStore" sim_exec 0 - xenstore-read "$XS_PATH/ring-ref"
kill -TERM "$da"
ms=$(ms_until 2 no_carrier "$NB" vchan1)
ok $? "SIGTERM of the server: the client shows NO-CARRIER (after ${ms:-more than 2000} ms)"
reap "$da" 10
is $? 0 "the server exits 0"
ok "$(dev_exists "$NA" vchan2; echo $((!$?)))" "and its device is gone"
run_fails "and its XenStore keys are gone" sim_exec 0 - xenstore-read "$XS_PATH/ring-ref"
like "$(field right t71 last_error)" 'the peer closed the channel: shutting down' \
	"the client got the server's reason"
is "$(addrs "$NB" vchan1)" "10.77.1.2 peer 10.77.1.1/32 fd77:1::2/64 " \
	"the client keeps its addresses while it waits"

start_left
wait_state right t71 RUNNING
run_ok "a new server: ping works" ip netns exec "$NB" ping -c 2 -i 0.1 -W 2 10.77.1.1

kill -INT "$db"
reap "$db" 10
is $? 0 "SIGINT: the client exits 0"
ok "$(dev_exists "$NB" vchan1; echo $((!$?)))" "and its device is gone"
wait_state left t71 OFFERING 5
kill -TERM "$da"
reap "$da" 10
is $? 0 "the server exits 0"

done_testing

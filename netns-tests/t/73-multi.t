#!/usr/bin/env bash
# One daemon, many peers: dom0 serves three guests, each link a file in a
# configuration directory and each peer given by name. Traffic on all three
# at once; one guest's daemon is killed mid-transfer, and the other two
# transfers go on undisturbed (no second without data) and complete.
# shellcheck source=SCRIPTDIR/../lib.sh
# shellcheck disable=SC2154,SC2317,SC2119 # spawn sets variables by name; sim_start takes no $1
. "$(dirname "$0")/../lib.sh"
# shellcheck source=SCRIPTDIR/../daemon-lib.sh
. "$TOP/netns-tests/daemon-lib.sh"

SECS=6
GUESTS=(2 3 4)
VICTIM=3

sim_start
netns_add N0
mkdir -p "$WORK/conf0"
declare -A NS PID
for g in "${GUESTS[@]}"; do
	sim_domain "$g" "guest$g"
	netns_add "NS_$g"
	v="NS_$g"
	NS[$g]=${!v}
	printf '[Link]\nPeer = guest%s\nRole = server\nAddress = 10.77.%s.1\nPeerAddress = 10.77.%s.2\n' \
		"$g" "$g" "$g" >"$WORK/conf0/g$g.conf"
done

daemon d0 dom0 0 "$N0" --config-dir "$WORK/conf0"
start_guest() { # start_guest DOMID
	local guest_pid
	daemon guest_pid "guest$1" "$1" "${NS[$1]}" --name "g$1" --peer 0 --role client \
		--address "10.77.$1.2" --peer-address "10.77.$1.1/32"
	PID[$1]=$guest_pid
}
for g in "${GUESTS[@]}"; do
	start_guest "$g"
done
for g in "${GUESTS[@]}"; do
	wait_state dom0 "g$g" RUNNING || bail_out "no link to guest $g"
	is "$(field dom0 "g$g" peer domid)" "$g" "dom0 found guest$g by name: domain $g"
	is "$(field dom0 "g$g" interface)" "vchan-guest$g" "its device is vchan-guest$g"
	run_ok "ping from guest $g to dom0" ip netns exec "${NS[$g]}" ping -c 2 -i 0.1 -W 2 "10.77.$g.1"
done

# --- traffic on all three, one killed -----------------------------------------------

declare -A SRV CLI
for g in "${GUESTS[@]}"; do
	spawn srv_pid "$WORK/iperf-s$g" ip netns exec "$N0" iperf3 -s -1 -p "520$g"
	SRV[$g]=$srv_pid
done
for g in "${GUESTS[@]}"; do
	wait_for 5 listening "$N0" "520$g"
done
for g in "${GUESTS[@]}"; do
	spawn cli_pid "$WORK/iperf-c$g.json" ip netns exec "${NS[$g]}" iperf3 -J -c "10.77.$g.1" \
		-p "520$g" -t "$SECS"
	CLI[$g]=$cli_pid
done

moving() { [ "$(field dom0 "g$VICTIM" rx packets)" -gt 2000 ]; }
wait_for 10 moving
ok $? "guest $VICTIM's transfer is under way"
kill -9 "${PID[$VICTIM]}"
reap "${PID[$VICTIM]}" 5
killed_at=$(now_ms)
pass "guest $VICTIM's daemon killed mid-transfer"
wait_state dom0 "g$VICTIM" OFFERING 5

for g in "${GUESTS[@]}"; do
	[ "$g" = "$VICTIM" ] && continue
	reap "${CLI[$g]}" $((SECS + 20))
	is $? 0 "guest $g's transfer completes"
	rate=$(iperf_rate "$WORK/iperf-c$g.json")
	diag "guest $g: $rate Gbit/s"
	# every second of it carried data, the ones after the kill included
	slow=$(perl -MJSON::PP -e '
		my $j = decode_json(do { local $/; <STDIN> });
		print scalar grep { $_->{sum}{bytes} == 0 } @{$j->{intervals}};' <"$WORK/iperf-c$g.json")
	is "$slow" 0 "guest $g's transfer had no second without data"
	reap "${SRV[$g]}" 10 >/dev/null
	is "$(field dom0 "g$g" state)" RUNNING "dom0's link to guest $g stayed RUNNING"
	is "$(field dom0 "g$g" reconnects)" 0 "and never reconnected"
done
diag "the other transfers ended $(($(now_ms) - killed_at)) ms after the kill"
kill -9 "${CLI[$VICTIM]}" "${SRV[$VICTIM]}" 2>/dev/null
reap "${CLI[$VICTIM]}" 5
reap "${SRV[$VICTIM]}" 5

is "$(field dom0 "g$VICTIM" reconnects)" 1 "dom0 counts one reconnect to guest $VICTIM"
ok "$(no_carrier "$N0" "vchan-guest$VICTIM"; echo $?)" "and its device shows NO-CARRIER"

start_guest "$VICTIM"
wait_state dom0 "g$VICTIM" RUNNING
run_ok "guest $VICTIM's link works again" \
	ip netns exec "${NS[$VICTIM]}" ping -c 2 -i 0.1 -W 2 "10.77.$VICTIM.1"

out=$(ctl dom0 status)
is "$(grep -c ': RUNNING since' <<<"$out")" 3 "status lists three RUNNING links"

kill -TERM "$d0"
reap "$d0" 10
is $? 0 "dom0's daemon exits 0 on SIGTERM"
for g in "${GUESTS[@]}"; do
	wait_for 2 no_carrier "${NS[$g]}" vchan0
	ok $? "guest $g sees its carrier go"
done

done_testing

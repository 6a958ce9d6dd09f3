#!/usr/bin/env bash
# A provisioned guest reads its provisioner's tree as of one moment
# (xstore_snapshot): dom0 swaps the addresses of two links, a and z, in one
# transaction, over and over, with eight links between them. A guest that
# read a before a swap and z after it would see one address on both, take it
# for a clash and stop z. It never does; and it did read while dom0 wrote.
# shellcheck source=SCRIPTDIR/../lib.sh
# shellcheck disable=SC2154,SC2317,SC2119 # spawn sets variables by name; sim_start takes no $1
. "$(dirname "$0")/../lib.sh"
# shellcheck source=SCRIPTDIR/../daemon-lib.sh
. "$TOP/netns-tests/daemon-lib.sh"

P=/local/domain/5/device/vchan-tun
LINKS=(a m0 m1 m2 m3 m4 m5 m6 m7 z)

sim_start
sim_domain 5 web
netns_add NG
xs() { sim_exec 0 - "$@"; }

# Every link a client of dom0 with a device of its own; a and z have addresses.
pairs=()
for l in "${LINKS[@]}"; do
	pairs+=("$P/$l/peer" 0 "$P/$l/role" client "$P/$l/interface" "p-$l")
done
run_ok "dom0 provisions ${#LINKS[@]} links" xs xenstore-write "${pairs[@]}" \
	"$P/a/address" 10.66.1.1/32 "$P/z/address" 10.66.2.1/32
run_ok "owned by dom0, readable by the guest alone" xs xenstore-chmod -r "$P" n0 r5

daemon dg guest 5 "$NG" --provisioned
links_are() { [ "$(ctl guest status | head -n 1)" = "domain 5, $1 links" ]; }
wait_for 10 links_are ${#LINKS[@]}
ok $? "the guest takes all ${#LINKS[@]}" || bail_out "$(ctl guest status)"
reads_before=$(grep -c 'provisioned links changed' "$WORK/guest.log")

# dom0 swaps a's and z's addresses in one transaction (xenstore-write with
# more than one pair) until the guest has read the tree READS times while it
# swapped, then stops after an even count, where it began. How many swaps that
# takes depends on the machine, so the test awaits the reads rather than
# counting swaps. A pause of GAP seconds after each swap gives a read of the
# whole tree, which takes a few milliseconds, room to end between two swaps
# now and then: without it a fast machine's swaps came closer together than
# that, and every read conflicted until the swapping stopped (still never torn).
READS=10
GAP=0.003
# shellcheck disable=SC2016 # the script takes its values as arguments
spawn swapper "$WORK/swapper.log" bash -c '
	for ((i = 0; ; i++)); do
		if ((i % 2 == 0)) && [ -e "$3" ]; then
			echo "$i"
			exit 0
		fi
		if ((i % 2)); then x=10.66.1.1/32 y=10.66.2.1/32; else x=10.66.2.1/32 y=10.66.1.1/32; fi
		"$1" exec 0 -- xenstore-write "$2/a/address" "$x" "$2/z/address" "$y" || exit 1
		sleep "$4"
	done' _ "$XENSIM" "$P" "$WORK/stop-swapping" "$GAP"
reads_while_swapping() {
	echo $(($(grep -c 'provisioned links changed' "$WORK/guest.log") - reads_before))
}
# A swapper that failed ends the wait too; the count then tells.
read_enough() { [ "$(reads_while_swapping)" -ge "$READS" ] || ! kill -0 "$swapper"; }
wait_for 90 read_enough
reads=$(reads_while_swapping)
ok $((reads < READS)) "the guest read the tree while dom0 wrote it ($reads reads that changed links)"
touch "$WORK/stop-swapping"
reap "$swapper" 30
ok $? "dom0 swapped the addresses $(head -n 1 "$WORK/swapper.log") times, and stopped where it began"
is "$(grep -c 'ignored' "$WORK/guest.log")" 0 "it never saw one address on both links"
addr_of() { ip netns exec "$NG" ip -o -4 addr show dev "$1" | awk '{ print $4 }'; }
both_back() { [ "$(addr_of p-a)" = 10.66.1.1/32 ] && [ "$(addr_of p-z)" = 10.66.2.1/32 ]; }
wait_for 10 both_back
ok $? "it ends with dom0's last addresses: a $(addr_of p-a), z $(addr_of p-z)"
wait_for 5 links_are ${#LINKS[@]}
ok $? "and all ${#LINKS[@]} links"

done_testing

#!/usr/bin/env bash
# A guest that reboots gets a new domain id. dom0's link to it is configured
# by name: when the domain is destroyed (its daemon killed with it, no unmap
# notification, only @releaseDomain), dom0's side loses carrier and withdraws
# its offer; when a domain of that name appears again, under a new id, dom0
# offers the channel at the new default XenStore path and the guest's new
# daemon connects. dom0's device and addresses stay throughout.
# shellcheck source=SCRIPTDIR/../lib.sh
# shellcheck disable=SC2154,SC2317,SC2119 # spawn sets variables by name; sim_start takes no $1
. "$(dirname "$0")/../lib.sh"
# shellcheck source=SCRIPTDIR/../daemon-lib.sh
. "$TOP/netns-tests/daemon-lib.sh"

sim_start
sim_domain 5 web
netns_add N0
netns_add NG

daemon d0 dom0 0 "$N0" --name web --peer web --role server \
	--address 10.77.6.1 --peer-address 10.77.6.2/32
start_guest() { # start_guest DOMID
	daemon dg "guest$1" "$1" "$NG" --name web --peer 0 --role client \
		--address 10.77.6.2 --peer-address 10.77.6.1/32
}
start_guest 5
wait_state dom0 web RUNNING || bail_out "no link"
is "$(field dom0 web peer domid)" 5 "dom0 found 'web' as domain 5"
is "$(field dom0 web xenstore_path)" /local/domain/0/data/vchan-tun/5/web "at the default path for 0 and 5"
run_ok "ping from the guest" ip netns exec "$NG" ping -c 2 -i 0.1 -W 2 10.77.6.1

run_ok "domain 5 destroyed" "$XENSIM" domain destroy 5
reap "$dg" 5 >/dev/null 2>&1
ms=$(ms_until 3 no_carrier "$N0" vchan-web)
ok $? "dom0's device loses carrier (after ${ms:-more than 3000} ms)"
wait_state dom0 web WAITING_PEER 5
like "$(field dom0 web last_error)" 'domain 5 \(web\) is gone' "and says the domain is gone"
run_fails "dom0 withdrew its offer from XenStore" \
	sim_exec 0 - xenstore-read /local/domain/0/data/vchan-tun/5/web/ring-ref
like "$(ip -n "$N0" addr show dev vchan-web)" 'inet 10\.77\.6\.1 peer 10\.77\.6\.2/32' \
	"dom0's device keeps its address"

run_ok "the guest comes back as domain 7" "$XENSIM" domain create 7 --name web
wait_state dom0 web OFFERING 5
is "$(field dom0 web peer domid)" 7 "dom0 follows the name to domain 7"
is "$(field dom0 web xenstore_path)" /local/domain/0/data/vchan-tun/7/web "and offers at the new default path"
start_guest 7
wait_state dom0 web RUNNING
run_ok "ping works with the rebooted guest" ip netns exec "$N0" ping -c 2 -i 0.1 -W 2 10.77.6.2
is "$(field dom0 web reconnects)" 1 "dom0 counts one reconnect"

kill -TERM "$d0"
reap "$d0" 10
is $? 0 "dom0's daemon exits 0"

done_testing

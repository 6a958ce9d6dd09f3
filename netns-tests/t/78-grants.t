#!/usr/bin/env bash
# The grant budget: the server of a link pays for its rings in grants, and a
# domain may only have so many (Linux's gntalloc: 1024 by default; here 300).
# A daemon serving three links of 256K rings (129 grants each) offers two; the
# third fails with a message saying which limit was hit and what to change,
# and is retried. Shrinking that link's rings (a reload) lets it through.
# shellcheck source=SCRIPTDIR/../lib.sh
# shellcheck disable=SC2154,SC2317,SC2119 # spawn sets variables by name; sim_start takes no $1
. "$(dirname "$0")/../lib.sh"
# shellcheck source=SCRIPTDIR/../daemon-lib.sh
. "$TOP/netns-tests/daemon-lib.sh"

sim_start
"$XENSIM" domain create 1 --name host --gntalloc-limit 300 || bail_out "cannot create domain 1"
netns_add N1
CONF="$WORK/conf1"
mkdir -p "$CONF"
for g in 2 3 4; do
	sim_domain "$g"
	netns_add "NS_$g"
	v="NS_$g"
	printf '[Link]\nPeer = %s\nRole = server\n' "$g" >"$CONF/l$g.conf"
	daemon pid_g "guest$g" "$g" "${!v}" --name "l$g" --peer 1 --role client
done

daemon d1 host 1 "$N1" --config-dir "$CONF"
wait_state host l2 RUNNING
wait_state host l3 RUNNING
wait_state host l4 FAILED
like "$(field host l4 last_error)" \
	'cannot share .*No space left on device; out of grants: offering this link takes 129 \(1 \+ ReadRing/4096 \+ WriteRing/4096\) on top of the 258 our other offers hold, and Linux.s gntalloc allows 1024 per domain by default: make this end the client, use smaller rings, or raise xen_gntalloc.s limit' \
	"the third offer fails, saying which limit was hit and what to change"
is "$(grep -c 'out of grants' "$WORK/host.log")" 1 "the log says so once, not at every retry"

printf '[Link]\nPeer = 4\nRole = server\nReadRing = 16K\nWriteRing = 16K\n' >"$CONF/l4.conf"
kill -HUP "$d1"
wait_state host l4 RUNNING
is "$(field host l4 ring read)" 16384 "with 16K rings (9 grants) it fits"
is "$(field host l2 reconnects)" 0 "the other links were not disturbed"

kill -TERM "$d1"
reap "$d1" 10
is $? 0 "the daemon exits 0"

done_testing

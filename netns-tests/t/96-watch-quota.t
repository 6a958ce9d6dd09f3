#!/usr/bin/env bash
# XenStore's watch quota. xenstored allows an unprivileged domain a number of
# watches (C xenstored's --watch-nb, 128 by default; dom0 has no quota), and
# the client of a link holds one on its server's keys for as long as the
# link lives. A driver domain that is the client of more links than its quota
# allows: the links past it are FAILED with a message that names the quota,
# the others connect, and a failed link retries by itself and comes up once a
# watch is free again. xensim's quota is 4 here: the daemon's own two
# (@introduceDomain, @releaseDomain) and one per link.
# shellcheck source=SCRIPTDIR/../lib.sh
# shellcheck disable=SC2154,SC2317 # spawn sets variables by name
. "$(dirname "$0")/../lib.sh"
# shellcheck source=SCRIPTDIR/../daemon-lib.sh
. "$TOP/netns-tests/daemon-lib.sh"

sim_start --quota-watches 4
sim_domain 1 driver
netns_add NH
mkdir -p "$WORK/conf"
for g in 2 3 4; do
	sim_domain "$g" "guest$g"
	printf '[Link]\nPeer = %s\nRole = client\nAddress = 10.96.%s.1\nPeerAddress = 10.96.%s.2/32\n' \
		"$g" "$g" "$g" >"$WORK/conf/g$g.conf"
done

daemon dh driver 1 "$NH" --config-dir "$WORK/conf"
wait_state driver g2 CONNECTING
wait_state driver g3 CONNECTING
wait_state driver g4 FAILED
like "$(field driver g4 last_error)" \
	"cannot watch /local/domain/4/data/vchan-tun/1/g4: this domain has as many XenStore watches as xenstored allows it \\(--watch-nb, 128 by default; none for dom0\\)" \
	"the third link's error names the quota"
like "$(grep 'g4: error' "$WORK/driver.log")" "as many XenStore watches as xenstored allows" \
	"and the log says it"

rm "$WORK/conf/g2.conf"
like "$(ctl driver reload)" "1 removed" "a link is removed"
wait_state driver g4 CONNECTING 10
netns_add N4
daemon d4 guest4 4 "$N4" --name g4 --peer 1 --role server --address 10.96.4.2 \
	--peer-address 10.96.4.1/32
wait_state driver g4 RUNNING
run_ok "and carries a ping" ip netns exec "$NH" ping -c 2 -i 0.2 -W 2 10.96.4.2

kill -TERM "$d4" "$dh"
reap "$d4" 10
is $? 0 "the guest's daemon exits 0 on SIGTERM"
reap "$dh" 10
is $? 0 "the driver domain's daemon exits 0 on SIGTERM"
done_testing

#!/usr/bin/env bash
# vchan-tun-watch --provisioned in a guest follows the links dom0 provisions
# for it, as the guest's `vchan-tund --provisioned` runs them: with no file in
# the guest, dom0's PeerRoutes become the guest's routes (the shipped default
# hook) when the link comes up, follow a reload in dom0 (down with the old
# routes, up with the new), and go with the link. Domain 0 is never
# provisioned: --provisioned there is an error.
# shellcheck source=SCRIPTDIR/../lib.sh
# shellcheck disable=SC2154,SC2317,SC2119 # spawn sets variables by name; sim_start takes no $1
. "$(dirname "$0")/../lib.sh"
# shellcheck source=SCRIPTDIR/../daemon-lib.sh
. "$TOP/netns-tests/daemon-lib.sh"
# shellcheck source=SCRIPTDIR/../watch-lib.sh
. "$TOP/netns-tests/watch-lib.sh"

sim_start
sim_domain 5 web
netns_add N0
netns_add NG
mkdir -p "$WORK/d0"

# db.conf in dom0: the guest's device vg-db, 10.98.0.2 to dom0's 10.98.0.1,
# and the guest routes ROUTES to dom0
dom0_file() {
	printf '[Link]\nPeer = web\nRole = server\nProvision = yes\nInterface = v0-db\n%s\n%s\n%s\n' \
		"Address = 10.98.0.1" "PeerAddress = 10.98.0.2/32" "PeerInterface = vg-db" >"$WORK/d0/db.conf"
	printf 'PeerRoutes = %s\n' "$1" >>"$WORK/d0/db.conf"
}
routed() { ip -n "$NG" route show "$1" dev vg-db proto static | grep -q .; }
not_routed() { ! routed "$1"; }

ip -n "$N0" addr add 10.99.0.1/32 dev lo
ip -n "$N0" addr add 10.97.0.1/32 dev lo
# The watcher first, so that the link comes to it by provisioning: one that
# finds a link up at its start takes its hook as run (vchan-tun-watch(8),
# Restarts), one provisioned later runs its up even if the guest's daemon
# has connected before the watcher hears of the link (which happens here).
watcher wg wg 5 "$NG" --provisioned --hooks-dir "$TOP/scripts" --hook-timeout 5
wait_for 10 grep -q 'watching 0 links as domain 5' "$WORK/wg.log"
ok $? "the guest's watcher starts with no links, before anything is provisioned" ||
	show_watcher_log wg
dom0_file 10.99.0.0/16
daemon d0 dom0 0 "$N0" --config-dir "$WORK/d0"
daemon dg guest 5 "$NG" --provisioned
wait_state guest db RUNNING || bail_out "the provisioned link does not run"
like "$(head -n 1 "$WORK/wg.log")" 'following the links domain 0 provisions' \
	"the guest's watcher follows what dom0 provisions"

wait_for 10 routed 10.99.0.0/16
ok $? "the link is up: the guest routes dom0's PeerRoutes to it" || show_watcher_log wg
run_ok "the guest reaches an address of that network" \
	ip netns exec "$NG" ping -c 2 -i 0.1 -W 2 10.99.0.1

# --- a reload in dom0: down with the old routes, up with the new ---------------------------

dom0_file 10.97.0.0/16
kill -HUP "$d0"
wait_for 10 routed 10.97.0.0/16
ok $? "dom0 changes PeerRoutes: the guest routes the new network" || show_watcher_log wg
not_routed 10.99.0.0/16
ok $? "and no longer the old one"
like "$(grep 'provisioned links changed' "$WORK/wg.log" | tail -n 1)" '1 changed' \
	"the watcher's log: the provisioned link changed"
run_ok "the guest reaches the new network" ip netns exec "$NG" ping -c 2 -i 0.1 -W 2 10.97.0.1

# --- removed in dom0: the link, its device and its routes go -------------------------------

rm "$WORK/d0/db.conf"
kill -HUP "$d0"
wait_for 10 grep -q 'provisioned links changed: 0 links (0 added, 0 changed, 1 removed)' "$WORK/wg.log"
ok $? "removed in dom0: the watcher lets the link go" || show_watcher_log wg
wait_for 10 not_routed 10.97.0.0/16
ok $? "and the route is gone with the device"

# --- domain 0 is never provisioned -------------------------------------------------------

watcher w0 w0 0 "$N0" --provisioned --config-dir "$WORK/d0"
reap "$w0" 10
is $? 2 "a watcher with --provisioned in domain 0 is a command-line error (2)"
like "$(cat "$WORK/w0.log")" 'this is domain 0, which provisions others and takes links from nobody' \
	"saying why"

kill -TERM "$wg"
reap "$wg" 10
is $? 0 "SIGTERM ends the guest's watcher"
done_testing

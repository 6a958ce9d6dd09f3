#!/usr/bin/env bash
# One configuration, in dom0 (issue 14): a link file in dom0 with
# Provision = yes publishes the guest's end of the link under the guest's
# /local/domain/5/device/vchan-tun/LINK, owned by dom0 and readable by the
# guest alone, and a guest running `vchan-tund --provisioned` with no file of
# its own takes it: the link runs, reloads in dom0 reach it in place, and
# removal in dom0 removes it. The guest trusts only nodes dom0 owns.
# shellcheck source=SCRIPTDIR/../lib.sh
# shellcheck disable=SC2154,SC2317,SC2119 # spawn sets variables by name; sim_start takes no $1
. "$(dirname "$0")/../lib.sh"
# shellcheck source=SCRIPTDIR/../daemon-lib.sh
. "$TOP/netns-tests/daemon-lib.sh"

P=/local/domain/5/device/vchan-tun

sim_start
sim_domain 5 web
netns_add N0
netns_add NG
mkdir -p "$WORK/d0"

# dom0_file LINK X [MORE KEYS]: dom0's file for LINK to the guest 'web', device
# v0-LINK, addresses 10.77.14.X and fd14::X, the guest's X + 1
dom0_file() {
	local link=$1 a=$2
	shift 2
	{
		printf '[Link]\nPeer = web\nRole = server\nProvision = yes\nInterface = v0-%s\n' "$link"
		printf 'Address = 10.77.14.%s, fd14::%s\n' "$a" "$a"
		printf 'PeerAddress = 10.77.14.%s/32, fd14::%s/128\n' $((a + 1)) $((a + 1))
		printf '%s\n' "$@"
	} >"$WORK/d0/$link.conf"
}
pings() { # pings NETNS ADDRESS DESCRIPTION
	run_ok "$3" ip netns exec "$1" ping -c 2 -i 0.1 -W 2 "$2"
}
xs() { sim_exec 0 - "$@"; }
gone() { ! dev_exists "$1" "$2"; } # gone NETNS IFNAME
# eventually SECS DESCRIPTION CMD...: CMD succeeds within SECS, as a test
eventually() {
	local secs=$1 desc=$2
	shift 2
	wait_for "$secs" "$@"
	ok $? "$desc"
}

# --- a guest before dom0 provisions anything ----------------------------------------------

# jiffies of CPU (user + system) the process has used
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

daemon dg guest 5 "$NG" --provisioned
wait_for 10 grep -q 'following the links domain 0 provisions' "$WORK/guest.log" ||
	bail_out "the guest does not start"
t0=$(cpu_ticks "$dg")
sleep 3
t1=$(cpu_ticks "$dg")
ok $((t1 - t0 > 5)) "a guest with nothing provisioned waits at no CPU cost ($((t1 - t0)) ticks in 3 s)"
is "$(sort "$WORK/guest.log" | uniq -d)" "" "and its log repeats no line"
is "$(ctl guest status)" "domain 5, 0 links" "it has no links"
run_fails "its directory does not exist yet" xs xenstore-read "$P"

# --- the one-file way ------------------------------------------------------------------

dom0_file web 1 "PeerRoutes = 10.99.0.0/16" "ReadRing = 64K"
daemon d0 dom0 0 "$N0" --config-dir "$WORK/d0"
wait_state guest web RUNNING || bail_out "the provisioned link does not run"
wait_state dom0 web RUNNING
pings "$NG" 10.77.14.1 "ping IPv4 from the guest to dom0"
pings "$N0" 10.77.14.2 "ping IPv4 from dom0 to the guest"
pings "$NG" fd14::1 "ping IPv6 from the guest to dom0"
pings "$N0" fd14::2 "ping IPv6 from dom0 to the guest"
is "$(field guest web provisioned_by)" 0 "the guest's status: provisioned by domain 0"
is "$(field guest web role)" client "the guest takes the other role"
is "$(field guest web ring write)" 65536 "and the rings swapped (dom0 reads 64K: the guest writes 64K)"
is "$(field guest web interface)" vchan0 "the guest's device has the default name for peer 0"
is "$(field dom0 web provisioned_by)" null "dom0's link is provisioned by nobody"
is "$(field dom0 web provision path)" "$P/web" "dom0's status: where it published"
is "$(field dom0 web provision taken)" 1 "and that the guest took it"
like "$(ctl guest status)" 'provisioned by domain 0' "the guest's text status says who provisioned it"
like "$(ctl dom0 status)" "provisioned at $P/web, taken" "dom0's text status says it was taken"

ls_p=$(xs xenstore-ls -p "$P")
keys=$(sed -n 's/^ *\([a-z-]*\) = "\(.*\)" .*/\1=\2/p' <<<"$ls_p" | sort | tr '\n' ' ')
is "$keys" "address=10.77.14.2/32,fd14::2/128 mode=tun mtu=1500 peer-address=10.77.14.1,fd14::1 peer=0 read-ring=256K role=client routes=10.99.0.0/16 web= write-ring=64K " \
	"the published keys: option names, the guest's view of the link"
is "$(grep -vc '(n0,r5)$' <<<"$ls_p")" 0 "every node, the link's directory too, is n0 r5: dom0's, read by the guest alone" ||
	diag "$ls_p"
run_fails "another domain cannot read them" sim_exec 6 - xenstore-read "$P/web/peer" 2>/dev/null ||
	true

# PeerRoutes is the guest's Routes: packets from there may come in
ip -n "$N0" addr add 10.99.0.1/32 dev lo
ip -n "$NG" route add 10.99.0.0/16 dev vchan0
run_ok "dom0 reaches the guest from a PeerRoutes network" \
	ip netns exec "$N0" ping -c 2 -i 0.1 -W 2 -I 10.99.0.1 10.77.14.2

# --- a reload in dom0 reaches the guest, in place -------------------------------------------

ifindex() { ip -n "$1" -o link show dev "$2" | cut -d: -f1; }
guest_has() { ip -n "$NG" addr show dev vchan0 | grep -q "inet $1 "; }
idx=$(ifindex "$NG" vchan0)
dom0_file web 5 "PeerRoutes = 10.99.0.0/16" "ReadRing = 64K"
kill -HUP "$d0"
eventually 10 "the guest's device gets dom0's new PeerAddress" guest_has 10.77.14.6
is "$(ifindex "$NG" vchan0)" "$idx" "in place: the same device (ifindex $idx)"
run_fails "the old address is gone" guest_has 10.77.14.2
like "$(grep 'provisioned links changed' "$WORK/guest.log" | tail -n 1)" '1 changed in place' \
	"the guest's log: changed in place"
wait_state guest web RUNNING
pings "$N0" 10.77.14.6 "ping the guest's new address"
pings "$NG" 10.77.14.5 "ping dom0's new address from the guest"

# --- two links to one guest, and a clash between them ----------------------------------------

dom0_file db 9 "PeerInterface = vdb"
kill -HUP "$d0"
wait_state guest db RUNNING
is "$(field guest db interface)" vdb "PeerInterface names the guest's second device"
pings "$N0" 10.77.14.10 "ping over the second link"
is "$(field guest web state)" RUNNING "the first link runs on"

dom0_file dup 13
kill -HUP "$d0"
wait_for 10 grep -q "provisioned link 'dup' ignored" "$WORK/guest.log"
like "$(grep "provisioned link 'dup' ignored" "$WORK/guest.log")" \
	"$P/dup: default interface name 'vchan0': already used by link 'web' \($P/web\): the provisioned one is not started" \
	"a third link with the guest's default interface again: the clash is named, the link not started"
rm "$WORK/d0/dup.conf"
kill -HUP "$d0"

# --- removal ---------------------------------------------------------------------------------

rm "$WORK/d0/db.conf"
kill -HUP "$d0"
eventually 10 "dom0 removes a link: the guest's device goes" gone "$NG" vdb
run_fails "and the guest has no such link" ctl guest status link db
run_fails "dom0 removed its keys" xs xenstore-read "$P/db/peer"
# the device goes before the daemon logs why, so the line is awaited
eventually 10 "the guest's log says why" grep -q 'db: stopped: no longer provisioned' "$WORK/guest.log"
is "$(field guest web state)" RUNNING "the other link runs on"

# --- a bad value names its node -----------------------------------------------------------------

dom0_file db 9 "PeerInterface = vdb"
kill -HUP "$d0"
wait_state guest db RUNNING
xs xenstore-write "$P/db/mtu" 70000
wait_for 10 gone "$NG" vdb
like "$(grep "provisioned link 'db' ignored" "$WORK/guest.log")" \
	"$P/db/mtu: MTU = '70000': expected a number from 68 to 65535" \
	"a bad value from XenStore: the error names the node, the key and the value"
rm "$WORK/d0/db.conf"
kill -HUP "$d0"

# --- what the guest writes itself is not trusted ----------------------------------------------

run_fails "the guest cannot create a link under its device/vchan-tun" \
	sim_exec 5 - xenstore-write "$P/fake/peer" 0
run_fails "nor a node in dom0's link directory" \
	sim_exec 5 - xenstore-write "$P/web/extra" 1
is "$(xs xenstore-ls -p "$P/web" | grep -c extra)" 0 "there is no such node"
# a toolstack might give the guest a directory there: what it writes in it is its own
xs xenstore-write "$P/evil" ""
xs xenstore-chmod "$P/evil" n5
for i in 1 2 3; do
	sim_exec 5 - xenstore-write "$P/evil/peer" 0 "$P/evil/role" server \
		"$P/evil/address" "10.77.14.$((20 + i))" "$P/evil/peer-address" 10.77.14.1
	sleep 0.3
done
wait_for 10 grep -q "provisioned link 'evil' ignored" "$WORK/guest.log"
like "$(grep "provisioned link 'evil' ignored" "$WORK/guest.log")" \
	"$P/evil is domain 5's, not the provisioner's \(domain 0\)" \
	"a link the guest wrote itself is ignored, and the log says whose it is"
is "$(grep -c "provisioned link 'evil' ignored: .* is domain 5's" "$WORK/guest.log")" 1 \
	"once, however many times it is written"
run_fails "the guest has no such link" ctl guest status link evil
xs xenstore-rm "$P/evil"

# --- a local file and a provisioned link of the same name -------------------------------------

kill -TERM "$dg"
reap "$dg" 10
mkdir -p "$WORK/g"
printf '[Link]\nPeer = 0\nRole = client\nInterface = vlocal\nAddress = 10.77.15.2\n' \
	>"$WORK/g/web.conf"
daemon dg guest 5 "$NG" --provisioned --config-dir "$WORK/g"
wait_for 10 grep -q "provisioned link 'web' ignored" "$WORK/guest.log"
like "$(grep "provisioned link 'web' ignored" "$WORK/guest.log")" \
	"$P/web: link 'web' is also configured in $WORK/g/web.conf: the provisioned one is not started" \
	"a local file of the same name: a clear error naming both"
is "$(field guest web interface)" vlocal "the local link runs, the provisioned one does not"
kill -TERM "$dg"
reap "$dg" 10

# --- by name, across the guest's new domid -------------------------------------------------------

daemon dg guest 5 "$NG" --provisioned
wait_state guest web RUNNING
run_ok "domain 5 destroyed" "$XENSIM" domain destroy 5
reap "$dg" 5 >/dev/null 2>&1
wait_state dom0 web WAITING_PEER
run_ok "the guest comes back as domain 7" "$XENSIM" domain create 7 --name web
P7=/local/domain/7/device/vchan-tun
wait_for 10 xs xenstore-read "$P7/web/peer" >/dev/null 2>&1
is "$(xs xenstore-read "$P7/web/address")" 10.77.14.6/32,fd14::6/128 \
	"dom0 follows the name: it provisions domain 7"
is "$(xs xenstore-ls -p "$P7" | grep -vc '(n0,r7)$')" 0 "readable by domain 7 alone"
daemon dg guest 7 "$NG" --provisioned
wait_state guest web RUNNING
pings "$N0" 10.77.14.6 "ping the rebooted guest"

# --- dom0 stops: the guest's link goes -----------------------------------------------------------

kill -TERM "$d0"
reap "$d0" 10
is $? 0 "dom0's daemon exits 0"
run_fails "dom0 removed what it published" xs xenstore-read "$P7/web/peer"
eventually 10 "the guest's link and device go with it" gone "$NG" vchan0
kill -TERM "$dg"
reap "$dg" 10
is $? 0 "the guest's daemon exits 0"

# --- who may be provisioned -------------------------------------------------------------------

out=$(sim_exec 0 "$N0" "$DAEMON" --provisioned --control "$WORK/x.sock" 2>&1)
is "$?" 2 "dom0 is never provisioned: --provisioned in domain 0 is a command-line error (2)"
like "$out" 'this is domain 0, which provisions others' "and says why"
run_fails "and leaves no control socket behind" test -e "$WORK/x.sock"
out=$(sim_exec 7 "$NG" "$DAEMON" --provisioned --provisioned-by 7 --control "$WORK/y.sock" 2>&1)
is "$?" 2 "nor is a domain provisioned by itself: --provisioned-by its own id is an error (2)"
like "$out" '--provisioned-by 7: that is this domain' "and says why"
out=$("$DAEMON" --provisioned --config-dir "$WORK/d0" --check-config 2>&1)
is "$?" 2 "a provisioned daemon provisions nobody: Provision = yes in its files is an error"
like "$out" "$WORK/d0/web.conf:4: Provision = yes: not in a daemon that is provisioned itself" \
	"naming the file and line"

done_testing

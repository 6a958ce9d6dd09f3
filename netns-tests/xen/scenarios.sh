# shellcheck shell=sh
# The scenarios of the real-Xen run, sourced by dom0's /init once the domU's
# agent is up: $D is the domU's domain id, $DOMU_PATH its XenStore directory.
# Programs on the domU side run as jobs of its agent (on_domu, domu_wait; see
# /vt/lib.sh); "\$" in a job's command is expanded in the domU.
#
# 0. What our programs and xensim take for granted of XenStore and gntalloc.
# 1. vchan-cat in dom0 <-> vchan-cat in the domU, both directions at once and
#    sha256-checked, the domU serving in-page rings (orders 10/11) and dom0
#    multi-page ones (16/18); then our ring against Xen's libxenvchan
#    (vchan-peer), ours serving in the domU and ours connecting from it.
# 2. vchan-tund in both domains: ping both ways, iperf3 TCP, vchan-tunctl
#    status, kill -9 of the domU's daemon and its restart.
# 3. Provisioning: one link file in dom0 with Provision = yes, the domU's
#    vchan-tund --provisioned with no file of its own: the published keys and
#    their permissions, both ends RUNNING, ping both ways and iperf3 TCP; a
#    reload in dom0 that changes both ends' addresses, taken in place in the
#    domU; the file removed: the keys, the domU's link and device go.
# 4. vchan-tun-watch in dom0 over a Watched link to the domU, with a recording
#    hook: the domU's daemon starts, stops (SIGTERM), starts again, and the
#    domU is destroyed (xl destroy), which is why this scenario comes last.

CAT_BIG=${CAT_BIG:-4194304}
CAT_SMALL=$((CAT_BIG / 2 + 12345))
PEER_BYTES=${PEER_BYTES:-4194304}

# --- what our programs and xensim take for granted ---------------------------------

say "stage xenstore-facts"
# The daemon learns its domain id from its own "domid"; a client waiting for
# a server's keys under a directory it may not read gets EACCES, not ENOENT
# (xenstore-read does not say which; xenstore-ls does);
# the data directory is the domain's own; gntalloc's limit is 1024. xensim
# models each of these (docs/xensim.md); here Xen and Linux say so themselves.
out=$(domu_run facts 30 "xenstore-read domid; xenstore-ls /local/domain/0/data/vchan/$D/none 2>&1;
	cat /sys/module/xen_gntalloc/parameters/limit")
is "$(echo "$out" | sed -n 1p)" "$D" "domU: its own domid key reads $D"
like "$(echo "$out" | sed -n 2p)" 'Permission denied' \
	"domU: a missing key under dom0's directory: EACCES, not ENOENT"
is "$(echo "$out" | sed -n 3p)" 1024 "domU: gntalloc shares at most 1024 grants"
is "$(cat /sys/module/xen_gntalloc/parameters/limit)" 1024 "dom0: gntalloc shares at most 1024 grants"
like "$(xenstore-ls -p "$DOMU_PATH" | grep '^data = ')" "\(n$D\)\$" \
	"the domU's data directory is its own, closed to others (n$D)"

# --- scenario 1: the vchan ------------------------------------------------------

say "stage scenario-1-vchan"

uptime_s() { cut -d' ' -f1 /proc/uptime; }
took() { awk -v a="$1" -v b="$(uptime_s)" 'BEGIN { printf "%.1f s", b - a }'; }

head -c "$CAT_BIG" /dev/urandom >/tmp/d.big
head -c "$CAT_SMALL" /dev/urandom >/tmp/d.small
D_BIG=$(sum_of /tmp/d.big)
D_SMALL=$(sum_of /tmp/d.small)
out=$(domu_run data 60 "head -c $CAT_BIG /dev/urandom >/tmp/u.big &&
	head -c $CAT_SMALL /dev/urandom >/tmp/u.small && sum_of /tmp/u.big && sum_of /tmp/u.small")
ok $? "domU: random data to send made" || diag "$out"
U_BIG=$(echo "$out" | sed -n 1p)
U_SMALL=$(echo "$out" | sed -n 2p)

# The side that serves sends the big file and quits a second after its peer
# has read it (-q 1); the client sends the small one and ends when the server
# closes.

# cat_domu_serves N LABEL SERVER_OPTIONS: vchan-cat -l in the domU, the client in dom0.
cat_domu_serves() {
	local n="$1" label="$2" opts="$3" path="$DOMU_PATH/data/vchan/0/cat$1" crc src t0
	t0=$(uptime_s)
	on_domu "cat$n" "vchan-cat -v -q 1 $opts -l 0 $path </tmp/u.big >/tmp/cat$n.out;
		rc=\$?; sum_of /tmp/cat$n.out; exit \$rc"
	timeout 120 vchan-cat -v -w 60 "$D" "$path" </tmp/d.small >"/tmp/cat$n.out" 2>"/tmp/cat$n.err"
	crc=$?
	domu_wait "cat$n" 60
	src=$?
	diag "$label: $(took "$t0"), with the sums and the 1 s the server lingers"
	is "$src" 0 "$label: vchan-cat -l in the domU exits 0" || diag "$(domu_out "cat$n")"
	is "$crc" 0 "$label: vchan-cat in dom0 exits 0 once the server closed" ||
		show_file "dom0 client" "/tmp/cat$n.err"
	is "$(sum_of "/tmp/cat$n.out")" "$U_BIG" "$label: dom0 got the $CAT_BIG bytes the domU sent (sha256)"
	is "$(domu_out "cat$n" | tail -n 1)" "$D_SMALL" \
		"$label: the domU got the $CAT_SMALL bytes dom0 sent (sha256)"
}

# cat_dom0_serves N LABEL SERVER_OPTIONS: vchan-cat -l in dom0, the client in the domU.
cat_dom0_serves() {
	local n="$1" label="$2" opts="$3" path="/local/domain/0/data/vchan/$D/cat$1" spid src crc t0
	t0=$(uptime_s)
	# shellcheck disable=SC2086 # options split on purpose
	timeout 120 vchan-cat -v -q 1 $opts -l "$D" "$path" </tmp/d.big >"/tmp/cat$n.out" 2>"/tmp/cat$n.err" &
	spid=$!
	on_domu "cat$n" "vchan-cat -v -w 60 0 $path </tmp/u.small >/tmp/cat$n.out;
		rc=\$?; sum_of /tmp/cat$n.out; exit \$rc"
	wait "$spid"
	src=$?
	domu_wait "cat$n" 60
	crc=$?
	diag "$label: $(took "$t0"), with the sums and the 1 s the server lingers"
	is "$src" 0 "$label: vchan-cat -l in dom0 exits 0" || show_file "dom0 server" "/tmp/cat$n.err"
	is "$crc" 0 "$label: vchan-cat in the domU exits 0 once the server closed" ||
		diag "$(domu_out "cat$n")"
	is "$(sum_of "/tmp/cat$n.out")" "$U_SMALL" \
		"$label: dom0 got the $CAT_SMALL bytes the domU sent (sha256)"
	is "$(domu_out "cat$n" | tail -n 1)" "$D_BIG" \
		"$label: the domU got the $CAT_BIG bytes dom0 sent (sha256)"
}

cat_domu_serves 1 "orders 10/11 (rings in the control page), domU serves" \
	"--read-order 10 --write-order 11"
like "$(cat /tmp/cat1.err)" 'read ring order 11, write ring order 10' \
	"orders 10/11: dom0's client took the mirrored orders from the domU's page"
cat_dom0_serves 2 "orders 16/18 (rings of 16 and 64 pages), dom0 serves" \
	"--read-order 16 --write-order 18"
like "$(cat /tmp/cat2.err)" 'read ring order 16, write ring order 18' \
	"orders 16/18: dom0's server has the orders asked for"

# ok_line OUTPUT: the "ok sent=..." line of vchan-peer or ring-peer
ok_line() { echo "$1" | grep -m1 '^ok sent='; }
field() { echo "$1" | tr ' ' '\n' | sed -n "s|^$2=||p"; }

# peers N LABEL SERVER(dom0|domU) SERVER_PROG CLIENT_PROG [SERVER_OPTIONS]: the
# two check every byte of the other's seeded stream themselves.
peers() {
	local n="$1" label="$2" where="$3" sprog="$4" cprog="$5" opts="${6:-}" path
	local args="--bytes $PEER_BYTES --seed $n --timeout 100" pid d0rc urc d0out uout sline cline
	if [ "$where" = domU ]; then
		path=$DOMU_PATH/data/vchan/0/peer$n
		on_domu "peer$n" "$sprog server 0 $path $args $opts"
		# shellcheck disable=SC2086 # $args splits on purpose
		timeout 120 "$cprog" client "$D" "$path" $args >"/tmp/peer$n.out" 2>&1
		d0rc=$?
	else
		path=/local/domain/0/data/vchan/$D/peer$n
		# shellcheck disable=SC2086 # $args and $opts split on purpose
		timeout 120 "$sprog" server "$D" "$path" $args $opts >"/tmp/peer$n.out" 2>&1 &
		pid=$!
		on_domu "peer$n" "$cprog client 0 $path $args"
		wait "$pid"
		d0rc=$?
	fi
	domu_wait "peer$n" 120
	urc=$?
	d0out=$(cat "/tmp/peer$n.out")
	uout=$(domu_out "peer$n")
	is "$urc" 0 "$label: the domU's end exits 0" || diag "$uout"
	is "$d0rc" 0 "$label: dom0's end exits 0" || diag "$d0out"
	if [ "$where" = domU ]; then
		sline=$(ok_line "$uout")
		cline=$(ok_line "$d0out")
	else
		sline=$(ok_line "$d0out")
		cline=$(ok_line "$uout")
	fi
	like "$sline" "^ok sent=$PEER_BYTES received=$PEER_BYTES " \
		"$label: the server sent and received $PEER_BYTES bytes, every one checked"
	like "$cline" "^ok sent=$PEER_BYTES received=$PEER_BYTES " \
		"$label: the client sent and received $PEER_BYTES bytes, every one checked"
	is "$(field "$cline" fnv64_received)" "$(field "$sline" fnv64_sent)" \
		"$label: the client's fnv64 of what it got matches the server's of what it sent"
	diag "$label: $(field "$sline" MB/s) MB/s each way"
}

peers 3 "ours (ring-peer) serving in the domU, Xen's libxenvchan client in dom0, 64K rings" \
	domU ring-peer vchan-peer "--read-min 65536 --write-min 65536"
peers 4 "Xen's libxenvchan serving in dom0, ours (ring-peer) client in the domU, in-page rings" \
	dom0 vchan-peer ring-peer

# --- scenario 2: vchan-tund -----------------------------------------------------

LINK=xen
DOMU_TUND="exec vchan-tund -v --name $LINK --peer 0 --role server --address 10.0.0.2/30 --peer-address 10.0.0.1"

# link_up: both daemons' link RUNNING, and the status each shows.
link_up() {
	local out
	poll_until 60 state_is "$LINK" RUNNING
	ok $? "vchan-tund: dom0's link (client) reaches RUNNING" || {
		show_file "dom0's daemon" /tmp/tund.log
		return 1
	}
	out=$(domu_run up 60 "poll_until 30 state_is $LINK RUNNING && vchan-tunctl status")
	ok $? "vchan-tund: the domU's link (server) reaches RUNNING" || {
		diag "$out"
		return 1
	}
	like "$out" "interface vchan0 \(tun, mtu [0-9]+\), server of domain 0\$" \
		"vchan-tunctl status in the domU: RUNNING, device vchan0, server of domain 0"
	out=$(vchan-tunctl status)
	like "$out" "interface vchan$D \(tun, mtu [0-9]+\), client of domain $D \($DOMU_NAME\)\$" \
		"vchan-tunctl status in dom0: RUNNING, device vchan$D, client of domain $D, named as XenStore has it"
	diag "$out"
	# Real grant references and ports (Xen hands out the lowest free port).
	diag "$(xenstore-ls -p "$DOMU_PATH/data/vchan-tun")"
}

# pings WHEN N [DOMU_ADDRESS DOM0_ADDRESS]: both ways (the domU's job pingN);
# the addresses of scenario 2 by default
pings() {
	local to="${3:-10.0.0.2}" from="${4:-10.0.0.1}" out
	out=$(ping -c 3 -i 0.2 -W 5 "$to" 2>&1)
	ok $? "ping from dom0 to the domU ($to)$1" || diag "$out"
	diag "$(echo "$out" | tail -n 1)"
	out=$(domu_run "ping$2" 30 "ping -c 3 -i 0.2 -W 5 $from")
	ok $? "ping from the domU to dom0 ($from)$1" || diag "$out"
}

# iperf [DOMU_ADDRESS SECS JOBS]: iperf3 TCP from dom0 to a server in the
# domU (its jobs named iperfsJOBS and listenJOBS), scenario 2's address for
# 3 s by default
iperf() {
	local to="${1:-10.0.0.2}" secs="${2:-3}" out rate
	# Nothing says when iperf3 -s listens but its socket.
	on_domu "iperfs${3:-}" "exec iperf3 -s -1 -p 5201"
	out=$(domu_run "listen${3:-}" 30 "poll_until 20 listening 5201")
	ok $? "iperf3 server listens in the domU" || {
		diag "$out"
		return 1
	}
	out=$(timeout 60 iperf3 -c "$to" -p 5201 -t "$secs" -f m 2>&1)
	ok $? "iperf3 TCP from dom0 to the domU ($to, $secs s)" || diag "$out"
	rate=$(echo "$out" | awk '/receiver/ { print $(NF - 2), $(NF - 1) }')
	like "$rate" '^[0-9.]+ Mbits/sec' "iperf3 carried traffic: $rate" || diag "$out"
	domu_wait "iperfs${3:-}" 30
	ok $? "the domU's iperf3 server exits 0 after one test" || diag "$(domu_out "iperfs${3:-}")"
}

# restart: kill -9 of the domU's daemon, whose unmap notification tells dom0
# at once; a new daemon offers a fresh channel and the link comes back.
restart() {
	domu_run kill9 30 "kill -9 \$(job_pid tund)" >/dev/null
	ok $? "kill -9 of the domU's vchan-tund"
	domu_wait tund 30
	is "$?" 137 "the domU's vchan-tund died of SIGKILL"
	poll_until 30 state_is "$LINK" CONNECTING
	ok $? "dom0's link leaves RUNNING and waits for a new offer (CONNECTING)" ||
		diag "$(vchan-tunctl status)"
	DOMU_JOB=tund2
	on_domu "$DOMU_JOB" "$DOMU_TUND"
	poll_until 60 state_is "$LINK" RUNNING
	ok $? "a new vchan-tund in the domU: dom0's link is RUNNING again" || {
		show_file "dom0's daemon" /tmp/tund.log
		return 1
	}
	pings " again" 2
	like "$(vchan-tunctl status)" 'connects 2, reconnects 1,' \
		"dom0's daemon counted one reconnect" || diag "$(vchan-tunctl status)"
}

scenario_2() {
	say "stage scenario-2-vchan-tund"
	DOMU_JOB=tund
	on_domu "$DOMU_JOB" "$DOMU_TUND"
	vchan-tund -v --name "$LINK" --peer "$D" --role client \
		--address 10.0.0.1/30 --peer-address 10.0.0.2 >/tmp/tund.log 2>&1 &
	TUND=$!
	link_up && pings "" 1 && iperf && restart
	on_domu stop "kill \$(job_pid $DOMU_JOB)"
	domu_wait "$DOMU_JOB" 30
	is "$?" 0 "SIGTERM: the domU's vchan-tund exits 0" || diag "$(domu_out "$DOMU_JOB")"
	kill "$TUND"
	wait "$TUND"
	is "$?" 0 "SIGTERM: dom0's vchan-tund exits 0"
	grep -v debug /tmp/tund.log | tail -n 20 | sed 's/^/dom0 vchan-tund| /'
}

scenario_2

# --- scenario 3: provisioning ----------------------------------------------------

# One link file, in dom0, with Provision = yes; the domU runs vchan-tund
# --provisioned and no file of its own, and follows what dom0's daemon
# publishes under its device/vchan-tun: the link, a reload that moves both
# ends to new addresses, the link's removal.
PV=/tmp/vt-prov
PLINK=prov
PIF=vprov
PDIR=$DOMU_PATH/device/vchan-tun/$PLINK
# In a domU job: the device's ifindex as "ifindex N"
IFINDEX="echo ifindex \$(ip -o link show dev $PIF | cut -d: -f1)"

# prov_file N: dom0's file for the link, dom0 at 10.0.N.1/30, the domU at 10.0.N.2
prov_file() {
	cat >"$PV/conf/$PLINK.conf" <<-EOF
		[Link]
		Peer = $DOMU_NAME
		Role = client
		Interface = $PIF
		Address = 10.0.$1.1/30
		PeerAddress = 10.0.$1.2
		Provision = yes
		PeerInterface = $PIF
	EOF
}

prov_logs() { # both daemons' logs, for a failure
	show_file "dom0's daemon" "$PV/tund.log"
	diag "--- the domU's daemon:"
	diag "$(domu_run "plog$1" 30 "tail -n 15 /tmp/vt/ptund.log")"
}

# prov_reload WHAT: vchan-tunctl reload in dom0 says WHAT (a regex)
prov_reload() {
	local out
	out=$(vchan-tunctl reload 2>&1)
	like "$out" "$1" "dom0: vchan-tunctl reload: $out"
}

# p_publish: what dom0's daemon writes in the domU's tree, and who may read it
p_publish() {
	local ls keys
	xs_wait "$PDIR/peer" 30
	ok $? "dom0's daemon published the domU's end of the link at $PDIR" || {
		prov_logs 1
		return 1
	}
	ls=$(xenstore-ls -p "$DOMU_PATH/device/vchan-tun")
	keys=$(echo "$ls" | sed -n 's/^ *\([a-z-]*\) = "\([^"]*\)".*/\1=\2/p' | sort | tr '\n' ' ')
	is "$keys" "address=10.0.4.2/30 interface=$PIF mode=tun mtu=1500 peer-address=10.0.4.1 peer=0 $PLINK= read-ring=256K role=server write-ring=256K " \
		"the published keys: the domU's end (the other role, the addresses swapped)" || diag "$ls"
	is "$(echo "$ls" | grep -vc "(n0,r$D)\$")" 0 \
		"every node, $PLINK's directory too, is n0 r$D: dom0's, read by the domU alone" || diag "$ls"
}

# p_up: both ends RUNNING, and what their status says
p_up() {
	local out
	poll_until 60 state_is "$PLINK" RUNNING
	ok $? "dom0's provisioned link (client) reaches RUNNING" || {
		prov_logs 2
		return 1
	}
	# The domU's last try to write under what dom0 published must fail: it is
	# dom0's, and a node of the domU's there would make it ignore the link.
	out=$(domu_run pup 60 "poll_until 30 state_is $PLINK RUNNING && vchan-tunctl status && $IFINDEX &&
		echo published-address \$(xenstore-read device/vchan-tun/$PLINK/address) &&
		! xenstore-write device/vchan-tun/$PLINK/extra 1 2>/dev/null")
	ok $? "the domU's provisioned link (server) reaches RUNNING" || {
		diag "$out"
		prov_logs 3
		return 1
	}
	like "$out" "interface $PIF \(tun, mtu [0-9]+\), server of domain 0, provisioned by domain 0\$" \
		"vchan-tunctl status in the domU: device $PIF (PeerInterface), server of domain 0, provisioned by domain 0" ||
		diag "$out"
	like "$out" '^published-address 10\.0\.4\.2/30$' \
		"the domU reads its end in its own tree; it cannot write there" || diag "$out"
	P_IFINDEX=$(echo "$out" | sed -n 's/^ifindex //p')
	out=$(vchan-tunctl status)
	like "$out" "provisioned at $PDIR, taken\$" "vchan-tunctl status in dom0: provisioned at $PDIR, taken" ||
		diag "$out"
}

# p_reload: dom0 moves both ends to 10.0.5.0/30; the domU's link changes in place
p_reload() {
	local out
	prov_file 5
	prov_reload '^reloaded: 1 links \(0 added, 1 changed in place, 0 restarted,'
	is "$(xenstore-read "$PDIR/address") $(xenstore-read "$PDIR/peer-address")" "10.0.5.2/30 10.0.5.1" \
		"dom0 published the domU's new address and peer address"
	out=$(domu_run pmoved 60 "moved() { ip -o -4 addr show dev $PIF | grep -q 'inet 10\.0\.5\.2[/ ]'; }
		poll_until 30 moved && poll_until 30 state_is $PLINK RUNNING && $IFINDEX &&
		ip -o -4 addr show dev $PIF && grep 'provisioned links changed' /tmp/vt/ptund.log | tail -n 1")
	ok $? "the domU's device got dom0's new PeerAddress 10.0.5.2 and its link runs" || {
		diag "$out"
		prov_logs 4
		return 1
	}
	is "$(echo "$out" | sed -n 's/^ifindex //p')" "$P_IFINDEX" \
		"in place: the same device in the domU (ifindex $P_IFINDEX)"
	ok "$(echo "$out" | grep -c 'inet 10\.0\.4\.2[/ ]')" "the domU's old address 10.0.4.2 is gone" ||
		diag "$out"
	like "$out" '1 changed in place, 0 restarted' "the domU's log: changed in place" || diag "$out"
	pings " after dom0's reload" p2 10.0.5.2 10.0.5.1
}

# p_remove: dom0 removes the file: the keys go, and the domU's link and device
p_remove() {
	local out
	rm "$PV/conf/$PLINK.conf"
	prov_reload '^reloaded: 0 links \(0 added, 0 changed in place, 0 restarted, 1 removed,'
	! xenstore-exists "$PDIR" 2>/dev/null
	ok $? "dom0 removed the keys it published ($PDIR)"
	! xenstore-exists "$DOMU_PATH/device/vchan-tun" 2>/dev/null
	ok $? "and $DOMU_PATH/device/vchan-tun, left empty"
	out=$(domu_run pgone 60 "gone() { ! ip link show dev $PIF; }
		poll_until 30 gone || exit 1; vchan-tunctl status; ip link show dev $PIF; echo \"ip: \$?\";
		grep '$PLINK: stopped' /tmp/vt/ptund.log; exit 0")
	ok $? "the domU's device $PIF goes when dom0 removes the link" || {
		diag "$out"
		return 1
	}
	like "$out" "^domain $D, 0 links\$" "vchan-tunctl status in the domU: no links" || diag "$out"
	like "$out" '^ip: [1-9]' "ip link show in the domU: no device $PIF" || diag "$out"
	like "$out" "$PLINK: stopped.*no longer provisioned" "the domU's log says why" || diag "$out"
}

scenario_3() {
	local out
	say "stage scenario-3-provisioning"
	mkdir -p "$PV/conf"
	on_domu ptund "exec vchan-tund -v --provisioned"
	out=$(domu_run pidle 30 "ls /etc/vchan-tun/*.conf 2>/dev/null | wc -l;
		poll_until 20 vchan-tunctl status && vchan-tunctl status")
	is "$out" "0
domain $D, 0 links" "the domU's vchan-tund --provisioned, no configuration file: no links until dom0 provisions one"
	prov_file 4
	vchan-tund -v --config-dir "$PV/conf" >"$PV/tund.log" 2>&1 &
	PTUND=$!
	p_publish && p_up && pings " over the provisioned link" p1 10.0.4.2 10.0.4.1 &&
		iperf 10.0.4.2 2 p && p_reload && p_remove
	on_domu pstop "kill \$(job_pid ptund)"
	domu_wait ptund 30
	is "$?" 0 "SIGTERM: the domU's vchan-tund --provisioned exits 0" || diag "$(domu_out ptund)"
	kill "$PTUND"
	wait "$PTUND"
	is "$?" 0 "SIGTERM: dom0's vchan-tund exits 0"
	grep -v debug "$PV/tund.log" | tail -n 12 | sed 's/^/dom0 vchan-tund (provisioning)| /'
}

scenario_3

# --- scenario 4: vchan-tun-watch ------------------------------------------------

# dom0's end of the link names its peer, so that the watcher and the daemon
# look the domU up by name and learn of its destruction as in production.
W=/tmp/vt3
WLINK=watched
WIF=vchan-$DOMU_NAME
DOMU_WTUND="exec vchan-tund -v --name $WLINK --peer 0 --role server --address 10.0.3.2/30 --peer-address 10.0.3.1"

oper_up() { [ "$(cat "/sys/class/net/$WIF/operstate" 2>/dev/null)" = up ]; }
oper_not_up() { ! oper_up; }
admin_up() { # IFF_UP
	local flags
	flags=$(cat "/sys/class/net/$WIF/flags" 2>/dev/null) || return 1
	[ $((flags & 1)) -eq 1 ]
}
lines_at_least() { [ "$(wc -l <"$1")" -ge "$2" ]; } # lines_at_least FILE N

# stamp KEY NAME: each event of a watch on KEY after its registration, as
# "UPTIME PATH", into $W/events, and into $W/NAME (its first line the
# registration), until the watch's PID, in STAMPS, is killed; the readers'
# PIDs are in STAMP_READERS.
STAMPS=
STAMP_READERS=
stamp() {
	mkfifo "$W/$2.fifo"
	xenstore-watch "$1" >"$W/$2.fifo" 2>/dev/null &
	STAMPS="$STAMPS $!"
	while read -r p; do
		echo "$p" >>"$W/$2"
		[ "$(wc -l <"$W/$2")" -eq 1 ] || echo "$(uptime_s) $p" >>"$W/events"
	done <"$W/$2.fifo" &
	STAMP_READERS="$STAMP_READERS $!"
	poll_until 10 test -s "$W/$2"
}

# hooked N WHAT: the hook has run N times in all, the last time as WHAT.
hooked() {
	local want
	poll_until 30 lines_at_least "$W/hooks" "$1"
	want=$(awk -v n="$1" -v l="$2 $WIF $D" 'NR < n { print } END { print l }' "$W/hooks")
	is "$(cat "$W/hooks")" "$want" "the hook ran '$2 $WIF $D' once ($1 runs in all)"
}

# why: the watcher's line on its last transition, which says what brought it.
why() { grep -E ': (up|down), (hook|no hook)' "$W/watch.log" | tail -n 1; }

# w_up N JOB: the domU's daemon starts as JOB; dom0's link becomes
# operationally up (the watcher's admin up, the daemon's carrier).
w_up() {
	local t0
	t0=$(uptime_s)
	on_domu "$2" "$DOMU_WTUND"
	poll_until 60 oper_up
	ok $? "the domU's daemon started: $WIF is operationally up after $(took "$t0")" || {
		show_file "dom0's daemon" "$W/tund.log"
		show_file "the watcher" "$W/watch.log"
		return 1
	}
	hooked "$1" up
	diag "$(why)"
}

w_down_ok() { # w_down_ok T0 WHAT: dom0's link went down after WHAT
	poll_until 30 oper_not_up
	ok $? "$2: $WIF is down after $(took "$1")" || {
		show_file "the watcher" "$W/watch.log"
		return 1
	}
}

w_steps() {
	local t0 out xl_pid down
	w_up 1 wtund || return 1
	out=$(ping -c 2 -i 0.2 -W 5 10.0.3.2 2>&1)
	ok $? "ping over the watched link" || diag "$out"

	t0=$(uptime_s)
	on_domu wstop "kill \$(job_pid wtund)"
	w_down_ok "$t0" "SIGTERM of the domU's daemon" || return 1
	domu_wait wtund 30
	is "$?" 0 "the domU's daemon exits 0 on SIGTERM" || diag "$(domu_out wtund)"
	hooked 2 down
	diag "$(why)"

	w_up 3 wtund2 || return 1

	# How the destruction reaches dom0: the domU's state key, @releaseDomain,
	# and what dom0's daemon makes of them.
	stamp "$DOMU_PATH/data/vchan-tun/0/$WLINK/state" domu-key
	stamp @releaseDomain release
	stamp "/local/domain/0/data/vchan-tun/$D/$WLINK/state" dom0-key
	# xl in the background: the link may go down before xl returns.
	t0=$(uptime_s)
	xl destroy "$D" >"$W/destroy.log" 2>&1 &
	xl_pid=$!
	w_down_ok "$t0" "xl destroy"
	down=$?
	wait "$xl_pid"
	ok $? "xl destroy of the domU" || show_file "xl destroy" "$W/destroy.log"
	[ "$down" -eq 0 ] || return 1
	hooked 4 down
	diag "$(why)"
	poll_until 30 lines_at_least "$W/release" 2
	ok $? "@releaseDomain fired after xl destroy"
	! xenstore-exists "$DOMU_PATH" 2>/dev/null
	ok $? "xl destroy removed $DOMU_PATH"
	diag "after xl destroy:"
	diag "$(sort -n "$W/events" | awk -v t0="$t0" '{ printf "  +%.2f s %s\n", $1 - t0, $2 }')"
}

scenario_4() {
	say "stage scenario-4-vchan-tun-watch"
	mkdir -p "$W/conf"
	cat >"$W/hook" <<-EOF
		#!/bin/sh
		echo "\$1 \$VCHAN_TUN_INTERFACE \$VCHAN_TUN_PEER_DOMID" >>$W/hooks
	EOF
	chmod 755 "$W/hook"
	: >"$W/hooks"
	cat >"$W/conf/$WLINK.conf" <<-EOF
		[Link]
		Peer = $DOMU_NAME
		Role = client
		Address = 10.0.3.1/30
		PeerAddress = 10.0.3.2
		Watched = yes
		Hook = $W/hook
	EOF
	vchan-tund -v --config-dir "$W/conf" >"$W/tund.log" 2>&1 &
	WTUND=$!
	vchan-tun-watch -v --config-dir "$W/conf" >"$W/watch.log" 2>&1 &
	WATCH=$!
	poll_until 30 grep -q 'watching 1 link as domain 0' "$W/watch.log"
	ok $? "vchan-tun-watch runs in dom0" || show_file "the watcher" "$W/watch.log"
	poll_until 30 test -e "/sys/class/net/$WIF"
	ok $? "Watched = yes: dom0's daemon made $WIF" || show_file "dom0's daemon" "$W/tund.log"
	ok "$(admin_up; echo $((!$?)))" "and left it down, for the watcher"
	w_steps
	if [ -n "$STAMPS" ]; then
		# shellcheck disable=SC2086 # the PIDs split on purpose
		kill $STAMPS
		# shellcheck disable=SC2086
		wait $STAMP_READERS
	fi
	kill "$WATCH"
	wait "$WATCH"
	is "$?" 0 "SIGTERM: vchan-tun-watch exits 0"
	kill "$WTUND"
	wait "$WTUND"
	is "$?" 0 "SIGTERM: dom0's vchan-tund exits 0"
	is "$(wc -l <"$W/hooks")" 4 "the hook ran 4 times in all, none after" || diag "$(cat "$W/hooks")"
	grep -v debug "$W/watch.log" | tail -n 12 | sed 's/^/dom0 vchan-tun-watch| /'
	grep -v debug "$W/tund.log" | tail -n 12 | sed 's/^/dom0 vchan-tund (watched)| /'
}

scenario_4

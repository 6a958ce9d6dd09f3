# shellcheck shell=sh
# make bench-xen: two links between dom0 and the domU of the real-Xen run,
# measured in turns, never both at once:
#
#   vif        the classic one: xen-netback in dom0, xen-netfront in the domU,
#              attached with xl network-attach and our hotplug script
#              (/etc/xen/scripts/vif-hotplug): 10.0.1.1 <-> 10.0.1.2
#   vchan-tun  vchan-tund in both domains, as scenario 2 of check-xen:
#              10.0.0.1 <-> 10.0.0.2
#
# iperf3 TCP both ways, UDP of 1400-byte datagrams from dom0 at the best rate
# found to lose under 1%, ping from dom0, and the CPU dom0 spends on the TCP
# runs. Sourced by dom0's /init instead of scenarios.sh (netns-tests/xen/bench
# sets XEN_SCENARIOS); $D is the domU's domain id, $DOMU_PATH its XenStore
# directory. Checks are TAP lines as in the scenarios; the figures go to the
# host as "VT data KIND key=value ..." lines, which
# netns-tests/xen/bench-report.pl turns into the table and the JSON.
#
# Settings, from dom0's kernel command line (the host's XEN_DOM0_ENV): VT_RUNS
# (runs of each figure, default 3), VT_SECS (seconds per iperf3 run, 5),
# VT_PINGS (pings per run, 200), VT_PING_MS (their interval, 15),
# VT_UDP_PROBES (UDP probes of the rate search, 6, of 2 s each).

RUNS=${VT_RUNS:-3}
SECS=${VT_SECS:-5}
PINGS=${VT_PINGS:-200}
PING_MS=${VT_PING_MS:-15}
PROBES=${VT_UDP_PROBES:-6}
PROBE_SECS=2
UDP_BUFFER=4194304 # as make bench: iperf3 -w, both ends (net.core.[rw]mem_max raised)
LINKS="vif vchan-tun"
VIF_BACKEND=/local/domain/0/backend/vif/$D/0
R=/tmp/bench

data() { say "data $*"; }

# addr LINK: the domU's address on LINK
addr() {
	case $1 in
	vif) echo 10.0.1.2 ;;
	vchan-tun) echo 10.0.0.2 ;;
	esac
}

# --- the two links ----------------------------------------------------------------

setup_vif() {
	local out
	insmod /lib/modules/xen-netback.ko 2>/tmp/insmod.log
	ok $? "dom0: insmod xen-netback" || { show_file insmod /tmp/insmod.log; return 1; }
	out=$(domu_run netfront 30 "insmod /lib/modules/xen-netfront.ko")
	ok $? "domU: insmod xen-netfront" || { diag "$out"; return 1; }
	# xl returns once the hotplug script has run.
	xl network-attach "$DOMU_NAME" mac=00:16:3e:00:00:02 ip=10.0.1.2/30 \
		script=/etc/xen/scripts/vif-hotplug >/tmp/attach.log 2>&1
	ok $? "xl network-attach: a vif whose hotplug script is ours" || {
		show_file "xl network-attach" /tmp/attach.log
		show_file "vif-hotplug" /var/log/xen/vif-hotplug.log
		return 1
	}
	is "$(xenstore-read "$VIF_BACKEND/hotplug-status")" connected \
		"vif-hotplug wrote hotplug-status = connected into the backend's directory"
	diag "$(cat /var/log/xen/vif-hotplug.log)"
	xs_wait "$VIF_BACKEND/state" 60 4
	ok $? "netback connected to netfront (backend state 4)" || {
		diag "backend state $(xenstore-read "$VIF_BACKEND/state")"
		return 1
	}
	out=$(domu_run vifup 60 "poll_until 30 test -e /sys/class/net/eth0 &&
		ip addr add 10.0.1.2/30 dev eth0 && ip link set eth0 up")
	ok $? "domU: eth0 (netfront) up, 10.0.1.2/30" || { diag "$out"; return 1; }
	diag "$(ip addr show dev "vif$D.0")"
}

setup_vchan() {
	on_domu tund "exec vchan-tund --name bench --peer 0 --role server \
		--address 10.0.0.2/30 --peer-address 10.0.0.1"
	vchan-tund --name bench --peer "$D" --role client \
		--address 10.0.0.1/30 --peer-address 10.0.0.2 >/tmp/tund.log 2>&1 &
	TUND=$!
	poll_until 60 state_is bench RUNNING
	ok $? "vchan-tun: dom0's link (client) reaches RUNNING" || {
		show_file "dom0's daemon" /tmp/tund.log
		return 1
	}
	diag "$(vchan-tunctl status)"
}

# setup: both links, the UDP buffers in both domains, iperf3 -s in the domU.
setup() {
	local link out
	mkdir -p "$R"
	setup_vif && setup_vchan || return 1
	echo $UDP_BUFFER >/proc/sys/net/core/rmem_max
	echo $UDP_BUFFER >/proc/sys/net/core/wmem_max
	on_domu iperfs "echo $UDP_BUFFER >/proc/sys/net/core/rmem_max &&
		echo $UDP_BUFFER >/proc/sys/net/core/wmem_max &&
		exec iperf3 -s -p 5201 --logfile /tmp/iperf3-server.log"
	out=$(domu_run listen 30 "poll_until 20 listening 5201")
	ok $? "iperf3 server listens in the domU" || { diag "$out"; return 1; }
	udp_in udp-in-0 >"$R/udp-in"
	ok $? "domU: its UDP's InDatagrams read ($(cat "$R/udp-in"))"
	for link in $LINKS; do
		out=$(ping -c 3 -i 0.2 -W 5 "$(addr "$link")" 2>&1)
		ok $? "$link: ping from dom0 to the domU ($(addr "$link"))" || { diag "$out"; return 1; }
	done
}

# --- measuring -----------------------------------------------------------------------

# cpu: dom0's "cpu" line of /proc/stat, comma-separated: user, nice, system,
# idle, iowait, irq, softirq, steal (clock ticks, all vCPUs)
cpu() { awk '$1 == "cpu" { print $2 "," $3 "," $4 "," $5 "," $6 "," $7 "," $8 "," $9; exit }' /proc/stat; }

# ticks PID: the utime+stime of PID
ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }

# iperf OUT ARGS...: iperf3 in dom0, -J into OUT, and its own CPU (utime+stime,
# the cutime+cstime of the shell that waited for it) into OUT.ticks.
iperf() {
	# shellcheck disable=SC2016 # expanded by that shell
	sh -c 'timeout 120 iperf3 -J "$@" >"$0"; rc=$?
		sed "s/^.*) //" /proc/$$/stat | awk "{ print \$14 + \$15 }" >"$0.ticks"
		exit $rc' "$@"
}

# summary FILE SECTION: "bytes=B secs=S mbps=M loss_pct=L" of iperf3 -J's
# end.SECTION, and " packets=P" for UDP, " retransmits=N" for TCP's sum_sent
summary() {
	awk -v s="$2" '$0 ~ "^\t\t\"" s "\":" { f = 1; next }
		f && /^\t\t}/ { exit }
		f { gsub(/[",:]/, ""); v[$1] = $2 }
		END {
			if (!f) exit 1
			printf "bytes=%.0f secs=%.3f mbps=%.1f loss_pct=%.3f", v["bytes"],
				v["seconds"], v["bits_per_second"] / 1e6, v["lost_percent"]
			if ("packets" in v)
				printf " packets=%.0f", v["packets"]
			if ("retransmits" in v)
				printf " retransmits=%.0f", v["retransmits"]
			print ""
		}' "$1"
}

# each_second FILE: the rate of each of iperf3 -J's intervals, Mbit/s
each_second() {
	awk '/^\t"end":/ { exit }
		/^\t\t\t\t"bits_per_second":/ { gsub(/,/, ""); printf "%.0f ", $2 / 1e6 }' "$1"
}

# field NAME WORDS: the value of NAME=... among WORDS
field() { echo "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"; }

# pings LINK RUN: dom0 pings the domU; the average and the 99th percentile
# (nearest rank) of the replies' times, in microseconds.
pings() {
	local f="$R/ping.$1.$2" s
	ping -c "$PINGS" -i "$(awk -v m="$PING_MS" 'BEGIN { print m / 1000 }')" -W 2 "$(addr "$1")" >"$f" 2>&1
	s=$(sed -n 's/.* time=\([0-9.]*\) ms.*/\1/p' "$f" | sort -n | awk '{ t[NR] = $1 * 1000; s += t[NR] }
		END {
			if (NR < 10) exit 1
			r = int(0.99 * NR + 0.999999)
			printf "replies=%d avg_us=%.0f p99_us=%.0f\n", NR, s / NR, t[r]
		}')
	ok $? "$1: ping run $2, $PINGS pings ${PING_MS} ms apart: ${s:-no replies}" || {
		show_file ping "$f"
		return 1
	}
	data "ping link=$1 run=$2 sent=$PINGS $s"
}

# tcp LINK DIR RUN: iperf3 TCP for SECS, DIR fwd (dom0 to the domU) or rev
# (-R: the domU to dom0), with dom0's /proc/stat, iperf3's CPU and, for
# vchan-tun, dom0's daemon's around it.
tcp() {
	local f="$R/tcp.$1.$2.$3" rev='' c0 c1 d0='' d1='' s rc
	[ "$2" = rev ] && rev=-R
	c0=$(cpu)
	[ "$1" = vchan-tun ] && d0=$(ticks "$TUND")
	# shellcheck disable=SC2086 # $rev is empty or one word
	iperf "$f" -c "$(addr "$1")" -p 5201 -t "$SECS" $rev
	rc=$?
	c1=$(cpu)
	[ "$1" = vchan-tun ] && d1=$(ticks "$TUND")
	[ "$rc" -eq 0 ] && s=$(summary "$f" sum_received) &&
		s="$s $(field retransmits "$(summary "$f" sum_sent)" | sed 's/^/retransmits=/')"
	ok $? "$1: TCP $2 run $3: $(field mbps "$s") Mbit/s" || {
		show_file iperf3 "$f"
		return 1
	}
	diag "$1: TCP $2 run $3, second by second: $(each_second "$f")Mbit/s"
	data "tcp link=$1 dir=$2 run=$3 $s iperf3_ticks=$(cat "$f.ticks") cpu0=$c0 cpu1=$c1" \
		"${d0:+daemon_ticks=$((d1 - d0))}"
}

# udp_in NAME: the datagrams the domU's UDP has taken in (InDatagrams), read
# by its job NAME half a second from now, for those still on their way
udp_in() {
	domu_run "$1" 30 "sleep 0.5; awk '/^Udp: [0-9]/ { print \$2; exit }' /proc/net/snmp"
}

# udp LINK OUT RATE SECS: 1400-byte datagrams from dom0 to the domU offered at
# RATE Mbit/s (0: as fast as iperf3 sends) for SECS. Prints iperf3's summary
# of what its server received (mbps=, its rate), what dom0 sent
# (offered_mbps=, sent= datagrams), what reached the domU's UDP (received=)
# and, as loss_pct, the share of those sent that did not within half a second
# of the run's end; nothing else in the domU speaks UDP, and iperf3's client
# sends one datagram more, to open the stream. iperf3's own loss
# (iperf3_loss_pct) only counts the gaps in the sequence numbers its server
# read: it misses what was still queued when the run ended, up to the 4 MiB of
# the socket's buffer when the receiver is slower than the sender, as the
# domU's often is under emulation.
udp() {
	local s o before after
	before=$(cat "$R/udp-in")
	iperf "$2" -c "$(addr "$1")" -p 5201 -u -l 1400 -b "${3}M" -t "$4" -w "$UDP_BUFFER" &&
		s=$(summary "$2" sum_received) && o=$(summary "$2" sum_sent) &&
		after=$(udp_in "$(basename "$2" | tr . _)") || return 1
	echo "$after" >"$R/udp-in"
	awk -v s="$s" -v o="$o" -v n=$((after - before - 1)) 'BEGIN {
		split(o, a, /[ =]/)
		for (i = 1; i < 10; i += 2)
			v[a[i]] = a[i + 1]
		sub(/ packets=[0-9]+/, "", s)
		sub(/loss_pct/, "iperf3_loss_pct", s)
		printf "%s offered_mbps=%s sent=%d received=%d loss_pct=%.3f\n", s, v["mbps"],
			v["packets"], n, (v["packets"] > 0 ? 100 * (1 - n / v["packets"]) : 100)
	}'
}

# isqrt N: the integer square root of N (busybox's awk has no sqrt)
isqrt() {
	local x="$1" y
	[ "$x" -gt 1 ] || { echo "$x"; return; }
	y=$(((x + 1) / 2))
	while [ "$y" -lt "$x" ]; do
		x=$y
		y=$(((x + $1 / x) / 2))
	done
	echo "$x"
}

rate_name() { if [ "$1" -eq 0 ]; then echo "the most iperf3 sends"; else echo "$1 Mbit/s"; fi; }

under_1pct() { awk -v l="$1" 'BEGIN { exit !(l < 1) }'; }

# udp_search LINK: the highest offered rate (Mbit/s) found to lose under 1%,
# as make bench searches it (netns-tests/bench/run): first unlimited, then
# down from what that sent, halving until a rate loses under 1%, then
# bisecting on a log scale; 0 if even the unlimited sender loses under 1%,
# the lowest rate tried if none did. Into UDP_RATE.
udp_search() {
	local i=1 lo=0 hi=0 rate=0 tried=0 s offered loss next
	while [ "$i" -le "$PROBES" ]; do
		s=$(udp "$1" "$R/udp-probe.$1.$i" "$rate" "$PROBE_SECS")
		ok $? "$1: UDP probe $i at $(rate_name "$rate"): $s" || break
		data "udp_probe link=$1 probe=$i rate_mbps=$rate $s"
		offered=$(field offered_mbps "$s")
		loss=$(field loss_pct "$s")
		tried=$rate
		if under_1pct "$loss"; then
			[ "$rate" -eq 0 ] && break
			lo=$rate
		elif [ "$rate" -eq 0 ]; then
			[ "$(field received "$s")" -gt 0 ] || break # nothing arrives: no rate to search for
			hi=$((${offered%.*} + 1)) # what the unlimited sender offered
		else
			hi=$rate
		fi
		if [ "$lo" -eq 0 ]; then
			next=$((hi / 2))
		else
			next=$(isqrt $((lo * hi)))
		fi
		{ [ "$next" -le "$lo" ] || [ "$next" -ge "$hi" ]; } && break
		rate=$next
		i=$((i + 1))
	done
	[ "$lo" -eq 0 ] && lo=$tried
	UDP_RATE=$lo
}

# udp_run LINK RUN RATE STEP: one run of SECS at RATE; its loss appended to
# $R/udp-loss.LINK.STEP. STEP counts the times the rate came down.
udp_run() {
	local s
	s=$(udp "$1" "$R/udp.$1.$4.$2" "$3" "$SECS")
	ok $? "$1: UDP at $(rate_name "$3"), run $2: $s" || return 1
	data "udp link=$1 run=$2 rate_mbps=$3 step=$4 $s"
	field loss_pct "$s" >>"$R/udp-loss.$1.$4"
	field offered_mbps "$s" >>"$R/udp-offered.$1.$4"
}

median_loss() { # median_loss LINK STEP
	sort -n "$R/udp-loss.$1.$2" 2>/dev/null | awk '{ l[NR] = $1 } END { if (!NR) exit 1; print l[int((NR + 1) / 2)] }'
}

measure() {
	local r dir link loss step rate
	data "meta runs=$RUNS secs=$SECS pings=$PINGS ping_ms=$PING_MS udp_probes=$PROBES" \
		"probe_secs=$PROBE_SECS udp_buffer=$UDP_BUFFER clk_tck=100" \
		"dom0_vcpus=$(grep -c ^processor /proc/cpuinfo) kernel=$(uname -r)"

	say "stage bench-ping"
	for r in $(seq "$RUNS"); do
		for link in $LINKS; do
			pings "$link" "$r"
		done
	done

	say "stage bench-tcp"
	for dir in fwd rev; do
		for r in $(seq "$RUNS"); do
			for link in $LINKS; do
				tcp "$link" "$dir" "$r"
			done
		done
	done
	diag "$(vchan-tunctl status)"
	diag "the domU: $(domu_run status 30 "vchan-tunctl status")"

	say "stage bench-udp"
	for link in $LINKS; do
		udp_search "$link"
		echo "$UDP_RATE" >"$R/udp-rate.$link"
	done
	for r in $(seq "$RUNS"); do
		for link in $LINKS; do
			udp_run "$link" "$r" "$(cat "$R/udp-rate.$link")" 0
		done
	done
	# A probe of 2 s near the edge can pass by luck, and the longer runs at its
	# rate lose 1% or more: then 5% lower, at most twice, as make bench does;
	# from an unlimited sender, 5% below what it offered.
	for link in $LINKS; do
		rate=$(cat "$R/udp-rate.$link")
		step=0
		while loss=$(median_loss "$link" "$step") && ! under_1pct "$loss" && [ "$step" -lt 2 ]; do
			[ "$rate" -eq 0 ] && rate=$(sort -n "$R/udp-offered.$link.0" | awk '{ o[NR] = $1 }
				END { printf "%d", o[int((NR + 1) / 2)] }')
			step=$((step + 1))
			rate=$((rate * 95 / 100))
			[ "$rate" -gt 0 ] || break
			diag "$link: the runs lost $loss%; again at $rate Mbit/s"
			for r in $(seq "$RUNS"); do
				udp_run "$link" "$r" "$rate" "$step"
			done
		done
	done
}

# teardown: xl network-detach runs the hotplug script's offline; the daemons
# end on SIGTERM.
teardown() {
	xl network-detach "$DOMU_NAME" 0 >/tmp/detach.log 2>&1
	ok $? "xl network-detach of the vif" || show_file "xl network-detach" /tmp/detach.log
	grep -q "vif$D.0 offline: vif$D.0 down" /var/log/xen/vif-hotplug.log
	ok $? "vif-hotplug ran offline" || show_file vif-hotplug /var/log/xen/vif-hotplug.log
	! xenstore-exists "$VIF_BACKEND" 2>/dev/null && ! [ -e "/sys/class/net/vif$D.0" ]
	ok $? "the vif's backend directory and vif$D.0 are gone"
	on_domu stop "kill \$(job_pid tund) \$(job_pid iperfs)"
	domu_wait tund 30
	is "$?" 0 "SIGTERM: the domU's vchan-tund exits 0" || diag "$(domu_out tund)"
	if [ -n "${TUND:-}" ]; then
		kill "$TUND"
		wait "$TUND"
		is "$?" 0 "SIGTERM: dom0's vchan-tund exits 0" || show_file "dom0's daemon" /tmp/tund.log
	fi
}

say "stage bench-setup"
if setup; then
	measure
else
	say "Bail out! the links are not both up"
fi
say "stage bench-teardown"
teardown

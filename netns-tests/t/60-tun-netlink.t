#!/usr/bin/env bash
# TUN and TAP devices made by src/tun.c and configured by src/netlink.c, seen
# through ip(8): addresses with a point-to-point peer, MTU, up/down, carrier
# (NO-CARRIER/LOWER_UP), removal on exit unless persistent, re-attaching to a
# persistent device, and the exact messages of what fails. Driven by
# tun-probe in a fresh network namespace; no xensim needed.
# shellcheck source=SCRIPTDIR/../lib.sh
. "$(dirname "$0")/../lib.sh"

[ "$(id -u)" -eq 0 ] || skip_all "needs root for network namespaces"
[ -c /dev/net/tun ] || skip_all "no /dev/net/tun"
PROBE="$TOOLS/tun-probe"
[ -x "$PROBE" ] || bail_out "$PROBE not built (run make)"

netns_add NS

# --- helpers -------------------------------------------------------------------

# probe_start VAR ARGS...: tun-probe ARGS in $NS, its stdin on a fifo this test
# holds (not in a subshell: it sets VAR_fd and VAR_pid); `ready VAR` then waits
# for its first line.
probe_start() {
	local var=$1 fifo fd
	shift
	fifo="$WORK/$var.fifo"
	mkfifo "$fifo"
	# as lib.sh's hold(): the child opens the fifo itself, so it inherits no
	# writer and sees end of input when this test closes its end
	ip netns exec "$NS" "$PROBE" "$@" <"$fifo" >"$WORK/$var.log" 2>&1 &
	SPAWNED+=("$!")
	printf -v "${var}_pid" '%s' "$!"
	exec {fd}>"$fifo"
	printf -v "${var}_fd" '%s' "$fd"
}

ready() { first_line "$WORK/$1.log"; }

answers() { grep -cE '^(ok|error) ' "$1"; }
# shellcheck disable=SC2317 # called through wait_for
answers_more() { [ "$(answers "$1")" -gt "$2" ]; }

# probe_cmd VAR COMMAND...: sends a command and prints its answer line.
probe_cmd() {
	local var=$1 fd_var="${1}_fd" log="$WORK/$1.log" n
	shift
	n=$(answers "$log")
	echo "$*" >&"${!fd_var}"
	wait_for 10 answers_more "$log" "$n" || { echo "no answer to '$*'"; return 1; }
	grep -E '^(ok|error) ' "$log" | tail -n 1
}

# probe_stop VAR: closes its input and returns its exit status.
probe_stop() {
	local fd_var="${1}_fd" pid_var="${1}_pid"
	eval "exec ${!fd_var}>&-"
	reap "${!pid_var}" 10
}

# flags DEV: the link's flags, comma-separated with commas around, as ip shows them.
flags() { ip -n "$NS" -o link show "$1" | sed -n 's/^[0-9]*: [^:]*: <\([^>]*\)>.*/,\1,/p'; }
addrs() { ip -n "$NS" -o addr show dev "$1"; }
# shellcheck disable=SC2317 # called through run_ok and run_fails
exists() { ip -n "$NS" link show "$1" >/dev/null 2>&1; }

# fails_with DESC MESSAGE ARGS...: tun-probe ARGS exits 1 with exactly MESSAGE.
fails_with() {
	local desc=$1 want=$2 out rc
	shift 2
	out=$(ip netns exec "$NS" "$PROBE" "$@" </dev/null 2>&1)
	rc=$?
	is "$rc: $out" "1: $want" "$desc"
}

# --- TUN: addresses, peer, MTU, carrier ------------------------------------------

probe_start tun --name vtun0 --mtu 1400 --addr 10.77.0.1 --peer 10.77.0.2/32 \
	--addr fd77::1 --peer fd77::2/128 --addr fd78::1/64 --carrier off
ready=$(ready tun)
like "$ready" '^ready vtun0 ifindex=[0-9]+ carrier-control=yes offload=0x00$' \
	"tun-probe made vtun0 ($ready)"

f=$(flags vtun0)
like "$(ip -n "$NS" -o link show vtun0)" ' mtu 1400 .*link/none' "a TUN device (link/none) with MTU 1400"
like "$f" ',UP,' "it is up ($f)"
like "$f" ',NO-CARRIER,' "without carrier, as asked"
like "$f" ',POINTOPOINT,' "point-to-point"
run_fails "and not LOWER_UP" grep -q LOWER_UP <<<"$f"

a=$(addrs vtun0)
like "$a" 'inet 10\.77\.0\.1 peer 10\.77\.0\.2/32 ' "IPv4 address with its peer (IFA_LOCAL/IFA_ADDRESS)"
like "$a" 'inet6 fd77::1 peer fd77::2/128 ' "IPv6 address with its peer"
like "$a" 'inet6 fd78::1/64 .*nodad' "IPv6 address with a prefix, without DAD"
like "$(ip -n "$NS" route get 10.77.0.2)" 'dev vtun0' "the IPv4 peer is routed over the link"
like "$(ip -n "$NS" -6 route show fd77::2)" '^fd77::2 dev vtun0' "so is the IPv6 peer"

is "$(probe_cmd tun carrier on)" "ok carrier on" "carrier on"
f=$(flags vtun0)
like "$f" ',LOWER_UP,' "LOWER_UP with carrier ($f)"
run_fails "and no NO-CARRIER" grep -q NO-CARRIER <<<"$f"
like "$(ip -n "$NS" -o link show vtun0)" ' state UP ' "operational state UP"
probe_cmd tun state >/dev/null
like "$(grep '^state ' "$WORK/tun.log" | tail -n 1)" \
	'^state flags=UP,RUNNING,LOWER_UP,POINTOPOINT,NOARP,MULTICAST carrier=1 operstate=up mtu=1400$' \
	"netlink reads the same state back"

is "$(probe_cmd tun carrier off)" "ok carrier off" "carrier off"
like "$(flags vtun0)" ',NO-CARRIER,' "NO-CARRIER again"
like "$(ip -n "$NS" -o link show vtun0)" ' state DOWN ' "operational state DOWN"
probe_cmd tun state >/dev/null
like "$(grep '^state ' "$WORK/tun.log" | tail -n 1)" ' carrier=0 operstate=down ' \
	"netlink reads no carrier"
a=$(addrs vtun0)
like "$a" 'inet 10\.77\.0\.1 peer 10\.77\.0\.2/32 ' "IPv4 address survives carrier off and on"
like "$a" 'inet6 fd77::1 peer fd77::2/128 ' "so does the IPv6 one"
like "$(ip -n "$NS" -6 route show fd77::2)" '^fd77::2 dev vtun0' "and so does the peer route"

is "$(probe_cmd tun addr 10.77.0.1 10.77.0.2/32)" "ok addr 10.77.0.1 10.77.0.2/32" \
	"adding an address that is there succeeds"
is "$(probe_cmd tun addr 10.77.5.1/24)" "ok addr 10.77.5.1/24" "adding another"
like "$(addrs vtun0)" 'inet 10\.77\.5\.1/24 ' "which shows"
is "$(probe_cmd tun del 10.77.5.1/24)" "ok del 10.77.5.1/24" "removing it"
run_fails "it is gone" grep -q 10.77.5.1 <<<"$(addrs vtun0)"
is "$(probe_cmd tun del 10.77.5.1/24)" "ok del 10.77.5.1/24" "removing it again succeeds"
is "$(probe_cmd tun del fd78::1/64)" "ok del fd78::1/64" "removing an IPv6 address"
run_fails "it is gone" grep -q fd78::1 <<<"$(addrs vtun0)"

is "$(probe_cmd tun mtu 70000)" \
	"error netlink: cannot set MTU 70000 on vtun0: Invalid input data or parameter (kernel: mtu greater than device maximum)" \
	"MTU 70000 refused with the kernel's reason"
is "$(probe_cmd tun mtu 9000)" "ok mtu 9000" "MTU 9000"
like "$(ip -n "$NS" -o link show vtun0)" ' mtu 9000 ' "shows"

fails_with "a second device of the same name is refused" \
	"tun: cannot create vtun0: TUNSETIFF: Device or resource busy" --name vtun0

is "$(probe_cmd tun down)" "ok down" "down"
run_fails "no longer UP" grep -q ',UP,' <<<"$(flags vtun0)"

probe_stop tun
ok $? "tun-probe exits 0 at end of input"
run_fails "and vtun0 is gone with it" exists vtun0

# --- TAP ---------------------------------------------------------------------------

probe_start tap --tap --name vtap0 --mtu 9000 --addr 10.78.0.1/24 --addr fd79::1/64
ready=$(ready tap)
like "$ready" '^ready vtap0 ' "tun-probe made vtap0"
like "$(ip -n "$NS" -o link show vtap0)" ' mtu 9000 .*link/ether ' "a TAP device (link/ether), MTU 9000"
f=$(flags vtap0)
like "$f" ',BROADCAST,' "broadcast ($f)"
like "$f" ',UP,' "up"
like "$f" ',LOWER_UP,' "with carrier by default"
a=$(addrs vtap0)
like "$a" 'inet 10\.78\.0\.1/24 ' "IPv4 address with prefix"
like "$a" 'inet6 fd79::1/64 ' "IPv6 address with prefix"
is "$(probe_cmd tap carrier off)" "ok carrier off" "carrier off on TAP"
like "$(flags vtap0)" ',NO-CARRIER,' "NO-CARRIER"
probe_stop tap
ok $? "tun-probe exits 0"
run_fails "vtap0 is gone" exists vtap0

# --- virtio-net header and offloads --------------------------------------------------

probe_start vnet --name vnet0 --vnet-hdr
ready=$(ready vnet)
like "$ready" '^ready vnet0 .* offload=0x[0-9a-f]*[13579bdf]$' \
	"with IFF_VNET_HDR the kernel takes at least checksum offload ($ready)"
is "$(probe_cmd vnet offload 0x07)" "ok offload 0x07" "TUNSETOFFLOAD with CSUM, TSO4, TSO6"
like "$(grep '^offload ' "$WORK/vnet.log" | tail -n 1)" '^offload 0x07$' "set as asked"
is "$(probe_cmd vnet offload 0x02)" "ok offload 0x02" "TSO4 without CSUM"
like "$(grep '^offload ' "$WORK/vnet.log" | tail -n 1)" '^offload 0x00$' \
	"becomes no offload at all, which the kernel would require anyway"
probe_stop vnet
ok $? "tun-probe exits 0"

# --- persistent devices --------------------------------------------------------------

probe_start per --name vper0 --persist --addr 10.79.0.1/24 --carrier off
ready=$(ready per)
like "$ready" '^ready vper0 ' "a persistent vper0"
probe_stop per
ok $? "tun-probe exits 0"
run_ok "vper0 stays after it" exists vper0
like "$(addrs vper0)" 'inet 10\.79\.0\.1/24 ' "with its address"

probe_start per2 --attach --name vper0 --carrier on
ready=$(ready per2)
like "$ready" '^ready vper0 ' "re-attached to vper0"
like "$(flags vper0)" ',LOWER_UP,' "carrier on through the new fd"
like "$(addrs vper0)" 'inet 10\.79\.0\.1/24 ' "the address is still there"
probe_stop per2
ok $? "tun-probe exits 0"
run_ok "vper0 stays again" exists vper0

probe_start per3 --attach --name vper0 --no-persist
ready=$(ready per3)
like "$ready" '^ready vper0 ' "re-attached, persistence cleared"
probe_stop per3
run_fails "vper0 is gone at exit" exists vper0

run_ok "a persistent vper1, left at once" ip netns exec "$NS" "$PROBE" --name vper1 --persist
run_ok "vper1 exists" exists vper1
run_ok "deleted through netlink" ip netns exec "$NS" "$PROBE" --delete vper1
run_fails "vper1 is gone" exists vper1
fails_with "deleting it again names the device" \
	"netlink: cannot delete vper1: no such device" --delete vper1

# --- errors: exact messages, nothing left behind ---------------------------------------

fails_with "MTU above the maximum" \
	"netlink: cannot set MTU 70000 on vbad0: Invalid input data or parameter (kernel: mtu greater than device maximum)" \
	--name vbad0 --mtu 70000
fails_with "MTU below the minimum" \
	"netlink: cannot set MTU 40 on vbad0: Invalid input data or parameter (kernel: mtu less than device minimum)" \
	--name vbad0 --mtu 40
# (addresses come to netlink binary, parsed and checked by the configuration)
fails_with "local and peer of different families" \
	"netlink: cannot add address 10.0.0.1 peer fd00::2/128 to vbad0: local and peer addresses of different families" \
	--name vbad0 --addr 10.0.0.1 --peer fd00::2
fails_with "an address the kernel refuses (IPv6 below MTU 1280)" \
	"netlink: cannot add address fd00::1/64 to vbad0: Invalid input data or parameter" \
	--name vbad0 --mtu 1200 --addr fd00::1/64
fails_with "a name too long" \
	"tun: cannot create averyveryverylongname: name longer than 15 bytes" \
	--name averyveryverylongname
fails_with "attaching to a device that does not exist" \
	"tun: cannot attach to vnone0: no such device" --attach --name vnone0
run_ok "a persistent TUN device vmode0" ip netns exec "$NS" "$PROBE" --name vmode0 --persist
fails_with "attaching to it as TAP" \
	"tun: cannot attach to vmode0: TUNSETIFF: Invalid argument (not a tap device?)" \
	--attach --tap --name vmode0
run_ok "deleting vmode0" ip netns exec "$NS" "$PROBE" --delete vmode0

is "$(ip -n "$NS" -o link show | awk -F': ' '{print $2}' | tr '\n' ' ')" "lo " \
	"no device is left behind in the namespace"

done_testing

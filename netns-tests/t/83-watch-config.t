#!/usr/bin/env bash
# The watcher's keys (Watched, Hook, Bridge, Routes) as 72-config-errors.t
# checks the others: a bad value gives exactly one line naming the place,
# key and value, and exit status 2, from vchan-tund --check-config and from
# vchan-tun-watch, which read the same files through the same parser, both
# before any contact with Xen. Then the watcher's own options, and a good
# configuration as --check-config lists it.
# shellcheck source=SCRIPTDIR/../lib.sh
# shellcheck disable=SC2154,SC2317,SC2119 # spawn sets variables by name; sim_start takes no $1
. "$(dirname "$0")/../lib.sh"
# shellcheck source=SCRIPTDIR/../daemon-lib.sh
. "$TOP/netns-tests/daemon-lib.sh"
# shellcheck source=SCRIPTDIR/../watch-lib.sh
. "$TOP/netns-tests/watch-lib.sh"

n_dirs=0

# conf BODY: a directory with BODY as its a.conf; its path into $DIR.
conf() {
	n_dirs=$((n_dirs + 1))
	DIR="$WORK/c$n_dirs"
	mkdir -p "$DIR"
	printf '%b' "$1" >"$DIR/a.conf"
}

# bad DESCRIPTION EXPECTED_MESSAGE BODY: both programs exit 2 with exactly that line.
bad() {
	local desc=$1 expected=$2 out rc
	conf "$3"
	out=$("$DAEMON" --check-config --config-dir "$DIR" 2>&1 >/dev/null)
	rc=$?
	is "$rc $out" "2 vchan-tund: $DIR/a.conf:$expected" "$desc: vchan-tund"
	out=$("$WATCHER" --config-dir "$DIR" 2>&1 >/dev/null)
	rc=$?
	is "$rc $out" "2 vchan-tun-watch: $DIR/a.conf:$expected" "$desc: vchan-tun-watch"
}

H='[Link]\nPeer = 2\nRole = client\n'

bad "Watched not a yes or no" \
	"4: Watched = 'often': expected yes or no (also true/false, on/off, 1/0)" \
	"${H}Watched = often\n"
bad "a relative Hook" \
	"4: Hook = 'hooks/up': expected the absolute path of a program, or 'none'" \
	"${H}Hook = hooks/up\n"
bad "Bridge on a TUN link" \
	"4: Bridge = 'br0': a TUN device cannot join a bridge: set Mode = tap" \
	"${H}Bridge = br0\n"
bad "Bridge not an interface name" \
	"5: Bridge = 'br:0': an interface name may not contain whitespace, control characters, '/', ':' or '%'" \
	"${H}Mode = tap\nBridge = br:0\n"
bad "Routes with host bits set" \
	"4: Routes = '10.9.1.0/16': host bits set: expected a network, such as 10.9.0.0/16" \
	"${H}Routes = 10.9.1.0/16\n"
bad "Routes not a network" \
	"4: Routes = 'fd00::/64x': expected a prefix length from 0 to 128" \
	"${H}Routes = fd00::/64x\n"
bad "Routes twice the same" \
	"5: Routes = '10.9.0.0/16': network already given on line 4" \
	"${H}Routes = 10.9.0.0/16\nRoutes = 10.9.0.0/16\n"

# --- on the command line ------------------------------------------------------------------------

out=$("$DAEMON" --check-config --peer 2 --role client --watched=perhaps 2>&1)
is "$? $out" "2 vchan-tund: --watched 'perhaps': expected yes or no (also true/false, on/off, 1/0)" \
	"--watched with a bad value"
out=$("$DAEMON" --check-config --peer 2 --role client --hook none --hook /bin/true 2>&1)
is "$? $out" "2 vchan-tund: --hook given twice" "--hook twice"

# --- the watcher's own options ------------------------------------------------------------------

watch_bad() { # watch_bad DESCRIPTION EXPECTED ARGS...
	local desc=$1 expected=$2 out
	shift 2
	out=$("$WATCHER" "$@" 2>&1 >/dev/null)
	is "$? $out" "2 vchan-tun-watch: $expected" "$desc"
}
watch_bad "--hook-timeout of 0" \
	"--hook-timeout '0': expected a number of seconds from 1 to 3600" --hook-timeout 0
watch_bad "--hook-timeout not a number" \
	"--hook-timeout '5s': expected a number of seconds from 1 to 3600" --hook-timeout 5s
watch_bad "--hook-timeout too long" \
	"--hook-timeout '3601': expected a number of seconds from 1 to 3600" --hook-timeout 3601
watch_bad "an unknown option" "unknown option '--peer' (try 'vchan-tun-watch --help')" --peer 2
watch_bad "an option without its value" \
	"--config-dir needs a value (try 'vchan-tun-watch --help')" --config-dir
watch_bad "a stray argument" "unexpected argument 'up': the links come from --config-dir" up
watch_bad "a directory that does not exist" \
	"$WORK/none: cannot open directory: No such file or directory" --config-dir "$WORK/none"
out=$("$WATCHER" --help)
is "$?" 0 "--help exits 0"
like "$out" '^usage: vchan-tun-watch ' "and shows the usage"

# --- a good configuration ------------------------------------------------------------------------

conf "${H}Mode = tap\nWatched = yes\nBridge = br0\nHook = /usr/local/lib/vt hook\n"
printf '[Link]\nPeer = 3\nRole = server\nWatched = no\nHook = none\nRoutes = 10.9.0.0/16, fd09::/48\nRoutes = 192.168.3.3\n' \
	>"$DIR/b.conf"
out=$("$DAEMON" --check-config --config-dir "$DIR" 2>&1)
is "$?" 0 "a good directory passes --check-config"
is "$out" "a: client of domain 2, tap device vchan2, mtu 1500, rings read 256K write 256K, watched, hook /usr/local/lib/vt hook, bridge br0
b: server of domain 3, tun device vchan3, mtu 1500, rings read 256K write 256K (129 grants), no hook, routes 10.9.0.0/16 fd09::/48 192.168.3.3/32" \
	"and lists the watcher's keys"

done_testing

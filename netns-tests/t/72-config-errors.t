#!/usr/bin/env bash
# Configuration errors: each bad file or flag gives exactly one line naming the
# place, key and value, and exit status 2, with --check-config and without it
# (before any contact with Xen). A good configuration passes --check-config,
# which lists its links.
# shellcheck source=SCRIPTDIR/../lib.sh
# shellcheck disable=SC2154,SC2317,SC2119 # spawn sets variables by name; sim_start takes no $1
. "$(dirname "$0")/../lib.sh"
# shellcheck source=SCRIPTDIR/../daemon-lib.sh
. "$TOP/netns-tests/daemon-lib.sh"

n_dirs=0

# conf BODY: a directory with BODY as its a.conf; its path into $DIR.
conf() {
	n_dirs=$((n_dirs + 1))
	DIR="$WORK/c$n_dirs"
	mkdir -p "$DIR"
	printf '%b' "$1" >"$DIR/a.conf"
}

# bad DESCRIPTION EXPECTED_MESSAGE ARGS...: --check-config exits 2 with exactly that line.
bad() {
	local desc=$1 expected=$2 out rc
	shift 2
	out=$("$DAEMON" --check-config "$@" 2>&1 >/dev/null)
	rc=$?
	is "$rc" 2 "$desc: exit status 2"
	is "$out" "vchan-tund: $expected" "$desc: the message"
}

conf '[Link]\nPeer = 2\nRole = server\nMTU = 9x\n'
bad "an MTU that is not a number" \
	"$DIR/a.conf:4: MTU = '9x': expected a number from 68 to 65535" --config-dir "$DIR"

conf '[Link]\nPeer = 2\nRole = server\nMtu2 = 3\n'
bad "an unknown key" "$DIR/a.conf:4: unknown key 'Mtu2' in [Link]" --config-dir "$DIR"

conf '[Link]\nPeer = 2\n'
bad "a file without Role" \
	"$DIR/a.conf: missing Role: expected 'server' (offers the rings and pays their grants) or 'client'" \
	--config-dir "$DIR"

conf '[Link]\nPeer = 2\nRole = client\nMode = tap\nPeerAddress = 10.0.0.2\nAddress = 10.0.0.1\n'
bad "a peer address on a TAP link" \
	"$DIR/a.conf:5: PeerAddress = '10.0.0.2': not allowed with Mode = 'tap' on line 4: a TAP link has no point-to-point peer" \
	--config-dir "$DIR"

conf '[Link]\nPeer = 2\nRole = server\nMTU = 9000\nReadRing = 4K\n'
bad "an MTU whose frames do not fit the ring" \
	"$DIR/a.conf: MTU = '9000' on line 4 does not fit ReadRing = '4K' on line 5: a frame of 9008 bytes (a 9000-byte packet and the 8-byte header) needs a ring of at least 16K, or an MTU of at most 4088" \
	--config-dir "$DIR"

conf '[Link]\nPeer = 2\nRole = server\nMode = tap\nWriteRing = 1K\nReadRing = 2K\nMTU = 1000\n'
bad "a TAP frame (MTU + 18) that does not fit the write ring" \
	"$DIR/a.conf: MTU = '1000' on line 7 does not fit WriteRing = '1K' on line 5: a frame of 1032 bytes (a 1018-byte Ethernet frame and the 8-byte header) needs a ring of at least 2K, or an MTU of at most 998" \
	--config-dir "$DIR"

conf 'Peer = 2\n[Link]\n'
bad "a key before [Link]" "$DIR/a.conf:1: key 'Peer' before the [Link] section" --config-dir "$DIR"

conf '[Link]\nPeer = 2\nRole = server\nPeer = 3\n'
bad "a key given twice" "$DIR/a.conf:4: duplicate key 'Peer' in [Link] (first on line 2)" \
	--config-dir "$DIR"

conf '[Link]\nPeer = 2\nRole = server\n'
printf '[Link]\nPeer = 3\nRole = server\nInterface = vchan2\n' >"$DIR/b.conf"
bad "two links with one interface" \
	"$DIR/b.conf:4: Interface = 'vchan2': already used by link 'a' ($DIR/a.conf)" --config-dir "$DIR"

conf '[Link]\nPeer = 2\nRole = server\nAddress = 10.0.0.1/24\n'
printf '[Link]\nPeer = 3\nRole = server\nAddress = 10.0.0.1/30\n' >"$DIR/b.conf"
bad "two links with one address" \
	"$DIR/b.conf:4: Address = '10.0.0.1/30': already used by link 'a' ($DIR/a.conf:4)" \
	--config-dir "$DIR"

conf '[Link]\nPeer = -1\nRole = server\n'
bad "a negative domain id" \
	"$DIR/a.conf:2: Peer = '-1': expected a domain id from 0 to 32751, or a domain name" \
	--config-dir "$DIR"

conf '\xef\xbb\xbf[Link]\nPeer = 2\nRole = server\nMTU = 9x\n'
bad "a file with a byte-order mark, read past it" \
	"$DIR/a.conf:4: MTU = '9x': expected a number from 68 to 65535" --config-dir "$DIR"

conf '[Link]\nPeer = 99999\nRole = server\n'
bad "a domain id out of range" \
	"$DIR/a.conf:2: Peer = '99999': expected a domain id from 0 to 32751, or a domain name" \
	--config-dir "$DIR"

conf '[Link]\nPeer = 2\nRole = server\nAddress = 10.0.0.1/33\n'
bad "a prefix too long" "$DIR/a.conf:4: Address = '10.0.0.1/33': expected a prefix length from 0 to 32" \
	--config-dir "$DIR"

conf '[Link]\nPeer = 2\nRole = server\nReadRing = 3000\n'
bad "a ring size that is not a power of two" \
	"$DIR/a.conf:4: ReadRing = '3000': expected a power of two from 1K to 1M bytes, such as 64K" \
	--config-dir "$DIR"

conf '[Link]\nPeer = 2\nRole = server\nMTU = 1000\nAddress = fd00::1/64\n'
bad "an MTU too small for IPv6" \
	"$DIR/a.conf:4: MTU = '1000': IPv6 needs at least 1280, and there is Address = 'fd00::1/64' on line 5" \
	--config-dir "$DIR"

bad "a directory that does not exist" \
	"$WORK/none: cannot open directory: No such file or directory" --config-dir "$WORK/none"

# --- the command line -------------------------------------------------------------------

bad "a bad --role" "--role 'sideways': expected 'server' or 'client'" --peer 2 --role sideways
bad "an option without its value" "--mtu needs a value (try 'vchan-tund --help')" \
	--peer 2 --role server --mtu
bad "an unknown option" "unknown option '--frob' (try 'vchan-tund --help')" --frob
bad "an unknown short option" "unknown option '-x' (try 'vchan-tund --help')" -x
bad "--config-dir with link options" \
	"--config-dir cannot be combined with link options (--peer, --role, ...): a link comes either from files or from the command line" \
	--peer 2 --role server --config-dir "$WORK"
bad "a stray argument" "unexpected argument 'extra': links come from --config-dir or link options" \
	--peer 2 --role server extra
bad "an option given twice" "--mtu given twice" --peer 2 --role server --mtu 1500 --mtu 1400
bad "the default MTU in a 1K ring" \
	"--mtu '1500' (the default) does not fit --read-ring '1K': a frame of 1512 bytes (a 1500-byte packet and the 8-byte header) needs a ring of at least 2K, or an MTU of at most 1016" \
	--peer 2 --role server --read-ring 1K
bad "two 1K rings" \
	"--read-ring '1K' and --write-ring '1K': rings under 4K share the control page, where there is room for one of 1K and one of 2K" \
	--peer 2 --role server --write-ring 1K --read-ring 1K
bad "no --peer" "missing --peer: expected a domain id or a domain name" --role server
bad "a bad --persistent" "--persistent 'maybe': expected yes or no (also true/false, on/off, 1/0)" \
	--peer 2 --role server --persistent=maybe
bad "--persistent yes, the value a word of its own, twice" "--persistent given twice" \
	--peer 2 --role server --persistent yes --persistent no
"$DAEMON" --check-config --peer 2 --persistent no --watched off --role server >/dev/null 2>&1
is $? 0 "--persistent no and --watched off: a yes/no word after the option is its value"
bad "--persistent maybe, a word of its own" "unexpected argument 'maybe': links come from --config-dir or link options" \
	--peer 2 --role server --persistent maybe
bad "a peer address without an address" \
	"--peer-address '10.0.0.2': IPv4 peer address 1 has no IPv4 Address 1 to belong to" \
	--peer 2 --role server --peer-address 10.0.0.2
bad "a relative XenStore path" "--xenstore-path 'relative/path': expected an absolute XenStore path" \
	--peer 2 --role server --xenstore-path relative/path

# --- without --check-config -------------------------------------------------------------------

out=$("$DAEMON" --control "$WORK/x.sock" --peer 2 --role server --mtu 9x 2>&1)
is "$?" 2 "the daemon itself exits 2 on a configuration error"
is "$out" "vchan-tund: --mtu '9x': expected a number from 68 to 65535" "with the same message"
ok "$(test -e "$WORK/x.sock"; echo $((!$?)))" "before creating its control socket"

# --- good configurations ----------------------------------------------------------------------

conf '[Link]\nPeer = guest1\nRole = client\nAddress = 10.9.0.1/30, fd00:9::1/64\nPeerAddress = 10.9.0.2\n'
printf '[Link]\nPeer = 12\nRole = server\nMode = tap\nInterface = vr1\nPersistent = yes\nReadRing = 64K\nWriteRing = 64K\n' \
	>"$DIR/b.conf"
out=$("$DAEMON" --check-config --config-dir "$DIR" 2>&1)
is "$?" 0 "a good directory passes --check-config"
is "$out" "a: client of domain guest1, tun device vchan-guest1, mtu 1500, rings read 256K write 256K
b: server of domain 12, tap device vr1, mtu 1500, rings read 64K write 64K (33 grants)" \
	"and --check-config lists its links"

mkdir "$WORK/empty"
out=$("$DAEMON" --check-config --config-dir "$WORK/empty" 2>&1)
is "$?" 0 "an empty directory passes"
is "$out" "no links in $WORK/empty" "and says it has no links"

out=$("$DAEMON" --check-config --peer 0 --role server --name guest1 --address 10.9.0.2/30 2>&1)
is "$?" 0 "a good command line passes"
is "$out" "guest1: server of domain 0, tun device vchan0, mtu 1500, rings read 256K write 256K (129 grants)" \
	"and is listed"

done_testing

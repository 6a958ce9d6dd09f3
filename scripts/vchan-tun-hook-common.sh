# shellcheck shell=sh
# Sourced by the vchan-tun hooks (vchan-tun-hook(8)), as Xen's vif scripts
# source vif-common.sh: the checks of what vchan-tun-watch passes (the action
# as the only argument, the link in VCHAN_TUN_* variables) and of addresses,
# and one way to log and to fail. A hook of your own may source it too.
#
# After hook_init "$@": $action (up or down), $link, $iface and $mode
# (tun or tap), each checked. Messages go to stderr, which the watcher logs,
# as "HOOK: LINK: message"; errors exit 1.

hook=${0##*/}

log() {
	printf '%s: %s: %s\n' "$hook" "${link:-${VCHAN_TUN_LINK:-?}}" "$*" >&2
}

die() {
	log "error: $*"
	exit 1
}

# valid_ifname NAME: the kernel's rules, as vchan-tun.conf(5) states them for
# Interface: 1 to 15 printable ASCII characters, none of them whitespace,
# '/', ':' or '%', and not "." or "..".
valid_ifname() {
	case $1 in
	'' | . | .. | ????????????????* | *[!!-~]* | */* | *:* | *%*) return 1 ;;
	esac
}

# hook_init ARGS...: the action and the link's variables, checked.
hook_init() {
	[ $# -eq 1 ] || die "expected one argument, 'up' or 'down'; got $#: '$*'"
	case $1 in
	up | down) action=$1 ;;
	*) die "unknown action '$1': expected 'up' or 'down'" ;;
	esac
	if [ -n "${VCHAN_TUN_ACTION:-}" ] && [ "$VCHAN_TUN_ACTION" != "$action" ]; then
		die "VCHAN_TUN_ACTION '$VCHAN_TUN_ACTION' contradicts the argument '$action'"
	fi
	link=${VCHAN_TUN_LINK:-}
	[ -n "$link" ] || die "VCHAN_TUN_LINK is not set: run me from vchan-tun-watch"
	iface=${VCHAN_TUN_INTERFACE:-}
	valid_ifname "$iface" || die "VCHAN_TUN_INTERFACE '$iface': not an interface name"
	mode=${VCHAN_TUN_MODE:-}
	case $mode in
	tun | tap) ;;
	*) die "VCHAN_TUN_MODE '$mode': expected 'tun' or 'tap'" ;;
	esac
}

# iface_exists NAME
iface_exists() {
	ip link show dev "$1" >/dev/null 2>&1
}

# is_ipv4 ADDRESS: dotted quad, each part 0 to 255 without leading zeros.
is_ipv4() {
	case $1 in
	*[!0-9.]* | .* | *. | *..*) return 1 ;;
	esac
	_ifs=$IFS
	IFS=.
	# shellcheck disable=SC2086 # split on the dots; the hooks run with set -f
	set -- $1
	IFS=$_ifs
	[ $# -eq 4 ] || return 1
	for _part; do
		case $_part in
		[0-9] | [1-9][0-9] | 1[0-9][0-9] | 2[0-4][0-9] | 25[0-5]) ;;
		*) return 1 ;;
		esac
	done
}

# hex_groups LIST: prints how many groups of 1 to 4 hex digits LIST has,
# separated by single colons ("" has none); fails on anything else.
hex_groups() {
	[ -n "$1" ] || {
		echo 0
		return 0
	}
	case $1 in
	:* | *: | *::*) return 1 ;;
	esac
	_ifs=$IFS
	IFS=:
	# shellcheck disable=SC2086 # split on the colons; the hooks run with set -f
	set -- $1
	IFS=$_ifs
	for _group; do
		case $_group in
		?????* | *[!0-9A-Fa-f]*) return 1 ;;
		esac
	done
	echo $#
}

# is_ipv6 ADDRESS: RFC 4291's text forms: eight groups, or fewer around one
# "::", the last two of them possibly a dotted quad.
is_ipv6() {
	_a=$1
	case $_a in
	*:*) ;;
	*) return 1 ;;
	esac
	case $_a in
	*[!0-9A-Fa-f:.]* | *:::* | *::*::*) return 1 ;;
	*.*)
		is_ipv4 "${_a##*:}" || return 1
		_a="${_a%:*}:0:0"
		;;
	esac
	case $_a in
	*::*)
		_left=$(hex_groups "${_a%%::*}") || return 1
		_right=$(hex_groups "${_a#*::}") || return 1
		[ $((_left + _right)) -le 7 ]
		;;
	*)
		[ "$(hex_groups "$_a")" = 8 ]
		;;
	esac
}

# parse_prefix VALUE WHAT: VALUE is ADDRESS or ADDRESS/LENGTH, IPv4 or IPv6.
# Sets net_addr, net_len (the whole address's, 32 or 128, if absent),
# net_max (32 or 128) and net_family (-4 or -6); dies naming WHAT and VALUE.
# shellcheck disable=SC2034 # the net_* variables are the caller's
parse_prefix() {
	case $1 in
	*/*/* | /* | */) die "$2 '$1': expected ADDRESS or ADDRESS/LENGTH" ;;
	*/*)
		net_addr=${1%/*}
		net_len=${1#*/}
		;;
	*)
		net_addr=$1
		net_len=
		;;
	esac
	if is_ipv4 "$net_addr"; then
		net_family=-4 net_max=32
	elif is_ipv6 "$net_addr"; then
		net_family=-6 net_max=128
	else
		die "$2 '$1': '$net_addr' is not an IPv4 or IPv6 address"
	fi
	case $1 in
	*/*)
		case $net_len in
		'' | *[!0-9]* | 0?*) die "$2 '$1': prefix length '$net_len' is not a number from 0 to $net_max" ;;
		esac
		[ "$net_len" -le "$net_max" ] ||
			die "$2 '$1': prefix length '$net_len' is not a number from 0 to $net_max"
		;;
	*) net_len=$net_max ;;
	esac
}

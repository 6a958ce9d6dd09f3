# shellcheck shell=bash
# Helpers for the vchan-tun-watch tests (t/80-* to t/82-*), on top of lib.sh
# and daemon-lib.sh, which the test sources first: a watcher started as a
# simulated domain, a hook that records how it was called, and what ip(8)
# says of a device.
#
# A watcher's log is $WORK/NAME.log; the recording hook appends to
# $WORK/hooks.NAME, one block per call (see record_hook).

WATCHER="$BUILD/bin/vchan-tun-watch"
[ -x "$WATCHER" ] || bail_out "$WATCHER not built (run make)"

# watcher VAR NAME DOMID NETNS ARGS...: starts vchan-tun-watch -v as DOMID in
# NETNS; its own PID goes into VAR.
watcher() {
	local var=$1 name=$2 dom=$3 ns=$4
	shift 4
	spawn "$var" "$WORK/$name.log" "$XENSIM" exec "$dom" --netns "$ns" -- \
		"$WATCHER" -v "$@"
}

# record_hook NAME: writes $WORK/NAME.hook, a hook that appends to
# $WORK/hooks.NAME its arguments and the environment it was started with
# (its own, as exec'd: /proc/$$/environ), sorted, then "--".
record_hook() {
	cat >"$WORK/$1.hook" <<-EOF
		#!/bin/sh
		{
			echo "argv: \$*"
			tr '\0' '\n' </proc/\$\$/environ | sort
			echo --
		} >>"$WORK/hooks.$1"
	EOF
	chmod +x "$WORK/$1.hook"
	: >"$WORK/hooks.$1"
}

# hook_calls NAME [ACTION]: how many times the recording hook ran (with ACTION).
hook_calls() {
	grep -c "^argv: ${2:-}" "$WORK/hooks.$1"
}

# last_call NAME: the last recorded call, without its "--".
last_call() {
	awk '/^argv: / { block = "" } $0 != "--" { block = block $0 "\n" } END { printf "%s", block }' \
		"$WORK/hooks.$1"
}

# calls_at_least NAME N: the recording hook has run N times or more, to the end
# of each call's block (its "--").
calls_at_least() {
	[ "$(grep -c '^--$' "$WORK/hooks.$1")" -ge "$2" ]
}

# wait_calls NAME N [SECS]: until the hook has run N times (default 5 s).
wait_calls() {
	wait_for "${3:-5}" calls_at_least "$1" "$2"
}

# gone PID: no such process (any more), zombies included once reaped.
gone() {
	! kill -0 "$1" 2>/dev/null
}

# operstate NETNS IFNAME: "UP", "DOWN", ... as ip -j shows it; "GONE" without the device.
operstate() {
	ip -n "$1" -j link show dev "$2" 2>/dev/null |
		perl -MJSON::PP -e 'my $l = eval { decode_json(do { local $/; <STDIN> }) };
			print $l && @$l ? "$l->[0]{operstate}\n" : "GONE\n"'
}

oper_up() { [ "$(operstate "$1" "$2")" = UP ]; }
oper_not_up() { [ "$(operstate "$1" "$2")" != UP ]; }

# admin_up NETNS IFNAME: the device is administratively up (IFF_UP).
admin_up() {
	ip -n "$1" -o link show dev "$2" 2>/dev/null | grep -q '<\([^>]*,\)\?UP[,>]'
}

# fds PID: how many descriptors the process has open.
fds() {
	find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l
}

# children PID: how many processes PID has started and not reaped.
children() {
	ps -o pid= --ppid "$1" | wc -l
}

# xs_watches: every watch xenstored-lite holds, for all domains.
xs_watches() {
	"$XENSIM" xenstored stats | awk '$1 == "total" { print $5 }'
}

# state_key DOMID PEER LINK: a daemon's state key, as dom0 reads it ("" if none).
state_key() {
	sim_exec 0 - xenstore-read "/local/domain/$1/data/vchan-tun/$2/$3/state" 2>/dev/null
}

show_watcher_log() {
	diag "--- $1's log:"
	diag "$(tail -n 30 "$WORK/$1.log")"
}

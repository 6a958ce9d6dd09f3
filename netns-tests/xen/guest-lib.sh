# shellcheck shell=sh
# Shared by dom0's and the domU's scripts in the real-Xen run (busybox ash;
# installed as /vt/lib.sh in both initramfs images).
#
# dom0 drives: it prints TAP lines, prefixed "VT ", on its console, which is
# the serial line the host reads (netns-tests/xen/run). The domU runs an agent
# that starts the commands dom0 gives it as jobs, through XenStore:
#
#   /local/domain/D/data/vt/ready          the agent's watch is registered
#   /local/domain/D/data/vt/job/NAME/cmd   written by dom0: a shell command
#   /local/domain/D/data/vt/job/NAME/out   written by the agent when the job
#                                          ends: its last 1000 bytes of output
#   /local/domain/D/data/vt/job/NAME/rc    then its exit status
#
# Both sides wait on XenStore watches, never by polling XenStore; only the
# daemon's state and a listening socket, which nothing announces, are polled.
# Values go in and out raw (-R): xenstore-read escapes newlines otherwise.

PATH=/usr/bin:/bin:/usr/sbin:/sbin:/usr/lib/xen-4.17/bin
export PATH

say() { echo "VT $*"; }

now_s() { date +%s; }

# xs_has KEY [VALUE]: KEY exists (and reads VALUE).
xs_has() {
	if [ $# -eq 1 ]; then
		xenstore-exists "$1" 2>/dev/null
	else
		[ "$(xenstore-read -R "$1" 2>/dev/null)" = "$2" ]
	fi
}

# xs_wait KEY SECS [VALUE]: waits until KEY exists (and reads VALUE). The
# watch fires once when it is registered and again on every change at or below
# KEY, so checking after each event cannot miss a write made before the watch
# existed.
xs_wait() {
	local key="$1" secs="$2" fifo wpid end left rc=1 opened=
	shift 2
	# $$ is the same in every subshell: the name must be unique by itself.
	fifo=$(mktemp -u /tmp/xs_wait.XXXXXX) && mkfifo "$fifo" || return 1
	end=$(($(now_s) + secs))
	xenstore-watch "$key" >"$fifo" 2>/dev/null &
	wpid=$!
	# Opening a FIFO fails with EINTR when a child of the shell ends meanwhile
	# (for dom0's /init, PID 1, any orphan it adopted), and a failed
	# redirection of a bare "exec", a special built-in, ends the shell: /init
	# would exit and dom0's kernel panic. "command" makes the failure an exit
	# status; the open is tried again until the deadline.
	while :; do
		if { command exec 8<"$fifo"; } 2>/dev/null; then
			opened=1
			break
		fi
		[ "$(now_s)" -lt "$end" ] || break
	done
	while [ -n "$opened" ]; do
		if xs_has "$key" "$@"; then
			rc=0
			break
		fi
		left=$((end - $(now_s)))
		[ "$left" -gt 0 ] || break
		# shellcheck disable=SC3045 # busybox ash has read -t
		read -r -t "$left" _ <&8 || break
	done
	kill "$wpid" 2>/dev/null
	wait "$wpid" 2>/dev/null
	[ -z "$opened" ] || exec 8<&-
	rm -f "$fifo"
	[ "$rc" -eq 0 ] || xs_has "$key" "$@"
}

# poll_until SECS CMD...: runs CMD every 0.1 s until it succeeds, at most SECS.
# Only for conditions that no event announces.
poll_until() {
	local end="$(($(now_s) + $1))"
	shift
	until "$@" >/dev/null 2>&1; do
		[ "$(now_s)" -lt "$end" ] || return 1
		sleep 0.1
	done
}

state_is() { # state_is LINK STATE: vchan-tunctl shows LINK in STATE
	vchan-tunctl status 2>/dev/null | grep -q "^$1: $2 "
}

listening() { # listening PORT: a TCP socket listens on PORT
	ss -Htln "sport = :$1" | grep -q .
}

sum_of() { sha256sum <"$1" | cut -d' ' -f1; }

# --- the domU's agent ----------------------------------------------------------

# start_job NAME: runs job NAME's command in the background; when it ends,
# publishes the end of its output and its status.
start_job() {
	local name="$1" job="data/vt/job/$1" cmd
	cmd=$(xenstore-read -R "$job/cmd") || return
	(
		sh -c ". /vt/lib.sh; $cmd" </dev/null >"/tmp/vt/$name.log" 2>&1 &
		echo $! >"/tmp/vt/$name.pid"
		wait $!
		rc=$?
		# The console goes to dom0's xenconsoled log, which dom0 shows at the end.
		echo "job $name: exit status $rc"
		[ "$rc" -eq 0 ] || sed "s/^/$name| /" "/tmp/vt/$name.log"
		xenstore-write -R -- "$job/out" "$(tail -c 1000 "/tmp/vt/$name.log")" "$job/rc" "$rc"
	) &
}

# agent: starts every job dom0 writes, once; never returns.
agent() {
	local path name
	mkdir -p /tmp/vt
	xenstore-watch data/vt/job | {
		read -r _ # the first event: the watch is registered
		xenstore-write data/vt/ready 1
		while read -r path; do
			case $path in
			*/cmd) ;;
			*) continue ;;
			esac
			name=${path%/cmd}
			name=${name##*/}
			[ -e "/tmp/vt/$name.pid" ] && continue
			: >"/tmp/vt/$name.pid"
			start_job "$name"
		done
	}
	echo "agent: xenstore-watch ended"
}

# job_pid NAME: the PID of job NAME's command (the program, when it exec'd)
job_pid() { cat "/tmp/vt/$1.pid"; }

# --- dom0: TAP, and the domU's jobs --------------------------------------------

T_RUN=0
T_FAILED=0

ok() { # ok STATUS DESCRIPTION; a STATUS that is not a number is a failure
	local status="$1"
	shift
	case $status in
	'' | *[!0-9]*) status=1 ;; # "return" of a non-number would end the shell
	esac
	T_RUN=$((T_RUN + 1))
	if [ "$status" -eq 0 ]; then
		say "ok $T_RUN - $*"
	else
		say "not ok $T_RUN - $*"
		T_FAILED=$((T_FAILED + 1))
	fi
	return "$status"
}

is() { # is ACTUAL EXPECTED DESCRIPTION
	if [ "$1" = "$2" ]; then
		ok 0 "$3"
	else
		ok 1 "$3"
		diag "got:      '$1'"
		diag "expected: '$2'"
		return 1
	fi
}

like() { # like ACTUAL REGEX DESCRIPTION
	if printf '%s' "$1" | grep -Eq -- "$2"; then
		ok 0 "$3"
	else
		ok 1 "$3"
		diag "got: '$1'"
		diag "expected match: /$2/"
		return 1
	fi
}

diag() { printf '%s\n' "$*" | sed 's/^/VT # /'; }

show_file() { # show_file LABEL FILE: its end, as diagnostics
	diag "--- $1:"
	diag "$(tail -n 15 "$2" 2>/dev/null)"
}

# on_domu NAME CMD: starts CMD in the domU as job NAME (see the top).
on_domu() {
	xenstore-write -R -- "$DOMU_PATH/data/vt/job/$1/cmd" "$2"
}

# domu_wait NAME SECS: waits for job NAME to end; returns its exit status,
# or 124 when it has not ended after SECS.
domu_wait() {
	local rc
	xs_wait "$DOMU_PATH/data/vt/job/$1/rc" "$2" || return 124
	rc=$(xenstore-read "$DOMU_PATH/data/vt/job/$1/rc" 2>/dev/null)
	case $rc in
	'' | *[!0-9]*) return 125 ;; # "return" of a non-number would end the shell
	esac
	return "$rc"
}

domu_out() { xenstore-read -R "$DOMU_PATH/data/vt/job/$1/out"; }

# domu_run NAME SECS CMD: runs CMD in the domU and waits for it; its output
# goes to stdout.
domu_run() {
	local rc
	on_domu "$1" "$3"
	domu_wait "$1" "$2"
	rc=$?
	domu_out "$1" 2>/dev/null
	return "$rc"
}

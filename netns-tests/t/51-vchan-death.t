#!/usr/bin/env bash
# Peer death on our vchan: kill -9 of either end, ours or libxenvchan's, is seen
# by our surviving end within a second (the unmap notification clears the
# peer's live byte and signals the port); a server that re-offers takes a new
# client afterwards; vchan-cat exits when its peer dies.
# shellcheck source=SCRIPTDIR/../lib.sh
# shellcheck disable=SC2154,SC2317 # spawn and reap set and call by name
. "$(dirname "$0")/../lib.sh"

OURS="$TOOLS/ring-peer"
XEN="$TOOLS/vchan-peer"
CAT="$BUILD/bin/vchan-cat"
for f in "$OURS" "$XEN" "$CAT"; do
	[ -x "$f" ] || bail_out "$f not built (run make)"
done

# shellcheck disable=SC2119
sim_start
sim_domain 1
sim_domain 2
netns_add NS1
netns_add NS2

# killed_within LABEL PID LOG PATTERN: kill -9 PID, then expect PATTERN in LOG within 1 s.
killed_within() {
	local label=$1 pid=$2 log=$3 pattern=$4 t0 t1 rc comm
	comm=$(cat "/proc/$pid/comm" 2>/dev/null)
	like "$comm" '^(ring-peer|vchan-peer|vchan-cat)$' "$label: the PID is the program itself ($comm)"
	t0=$(now_ms)
	kill -9 "$pid"
	wait_for 1 grep -q -- "$pattern" "$log"
	rc=$?
	t1=$(now_ms)
	ok "$rc" "$label: the survivor notices within 1 s (took $((t1 - t0)) ms)" ||
		show_log survivor "$log"
	wait "$pid" 2>/dev/null
}

connected() { # connected LOG...: waits until every LOG says connected
	local f
	for f in "$@"; do
		wait_for 20 grep -qx connected "$f" || return 1
	done
}

# death N SERVER CLIENT VICTIM: a --wait-close pair; kill VICTIM (server|client).
death() {
	local n=$1 server=$2 client=$3 victim=$4
	local path=/local/domain/1/data/vchan/2/$n
	local slog=$WORK/s$n.log clog=$WORK/c$n.log spid cpid label
	label="$(basename "$server") server, $(basename "$client") client, kill -9 $victim"
	as spid "$slog" 1 "$NS1" "$server" server 2 "$path" --bytes 1000000 --wait-close --timeout 60
	as cpid "$clog" 2 "$NS2" "$client" client 1 "$path" --bytes 1000000 --wait-close --timeout 60
	if ! connected "$slog" "$clog" || ! wait_for 20 grep -q '^ok sent=' "$slog" ||
		! wait_for 20 grep -q '^ok sent=' "$clog"; then
		fail "$label: both ends connect and transfer"
		show_log server "$slog"
		show_log client "$clog"
		return
	fi
	if [ "$victim" = server ]; then
		killed_within "$label" "$spid" "$clog" '^peer-closed'
		reap "$cpid" 10
		is "$?" 0 "$label: the client exits 0" || show_log client "$clog"
	else
		killed_within "$label" "$cpid" "$slog" '^peer-closed'
		reap "$spid" 10
		is "$?" 0 "$label: the server exits 0" || show_log server "$slog"
	fi
}

death 1 "$OURS" "$XEN" client
death 2 "$XEN" "$OURS" server
death 3 "$OURS" "$OURS" client
death 4 "$OURS" "$OURS" server

# --- a server that re-offers ------------------------------------------------------

path=/local/domain/1/data/vchan/2/5
as spid "$WORK/s5.log" 1 "$NS1" "$OURS" server 2 "$path" --bytes 2000000 --wait-close \
	--clients 3 --timeout 60 --read-min 65536 --write-min 65536
as c1 "$WORK/c5a.log" 2 "$NS2" "$OURS" client 1 "$path" --bytes 2000000 --wait-close --timeout 60
wait_for 20 grep -q '^ok sent=' "$WORK/c5a.log" || show_log "first client" "$WORK/c5a.log"
killed_within "re-offer: first client" "$c1" "$WORK/s5.log" '^peer-closed'
wait_for 5 grep -qx reoffered "$WORK/s5.log"
ok $? "re-offer: the server offers the channel again" || show_log server "$WORK/s5.log"
as c2 "$WORK/c5b.log" 2 "$NS2" "$XEN" client 1 "$path" --bytes 2000000 --timeout 60
reap "$c2" 30
is "$?" 0 "re-offer: a libxenvchan client connects to the new offer and exchanges 2 MB" ||
	show_log "second client" "$WORK/c5b.log"
as c3 "$WORK/c5c.log" 2 "$NS2" "$OURS" client 1 "$path" --bytes 2000000 --timeout 60
reap "$c3" 30
is "$?" 0 "re-offer: and after it left, one of ours does too" || show_log "third client" "$WORK/c5c.log"
reap "$spid" 30
is "$?" 0 "re-offer: the server served three clients and exits 0" || show_log server "$WORK/s5.log"
is "$(grep -c '^ok sent=2000000 received=2000000 ' "$WORK/s5.log")" 3 \
	"re-offer: three complete transfers, every byte checked"
is "$(sim_exec 0 - xenstore-exists "$path" && echo present || echo gone)" gone \
	"the server removed its XenStore path on exit"

# --- vchan-cat ----------------------------------------------------------------------

path=/local/domain/1/data/vchan/2/6
mkfifo "$WORK/quiet"
as cat1 "$WORK/cat6.err" 1 "$NS1" sh -c "exec '$CAT' -v -l 2 $path <>'$WORK/quiet' >/dev/null"
as c6 "$WORK/c6.log" 2 "$NS2" "$OURS" client 1 "$path" --wait-close --timeout 60
connected "$WORK/c6.log" || show_log client "$WORK/c6.log"
wait_for 10 grep -q connected "$WORK/cat6.err"
killed_within "vchan-cat -l, kill -9 its client" "$c6" "$WORK/cat6.err" 'peer closed'
reap "$cat1" 5
is "$?" 0 "vchan-cat -l exits 0 after its client died" || show_log vchan-cat "$WORK/cat6.err"

path=/local/domain/1/data/vchan/2/7
as s7 "$WORK/s7.log" 1 "$NS1" "$OURS" server 2 "$path" --wait-close --timeout 60
as cat2 "$WORK/cat7.err" 2 "$NS2" sh -c "exec '$CAT' -v 1 $path <>'$WORK/quiet' >/dev/null"
connected "$WORK/s7.log" || show_log server "$WORK/s7.log"
wait_for 10 grep -q connected "$WORK/cat7.err"
killed_within "vchan-cat client, kill -9 its server" "$s7" "$WORK/cat7.err" 'peer closed'
reap "$cat2" 5
is "$?" 0 "vchan-cat exits 0 after its server died" || show_log vchan-cat "$WORK/cat7.err"

done_testing

#!/usr/bin/env bash
# What a guest writes into XenStore reaches dom0's programs as text, and only
# as harmless text; and what dom0 runs for a link, no other daemon can take.
#  - a ring-ref with terminal escape sequences: dom0's daemon says why it
#    cannot connect, in its log and its status, with the escapes escaped;
#  - a domain whose name in XenStore is shell code with a newline: the
#    watcher runs the hook with VCHAN_TUN_PEER_NAME empty, as
#    vchan-tun-hook(8) says, and says why once;
#  - a second vchan-tund started for links that run (another --control):
#    it says that the device is held, touches neither the device nor the
#    link's state key, and, as no link of its can run, exits 1; the watcher
#    runs no hook for it.
# shellcheck source=SCRIPTDIR/../lib.sh
# shellcheck disable=SC2154,SC2317,SC2119 # spawn sets variables by name; sim_start takes no $1
. "$(dirname "$0")/../lib.sh"
# shellcheck source=SCRIPTDIR/../daemon-lib.sh
. "$TOP/netns-tests/daemon-lib.sh"
# shellcheck source=SCRIPTDIR/../watch-lib.sh
. "$TOP/netns-tests/watch-lib.sh"

sim_start
sim_domain 5 escaper
sim_domain 7
netns_add N0
netns_add N7

# --- escapes in a key ---------------------------------------------------------------------------

mkdir -p "$WORK/conf"
record_hook w0
printf '[Link]\nPeer = 5\nRole = client\nAddress = 10.89.5.1\nPeerAddress = 10.89.5.2/32\n' \
	>"$WORK/conf/esc.conf"
cat >"$WORK/conf/named.conf" <<EOF
[Link]
Peer = 7
Role = client
Address = 10.89.7.1
PeerAddress = 10.89.7.2/32
Hook = $WORK/w0.hook
EOF
daemon d0 dom0 0 "$N0" --config-dir "$WORK/conf"
wait_state dom0 esc CONNECTING || bail_out "dom0 does not wait for domain 5"

P5=/local/domain/5/data/vchan-tun/0/esc
ESC=$'\e'
sim_exec 5 - xenstore-write "$P5/ring-ref" "1${ESC}[2J${ESC}]0;owned"$'\a' "$P5/event-channel" 5 &&
	sim_exec 5 - xenstore-chmod "$P5/ring-ref" n5 r0 &&
	sim_exec 5 - xenstore-chmod "$P5/event-channel" n5 r0
ok $? "domain 5 writes a ring-ref with terminal escapes"
said() { grep -q 'cannot connect yet' "$WORK/dom0.log"; }
wait_for 10 said
ok $? "dom0's daemon says it cannot connect" || show_daemon_log dom0
like "$(grep 'cannot connect yet' "$WORK/dom0.log")" \
	"ring-ref is '1\\\\x1b\\[2J\\\\x1b\\]0;owned\\\\x07': expected a number" \
	"quoting the value with each control byte as \\\\xNN"
is "$(grep -c "$ESC" "$WORK/dom0.log")" 0 "no escape byte reached the log"
status=$(ctl dom0 status)
like "$status" "last error: .*ring-ref is '1.*x1b.*owned" "the status names the bad value too"
is "$(grep -c "$ESC" <<<"$status")" 0 "without an escape byte"
is "$(ctl dom0 status --json | perl -MJSON::PP -e '
	my $s = decode_json(do { local $/; <STDIN> });
	my ($l) = grep { $_->{name} eq "esc" } @{$s->{links}};
	print $l->{last_error} =~ /\e/ ? "raw\n" : "escaped\n"')" escaped \
	"and the JSON status escapes it as a JSON string does"

# --- a name that is shell code ----------------------------------------------------------------------

weird="x\$(touch $WORK/pwned);../../etc"$'\n'"DOMAIN=evil"
sim_exec 0 - xenstore-write /local/domain/7/name "$weird"
ok $? "domain 7's name in XenStore is shell code with a newline"
watcher w0 w0 0 "$N0" --config-dir "$WORK/conf"
# the guest starts only once the watcher watches: a link it found up
# already would be taken as up, its hook as run (watch-link.c)
wait_for 10 grep -q 'watching 2 links' "$WORK/w0.log" || show_watcher_log w0
daemon d7 guest7 7 "$N7" --name named --peer 0 --role server --address 10.89.7.2 \
	--peer-address 10.89.7.1/32
wait_state dom0 named RUNNING || bail_out "no link to domain 7"
wait_calls w0 1 10
ok $? "the watcher ran the hook up" || show_watcher_log w0
like "$(last_call w0)" $'\nVCHAN_TUN_PEER_DOMID=7\nVCHAN_TUN_PEER_NAME=\n' \
	"with VCHAN_TUN_PEER_DOMID=7 and VCHAN_TUN_PEER_NAME empty"
is "$(grep -c 'DOMAIN=evil' "$WORK/hooks.w0")" 0 "nothing of the name reached the hook"
like "$(grep 'not a domain name' "$WORK/w0.log")" "domain 7's name in XenStore is not a domain name" \
	"the watcher says why"
ok "$([ ! -e "$WORK/pwned" ]; echo $?)" "and nothing ran the name"

# --- a second daemon for the same links ---------------------------------------------------------------

key_before=$(state_key 0 7 named)
is "$key_before" connected "dom0's state key for the link says connected"
hooks_before=$(hook_calls w0)
daemon d2 second 0 "$N0" --config-dir "$WORK/conf"
held() { grep -q 'named: error: device vchan7 is held by another process' "$WORK/second.log"; }
wait_for 10 held
ok $? "a second daemon for the same links says the device is held" || show_daemon_log second
# each of its links is held, and retrying cannot mend that: nothing to run
reap "$d2" 10
is $? 1 "the second daemon exits 1, as none of its links can run"
like "$(cat "$WORK/second.log")" 'error: no link can run' "and says so"
is "$(state_key 0 7 named)" connected "the state key still says connected after it"
is "$(field dom0 named state)" RUNNING "the first daemon's link runs on"
run_ok "its device carries a ping" ip netns exec "$N0" ping -c 2 -i 0.2 -W 2 10.89.7.2
is "$(hook_calls w0)" "$hooks_before" "and the watcher ran no hook meanwhile"

kill -TERM "$d0"
reap "$d0" 10
is $? 0 "the daemon exits 0 on SIGTERM"

done_testing

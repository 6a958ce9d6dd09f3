#!/usr/bin/env bash
# Destroying a domain as Xen does: its processes die with it, its peers' event
# channels silently become unbound, and no unmap notification is delivered —
# only @releaseDomain tells. A domain created again under the same id works.
. "$(dirname "$0")/../lib.sh"

PEER=$TOOLS/vchan-peer
sim_start
sim_domain 1
sim_domain 2 guest
netns_add NS1
netns_add NS2
path=/local/domain/1/data/vchan/2/0

spawn release_watch "$WORK/release" "$XENSIM" exec 0 -- xenstore-watch -n 2 @releaseDomain
wait_for 10 grep -q . "$WORK/release"
spawn server "$WORK/server" "$XENSIM" exec 1 --netns "$NS1" -- "$PEER" server 2 "$path" --wait-close
spawn client "$WORK/client" "$XENSIM" exec 2 --netns "$NS2" -- "$PEER" client 1 "$path" --wait-close
wait_for 10 grep -q connected "$WORK/server"
ok $? "a vchan between domains 1 and 2 is up"

run_ok "xensim domain destroy 2" "$XENSIM" domain destroy 2
reap "$client" 10
is "$?" 137 "the destroyed domain's process was killed (SIGKILL)"
reap "$release_watch" 10
is "$(tail -n 1 "$WORK/release")" "@releaseDomain" "@releaseDomain fires"
# Nothing to await here: the point is that no event comes. One second is what a
# notification would take at most (the peer-death tests see it within milliseconds).
sleep 1
ok "$(grep -c peer-closed "$WORK/server")" "the peer saw no unmap notification: no cleared byte, no event"
ok "$(kill -0 "$server" 2>/dev/null; echo $?)" "and is still waiting on its channel"
is "$(sim_exec 0 - xenstore-ls /local/domain | grep -c '^guest\|^2 =')" 0 "domain 2's XenStore directory is gone"

# The same id again: a new domain, a new channel.
kill -9 "$server"
wait "$server" 2>/dev/null
sim_domain 2 guest
spawn server "$WORK/server2" "$XENSIM" exec 1 --netns "$NS1" -- "$PEER" server 2 "$path" --bytes 1000000
spawn client "$WORK/client2" "$XENSIM" exec 2 --netns "$NS2" -- "$PEER" client 1 "$path" --bytes 1000000
reap "$client" 30
ok $? "a domain created again under id 2 connects and exchanges 1 MB each way"
reap "$server" 30
ok $? "with the server in domain 1"

done_testing

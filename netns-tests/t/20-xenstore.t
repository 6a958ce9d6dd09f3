#!/usr/bin/env bash
# xenstored-lite against Debian's own libxenstore and xenstore-* tools:
# layout, permissions, watches, transactions, quotas, domain introduction.
. "$(dirname "$0")/../lib.sh"

sim_start --quota-nodes 40 --quota-watches 5 --quota-transactions 3 --quota-entry-size 100
netns_add NS1
netns_add NS2
netns_add NS3
xsp=$TOOLS/xs-probe

# @introduceDomain and @releaseDomain, as domain 0 (the toolstack) sees them.
spawn intro "$WORK/intro" "$XENSIM" exec 0 -- xenstore-watch -n 2 @introduceDomain
spawn rel "$WORK/rel" "$XENSIM" exec 0 -- xenstore-watch -n 2 @releaseDomain
wait_for 10 grep -q . "$WORK/intro"
wait_for 10 grep -q . "$WORK/rel"
sim_domain 1 alpha
sim_domain 2 beta
sim_domain 3 gamma
reap "$intro" 10
is "$(cat "$WORK/intro")" $'@introduceDomain\n@introduceDomain' \
	"@introduceDomain fires on registration and when a domain is introduced"

# The layout xl gives a domain.
# xenstore-ls -p pads with dots to a column; compare without the padding.
unpad() { sed -E 's/[ .]+\(/ (/'; }
is "$(sim_exec 0 - xenstore-ls -p /local/domain/1 | unpad)" \
"domid = \"1\" (n0,r1)
name = \"alpha\" (n0,r1)
device = \"\" (n0,r1)
control = \"\" (n0,r1)
data = \"\" (n1)" "a new domain's directory is laid out as xl does, with xl's permissions"
is "$(sim_exec 1 "$NS1" xenstore-read domid name)" $'1\nalpha' \
	"a domain reads its own directory by relative path"
is "$(sim_exec 2 "$NS2" "$xsp" read /local/domain/1/domid)" "EACCES" "but not another domain's"

# Permissions as C xenstored enforces them.
run_ok "domain 0 writes a key only domains 1 and 2 may read" \
	sim_exec 0 - sh -c 'xenstore-write /shared/secret 42 && xenstore-chmod /shared/secret n0 r1 r2'
is "$(sim_exec 1 "$NS1" "$xsp" read /shared/secret)" "42" "domain 1 reads it"
is "$(sim_exec 2 "$NS2" "$xsp" read /shared/secret)" "42" "domain 2 reads it"
is "$(sim_exec 3 "$NS3" "$xsp" read /shared/secret)" "EACCES" "domain 3 is refused with EACCES"
is "$(sim_exec 3 "$NS3" "$xsp" write /shared/secret 7)" "EACCES" "and may not write it either"
is "$(sim_exec 3 "$NS3" "$xsp" read /local/domain/1/data/missing)" "EACCES" \
	"a missing node under an unreadable parent gives EACCES, not ENOENT"
is "$(sim_exec 1 "$NS1" "$xsp" read data/missing)" "ENOENT" "a missing node the caller could read gives ENOENT"
run_ok "a domain writes under its own data/" sim_exec 1 "$NS1" xenstore-write data/x hello
is "$(sim_exec 0 - xenstore-ls -p /local/domain/1/data | unpad)" 'x = "hello" (n1)' \
	"what it creates is its own"
is "$(sim_exec 2 "$NS2" "$xsp" read /local/domain/1/data/x)" "EACCES" "and other domains cannot read it"

# Watches: the initial event, then one per change under the path; relative stays relative.
spawn watch "$WORK/watch" "$XENSIM" exec 1 --netns "$NS1" -- xenstore-watch -n 4 data
wait_for 10 grep -q . "$WORK/watch"
sim_exec 1 "$NS1" xenstore-write data/a 1
sim_exec 1 "$NS1" xenstore-write data/b/c 2
sim_exec 1 "$NS1" xenstore-rm data/b
reap "$watch" 10
ok $? "xenstore-watch sees four events and exits"
is "$(cat "$WORK/watch")" $'data\ndata/a\ndata/b/c\ndata/b' \
	"events: registration, two writes, one removal — relative paths as registered"

# Transactions: the second of two conflicting commits fails with EAGAIN.
sim_exec 0 - xenstore-write /tx/key 0
is "$(sim_exec 0 - "$xsp" conflict /tx/key)" $'first: committed\nsecond: EAGAIN' \
	"a transaction conflict ends the later commit with EAGAIN"
is "$(sim_exec 0 - xenstore-read /tx/key)" "a" "and only the first commit took effect"

# Quotas (made small by sim_start's flags above).
is "$(sim_exec 2 "$NS2" "$xsp" write data/big --size 101)" "ENOSPC" "a value over the entry-size quota: ENOSPC"
is "$(sim_exec 2 "$NS2" "$xsp" write data/fits --size 100)" "ok" "a value at the quota fits"
like "$(sim_exec 2 "$NS2" "$xsp" nodes data/n 100)" '^[0-9]+ ENOSPC$' "the node quota: ENOSPC"
is "$(sim_exec 2 "$NS2" "$xsp" watches 10)" "5 E2BIG" "the watch quota: the sixth watch gets E2BIG"
is "$(sim_exec 2 "$NS2" "$xsp" transactions 10)" "3 ENOSPC" "the transaction quota: the fourth gets ENOSPC"
is "$(sim_exec 0 - "$xsp" watches 10)" "10 ok" "domain 0 has no quota"

# Releasing a domain.
"$XENSIM" domain destroy 3
reap "$rel" 10
is "$(cat "$WORK/rel")" $'@releaseDomain\n@releaseDomain' "@releaseDomain fires when a domain is destroyed"
is "$(sim_exec 0 - "$xsp" read /local/domain/3/name)" "ENOENT" "its directory is gone"
run_fails "it can no longer connect" sim_exec 3 - xenstore-read /local/domain/3/name

done_testing

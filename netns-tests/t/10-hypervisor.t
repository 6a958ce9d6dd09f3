#!/usr/bin/env bash
# xensim's hypervisor: who may map a grant or bind a port, the gntalloc limit,
# the spurious first event, and how fast an event crosses between namespaces.
. "$(dirname "$0")/../lib.sh"

sim_start
netns_add NS1
netns_add NS2
netns_add NS3
sim_domain 1
sim_domain 2
sim_domain 3
probe=$TOOLS/xen-probe

# An event from domain 2 (in one netns) to domain 1 (in another) and back.
spawn srv "$WORK/lat-server" "$XENSIM" exec 1 --netns "$NS1" -- "$TOOLS/evtchn-lat" server 2
port=$(first_line "$WORK/lat-server")
like "$port" '^[0-9]+$' "domain 1 offers an event channel to domain 2"
out=$(sim_exec 2 "$NS2" "$TOOLS/evtchn-lat" client 1 "$port" 20000)
like "$out" 'spurious-first-event: yes' "a newly bound interdomain port starts with an event pending"
median=$(sed -n 's/.*median=\([0-9.]*\).*/\1/p' <<<"$out")
diag "event channel ping-pong across namespaces: $(tail -n 1 <<<"$out")"
ok "$(awk -v m="$median" 'BEGIN { exit !(m > 0 && m < 200) }'; echo $?)" \
	"one-way notify latency is microseconds (median ${median} us)"

# An event sent while an earlier one still waits untaken is heard after the
# unmask, as with Linux's evtchn driver (it delivers the first at once and
# masks the port): a program that looks only at what it woke for, such as
# vchan-socket-proxy's first wait, must not miss it.
spawn srv2 "$WORK/late-server" "$XENSIM" exec 1 --netns "$NS1" -- "$TOOLS/evtchn-lat" server 2
port=$(first_line "$WORK/late-server")
hold late "$WORK/late" 2 "$NS2" "$TOOLS/evtchn-lat" late 1 "$port"
wait_for 10 grep -qx echoed "$WORK/late-server"
ok $? "domain 1 echoes domain 2's event while domain 2's first event waits"
echo go >&"$late_fd"
release late
reap "$late" 10
is "$(cat "$WORK/late")" "second-event: yes" \
	"domain 2 takes its first event, unmasks, and hears the echo" || show_log late "$WORK/late.err"

# Grants: shared with domain 2 only, readable only when shared read-only.
hold share "$WORK/share" 1 "$NS1" "$probe" share 2 rw
ref=$(first_line "$WORK/share")
like "$ref" '^[0-9]+$' "domain 1 shares a page with domain 2 (grant $ref)"
is "$(sim_exec 2 "$NS2" "$probe" map 1 "$ref" rw)" "page 0 of domain 1" \
	"domain 2 maps it and reads what domain 1 wrote"
is "$(sim_exec 3 "$NS3" "$probe" map 1 "$ref" ro)" "EINVAL" \
	"domain 3 cannot map a grant shared with domain 2 (EINVAL, as gntdev's mmap)"
release share
reap "$share" 10
is "$(sim_exec 2 "$NS2" "$probe" map 1 "$ref" ro)" "EINVAL" "a revoked grant can no longer be mapped"

hold roshare "$WORK/roshare" 1 "$NS1" "$probe" share 2 ro
ref=$(first_line "$WORK/roshare")
is "$(sim_exec 2 "$NS2" "$probe" map 1 "$ref" ro)" "page 0 of domain 1" "a read-only grant maps read-only"
is "$(sim_exec 2 "$NS2" "$probe" map 1 "$ref" rw)" "EINVAL" "but not for writing"
release roshare

# Event channels: only the domain a port is offered to may bind it.
hold offer "$WORK/offer" 1 "$NS1" "$probe" offer-port 2
port=$(first_line "$WORK/offer")
is "$(sim_exec 3 "$NS3" "$probe" bind-port 1 "$port")" "EINVAL" \
	"domain 3 cannot bind a port offered to domain 2"
hold bound "$WORK/bound" 2 "$NS2" "$probe" bind-port 1 "$port" --hold
like "$(first_line "$WORK/bound")" '^[0-9]+$' "domain 2 can"
is "$(sim_exec 2 "$NS2" "$probe" bind-port 1 "$port")" "EINVAL" "a bound port cannot be bound twice"
release bound
reap "$bound" 10
like "$(sim_exec 2 "$NS2" "$probe" bind-port 1 "$port")" '^[0-9]+$' \
	"once the binder closes its end, the port waits unbound for domain 2 again, as in Xen"
release offer

# The gntalloc limit, per domain, failing as the driver does.
"$XENSIM" domain create 4 --gntalloc-limit 8
hold eight "$WORK/eight" 4 - "$probe" share 1 rw 8
like "$(first_line "$WORK/eight")" '^([0-9]+ ){7}[0-9]+$' "a domain with a limit of 8 grants shares 8 pages"
is "$(sim_exec 4 - "$probe" share 1 rw 1 </dev/null)" "ENOSPC" "the ninth fails with ENOSPC"
like "$(cat "$SIM_DIR/hv.log")" 'domain 4: gntalloc limit of 8 grants reached' \
	"and the hypervisor's log says which limit was hit"
release eight
reap "$eight" 10
like "$(sim_exec 4 - "$probe" share 1 rw 1 </dev/null)" '^[0-9]+$' "grants given back can be shared again"

done_testing

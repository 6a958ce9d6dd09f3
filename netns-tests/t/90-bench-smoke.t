#!/usr/bin/env bash
# make bench in its quickest mode (--smoke): it runs to the end, prints its
# table, and writes results.json, with every field present and a sane number,
# and the chart, so that the benchmark cannot rot unnoticed between the runs
# of make bench. No performance target is asserted: the figures of a one-second
# run on a busy machine say nothing.
# shellcheck source=SCRIPTDIR/../lib.sh
. "$(dirname "$0")/../lib.sh"

[ "$(id -u)" -eq 0 ] || skip_all "needs root for network namespaces"
OUT="$WORK/bench"

start=$(now_ms)
timeout 150 "$TOP/netns-tests/bench/run" --smoke --out "$OUT" >"$WORK/stdout" 2>"$WORK/stderr"
rc=$?
is "$rc" 0 "bench --smoke runs to the end and exits 0" || show_log "its progress" "$WORK/stderr"
diag "it took $((($(now_ms) - start) / 1000)) s"

table=$(cat "$WORK/stdout")
like "$table" 'figure +unit +veth +socat +vchan-tun +target \(vchan-tun\) +met\?' "it prints the table's heading"
like "$table" 'TCP, 1 stream, B->A +Gbit/s +[0-9.]+ 1\.00x +[0-9.]+ [0-9.]+x +[0-9.]+ [0-9.]+x' \
	"and rows with values and ratios to veth"
like "$table" "notify storm: host daemon's CPU +% core +[0-9.]+ \\([0-9]+ ticks in [0-9.]+ s\\) +< 2% +(yes|NO)" \
	"the host daemon's CPU under a notify storm, with its target"
like "$table" 'during the flood / alone +ratio +[0-9.]+x +>= 0\.7x +(yes|NO)' \
	"the other link's TCP during a flood, with its target"
like "$table" 'system calls per ping, B / A +/ping +- +[0-9.]+ / [0-9.]+ +[0-9.]+ / [0-9.]+' \
	"what a ping costs each tunnel end: system calls (strace -c)"
like "$table" 'context switches per ping, B / A +/ping +- +[0-9.]+ / [0-9.]+ +[0-9.]+ / [0-9.]+' \
	"and context switches"
like "$table" "results: $OUT/results.json, chart: $OUT/bench.png" "and says where the files are"
like "$(grep -c . "$OUT/raw/veth/ping.1.txt")" '^[0-9]{2,}$' "the raw outputs are kept"

# problems GROUP: each field of GROUP in results.json that is missing or out
# of its range, one per line; nothing when all are sane.
problems() {
	perl -MJSON::PP -e '
		my ($group) = @ARGV;
		my $j = eval { decode_json(do { local $/; <STDIN> }) } or do { print "not JSON\n"; exit };
		my @p;
		sub num {
			my ($path, $v, $min, $max) = @_;
			return push @p, "$path is missing" unless defined $v;
			return push @p, "$path = $v is not a number"
				if ref $v || $v !~ /^-?\d+(\.\d+)?(e[-+]?\d+)?$/i;
			push @p, "$path = $v, expected $min to $max" if $v < $min || $v > $max;
		}
		if ($group eq "configs") {
			for my $c (qw(veth socat vchan-tun)) {
				my $f = $j->{configs}{$c};
				num("$c.$_", $f->{$_}, 1e-4, 1e3)
					for qw(tcp1fwd_gbps tcp1rev_gbps tcp4fwd_gbps tcp4rev_gbps
					       udp_rx_gbps udp_offered_gbps udp_fixed_rx_gbps);
				num("$c.$_", $f->{$_}, 0, 100) for qw(udp_loss_pct udp_fixed_loss_pct);
				num("$c.$_", $f->{$_}, 0.5, 1e6) for qw(ping_avg_us ping_p99_us);
				num("$c.udp_search_mbps", $f->{udp_search_mbps}, 0, 1e6);
				push @p, "$c.udp_search has no probes" unless @{$f->{udp_search} // []};
				my @ends = map { ("ping_switches_$_", "ping_syscalls_$_") } qw(a b);
				if ($c eq "veth") {
					push @p, "veth.cpu_s_per_gb is not null" if defined $f->{cpu_s_per_gb};
					defined $f->{$_} and push @p, "veth.$_ is not null" for @ends;
				} else {
					num("$c.cpu_s_per_gb", $f->{cpu_s_per_gb}, 1e-3, 1e4);
					# a ping wakes each end at least once, and costs it a read and a write
					num("$c.$_", $f->{$_}, 0.5, 1e3) for grep { /switches/ } @ends;
					num("$c.$_", $f->{$_}, 2, 1e4) for grep { /syscalls/ } @ends;
					for my $e (qw(a b)) {
						my $by = $f->{"ping_syscalls_by_call_$e"};
						push @p, "$c.ping_syscalls_by_call_$e is empty" unless ref $by && %$by;
					}
				}
			}
		} elsif ($group eq "multi") {
			my $m = $j->{multi};
			for my $n (1, 2) {
				my $p = $m->{peers}{$n};
				num("peers.$n.aggregate_gbps", $p->{aggregate_gbps}, 1e-4, 1e3);
				num("peers.$n.$_", $p->{$_}, 1, 1e6)
					for qw(rss_kib pss_kib ring_rss_kib other_rss_kib other_pss_kib);
				num("peers.$n.added", $p->{added}, 1, 1);
				num("peers.$n.setup_s", $p->{setup_s}, 0, 60);
				num("peers.$n.$_", $p->{$_}, 0, 200)
					for qw(host_daemon_cpu_pct guest_daemons_cpu_pct);
				num("peers.$n.machine_idle_pct", $p->{machine_idle_pct}, 0, 100);
			}
			num("aggregate_ratio", $m->{aggregate_ratio}, 1e-3, 1e3);
			num($_, $m->{$_}, -1e5, 1e5) for qw(per_peer_rss_kib per_peer_pss_kib);
			num("idle.peers", $m->{idle}{peers}, 2, 2);
			num("idle.seconds", $m->{idle}{seconds}, 1, 1);
			num("idle.$_", $m->{idle}{$_}, 0, 100) for qw(cpu_pct guests_cpu_pct);
			num("idle.$_", $m->{idle}{$_}, 0, 1e6)
				for qw(cpu_ticks wakeups wakeups_per_s packets guests_wakeups);
		} elsif ($group eq "hostile") {
			my $f = $j->{hostile}{flood};
			num("flood.$_", $f->{$_}, 1e-4, 1e3)
				for qw(alone_gbps during_gbps flood_sent_gbps flood_rx_gbps);
			num("flood.ratio", $f->{ratio}, 1e-3, 1e3);
			num("flood.flood_loss_pct", $f->{flood_loss_pct}, 0, 100);
			num("flood.$_", $f->{$_}, 0, 200) for qw(alone_daemon_cpu_pct during_daemon_cpu_pct);
			num("flood.$_", $f->{$_}, 0, 100) for qw(alone_machine_idle_pct during_machine_idle_pct);
			my $s = $j->{hostile}{notify_storm};
			num("notify_storm.domid", $s->{domid}, 4, 4);
			num("notify_storm.ramp_seconds", $s->{ramp_seconds}, 2, 2);
			num("notify_storm.seconds", $s->{seconds}, 1, 10);
			num("notify_storm.storm_seconds", $s->{storm_seconds}, 4, 4);
			num("notify_storm.cpu_pct", $s->{cpu_pct}, 0, 100);
			num("notify_storm.$_", $s->{$_}, 0, 1e6) for qw(cpu_ticks wakeups_per_s);
			num("notify_storm.$_", $s->{$_}, 1000, 1e12) for qw(events events_per_s);
		} elsif ($group eq "ring") {
			num("ring.$_", $j->{ring}{$_}, 1e-3, 1e3)
				for qw(xen_gbs ours_gbs zero_copy_gbs ratio zero_copy_ratio);
			num("ring.message_bytes", $j->{ring}{message_bytes}, 65536, 65536);
		} elsif ($group eq "wakeup") {
			my $w = $j->{wakeup};
			my @where = ("same_cpu", $ENV{CPUS} > 1 ? ("cross_cpu") : ());
			num("wakeup.$_", $w->{$_}, 0.05, 1e5) for map { ("${_}_us", "${_}_p99_us") } @where;
			num("wakeup.ping_floor_us", $w->{ping_floor_us}, 0.5, 1e6);
			num("wakeup.ping_floor_ratio", $w->{ping_floor_ratio}, 1, 1e6);
		} elsif ($group eq "targets") {
			my $t = $j->{targets};
			push @p, "targets: " . scalar(@$t) . ", expected 13" unless @$t == 13;
			for (@$t) {
				num("target \"$_->{name}\"", $_->{value}, -1e6, 1e6);
				push @p, "target \"$_->{name}\" has no verdict" unless JSON::PP::is_bool($_->{met});
			}
			push @p, "ratios_to_veth: " . scalar(keys %{$j->{ratios_to_veth}}) . " rows, expected 8"
				unless keys %{$j->{ratios_to_veth}} == 8;
		} elsif ($group eq "settings") {
			push @p, "settings.mode is not smoke" unless ($j->{settings}{mode} // "") eq "smoke";
			num("settings.$_", $j->{settings}{$_}, 1, 1) for qw(runs seconds idle_seconds storm_seconds);
			push @p, "settings.peers is not [1, 2]" unless "@{$j->{settings}{peers}}" eq "1 2";
		}
		print "$_\n" for @p;' "$1" <"$OUT/results.json"
}

CPUS=$(nproc)
export CPUS
for group in configs multi hostile ring wakeup targets settings; do
	is "$(problems "$group")" "" "results.json: every $group field is there and sane"
done

like "$(head -c 8 "$OUT/bench.png" | od -An -c | tr -d ' ')" '^211PNG\\r\\n032\\n$' \
	"the chart is a PNG"

done_testing

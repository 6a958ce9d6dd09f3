#!/usr/bin/perl
# The figures of netns-tests/bench/run, from the raw outputs it saved: prints
# the table, writes OUT/results.json, and OUT/chart.dat and OUT/targets.dat
# for chart.gp.
#
#   report.pl RAW_DIR OUT_DIR
#
# Each figure is the median over the runs of the per-run value; a figure
# whose runs all failed is null (shown as "?"). docs/benchmark.md describes
# the layout of RAW_DIR and the meaning of every field of results.json.
use strict;
use warnings;
use JSON::PP;
use List::Util qw(sum min);

@ARGV == 2 or die "usage: report.pl RAW_DIR OUT_DIR\n";
my ($raw, $out) = @ARGV;
my @configs = qw(veth socat vchan-tun);

sub slurp {
	my ($file) = @_;
	open my $fh, '<', $file or return;
	local $/;
	return scalar <$fh>;
}

# A file of "LABEL NUMBER..." lines as LABEL => [NUMBER, ...]; () when it is not there.
sub samples {
	my ($file) = @_;
	return map { /^(\S+) (.*)$/ ? ($1 => [split ' ', $2]) : () } split /\n/, slurp($file) // '';
}

sub median {
	my @v = sort { $a <=> $b } grep { defined } @_;
	return undef unless @v;
	return @v % 2 ? $v[$#v / 2] : ($v[@v / 2 - 1] + $v[@v / 2]) / 2;
}

# rounded to DIGITS significant digits, as a JSON number; undef stays undef
sub sig {
	my ($v, $digits) = @_;
	return undef unless defined $v;
	return 0 + sprintf('%.' . ($digits // 4) . 'g', $v);
}

sub ratio {
	my ($x, $y) = @_;
	return undef unless defined $x && defined $y && $y > 0;
	return $x / $y;
}

my %meta = map { /^(\S+) (.*)$/ ? ($1 => $2) : () } split /\n/, slurp("$raw/meta") // '';
defined $meta{runs} or die "report.pl: $raw/meta: missing or without 'runs'\n";
my $runs = $meta{runs};

sub iperf_json {
	my ($file) = @_;
	my $text = slurp($file) // return;
	my $j = eval { decode_json($text) } or return;
	return if $j->{error};
	return $j->{end};
}

# per run of FILE_PATTERN (RUN replaced by 1..runs): CODE's value from iperf3's
# "end" object, undef where the run failed
sub per_run {
	my ($pattern, $code) = @_;
	my @v;
	for my $r (1 .. $runs) {
		(my $file = $pattern) =~ s/RUN/$r/;
		my $end = iperf_json($file);
		push @v, $end ? $code->($end, $file) : undef;
	}
	return @v;
}

sub received_gbps { return $_[0]{sum_received}{bits_per_second} / 1e9 }

# "TICKS NS SWITCHES" lines before and after: CPU seconds in between
sub cpu_seconds {
	my ($file) = @_;
	my @l = split /\n/, slurp($file) // return;
	return unless @l == 2;
	my ($before) = split ' ', $l[0];
	my ($after) = split ' ', $l[1];
	return ($after - $before) / $meta{clk_tck};
}

# ping's per-packet times: average and 99th percentile (nearest rank), in us
sub ping_run {
	my ($file) = @_;
	my @t = map { 1000 * $_ } ((slurp($file) // '') =~ /time=([\d.]+) ms/g);
	return unless @t >= 10;
	@t = sort { $a <=> $b } @t;
	my $rank = int(0.99 * @t + 0.999999);
	return (sum(@t) / @t, $t[$rank - 1]);
}

# strace -c's table: calls per system call, and "total"; undef without one
sub strace_calls {
	my ($file) = @_;
	my %calls;
	for (split /\n/, slurp($file) // return) {
		$calls{$2} = $1 if /^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)\s*$/;
	}
	return defined $calls{total} ? \%calls : undef;
}

# context switches per ping of a tunnel end (a or b) over one run's .ends file
sub switches_per_ping {
	my ($file, $side) = @_;
	my %s = samples($file);
	my ($before, $after) = ($s{"${side}_before"}, $s{"${side}_after"});
	return unless $before && $after && $meta{pings};
	return ($after->[2] - $before->[2]) / $meta{pings};
}

# --- the three links ---------------------------------------------------------------

my %fig;
for my $c (@configs) {
	my $d = "$raw/$c";
	my %f;
	for my $kind (qw(1fwd 1rev 4fwd 4rev)) {
		$f{"tcp${kind}_gbps"} = median(per_run("$d/tcp$kind.RUN.json", \&received_gbps));
	}
	if (-e "$d/tcp1fwd.1.cpu") {
		# CPU seconds of both ends per 10^9 bytes received, single-stream runs
		my @v;
		for my $kind (qw(1fwd 1rev)) {
			push @v, per_run("$d/tcp$kind.RUN.json", sub {
				my ($end, $file) = @_;
				(my $cpu = $file) =~ s/\.json$/.cpu/;
				my $s = cpu_seconds($cpu);
				my $bytes = $end->{sum_received}{bytes};
				return defined $s && $bytes ? $s / ($bytes / 1e9) : undef;
			});
		}
		$f{cpu_s_per_gb} = median(@v);
	} else {
		$f{cpu_s_per_gb} = undef;
	}

	my @ping = map { [ping_run("$d/ping.$_.txt")] } 1 .. $runs;
	$f{ping_avg_us} = median(map { $_->[0] } @ping);
	$f{ping_p99_us} = median(map { $_->[1] } @ping);
	# what a ping costs each tunnel end: A answers, B is the pinger's side
	for my $side (qw(a b)) {
		$f{"ping_switches_$side"} = median(map { switches_per_ping("$d/ping.$_.ends", $side) }
			1 .. $runs);
		my $calls = strace_calls("$d/strace.$side");
		$f{"ping_syscalls_$side"} = $calls && $meta{pings} ? $calls->{total} / $meta{pings} : undef;
		$f{"ping_syscalls_by_call_$side"} = $calls && $meta{pings} ? { map { $_ => $calls->{$_} /
			$meta{pings} } grep { $_ ne 'total' } keys %$calls } : undef;
	}

	my $rate = slurp("$d/udp_rate");
	$f{udp_search_mbps} = defined $rate ? 0 + $rate : undef;
	my @search = split /\n/, slurp("$d/udp_search.txt") // '';
	$f{udp_search} = [map { my @p = split; +{ offered_mbps => 0 + $p[0],
		received_mbps => 0 + $p[1], loss_pct => 0 + $p[2] } } grep { !/^verify / } @search];
	# rates whose longer runs lost 1% or more, before the run came down 5%
	$f{udp_stepped_down} = [map { my @p = split; +{ offered_mbps => 0 + $p[1],
		runs_loss_pct => 0 + $p[2] } } grep { /^verify / } @search];
	$f{udp_offered_gbps} = median(per_run("$d/udpmax.RUN.json",
		sub { $_[0]{sum_sent}{bits_per_second} / 1e9 }));
	$f{udp_rx_gbps} = median(per_run("$d/udpmax.RUN.json", \&received_gbps));
	$f{udp_loss_pct} = median(per_run("$d/udpmax.RUN.json",
		sub { $_[0]{sum_received}{lost_percent} }));
	$f{udp_fixed_rx_gbps} = median(per_run("$d/udpfixed.RUN.json", \&received_gbps));
	$f{udp_fixed_loss_pct} = median(per_run("$d/udpfixed.RUN.json",
		sub { $_[0]{sum_received}{lost_percent} }));
	$fig{$c} = \%f;
}

# --- many peers ---------------------------------------------------------------------

# Rss and Pss of a process's mappings (kB): all, and the rings (the
# simulated hypervisor's shared memfds: grant pages and event pending bits)
sub memory {
	my ($file) = @_;
	my $text = slurp($file) // return;
	my (%m, $ring);
	for (split /\n/, $text) {
		if (/^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/) {
			$ring = $1 =~ m{^/memfd:xensim-};
		} elsif (/^(Rss|Pss):\s+(\d+) kB/) {
			$m{lc $1} += $2;
			$m{"ring_" . lc $1} += $2 if $ring;
		}
	}
	return {
		rss_kib => $m{rss}, pss_kib => $m{pss}, ring_rss_kib => $m{ring_rss} // 0,
		other_rss_kib => $m{rss} - ($m{ring_rss} // 0),
		other_pss_kib => $m{pss} - ($m{ring_pss} // 0),
	};
}

# Over one aggregate run (cpu.txt: LABEL HOST_TICKS GUEST_TICKS CLOCK_NS IDLE_TICKS):
# the host daemon's and all guests' daemons' CPU (% of a core) and the
# machine's idle time (% of all its cores), or () without both samples.
sub multi_cpu {
	my %c = samples($_[0]);
	my ($b, $e) = @c{qw(before after)};
	return () unless $b && $e && @$b == 4 && @$e == 4 && $e->[2] > $b->[2];
	my $ticks = ($e->[2] - $b->[2]) / 1e9 * $meta{clk_tck};
	return (100 * ($e->[0] - $b->[0]) / $ticks, 100 * ($e->[1] - $b->[1]) / $ticks,
		100 * ($e->[3] - $b->[3]) / $ticks / $meta{cpus});
}

my @counts = split ' ', $meta{peers};
my %peers;
for my $n (@counts) {
	my (@agg, @host, @guests, @idle);
	for my $r (1 .. $runs) {
		my @rates = map { my $e = iperf_json("$raw/multi/$n/$r/$_.json");
			$e ? received_gbps($e) : undef } 2 .. $n + 1;
		push @agg, (grep { !defined } @rates) ? undef : sum(@rates);
		my @cpu = multi_cpu("$raw/multi/$n/$r/cpu.txt");
		next unless @cpu;
		push @host, $cpu[0];
		push @guests, $cpu[1];
		push @idle, $cpu[2];
	}
	my ($added, $setup_ms) = split ' ', slurp("$raw/multi/$n.setup") // '';
	$peers{$n} = { aggregate_gbps => median(@agg), %{memory("$raw/multi/$n.smaps") // {}},
		host_daemon_cpu_pct => median(@host), guest_daemons_cpu_pct => median(@guests),
		machine_idle_pct => median(@idle),
		added => defined $added ? 0 + $added : undef,
		setup_s => defined $setup_ms ? $setup_ms / 1000 : undef };
}
my ($first, $last) = ($counts[0], $counts[-1]);
my %multi = (peers => \%peers);
$multi{aggregate_ratio} = ratio($peers{$last}{aggregate_gbps}, $peers{$first}{aggregate_gbps});
for my $kind (qw(rss pss)) {
	my ($most, $fewest) = ($peers{$last}{"other_${kind}_kib"}, $peers{$first}{"other_${kind}_kib"});
	$multi{"per_peer_${kind}_kib"} = $last > $first && defined $most && defined $fewest
		? ($most - $fewest) / ($last - $first) : undef;
}

my %idle = samples("$raw/multi/idle.txt");
if ($idle{host_after}) {
	my $secs = $idle{seconds}[0];
	my ($tb, $nb, $sb) = @{$idle{host_before}};
	my ($ta, $na, $sa) = @{$idle{host_after}};
	my (undef, $gnb, $gsb) = @{$idle{guests_before}};
	my (undef, $gna, $gsa) = @{$idle{guests_after}};
	$multi{idle} = {
		peers => 0 + $idle{peers}[0],
		seconds => 0 + $secs,
		cpu_pct => 100 * ($na - $nb) / 1e9 / $secs,
		cpu_ticks => $ta - $tb,
		wakeups => $sa - $sb,
		wakeups_per_s => ($sa - $sb) / $secs,
		packets => $idle{packets_after}[0] - $idle{packets_before}[0],
		guests_cpu_pct => 100 * ($gna - $gnb) / 1e9 / $secs,
		guests_wakeups => $gsa - $gsb,
	};
}

# --- a hostile guest -----------------------------------------------------------------------

# The flood: guest A's TCP to the host alone and while guest B floods the host
# with UDP (sent, received); the notify storm: the host daemon's utime+stime
# over the window, and its context switches.
my $fd = "$raw/hostile/flood";
my %flood = (
	alone_gbps => median(per_run("$fd/alone.RUN.json", \&received_gbps)),
	during_gbps => median(per_run("$fd/during.RUN.json", \&received_gbps)),
	flood_sent_gbps => median(per_run("$fd/flood.RUN.json",
		sub { $_[0]{sum_sent}{bits_per_second} / 1e9 })),
	flood_rx_gbps => median(per_run("$fd/flood.RUN.json", \&received_gbps)),
	flood_loss_pct => median(per_run("$fd/flood.RUN.json", sub { $_[0]{sum_received}{lost_percent} })),
);
$flood{ratio} = ratio($flood{during_gbps}, $flood{alone_gbps});
# the host daemon's CPU and the machine's idle time over A's runs, alone and
# during the flood (run's cpu.N.txt: LABEL TICKS NS SWITCHES CLOCK_NS IDLE_TICKS)
for my $phase (qw(alone during)) {
	my (@daemon, @idle);
	for my $r (1 .. $runs) {
		my %c = samples("$fd/cpu.$r.txt");
		my ($b, $e) = ($c{"${phase}_before"}, $c{"${phase}_after"});
		next unless $b && $e && $e->[3] > $b->[3];
		my $secs = ($e->[3] - $b->[3]) / 1e9;
		push @daemon, 100 * ($e->[1] - $b->[1]) / 1e9 / $secs;
		push @idle, 100 * ($e->[4] - $b->[4]) / $meta{clk_tck} / $secs / $meta{cpus};
	}
	$flood{"${phase}_daemon_cpu_pct"} = median(@daemon);
	$flood{"${phase}_machine_idle_pct"} = median(@idle);
}

my %storm = samples("$raw/hostile/notify.txt");
my %notify;
if ($storm{host_after} && $storm{storming_at_end} && $storm{elapsed_ms}[0] > 0) {
	my $secs = $storm{elapsed_ms}[0] / 1000;
	my ($tb, undef, $sb) = @{$storm{host_before}};
	my ($ta, undef, $sa) = @{$storm{host_after}};
	%notify = (
		domid => 0 + $storm{domid}[0],
		ramp_seconds => 0 + $storm{ramp_seconds}[0],
		seconds => $secs,
		cpu_pct => 100 * ($ta - $tb) / $meta{clk_tck} / $secs,
		cpu_ticks => $ta - $tb,
		wakeups_per_s => ($sa - $sb) / $secs,
	);
}
# what bad-peer sent over its whole storm, ramp and window included
if ((slurp("$raw/hostile/bad-peer.log") // '') =~ /^notify: (\d+) events in (\d+) s/m) {
	@notify{qw(events storm_seconds)} = (0 + $1, 0 + $2);
	$notify{events_per_s} = $2 > 0 ? $1 / $2 : undef;
}
for (qw(cpu_pct cpu_ticks wakeups_per_s events events_per_s)) {
	$notify{$_} //= undef;
}
my %hostile = (flood => \%flood, notify_storm => \%notify);

# --- the ring ---------------------------------------------------------------------------

my %ring;
if ((slurp("$raw/ring.txt") // '') =~ /^65536 B\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)/m) {
	%ring = (message_bytes => 65536, xen_gbs => $1, ours_gbs => $2, zero_copy_gbs => $3,
		ratio => ratio($2, $1), zero_copy_ratio => ratio($3, $1));
}

# --- the machine's wake-up cost -----------------------------------------------------------

# One process waking another (half an event channel ping-pong): what a tunnel
# made of processes pays per hand-off and veth does not. A ping through such a
# tunnel ends with the tunnel waking ping, so veth's time plus one wake-up is
# the least it can take; on more than one CPU the woken process usually lands
# on an idle one, hence the cross-CPU figure.
my %wake;
for (split /\n/, slurp("$raw/wakeup.txt") // '') {
	my ($where, $median, $p99) = split;
	(my $key = $where) =~ tr/-/_/;
	$wake{"${key}_us"} = 0 + $median;
	$wake{"${key}_p99_us"} = 0 + $p99;
}
my $floor_wake = $wake{cross_cpu_us} // $wake{same_cpu_us};
if (defined $floor_wake && defined $fig{veth}{ping_avg_us}) {
	$wake{ping_floor_us} = $fig{veth}{ping_avg_us} + $floor_wake;
	$wake{ping_floor_ratio} = ratio($wake{ping_floor_us}, $fig{veth}{ping_avg_us});
}

# --- targets (issues 7 and 11), all from this run ----------------------------------------

my $v = $fig{'vchan-tun'};
my ($T_AGG, $T_MEM, $T_IDLE, $T_RING) = ("$last peers aggregate within 20% of $first",
	'memory per peer beyond the rings < 64 KiB', 'idle CPU with peers < 0.1% of a core',
	'ring stream 64 KiB >= 2x libxenvchan');
my ($T_STORM, $T_FLOOD) = ('host daemon CPU under a notify storm < 2% of a core',
	"other link's TCP during a flood >= 0.7x alone");
my $T_SETUP = "the last $peers{$last}{added} new links running within 5 s";
my @targets = (
	['TCP 1 stream B->A >= 0.5x veth', ratio($v->{tcp1fwd_gbps}, $fig{veth}{tcp1fwd_gbps}), '>=', 0.5],
	['TCP 1 stream A->B >= 0.5x veth', ratio($v->{tcp1rev_gbps}, $fig{veth}{tcp1rev_gbps}), '>=', 0.5],
	['ping RTT avg <= 5x veth', ratio($v->{ping_avg_us}, $fig{veth}{ping_avg_us}), '<=', 5],
	['ping RTT avg <= 0.5x socat', ratio($v->{ping_avg_us}, $fig{socat}{ping_avg_us}), '<=', 0.5],
	['UDP 1400 B received >= 3x socat', ratio($v->{udp_rx_gbps}, $fig{socat}{udp_rx_gbps}), '>=', 3],
	['UDP 1400 B loss at that rate < 1%', $v->{udp_loss_pct}, '<', 1],
	[$T_RING, $ring{zero_copy_ratio}, '>=', 2],
	[$T_AGG, $multi{aggregate_ratio}, '>=', 0.8],
	[$T_SETUP, $peers{$last}{setup_s}, '<', 5],
	[$T_MEM, $multi{per_peer_rss_kib}, '<', 64],
	[$T_IDLE, $multi{idle}{cpu_pct}, '<', 0.1],
	[$T_STORM, $notify{cpu_pct}, '<', 2],
	[$T_FLOOD, $flood{ratio}, '>=', 0.7],
);
my %ops = ('>=' => sub { $_[0] >= $_[1] }, '<=' => sub { $_[0] <= $_[1] },
	'<' => sub { $_[0] < $_[1] });
@targets = map { my ($name, $value, $op, $limit) = @$_;
	{ name => $name, value => sig($value), op => $op, limit => $limit,
	  met => defined $value ? ($ops{$op}->($value, $limit) ? JSON::PP::true : JSON::PP::false)
	                        : undef } } @targets;
my %met = map { $_->{name} => $_ } @targets;

# --- the table ----------------------------------------------------------------------------

sub num {
	my ($x) = @_;
	return '?' unless defined $x;
	return sprintf('%.0f', $x) if abs($x) >= 100;
	return sprintf('%.1f', $x) if abs($x) >= 10;
	return sprintf('%.2f', $x) if abs($x) >= 0.1 || $x == 0;
	return sprintf('%.3f', $x);
}

sub verdict {
	my @t = map { $met{$_} } @_;
	return '?' if grep { !defined $_->{met} } @t;
	return (grep { !$_->{met} } @t) ? 'NO' : 'yes';
}

# figure, unit, key, its label on the chart (none: shown without ratios to
# veth), target text, targets
my $fixed = $meta{udp_fixed_mbps} >= 1000 ? ($meta{udp_fixed_mbps} / 1000) . ' Gbit/s'
	: "$meta{udp_fixed_mbps} Mbit/s";
my @rows = (
	['TCP, 1 stream, B->A', 'Gbit/s', 'tcp1fwd_gbps', 'TCP 1 stream B->A', '>= 0.5x veth', 'TCP 1 stream B->A >= 0.5x veth'],
	['TCP, 1 stream, A->B (-R)', 'Gbit/s', 'tcp1rev_gbps', 'TCP 1 stream A->B', '>= 0.5x veth', 'TCP 1 stream A->B >= 0.5x veth'],
	['TCP, 4 streams, B->A', 'Gbit/s', 'tcp4fwd_gbps', 'TCP 4 streams B->A'],
	['TCP, 4 streams, A->B (-R)', 'Gbit/s', 'tcp4rev_gbps', 'TCP 4 streams A->B'],
	['UDP 1400 B, best rate <1% loss: received', 'Gbit/s', 'udp_rx_gbps', 'UDP <1% loss', '>= 3x socat',
		'UDP 1400 B received >= 3x socat'],
	['  offered (sent)', 'Gbit/s', 'udp_offered_gbps', ''],
	['  loss', '%', 'udp_loss_pct', '', '< 1%', 'UDP 1400 B loss at that rate < 1%'],
	["UDP 1400 B offered at $fixed: received", 'Gbit/s', 'udp_fixed_rx_gbps', "UDP at $fixed"],
	['  loss', '%', 'udp_fixed_loss_pct', ''],
	['ping RTT, average', 'us', 'ping_avg_us', 'ping avg (lower: better)', '<= 5x veth, 0.5x socat',
		'ping RTT avg <= 5x veth', 'ping RTT avg <= 0.5x socat'],
	['ping RTT, 99th percentile', 'us', 'ping_p99_us', 'ping p99 (lower: better)'],
	['  context switches per ping, B / A', '/ping', ['ping_switches_b', 'ping_switches_a'], ''],
	['  system calls per ping, B / A', '/ping', ['ping_syscalls_b', 'ping_syscalls_a'], ''],
	['CPU of both tunnel ends per GB (TCP)', 's/GB', 'cpu_s_per_gb', ''],
);

my $fmt = "%-42s %-7s %-14s %-14s %-14s %-23s %s\n";
my @lines;
my $udp_buffer = !defined $meta{udp_buffer_bytes} ? '?'
	: $meta{udp_buffer_bytes} == 0 ? "the system's default"
	: $meta{udp_buffer_bytes} % 1048576 == 0 ? ($meta{udp_buffer_bytes} / 1048576) . ' MiB'
	: "$meta{udp_buffer_bytes} B";
push @lines, sprintf("vchan-tun benchmark, %s, %s CPUs, Linux %s: median of %s run%s, iperf3 %s s each, " .
	"UDP socket buffers %s\n", $meta{date}, $meta{cpus}, $meta{kernel}, $runs, $runs == 1 ? '' : 's',
	$meta{seconds}, $udp_buffer);
push @lines, sprintf($fmt, 'figure', 'unit', @configs, 'target (vchan-tun)', 'met?');
my @chart;
for my $row (@rows) {
	my ($label, $unit, $key, $chart, $target, @tnames) = @$row;
	# a key, or two shown as "first / second"
	my @cells = map {
		my $c = $_;
		my $x = ref $key ? undef : $fig{$c}{$key};
		my $r = $chart ? ratio($x, $fig{veth}{$key}) : undef;
		ref $key ? join(' / ', map { num($fig{$c}{$_}) } @$key)
			: defined $r ? sprintf('%s %sx', num($x), num($r)) : num($x);
	} @configs;
	$cells[0] = '-' if ref $key || $key eq 'cpu_s_per_gb';
	push @lines, sprintf($fmt, $label, $unit, @cells, $target // '', @tnames ? verdict(@tnames) : '');
	push @chart, [$chart, map { ratio($fig{$_}{$key}, $fig{veth}{$key}) } @configs] if $chart;
}

my $vfmt = "%-42s %-7s %-44s %-23s %s\n";
push @lines, "the machine: one process waking another (event channel ping-pong, one way)\n";
for my $where (qw(same_cpu cross_cpu)) {
	next unless exists $wake{"${where}_us"};
	push @lines, sprintf($vfmt, $where eq 'same_cpu' ? '  on the same CPU' : '  on another, idle CPU',
		'us', sprintf('%s (p99 %s)', num($wake{"${where}_us"}), num($wake{"${where}_p99_us"})),
		'', '');
}
push @lines, sprintf($vfmt, '  ping floor of a tunnel: veth + 1 wake-up', 'us',
	defined $wake{ping_floor_us} ? sprintf('%s = %sx veth', num($wake{ping_floor_us}),
		num($wake{ping_floor_ratio})) : '?', '', '');
push @lines, "vchan-tun alone\n";
# The target is on our ring as the daemon uses it (spans, no copy of ours),
# against libxenvchan as its users use it (read/write copies); copying both
# ways is shown beside it.
my $ring_line = %ring ? sprintf('%sx (%s vs %s GB/s)', num($ring{zero_copy_ratio}),
	num($ring{zero_copy_gbs}), num($ring{xen_gbs})) : '?';
push @lines, sprintf($vfmt, 'ring stream, 64 KiB, ours/libxenvchan', 'ratio', $ring_line,
	'>= 2x', verdict($T_RING));
push @lines, sprintf($vfmt, '  ours copying too, as libxenvchan', 'ratio',
	%ring ? sprintf('%sx (%s GB/s)', num($ring{ratio}), num($ring{ours_gbs})) : '?', '', '');
for my $n (@counts) {
	my $p = $peers{$n};
	push @lines, sprintf($vfmt, "$n peer" . ($n == 1 ? '' : 's') . ': aggregate TCP', 'Gbit/s',
		num($p->{aggregate_gbps}), '', '');
	push @lines, sprintf($vfmt, "  setup of the $p->{added} new link" . ($p->{added} == 1 ? '' : 's'),
		's', num($p->{setup_s}), $n == $last ? ('< 5', verdict($T_SETUP)) : ('', ''))
		if defined $p->{added};
	push @lines, sprintf($vfmt, "  CPU: host daemon / guests' daemons", '% core',
		num($p->{host_daemon_cpu_pct}) . ' / ' . num($p->{guest_daemons_cpu_pct}), '', '');
	push @lines, sprintf($vfmt, "  the machine's idle CPU", '%', num($p->{machine_idle_pct}), '', '');
	push @lines, sprintf($vfmt, '  daemon RSS (of it rings) / PSS', 'KiB',
		sprintf('%s (%s) / %s', num($p->{rss_kib}), num($p->{ring_rss_kib}), num($p->{pss_kib})), '', '');
}
push @lines, sprintf($vfmt, "$last peers / $first peer" . ($first == 1 ? '' : 's') . ', aggregate',
	'ratio', num($multi{aggregate_ratio}) . 'x', '>= 0.8x', verdict($T_AGG));
push @lines, sprintf($vfmt, 'memory per peer beyond the rings, RSS', 'KiB',
	num($multi{per_peer_rss_kib}) . ' (PSS ' . num($multi{per_peer_pss_kib}) . ')', '< 64',
	verdict($T_MEM));
my $i = $multi{idle};
push @lines, sprintf($vfmt, sprintf('idle, %s peers, %s s: CPU', $i->{peers} // '?',
	$i->{seconds} // '?'), '% core', num($i->{cpu_pct}), '< 0.1%', verdict($T_IDLE));
push @lines, sprintf($vfmt, '  wake-ups (packets moved meanwhile)', '/s',
	sprintf('%s (%s)', num($i->{wakeups_per_s}), $i->{packets} // '?'), '', '');
push @lines, "a hostile guest of the same daemon\n";
push @lines, sprintf($vfmt, "notify storm: host daemon's CPU", '% core',
	defined $notify{cpu_pct} ? sprintf('%s (%s ticks in %s s)', num($notify{cpu_pct}),
		$notify{cpu_ticks}, num($notify{seconds})) : '?', '< 2%', verdict($T_STORM));
push @lines, sprintf($vfmt, '  events sent (daemon wake-ups)', '/s',
	sprintf('%s (%s)', num($notify{events_per_s}), num($notify{wakeups_per_s})), '', '');
push @lines, sprintf($vfmt, "a guest's TCP to the host, alone", 'Gbit/s', num($flood{alone_gbps}), '', '');
push @lines, sprintf($vfmt, '  while another floods it (UDP)', 'Gbit/s', num($flood{during_gbps}), '', '');
push @lines, sprintf($vfmt, '  during the flood / alone', 'ratio', num($flood{ratio}) . 'x', '>= 0.7x',
	verdict($T_FLOOD));
push @lines, sprintf($vfmt, "  host daemon's CPU, alone / during", '% core',
	num($flood{alone_daemon_cpu_pct}) . ' / ' . num($flood{during_daemon_cpu_pct}), '', '');
push @lines, sprintf($vfmt, "  the machine's idle CPU, alone / during", '%',
	num($flood{alone_machine_idle_pct}) . ' / ' . num($flood{during_machine_idle_pct}), '', '');
push @lines, sprintf($vfmt, '  the flood: sent, received (loss)', 'Gbit/s',
	sprintf('%s, %s (%s%%)', num($flood{flood_sent_gbps}), num($flood{flood_rx_gbps}),
		num($flood{flood_loss_pct})), '', '');
s/ +$//mg for @lines; # the padding of the last columns
print @lines;

# --- JSON and the chart's data ---------------------------------------------------------

sub rounded { # every fraction of a structure to 4 significant digits, whole numbers as they are
	my ($x) = @_;
	return { map { $_ => rounded($x->{$_}) } keys %$x } if ref $x eq 'HASH';
	return [map { rounded($_) } @$x] if ref $x eq 'ARRAY';
	return $x if !defined $x || ref $x || $x !~ /^-?[\d.]+(e[-+]?\d+)?$/i;
	return $x =~ /^-?\d+$/ ? 0 + $x : sig($x);
}

my %settings = map { $_ => $meta{$_} =~ /^\d+$/ ? 0 + $meta{$_} : $meta{$_} }
	grep { $_ ne 'peers' } keys %meta;
$settings{peers} = [map { 0 + $_ } @counts];
my $json = JSON::PP->new->pretty->canonical->encode(rounded({
	version => 1, settings => \%settings, configs => \%fig, multi => \%multi, hostile => \%hostile,
	ring => \%ring, wakeup => \%wake, targets => \@targets, ratios_to_veth => {
		map { my $row = $_; ($row->[0] => { map { ($configs[$_] => $row->[$_ + 1]) } 0 .. 2 }) } @chart },
}));
open my $jf, '>', "$out/results.json" or die "report.pl: $out/results.json: $!\n";
print $jf $json;
close $jf or die "report.pl: $out/results.json: $!\n";

open my $cf, '>', "$out/chart.dat" or die "report.pl: $out/chart.dat: $!\n";
for my $row (@chart) {
	(my $label = $row->[0]) =~ s/"/'/g;
	printf $cf "\"%s\" %s\n", $label, join(' ', map { defined $_ ? sprintf('%.4g', $_) : '?' } @$row[1 .. 3]);
}
close $cf or die "report.pl: $out/chart.dat: $!\n";

# How far each target is met: value/limit for ">=", limit/value for "<=" and
# "<", so that above 1 is met; at most 100 (a zero idle CPU is met infinitely).
open my $tf, '>', "$out/targets.dat" or die "report.pl: $out/targets.dat: $!\n";
for my $t (@targets) {
	my ($x, $l) = ($t->{value}, $t->{limit});
	my $m = !defined $x ? '?' : $t->{op} eq '>=' ? $x / $l : $x > 0 ? $l / $x : 100;
	printf $tf "\"%s\" %s\n", $t->{name}, $m eq '?' ? '?' : sprintf('%.4g', min($m, 100));
}
close $tf or die "report.pl: $out/targets.dat: $!\n";

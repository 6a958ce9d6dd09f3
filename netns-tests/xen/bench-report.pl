#!/usr/bin/perl
# The figures of make bench-xen (netns-tests/xen/bench) from the "data" lines
# dom0 printed (netns-tests/xen/bench.sh): prints the table, vchan-tun as a
# ratio to the vif of the same boot, and writes the JSON.
#
#   bench-report.pl DATA_FILE OUT_JSON
#
# Each line of DATA_FILE is "KIND key=value ...": meta, ping, tcp, udp_probe,
# udp. Each figure is the median over the runs (as make bench's report.pl);
# one with no run is null ("?"). docs/benchmark.md explains the figures and
# every field of the JSON.
use strict;
use warnings;
use JSON::PP;
use POSIX qw(strftime);

@ARGV == 2 or die "usage: bench-report.pl DATA_FILE OUT_JSON\n";
my ($in, $out) = @ARGV;
my @links = ('vif', 'vchan-tun');

open my $fh, '<', $in or die "bench-report.pl: $in: $!\n";
my (%meta, @rows);
while (<$fh>) {
	my ($kind, @pairs) = split;
	next unless defined $kind;
	my %r = map { /^([^=]+)=(.*)$/ ? ($1 => $2) : () } @pairs;
	if ($kind eq 'meta') {
		%meta = %r;
	} else {
		push @rows, { kind => $kind, %r };
	}
}
close $fh;
%meta or die "bench-report.pl: $in: no meta line (did dom0 reach the measurements?)\n";

sub median {
	my @v = sort { $a <=> $b } grep { defined } @_;
	return undef unless @v;
	return @v % 2 ? $v[$#v / 2] : ($v[@v / 2 - 1] + $v[@v / 2]) / 2;
}

sub number { # a number, or undef
	my ($x) = @_;
	return defined $x && $x =~ /^-?\d+(\.\d*)?$/ ? 0 + $x : undef;
}

sub ratio {
	my ($x, $y) = @_;
	return undef unless defined $x && defined $y && $y > 0;
	return $x / $y;
}

sub of { # of KIND LINK [KEY => VALUE ...]: the rows of that kind and link
	my ($kind, $link, %want) = @_;
	return grep { my $r = $_; $r->{kind} eq $kind && $r->{link} eq $link
		&& !grep { ($r->{$_} // '') ne $want{$_} } keys %want } @rows;
}

# dom0's /proc/stat "cpu" fields, as bench.sh prints them
my @STAT = qw(user nice system idle iowait irq softirq steal);

# the CPU of one TCP run, seconds per 10^9 bytes received, several ways
sub cpu_per_gb {
	my ($r) = @_;
	my %c0; @c0{@STAT} = split /,/, $r->{cpu0};
	my %c1; @c1{@STAT} = split /,/, $r->{cpu1};
	my %d = map { $_ => $c1{$_} - $c0{$_} } @STAT;
	my $gb = $r->{bytes} / 1e9;
	return {} unless $gb > 0;
	my $per = sub { defined $_[0] ? $_[0] / $meta{clk_tck} / $gb : undef };
	my %f = (
		kernel => $per->($d{system} + $d{irq} + $d{softirq}),
		busy => $per->($d{user} + $d{nice} + $d{system} + $d{irq} + $d{softirq}),
		steal => $per->($d{steal}),
		iperf3 => $per->($r->{iperf3_ticks}),
		daemon => $per->($r->{daemon_ticks}),
	);
	# the transport as first asked: netback's work is kernel time, vchan-tun's the daemon's
	$f{transport} = $r->{link} eq 'vif' ? $f{kernel} : $f{daemon};
	return \%f;
}

my %fig;
for my $link (@links) {
	my %f;
	my @ping = of('ping', $link);
	$f{ping_avg_us} = median(map { $_->{avg_us} } @ping);
	$f{ping_p99_us} = median(map { $_->{p99_us} } @ping);
	$f{ping_replies} = median(map { $_->{replies} } @ping);
	for my $dir (qw(fwd rev)) {
		$f{"tcp_${dir}_mbps"} = median(map { $_->{mbps} } of('tcp', $link, dir => $dir));
	}
	my @cpu = map { cpu_per_gb($_) } of('tcp', $link);
	for my $way (qw(transport kernel busy steal iperf3 daemon)) {
		$f{"cpu_${way}_s_per_gb"} = median(map { $_->{$way} } @cpu);
	}
	# UDP: the runs of the last step, at the rate it came down to
	my @udp = of('udp', $link);
	my ($step) = sort { $b <=> $a } map { $_->{step} } @udp;
	@udp = grep { $_->{step} == $step } @udp if defined $step;
	$f{udp_rate_mbps} = @udp ? number($udp[0]{rate_mbps}) : undef;
	$f{udp_steps_down} = $step;
	$f{udp_rx_mbps} = median(map { $_->{mbps} } @udp);
	$f{udp_offered_mbps} = median(map { $_->{offered_mbps} } @udp);
	$f{udp_loss_pct} = median(map { $_->{loss_pct} } @udp);
	$f{udp_iperf3_loss_pct} = median(map { $_->{iperf3_loss_pct} } @udp);
	$f{udp_search} = [map { +{ rate_mbps => number($_->{rate_mbps}), rx_mbps => number($_->{mbps}),
		offered_mbps => number($_->{offered_mbps}), loss_pct => number($_->{loss_pct}) } }
		of('udp_probe', $link)];
	$fig{$link} = \%f;
}

# --- the table ------------------------------------------------------------------------

sub num {
	my ($x) = @_;
	return '?' unless defined $x;
	return sprintf('%.0f', $x) if abs($x) >= 100;
	return sprintf('%.1f', $x) if abs($x) >= 10;
	return sprintf('%.2f', $x) if abs($x) >= 0.1 || $x == 0;
	return sprintf('%.3f', $x);
}

# label, unit, key, which way is better (ratio shown when given)
my @table = (
	['TCP dom0 -> domU', 'Mbit/s', 'tcp_fwd_mbps', 'higher'],
	['TCP domU -> dom0 (-R)', 'Mbit/s', 'tcp_rev_mbps', 'higher'],
	['UDP 1400 B, best rate <1% loss: received', 'Mbit/s', 'udp_rx_mbps', 'higher'],
	['  offered (0: the most iperf3 sends)', 'Mbit/s', 'udp_rate_mbps'],
	['  loss (sent, not in the domU within 0.5 s)', '%', 'udp_loss_pct'],
	['ping dom0 -> domU, average', 'us', 'ping_avg_us', 'lower'],
	['ping, 99th percentile', 'us', 'ping_p99_us', 'lower'],
	['dom0 CPU per GB (TCP): the transport *', 's/GB', 'cpu_transport_s_per_gb', 'lower'],
	['dom0 CPU per GB: all of dom0 (/proc/stat)', 's/GB', 'cpu_busy_s_per_gb', 'lower'],
	['  of it kernel (system+irq+softirq)', 's/GB', 'cpu_kernel_s_per_gb', 'lower'],
	['  of it iperf3 in dom0', 's/GB', 'cpu_iperf3_s_per_gb'],
);
my %ratios;
my $fmt = "%-44s %-7s %9s %10s %14s\n";
my @lines = sprintf("vchan-tun against the vif (netback/netfront), Xen 4.17 under QEMU (TCG), %s: " .
	"dom0 (%s vCPUs, Linux %s) and a 1-vCPU domU, median of %s run%s, iperf3 %s s each\n",
	strftime('%Y-%m-%dT%H:%M:%SZ', gmtime), $meta{dom0_vcpus}, $meta{kernel}, $meta{runs},
	$meta{runs} == 1 ? '' : 's', $meta{secs});
push @lines, sprintf($fmt, 'figure', 'unit', 'vif', 'vchan-tun', 'vchan-tun/vif');
for my $row (@table) {
	my ($label, $unit, $key, $better) = @$row;
	my ($v, $t) = map { $fig{$_}{$key} } @links;
	my $r = $better ? ratio($t, $v) : undef;
	$ratios{$key} = $r if $better;
	push @lines, sprintf($fmt, $label, $unit, num($v), num($t),
		$better ? num($r) . "x ($better: better)" : '');
}
push @lines, "* the vif's: dom0's kernel time (system+irq+softirq, /proc/stat); vchan-tun's: " .
	"dom0's vchan-tund (utime+stime, /proc/PID/stat)\n";
s/ +$//mg for @lines;
print @lines;

# --- JSON -------------------------------------------------------------------------------

sub rounded { # fractions to 4 significant digits, whole numbers as they are
	my ($x) = @_;
	return { map { $_ => rounded($x->{$_}) } keys %$x } if ref $x eq 'HASH';
	return [map { rounded($_) } @$x] if ref $x eq 'ARRAY';
	return $x if !defined $x || ref $x || $x !~ /^-?[\d.]+(e[-+]?\d+)?$/i;
	return $x =~ /^-?\d+$/ ? 0 + $x : 0 + sprintf('%.4g', $x);
}

my %settings = map { $_ => $meta{$_} =~ /^\d+$/ ? 0 + $meta{$_} : $meta{$_} } keys %meta;
$settings{date} = strftime('%Y-%m-%dT%H:%M:%SZ', gmtime);
my $json = JSON::PP->new->pretty->canonical->encode(rounded({
	version => 1, settings => \%settings, configs => \%fig, ratios_vchan_tun_to_vif => \%ratios,
	measurements => \@rows,
}));
open my $jf, '>', $out or die "bench-report.pl: $out: $!\n";
print $jf $json;
close $jf or die "bench-report.pl: $out: $!\n";
print "results: $out\n";

# The chart of netns-tests/bench/run, two panels on log scales (so that 0.1x
# and 10x look as far from 1):
#   above, each figure as a ratio to veth, for the three links;
#   below, how far vchan-tun meets each target (above 1: met).
#
#   gnuplot -e "dir='OUT'" chart.gp       reads OUT/chart.dat and OUT/targets.dat,
#                                         writes OUT/bench.png
#
# chart.dat, from report.pl: one line per figure, "label" veth socat vchan-tun;
# targets.dat: one line per target, "name" margin.
set terminal pngcairo size 1200,1000 noenhanced font ",10"
set output dir . "/bench.png"
set datafile missing "?"
set logscale y
set grid ytics
set multiplot layout 2,1

set title "vchan-tun benchmark: each figure as a ratio to veth, measured in the same run"
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set yrange [0.01:100]
set ylabel "ratio to veth"
set key top left
set xtics rotate by -20 scale 0
plot dir . "/chart.dat" using 2:xtic(1) title "veth" lc rgb "#888888", \
     '' using 3 title "socat over UDP" lc rgb "#d08030", \
     '' using 4 title "vchan-tun" lc rgb "#3070c0", \
     1 notitle lc rgb "black" dt 2

set title "vchan-tun against the targets of issues 7 and 11: green is met (above 1), red is not"
set style fill solid 0.85 border -1
set boxwidth 0.6
set yrange [0.01:100]
set ylabel "margin (value/limit, or limit/value for an upper limit)"
unset key
set xtics rotate by -20 scale 0
plot dir . "/targets.dat" using 0:2:($2 >= 1 ? 0x40a040 : 0xc04040):xtic(1) \
	with boxes lc rgb variable, 1 lc rgb "black" dt 2
unset multiplot

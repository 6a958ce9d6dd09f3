# make bench: vchan-tun against a veth pair and socat over UDP between two
# namespaces, one daemon serving 1, 8 and 32 peers, the ring against
# libxenvchan: a few minutes, as root, not part of check. One table;
# $(B)/bench/results.json, bench.png and raw/. BENCH_ARGS passes options
# (e.g. --quick); docs/benchmark.md explains the figures.
# make bench-ring: the ring alone, ours against libxenvchan.

.PHONY: bench bench-ring
bench: all
	@scripts/install-deps bench --if-missing
	BUILD=$(B) netns-tests/bench/run $(BENCH_ARGS)

bench-ring: all
	netns-tests/bench-ring $(B)

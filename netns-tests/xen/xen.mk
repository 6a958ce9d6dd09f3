# make check-xen: netns-tests/xen/run takes Debian's Xen 4.17 and kernel,
# fetched into $(B)/xen-cache (never installed), and boots them under
# qemu-system-x86_64 (TCG) with a PV dom0 and a PV domU whose initramfs carry
# the programs of $(B); vchan-cat, the interop with libxenvchan, vchan-tund,
# provisioning and vchan-tun-watch run between them (netns-tests/xen/scenarios.sh).
# A minute or two; $(B)/xen-run/console.log keeps the serial
# console. docs/real-xen.md explains it. make check runs it after the netns tests.

.PHONY: check-xen
check-xen: all
	@scripts/install-deps xen --if-missing
	BUILD=$(B) netns-tests/xen/run

# make bench-xen: vchan-tun against the classic vif (xen-netback in dom0,
# xen-netfront in the domU) in one boot of the same Xen, dom0 and domU under
# QEMU, measured in turns (netns-tests/xen/bench). A few minutes, as root, not
# part of check. One table; $(B)/bench/results-xen.json, and the console log
# and raw figures in $(B)/bench-xen/. docs/benchmark.md explains the figures.
.PHONY: bench-xen
bench-xen: all
	@scripts/install-deps xen --if-missing
	BUILD=$(B) netns-tests/xen/bench

# What the tests run beside the programs: unit tests ($(B)/tests, run by
# netns-tests/run), libFuzzer harnesses ($(B)/fuzz, run by t/52-fuzz.t and
# `make fuzz-smoke`) and test tools ($(B)/tools: hostile and reference peers,
# probes). Included by the top-level Makefile; nothing here is installed.

# --- unit tests: the pure cores, one file each ------------------------------------------

# the configuration's four files, and what config.c needs to link: the frame
# sizes and the ring layout (rings fit the MTU and the control page), and util.c
CONFIG_CORE := src/config.c src/config-file.c src/config-msg.c src/config-provision.c src/frame.c src/vchan/ring.c \
               src/util.c

UNIT_TESTS := $(B)/tests/test-ring $(B)/tests/test-config $(B)/tests/test-frame \
              $(B)/tests/test-pace $(B)/tests/test-filter

$(B)/tests/test-ring: $(call obj,netns-tests/unit/test-ring.c src/vchan/ring.c)
$(B)/tests/test-config: $(call obj,netns-tests/unit/test-config.c $(CONFIG_CORE))
$(B)/tests/test-frame: $(call obj,netns-tests/unit/test-frame.c src/frame.c)
$(B)/tests/test-pace: $(call obj,netns-tests/unit/test-pace.c src/pace.c)
$(B)/tests/test-pace: LIBS = -lm
$(B)/tests/test-filter: $(call obj,netns-tests/unit/test-filter.c src/filter.c $(CONFIG_CORE))
$(UNIT_TESTS):
	@mkdir -p $(dir $@)
	$(LINK) -o $@ $^ $(LIBS)

# --- fuzzers: clang's libFuzzer, with their own sanitizers (plain build only) -----------

FUZZ_CC      ?= clang
FUZZ_FLAGS   := $(BASE_FLAGS) -O1 -g $(WARN) -fsanitize=fuzzer,address,undefined \
                -fno-sanitize-recover=all
FUZZ_SECONDS ?= 20
FUZZERS      := $(B)/fuzz/fuzz-ring $(B)/fuzz/fuzz-config $(B)/fuzz/fuzz-frame \
                $(B)/fuzz/fuzz-filter

$(B)/fuzz/fuzz-ring: netns-tests/fuzz/fuzz-ring.c src/vchan/ring.c
$(B)/fuzz/fuzz-config: netns-tests/fuzz/fuzz-config.c $(CONFIG_CORE)
$(B)/fuzz/fuzz-frame: netns-tests/fuzz/fuzz-frame.c src/frame.c
$(B)/fuzz/fuzz-filter: netns-tests/fuzz/fuzz-filter.c src/filter.c $(CONFIG_CORE)
$(FUZZERS): netns-tests/fuzz/fuzz-input.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -MF $@.d -o $@ $(filter %.c,$^)

.PHONY: fuzz-smoke
# A bounded run of each harness, its corpus kept in $(B)/fuzz/corpus-NAME.
fuzz-smoke: $(FUZZERS)
	@for f in $(FUZZERS); do \
		mkdir -p "$$f.corpus" && \
		"$$f" -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -print_final_stats=1 \
			"$$f.corpus" || exit 1; \
	done

# --- test tools: built against Debian's Xen libraries, never installed -------------------

TOOLS := $(B)/tools/vchan-peer $(B)/tools/evtchn-lat $(B)/tools/xen-probe $(B)/tools/xs-probe \
         $(B)/tools/ring-peer $(B)/tools/ring-bench $(B)/tools/tun-probe $(B)/tools/bad-peer

# vchan-peer: Xen's own libxenvchan; ring-peer: the same command line on our ring.
$(B)/tools/vchan-peer: $(call obj,netns-tests/tools/vchan-peer.c)
$(B)/tools/vchan-peer: LIBS = -lxenvchan $(XEN_LIBS)
$(B)/tools/ring-peer: $(call obj,netns-tests/tools/ring-peer.c $(VCHAN_SRCS))
$(B)/tools/ring-peer: LIBS = $(XEN_LIBS)
# ring-bench: the same harness around our ring and around libxenvchan (make bench-ring).
$(B)/tools/ring-bench: $(call obj,netns-tests/tools/ring-bench.c $(VCHAN_SRCS))
$(B)/tools/ring-bench: LIBS = -lxenvchan $(XEN_LIBS)
$(B)/tools/evtchn-lat: $(call obj,netns-tests/tools/evtchn-lat.c)
$(B)/tools/evtchn-lat: LIBS = $(XEN_LIBS)
$(B)/tools/xen-probe: $(call obj,netns-tests/tools/xen-probe.c)
$(B)/tools/xen-probe: LIBS = $(XEN_LIBS)
$(B)/tools/xs-probe: $(call obj,netns-tests/tools/xs-probe.c)
$(B)/tools/xs-probe: LIBS = $(XS_LIBS)
# tun-probe: the device and netlink layers alone, for t/60-tun-netlink.t.
$(B)/tools/tun-probe: $(call obj,netns-tests/tools/tun-probe.c src/tun.c src/netlink.c src/util.c)
$(B)/tools/tun-probe: LIBS = $(NL_LIBS)
# bad-peer: a hostile end of a link, for t/74-hostile.t and the hostile-guest tests.
$(B)/tools/bad-peer: $(call obj,netns-tests/tools/bad-peer.c src/frame.c $(VCHAN_SRCS))
$(B)/tools/bad-peer: LIBS = $(XEN_LIBS)
$(TOOLS):
	@mkdir -p $(dir $@)
	$(LINK) -o $@ $^ $(LIBS)

all: $(UNIT_TESTS) $(TOOLS)
# The fuzzers carry their own sanitizers: one build of them (the plain one) is enough.
ifneq ($(SAN),1)
all: $(FUZZERS)
endif

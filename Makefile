# vchan-tun — top-level build.
#
#   make            programs in build/bin, xensim in build/xensim
#   make SAN=1      the same under AddressSanitizer + UBSan, in build-san/
#   make check      both builds, then every test against each (needs root), then check-xen
#   make check-xen  the programs on the real Xen hypervisor, under QEMU (docs/real-xen.md)
#   make demo       two simulated domains and what runs between them
#   make lint       cppcheck and clang-tidy
#   make bench      vchan-tun against veth and socat, many peers, the ring (needs root)
#   make install    programs, man pages, units and hooks (PREFIX, DESTDIR: see "install" below)

ifeq ($(SAN),1)
B        ?= build-san
SAN_EXE  := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
# Stand-in libraries are loaded by Debian's uninstrumented programs too
# (xenstore-read, vchan-socket-proxy), where the ASan runtime cannot come first.
SAN_LIB  := -fsanitize=undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
else
B        ?= build
endif

CC       ?= cc
PKG      ?= pkg-config
CFLAGS   ?= -O2 -g
WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wformat=2 -Wno-unused-parameter
CPPFLAGS := -std=gnu11 -D_GNU_SOURCE -MMD -MP
XEN_CFLAGS := $(shell $(PKG) --cflags xenevtchn xengnttab xenstore)
XEN_LIBS   := $(shell $(PKG) --libs xenevtchn xengnttab xenstore)
XS_LIBS    := $(shell $(PKG) --libs xenstore)

EXE_FLAGS = $(CPPFLAGS) $(CFLAGS) $(WARN) $(SAN_EXE)
LIB_FLAGS = $(CPPFLAGS) $(CFLAGS) $(WARN) $(SAN_LIB) -fPIC -fvisibility=hidden

XS := netns-tests/xensim

.PHONY: all check check-build demo lint clean install-deps-if-missing
all:

# --- xensim: stand-in libraries -------------------------------------------------

XENSIM_LIBS := $(B)/xensim/libxenevtchn.so.1 $(B)/xensim/libxengnttab.so.1 \
               $(B)/xensim/libxenctrl.so.4.17

$(B)/xensim/%.pic.o: $(XS)/%.c
	@mkdir -p $(dir $@)
	$(CC) $(LIB_FLAGS) $(XEN_CFLAGS) -c -o $@ $<

$(B)/xensim/libxenevtchn.so.1: $(B)/xensim/evtchn.pic.o $(B)/xensim/hv_client.pic.o $(XS)/xenevtchn.map
	$(CC) $(SAN_LIB) -shared -Wl,-soname,libxenevtchn.so.1 -Wl,--version-script,$(XS)/xenevtchn.map \
		-Wl,-z,defs -o $@ $(filter %.o,$^) -lpthread
$(B)/xensim/libxengnttab.so.1: $(B)/xensim/gnttab.pic.o $(B)/xensim/hv_client.pic.o $(XS)/xengnttab.map
	$(CC) $(SAN_LIB) -shared -Wl,-soname,libxengnttab.so.1 -Wl,--version-script,$(XS)/xengnttab.map \
		-Wl,-z,defs -o $@ $(filter %.o,$^) -lpthread
$(B)/xensim/libxenctrl.so.4.17: $(B)/xensim/xenctrl.pic.o $(B)/xensim/hv_client.pic.o $(XS)/xenctrl.map
	$(CC) $(SAN_LIB) -shared -Wl,-soname,libxenctrl.so.4.17 -Wl,--version-script,$(XS)/xenctrl.map \
		-Wl,-z,defs -o $@ $(filter %.o,$^) -lpthread

# --- xensim: daemons and the command --------------------------------------------

XENSTORED_SRCS := $(wildcard $(XS)/xenstored/*.c)
XENSTORED_OBJS := $(XENSTORED_SRCS:$(XS)/%.c=$(B)/xensim/%.o)

$(B)/xensim/%.o: $(XS)/%.c
	@mkdir -p $(dir $@)
	$(CC) $(EXE_FLAGS) $(XEN_CFLAGS) -c -o $@ $<

$(B)/xensim/xensim-hv: $(B)/xensim/hv.o
	$(CC) $(SAN_EXE) -o $@ $^
$(B)/xensim/xenstored-lite: $(XENSTORED_OBJS)
	$(CC) $(SAN_EXE) -o $@ $^
$(B)/bin/xensim: $(B)/xensim/xensim.o $(B)/xensim/hv_client.o
	@mkdir -p $(dir $@)
	$(CC) $(SAN_EXE) -o $@ $^ $(XS_LIBS)

XENSIM := $(XENSIM_LIBS) $(B)/xensim/xensim-hv $(B)/xensim/xenstored-lite $(B)/bin/xensim
all: $(XENSIM)

# --- test tools (built against Debian's libraries; never installed) --------------

$(B)/tools/%.o: netns-tests/tools/%.c
	@mkdir -p $(dir $@)
	$(CC) $(EXE_FLAGS) $(XEN_CFLAGS) -c -o $@ $<
$(B)/tools/vchan-peer: $(B)/tools/vchan-peer.o
	$(CC) $(SAN_EXE) -o $@ $^ -lxenvchan $(XEN_LIBS)
$(B)/tools/evtchn-lat: $(B)/tools/evtchn-lat.o
	$(CC) $(SAN_EXE) -o $@ $^ $(XEN_LIBS)
$(B)/tools/xen-probe: $(B)/tools/xen-probe.o
	$(CC) $(SAN_EXE) -o $@ $^ $(XEN_LIBS)

$(B)/tools/xs-probe: $(B)/tools/xs-probe.o
	$(CC) $(SAN_EXE) -o $@ $^ $(XS_LIBS)

TOOLS := $(B)/tools/vchan-peer $(B)/tools/evtchn-lat $(B)/tools/xen-probe $(B)/tools/xs-probe
all: $(TOOLS)

# --- the vchan ring ----------------------------------------------------------------
# src/vchan: a libxenvchan-compatible channel on libxengnttab/libxenevtchn/libxenstore
# (never libxenvchan). Objects in $(B)/src, programs in $(B)/bin, unit tests in
# $(B)/tests (run by netns-tests/run), the libFuzzer harness in $(B)/fuzz (clang only).

VCHAN_OBJS   := $(B)/src/vchan/ring.o $(B)/src/vchan/setup.o
FUZZ_CC      ?= clang
FUZZ_FLAGS   := -std=gnu11 -D_GNU_SOURCE -O1 -g -Wall -Wextra -Werror \
                -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
FUZZ_SECONDS ?= 20

$(B)/src/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(EXE_FLAGS) $(XEN_CFLAGS) -c -o $@ $<

$(B)/bin/vchan-cat: $(B)/src/vchan-cat.o $(VCHAN_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(SAN_EXE) -o $@ $^ $(XEN_LIBS)

$(B)/tests/test-ring: $(B)/src/vchan/test-ring.o $(B)/src/vchan/ring.o
	@mkdir -p $(dir $@)
	$(CC) $(SAN_EXE) -o $@ $^

# ring-peer: vchan-peer's command line and streams on our ring, for the interop tests.
$(B)/tools/ring-peer: $(B)/tools/ring-peer.o $(VCHAN_OBJS)
	$(CC) $(SAN_EXE) -o $@ $^ $(XEN_LIBS)

$(B)/fuzz/fuzz-ring: src/fuzz/fuzz-ring.c src/fuzz/fuzz-input.h src/vchan/ring.c src/vchan/ring.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $(filter %.c,$^)

# ring-bench: the same harness around our ring and around libxenvchan (make bench-ring).
$(B)/tools/ring-bench: $(B)/tools/ring-bench.o $(VCHAN_OBJS)
	$(CC) $(SAN_EXE) -o $@ $^ -lxenvchan $(XEN_LIBS)

VCHAN_ALL := $(B)/bin/vchan-cat $(B)/tests/test-ring $(B)/tools/ring-peer $(B)/tools/ring-bench
# The fuzzer carries its own sanitizers: one build of it (the plain one) is enough.
ifneq ($(SAN),1)
VCHAN_ALL += $(B)/fuzz/fuzz-ring
endif
all: $(VCHAN_ALL)

.PHONY: fuzz-smoke bench-ring
# A bounded libFuzzer run (netns-tests/t/52-fuzz.t does the same in make check).
fuzz-smoke: $(B)/fuzz/fuzz-ring
	@mkdir -p $(B)/fuzz/corpus
	$(B)/fuzz/fuzz-ring -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 $(B)/fuzz/corpus

# Ours against libxenvchan, two simulated domains (needs root; not part of check).
bench-ring: all
	netns-tests/bench-ring $(B)

# --- configuration -----------------------------------------------------------------
# src/config.c: the parser of /etc/vchan-tun/*.conf and of the daemon's link
# options; pure C and libc. Its unit test goes to $(B)/tests (run by
# netns-tests/run), its libFuzzer harness to $(B)/fuzz (plain build only, as
# for the ring), run by `make fuzz-smoke` with the ring's.

CONFIG_OBJS := $(B)/src/config.o

$(B)/tests/test-config: $(B)/src/test-config.o $(CONFIG_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(SAN_EXE) -o $@ $^

$(B)/fuzz/fuzz-config: src/fuzz/fuzz-config.c src/config.c src/config.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $(filter %.c,$^)

CONFIG_ALL := $(B)/tests/test-config
ifneq ($(SAN),1)
CONFIG_ALL += $(B)/fuzz/fuzz-config
endif
all: $(CONFIG_ALL)

.PHONY: fuzz-smoke-config
fuzz-smoke: fuzz-smoke-config
fuzz-smoke-config: $(B)/fuzz/fuzz-config
	@mkdir -p $(B)/fuzz/corpus-config
	$(B)/fuzz/fuzz-config -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -print_final_stats=1 \
		$(B)/fuzz/corpus-config

# --- benchmark ---------------------------------------------------------------------
# vchan-tun against a veth pair and socat over UDP between two namespaces, one daemon
# serving 1, 8 and 32 peers, the ring against libxenvchan: a few minutes, as root,
# not part of check. One table; $(B)/bench/results.json, bench.png and raw/.
# BENCH_ARGS passes options (e.g. --quick); docs/benchmark.md explains the figures.

.PHONY: bench
bench: all
	@scripts/install-deps --if-missing
	BUILD=$(B) netns-tests/bench/run $(BENCH_ARGS)

# --- real Xen under QEMU ---------------------------------------------------------------
# netns-tests/xen/run: Debian's Xen 4.17 and kernel, fetched into $(B)/xen-cache (never
# installed), boot under qemu-system-x86_64 (TCG) with a PV dom0 and a PV domU whose
# initramfs carry the programs of $(B); vchan-cat, the interop with libxenvchan and
# vchan-tund run between them. About a minute; $(B)/xen-run/console.log keeps the
# serial console. docs/real-xen.md explains it. Part of check, after the netns tests.

.PHONY: check-xen
check-xen: all
	@scripts/install-deps --if-missing
	BUILD=$(B) netns-tests/xen/run

# --- checks ------------------------------------------------------------------------

install-deps-if-missing:
	@scripts/install-deps --if-missing

check-build: install-deps-if-missing
	$(MAKE) all
	$(MAKE) SAN=1 all

# The netns tests against both builds, then check-xen; one summary line over all.
check: check-build
	$(MAKE) lint
	netns-tests/check build build-san

demo: install-deps-if-missing
	$(MAKE) all
	scripts/demo build

LINT_SRCS = $(wildcard src/*.c src/*/*.c $(XS)/*.c $(XS)/xenstored/*.c netns-tests/tools/*.c)
lint:
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability,performance \
		--inline-suppr --suppress=missingIncludeSystem -D_GNU_SOURCE $(LINT_SRCS)
	clang-tidy --quiet $(LINT_SRCS) -- $(CPPFLAGS) $(XEN_CFLAGS)

clean:
	rm -rf build build-san

# Not into the real-Xen run's unpacked Debian packages (xen-cache, xen-run).
-include $(shell find $(B) -path '$(B)/xen-*' -prune -o -name '*.d' -type f -print 2>/dev/null)

# --- framing and devices -------------------------------------------------------------
# src/frame.c: packets framed on the vchan byte stream (docs/protocol.md); no I/O, so
# unit tests and the fuzzer run it alone. src/tun.c and src/netlink.c: TUN/TAP devices
# and their configuration through libnl-3 (never ip(8)). Objects in $(B)/src by the
# rule above; test-frame in $(B)/tests, fuzz-frame in $(B)/fuzz (clang, plain build
# only), tun-probe in $(B)/tools for netns-tests/t/60-tun-netlink.t.

NL_CFLAGS  := $(shell $(PKG) --cflags libnl-3.0 libnl-route-3.0)
NL_LIBS    := $(shell $(PKG) --libs libnl-3.0 libnl-route-3.0)
FRAME_OBJS := $(B)/src/frame.o
DEV_OBJS   := $(B)/src/tun.o $(B)/src/netlink.o

$(B)/src/netlink.o: CPPFLAGS += $(NL_CFLAGS)

$(B)/tests/test-frame: $(B)/src/test-frame.o $(FRAME_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(SAN_EXE) -o $@ $^

$(B)/tools/tun-probe.o: CPPFLAGS += -Isrc $(NL_CFLAGS)
$(B)/tools/tun-probe: $(B)/tools/tun-probe.o $(DEV_OBJS)
	$(CC) $(SAN_EXE) -o $@ $^ $(NL_LIBS)

$(B)/fuzz/fuzz-frame: src/fuzz/fuzz-frame.c src/fuzz/fuzz-input.h src/frame.c src/frame.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -Isrc -o $@ $(filter %.c,$^)

FRAMEDEV_ALL := $(B)/tests/test-frame $(B)/tools/tun-probe
ifneq ($(SAN),1)
FRAMEDEV_ALL += $(B)/fuzz/fuzz-frame
endif
all: $(FRAMEDEV_ALL)

# `make fuzz-smoke` runs this one too.
.PHONY: fuzz-smoke-frame
fuzz-smoke: fuzz-smoke-frame
fuzz-smoke-frame: $(B)/fuzz/fuzz-frame
	@mkdir -p $(B)/fuzz/corpus-frame
	$(B)/fuzz/fuzz-frame -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 $(B)/fuzz/corpus-frame

# clang-tidy has to find src/*.h from the tools and libnl's headers.
lint: CPPFLAGS += -Isrc $(NL_CFLAGS)

# --- daemon ----------------------------------------------------------------------------
# vchan-tund (src/daemon.c: the event loop; link.c: one link's state machine and data
# path; xs.c, control.c, log.c, strbuf.c) and vchan-tunctl (src/ctl.c), both to
# $(B)/bin; they reuse the objects of the sections above. bad-peer, a hostile peer
# for netns-tests/t/74-hostile.t, to $(B)/tools.

DAEMON_OBJS := $(B)/src/daemon.o $(B)/src/link.o $(B)/src/xs.o $(B)/src/control.o $(B)/src/event.o \
               $(B)/src/log.o $(B)/src/strbuf.o $(B)/src/sd-notify.o \
               $(CONFIG_OBJS) $(FRAME_OBJS) $(DEV_OBJS) $(VCHAN_OBJS)
CTL_OBJS    := $(B)/src/ctl.o $(B)/src/strbuf.o

$(B)/bin/vchan-tund: $(DAEMON_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(SAN_EXE) -o $@ $^ $(XEN_LIBS) $(NL_LIBS)

$(B)/bin/vchan-tunctl: $(CTL_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(SAN_EXE) -o $@ $^

$(B)/tools/bad-peer.o: CPPFLAGS += -Isrc
$(B)/tools/bad-peer: $(B)/tools/bad-peer.o $(FRAME_OBJS) $(VCHAN_OBJS)
	$(CC) $(SAN_EXE) -o $@ $^ $(XEN_LIBS)

all: $(B)/bin/vchan-tund $(B)/bin/vchan-tunctl $(B)/tools/bad-peer

# --- watcher ---------------------------------------------------------------------------
# vchan-tun-watch (src/watch.c: the event loop; hook.c: running the hooks) to $(B)/bin.
# It shares XenStore (xs.c), netlink, the configuration and the log with the daemon,
# and nothing of the data path (no ring, no frames, no TUN).

WATCH_OBJS := $(B)/src/watch.o $(B)/src/hook.o $(B)/src/xs.o $(B)/src/log.o $(B)/src/event.o \
              $(B)/src/strbuf.o $(B)/src/netlink.o $(B)/src/sd-notify.o $(CONFIG_OBJS)

$(B)/bin/vchan-tun-watch: $(WATCH_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(SAN_EXE) -o $@ $^ $(XEN_LIBS) $(NL_LIBS)

all: $(B)/bin/vchan-tun-watch

# --- install ---------------------------------------------------------------------------
# make install [PREFIX=/usr/local] [DESTDIR=] [SYSCONFDIR=/etc] [SYSTEMD_UNIT_DIR=...]
#
# The daemons and vchan-tunctl go to sbin (root's tools: the control socket is
# root's alone), vchan-cat to bin, docs/*.[158] to the man pages, the units to
# SYSTEMD_UNIT_DIR with @SBINDIR@ filled in, and to SYSCONFDIR/vchan-tun the
# hooks of vchan-tun-hook(8) and an example link that is not read
# (example.conf.sample: the daemon reads *.conf). The programs look in
# /etc/vchan-tun whatever SYSCONFDIR says: change it only to stage a tree.
#
# What install puts in SYSCONFDIR is the administrator's from then on, as dpkg
# treats conffiles: a file there that differs from ours is neither replaced nor
# removed (a changed hook belongs under a new name, named by Hook =). `make
# uninstall` removes what install would put there, and no directory; nothing of
# xensim or the test tools is installed.

PREFIX           ?= /usr/local
SBINDIR          ?= $(PREFIX)/sbin
BINDIR           ?= $(PREFIX)/bin
MANDIR           ?= $(PREFIX)/share/man
SYSCONFDIR       ?= /etc
SYSTEMD_UNIT_DIR ?= $(PREFIX)/lib/systemd/system
INSTALL          ?= install

INST_SBIN    := vchan-tund vchan-tunctl vchan-tun-watch
INST_BIN     := vchan-cat
INST_UNITS   := vchan-tund.service vchan-tun-watch.service
INST_MAN     := $(wildcard docs/*.1 docs/*.5 docs/*.8)
MAN_SECTIONS := 1 5 8
INST_HOOKS   := vchan-tun-hook vchan-tun-route vchan-tun-bridge
ETC_DIR      := $(DESTDIR)$(SYSCONFDIR)/vchan-tun
# SOURCE:TARGET:MODE, each TARGET under $(ETC_DIR)
INST_CONF    := $(foreach h,$(INST_HOOKS),scripts/$(h):hooks/$(h):0755) \
                scripts/vchan-tun-hook-common.sh:hooks/vchan-tun-hook-common.sh:0644 \
                docs/example.conf.sample:example.conf.sample:0644

man_pages = $(filter %.$(1),$(INST_MAN))
man_dir   = $(DESTDIR)$(MANDIR)/man$(1)

define man_install
	$(if $(call man_pages,$(1)),$(INSTALL) -m 0644 $(call man_pages,$(1)) "$(call man_dir,$(1))")

endef

# conffile install|remove SOURCE:TARGET:MODE: one recipe line that installs
# or removes TARGET, unless the file there is not the one we ship.
define conffile
	@src=$(word 1,$(subst :, ,$(2))) dst="$(ETC_DIR)/$(word 2,$(subst :, ,$(2)))"; \
	if [ -e "$$dst" ] && ! cmp -s "$$src" "$$dst"; then \
		echo "keeping $$dst: it is not the one we ship (yours, or an older one)"; \
	elif [ $(1) = install ]; then \
		echo "$(INSTALL) -m $(word 3,$(subst :, ,$(2))) $$src $$dst"; \
		$(INSTALL) -m $(word 3,$(subst :, ,$(2))) "$$src" "$$dst"; \
	else \
		echo "rm -f $$dst"; \
		rm -f "$$dst"; \
	fi

endef

.PHONY: install uninstall
install: $(INST_SBIN:%=$(B)/bin/%) $(INST_BIN:%=$(B)/bin/%)
	$(INSTALL) -d "$(DESTDIR)$(SBINDIR)" "$(DESTDIR)$(BINDIR)" "$(DESTDIR)$(SYSTEMD_UNIT_DIR)" \
		"$(ETC_DIR)/hooks" $(foreach s,$(MAN_SECTIONS),"$(call man_dir,$(s))")
	$(INSTALL) -m 0755 $(INST_SBIN:%=$(B)/bin/%) "$(DESTDIR)$(SBINDIR)"
	$(INSTALL) -m 0755 $(INST_BIN:%=$(B)/bin/%) "$(DESTDIR)$(BINDIR)"
	$(foreach s,$(MAN_SECTIONS),$(call man_install,$(s)))
	for u in $(INST_UNITS); do \
		sed 's|@SBINDIR@|$(SBINDIR)|g' "systemd/$$u.in" >"$(DESTDIR)$(SYSTEMD_UNIT_DIR)/$$u" && \
		chmod 0644 "$(DESTDIR)$(SYSTEMD_UNIT_DIR)/$$u" || exit 1; \
	done
	$(foreach c,$(INST_CONF),$(call conffile,install,$(c)))

uninstall:
	rm -f $(INST_SBIN:%="$(DESTDIR)$(SBINDIR)/%") $(INST_BIN:%="$(DESTDIR)$(BINDIR)/%") \
		$(INST_UNITS:%="$(DESTDIR)$(SYSTEMD_UNIT_DIR)/%") \
		$(foreach s,$(MAN_SECTIONS),$(addprefix "$(call man_dir,$(s))/,$(addsuffix ",$(notdir $(call man_pages,$(s))))))
	$(foreach c,$(INST_CONF),$(call conffile,remove,$(c)))

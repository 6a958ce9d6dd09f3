# vchan-tun — the build.
#
#   make              the programs in build/bin, and what the tests need (xensim, test tools)
#   make programs     the programs alone (vchan-tund, vchan-tunctl, vchan-tun-watch, vchan-cat)
#   make install      programs, man pages, units and hooks (PREFIX, DESTDIR: see "install")
#   make demo         two simulated domains and a link between them (as root)
#   make check        both builds (plain, and SAN=1: ASan + UBSan into build-san/), lint,
#                     every test against each, then check-xen; as root
#   make lint         cppcheck and clang-tidy
#   make bench        vchan-tun against veth and socat (netns-tests/bench/bench.mk)
#   make check-xen    the programs on the real Xen hypervisor under QEMU (netns-tests/xen/xen.mk)
#   make bench-xen    vchan-tun against netback/netfront on the real Xen under QEMU (same file)
#   make deb          the Debian package, build/vchan-tun_VERSION_ARCH.deb (see "the Debian package")
#
# The caller's CFLAGS, CPPFLAGS and LDFLAGS (from the environment, the command
# line or dpkg-buildflags) are used as given; the project adds its language
# level and warnings. Without them: -O2 -g and the hardening Debian builds with.
# WERROR=1 turns warnings into errors; make check and lint set it.

# --- flags -------------------------------------------------------------------------

ifeq ($(SAN),1)
B        ?= build-san
SAN_EXE  := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
# xensim's stand-in libraries are loaded by Debian's uninstrumented programs too
# (xenstore-read, vchan-socket-proxy), where the ASan runtime cannot come first.
SAN_LIB  := -fsanitize=undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
CFLAGS   ?= -O2 -g
else
B        ?= build
CFLAGS   ?= -O2 -g -fstack-protector-strong
CPPFLAGS ?= -D_FORTIFY_SOURCE=2
LDFLAGS  ?= -Wl,-z,relro -Wl,-z,now
endif

CC         ?= cc
PKG_CONFIG ?= pkg-config
WARN       := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 \
              -Wno-unused-parameter
ifeq ($(WERROR),1)
WARN       += -Werror
endif
BASE_FLAGS := -std=gnu11 -D_GNU_SOURCE -MMD -MP -Isrc

XEN_CFLAGS := $(shell $(PKG_CONFIG) --cflags xenevtchn xengnttab xenstore)
XEN_LIBS   := $(shell $(PKG_CONFIG) --libs xenevtchn xengnttab xenstore)
XS_LIBS    := $(shell $(PKG_CONFIG) --libs xenstore)
NL_CFLAGS  := $(shell $(PKG_CONFIG) --cflags libnl-3.0 libnl-route-3.0)
NL_LIBS    := $(shell $(PKG_CONFIG) --libs libnl-3.0 libnl-route-3.0)

# The default goal: the rules below that set util.o's flags come before all's.
.DEFAULT_GOAL := all

# One version, debian/changelog's: what --version and the JSON status say.
VERSION    := $(shell sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p' debian/changelog)

COMPILE    = $(CC) $(BASE_FLAGS) $(CPPFLAGS) $(XEN_CFLAGS) $(NL_CFLAGS) $(WARN) $(CFLAGS)
LINK       = $(CC) $(CFLAGS) $(LDFLAGS) $(SAN_EXE)

# Every object goes to $(B)/obj, beside its source's path.
$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(COMPILE) $(SAN_EXE) -c -o $@ $<

$(B)/obj/src/util.o: CPPFLAGS += -DVCHAN_TUN_VERSION='"$(VERSION)"'
$(B)/obj/src/util.o: debian/changelog

.PHONY: all programs
all: programs

# --- the programs ------------------------------------------------------------------
# src/: the product. Each program lists the objects it is made of; the ring
# (src/vchan) and the framing know nothing of the daemon, the watcher nothing
# of the data path (docs/architecture.md): it has frame.c and vchan/ring.c only
# for what the configuration checks (a frame of the MTU must fit the rings, the
# rings libxenvchan's layout).

obj = $(patsubst %.c,$(B)/obj/%.o,$(sort $(1)))

VCHAN_SRCS  := src/vchan/ring.c src/vchan/setup.c src/util.c
COMMON_SRCS := src/config.c src/config-file.c src/config-msg.c src/config-provision.c src/provision.c \
               src/xs.c src/netlink.c src/loop.c src/event.c src/log.c src/strbuf.c src/sd-notify.c \
               src/pace.c src/util.c
DAEMON_SRCS := src/daemon.c src/link.c src/channel.c src/datapath.c src/device.c src/filter.c src/status.c \
               src/control.c src/frame.c src/tun.c $(COMMON_SRCS) \
               $(VCHAN_SRCS)
WATCH_SRCS  := src/watch.c src/watch-link.c src/hook.c src/frame.c src/vchan/ring.c $(COMMON_SRCS)
CTL_SRCS    := src/ctl.c src/strbuf.c src/util.c
CAT_SRCS    := src/vchan-cat.c $(VCHAN_SRCS)

PROGRAMS    := $(B)/bin/vchan-tund $(B)/bin/vchan-tun-watch $(B)/bin/vchan-tunctl \
               $(B)/bin/vchan-cat

$(B)/bin/vchan-tund: $(call obj,$(DAEMON_SRCS))
$(B)/bin/vchan-tund: LIBS = $(XEN_LIBS) $(NL_LIBS) -lm
$(B)/bin/vchan-tun-watch: $(call obj,$(WATCH_SRCS))
$(B)/bin/vchan-tun-watch: LIBS = $(XS_LIBS) $(NL_LIBS) -lm
$(B)/bin/vchan-tunctl: $(call obj,$(CTL_SRCS))
$(B)/bin/vchan-cat: $(call obj,$(CAT_SRCS))
$(B)/bin/vchan-cat: LIBS = $(XEN_LIBS)
$(PROGRAMS):
	@mkdir -p $(dir $@)
	$(LINK) -o $@ $^ $(LIBS)

programs: $(PROGRAMS)

# --- install -----------------------------------------------------------------------
# make install [PREFIX=/usr/local] [DESTDIR=] [SYSCONFDIR=/etc] [SYSTEMD_UNIT_DIR=...]
#              [BASH_COMPLETION_DIR=...]
#
# The daemons and vchan-tunctl go to sbin (root's tools: the control socket is
# root's alone), vchan-cat to bin, docs/*.[158] to the man pages, the units to
# SYSTEMD_UNIT_DIR with @SBINDIR@ filled in, the bash completion to
# BASH_COMPLETION_DIR (one file, vchan-tunctl, and a link to it for each other
# program: bash-completion loads it by the command's name), and to SYSCONFDIR/vchan-tun the
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
BASH_COMPLETION_DIR ?= $(PREFIX)/share/bash-completion/completions
INSTALL          ?= install

INST_SBIN    := vchan-tund vchan-tunctl vchan-tun-watch
INST_BIN     := vchan-cat
INST_UNITS   := vchan-tund.service vchan-tun-watch.service
# the completion's file, and the programs that link to it
INST_COMPL   := vchan-tunctl
INST_COMPL_LINKS := vchan-tund vchan-tun-watch vchan-cat
COMPL_DIR    := $(DESTDIR)$(BASH_COMPLETION_DIR)
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
		"$(ETC_DIR)/hooks" "$(COMPL_DIR)" $(foreach s,$(MAN_SECTIONS),"$(call man_dir,$(s))")
	$(INSTALL) -m 0755 $(INST_SBIN:%=$(B)/bin/%) "$(DESTDIR)$(SBINDIR)"
	$(INSTALL) -m 0755 $(INST_BIN:%=$(B)/bin/%) "$(DESTDIR)$(BINDIR)"
	$(foreach s,$(MAN_SECTIONS),$(call man_install,$(s)))
	for u in $(INST_UNITS); do \
		sed 's|@SBINDIR@|$(SBINDIR)|g' "systemd/$$u.in" >"$(DESTDIR)$(SYSTEMD_UNIT_DIR)/$$u" && \
		chmod 0644 "$(DESTDIR)$(SYSTEMD_UNIT_DIR)/$$u" || exit 1; \
	done
	$(INSTALL) -m 0644 scripts/bash-completion/$(INST_COMPL) "$(COMPL_DIR)"
	for p in $(INST_COMPL_LINKS); do ln -sf $(INST_COMPL) "$(COMPL_DIR)/$$p" || exit 1; done
	$(foreach c,$(INST_CONF),$(call conffile,install,$(c)))

uninstall:
	rm -f $(INST_SBIN:%="$(DESTDIR)$(SBINDIR)/%") $(INST_BIN:%="$(DESTDIR)$(BINDIR)/%") \
		$(INST_UNITS:%="$(DESTDIR)$(SYSTEMD_UNIT_DIR)/%") \
		$(addprefix "$(COMPL_DIR)/,$(addsuffix ",$(INST_COMPL) $(INST_COMPL_LINKS))) \
		$(foreach s,$(MAN_SECTIONS),$(addprefix "$(call man_dir,$(s))/,$(addsuffix ",$(notdir $(call man_pages,$(s))))))
	$(foreach c,$(INST_CONF),$(call conffile,remove,$(c)))

# --- the two commands of the README --------------------------------------------------

.PHONY: demo check check-build lint clean

# install-deps-NEED: the Debian packages NEED needs (scripts/install-deps NEED),
# when one is missing.
install-deps-%:
	@scripts/install-deps $* --if-missing

demo: install-deps-demo
	$(MAKE) all
	scripts/demo build

check-build: install-deps-check
	$(MAKE) WERROR=1 all
	$(MAKE) WERROR=1 SAN=1 all

# The netns tests against both builds, then check-xen; one summary line over all.
check: check-build
	$(MAKE) lint
	netns-tests/check build build-san

LINT_SRCS = $(wildcard src/*.c src/*/*.c netns-tests/xensim/*.c netns-tests/xensim/xenstored/*.c \
                       netns-tests/tools/*.c netns-tests/unit/*.c)
lint:
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability,performance \
		--inline-suppr --suppress=missingIncludeSystem -D_GNU_SOURCE $(LINT_SRCS)
	clang-tidy --quiet $(LINT_SRCS) -- $(BASE_FLAGS) -Inetns-tests/unit $(XEN_CFLAGS) $(NL_CFLAGS)

clean:
	rm -rf build build-san

# --- the Debian package --------------------------------------------------------------
# make deb: dpkg-buildpackage builds the binary package from debian/ (debhelper;
# debian/rules runs `make programs` and `make install` with dpkg-buildflags'
# hardening, into debian/build: build/ and build-san/ are not touched). It
# writes the package beside the source directory; it is moved to build/, with
# its -dbgsym, .buildinfo and .changes. Then: apt install ./build/vchan-tun_*.deb.
# make clean removes them (build/) and what debhelper leaves in debian/.

DEB_OUT    = vchan-tun_$(VERSION)_*.deb vchan-tun-dbgsym_$(VERSION)_*.deb \
             vchan-tun_$(VERSION)_*.buildinfo vchan-tun_$(VERSION)_*.changes
DEB_DEBRIS = debian/build debian/vchan-tun debian/vchan-tun-dbgsym debian/.debhelper debian/tmp \
             debian/files debian/*.substvars debian/*.debhelper debian/*.debhelper.log \
             debian/debhelper-build-stamp

.PHONY: deb deb-clean
deb: install-deps-deb
	dpkg-buildpackage -us -uc -b
	@mkdir -p build
	for f in $(addprefix ../,$(DEB_OUT)); do [ ! -e "$$f" ] || mv -f "$$f" build/ || exit 1; done
	@echo "make deb: the package is in build/: $$(cd build && echo vchan-tun_$(VERSION)_*.deb)"

deb-clean:
	rm -rf $(DEB_DEBRIS) $(addprefix build/,$(DEB_OUT))

clean: deb-clean

# --- what the tests need, the simulator, the benchmarks --------------------------------

include netns-tests/tests.mk
include netns-tests/xensim/xensim.mk
include netns-tests/bench/bench.mk
include netns-tests/xen/xen.mk

-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)

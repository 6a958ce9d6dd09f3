# xensim, the simulated hypervisor (docs/xensim.md): stand-ins for
# libxenevtchn, libxengnttab and libxenctrl with Debian's sonames and symbol
# versions ($(B)/xensim/*.so.*), the hypervisor process and xenstored-lite
# ($(B)/xensim), and the xensim command ($(B)/bin/xensim). Never linked into
# the programs and never installed; the tests load it through LD_LIBRARY_PATH.

XS := netns-tests/xensim

# Position-independent objects for the libraries, with the sanitizer they can carry.
$(B)/obj/%.pic.o: %.c
	@mkdir -p $(dir $@)
	$(COMPILE) $(SAN_LIB) -fPIC -fvisibility=hidden -c -o $@ $<

pic = $(patsubst %.c,$(B)/obj/%.pic.o,$(1))

XENSIM_LIBS := $(B)/xensim/libxenevtchn.so.1 $(B)/xensim/libxengnttab.so.1 \
               $(B)/xensim/libxenctrl.so.4.17

$(B)/xensim/libxenevtchn.so.1: $(call pic,$(XS)/evtchn.c $(XS)/hv_client.c) $(XS)/xenevtchn.map
$(B)/xensim/libxengnttab.so.1: $(call pic,$(XS)/gnttab.c $(XS)/hv_client.c) $(XS)/xengnttab.map
$(B)/xensim/libxenctrl.so.4.17: $(call pic,$(XS)/xenctrl.c $(XS)/hv_client.c) $(XS)/xenctrl.map
$(XENSIM_LIBS):
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $(SAN_LIB) -shared -Wl,-soname,$(notdir $@) \
		-Wl,--version-script,$(filter %.map,$^) -Wl,-z,defs -o $@ $(filter %.o,$^) -lpthread

$(B)/xensim/xensim-hv: $(call obj,$(XS)/hv.c)
$(B)/xensim/xenstored-lite: $(call obj,$(wildcard $(XS)/xenstored/*.c))
$(B)/bin/xensim: $(call obj,$(XS)/xensim.c $(XS)/hv_client.c)
$(B)/bin/xensim: LIBS = $(XS_LIBS)
$(B)/xensim/xensim-hv $(B)/xensim/xenstored-lite $(B)/bin/xensim:
	@mkdir -p $(dir $@)
	$(LINK) -o $@ $^ $(LIBS)

all: $(XENSIM_LIBS) $(B)/xensim/xensim-hv $(B)/xensim/xenstored-lite $(B)/bin/xensim

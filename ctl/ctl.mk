# ctl/ctl.mk - cairnctl, the command-line client: $(OUT)/cairnctl (optimized, linked with
# $(BUILD)/lib/libcairnconfig.a), $(BUILD)/cairnctl-host (the same sources under ASan/UBSan,
# which tests/unit/test_ctl.c and test_ctl_net.c run), and the explicit rules of
# $(BUILD)/unit/test_ctl, $(BUILD)/unit/test_ctl_net, $(BUILD)/unit/test_ctl_retry and
# $(BUILD)/unit/test_ctl_vm. Flags and object rules in mk/flags.mk.
# Included by the top Makefile after lib/config/config.mk and before tests/unit/unit.mk.

CTL_SRCS := $(sort $(wildcard ctl/*.c))
CTL_HDRS := $(sort $(wildcard ctl/*.h))
CTL_VERSION := 0.1.0
CTL_LIBS := -lcurl -lgnutls -lyaml -ljansson
INC_ctl := -Ilib/config -Ilib/fileio -Ilib/pki -Ictl -DCAIRN_VERSION='"$(CTL_VERSION)"'

$(OUT)/cairnctl: $(call OBJ,rel,$(CTL_SRCS)) $(CONFIG_LIB) $(FILEIO_LIB) $(PKI_LIB)
	@mkdir -p $(@D)
	$(CC) -o $@ $(LINK_OBJS) $(CTL_LIBS)

$(BUILD)/cairnctl-host: $(call OBJ,san,$(CTL_SRCS)) $(CONFIG_LIB_SAN) $(FILEIO_LIB_SAN) $(PKI_LIB_SAN)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_SAN) -o $@ $(LINK_OBJS) $(CTL_LIBS)

# The tests of cairnctl: each runs $(BUILD)/cairnctl-host and links ctl/yaml_json.c.
CTL_TEST_OBJS := $(BUILD)/obj/san/ctl/yaml_json.o $(UNIT_HARNESS) $(CONFIG_LIB_SAN)
CTL_TEST_DEFS := -Ilib/config -Ictl -DCAIRNCTL_HOST='"$(abspath $(BUILD)/cairnctl-host)"'

# Explicit, so it wins over unit.mk's pattern rule; it depends on the binary it runs.
$(BUILD)/obj/san/tests/unit/test_ctl.o: DEFS := $(CTL_TEST_DEFS)
$(BUILD)/unit/test_ctl: $(BUILD)/obj/san/tests/unit/test_ctl.o $(CTL_TEST_OBJS) $(BUILD)/cairnctl-host
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_SAN) -o $@ $(LINK_OBJS) -lcmocka $(CTL_LIBS)

# The network commands against the real cairnd and init --host on 127.0.0.1.
$(BUILD)/obj/san/tests/unit/test_ctl_net.o: DEFS := $(CTL_TEST_DEFS) \
	-DCAIRND_HOST='"$(abspath $(BUILD)/cairnd-host)"' \
	-DINIT_HOST_DEFAULT='"$(abspath $(BUILD)/init-host)"'
$(BUILD)/unit/test_ctl_net: $(BUILD)/obj/san/tests/unit/test_ctl_net.o $(CTL_TEST_OBJS) \
		$(BUILD)/cairnctl-host $(BUILD)/cairnd-host $(BUILD)/init-host
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_SAN) -o $@ $(LINK_OBJS) -lcmocka $(CTL_LIBS)

# The retry of a connection closed before the request went out, against the test's own TLS
# server (GnuTLS).
$(BUILD)/obj/san/tests/unit/test_ctl_retry.o: DEFS := $(CTL_TEST_DEFS)
$(BUILD)/unit/test_ctl_retry: $(BUILD)/obj/san/tests/unit/test_ctl_retry.o $(CTL_TEST_OBJS) \
		$(BUILD)/cairnctl-host
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_SAN) -o $@ $(LINK_OBJS) -lcmocka $(CTL_LIBS)

# The vm commands against the real cairnd, vm console against the test's own mTLS console
# server (GnuTLS), and end to end with a VM of $(OUT)/guest (skipped when it is not built).
$(BUILD)/obj/san/tests/unit/test_ctl_vm.o: DEFS := $(CTL_TEST_DEFS) \
	-DCAIRND_HOST='"$(abspath $(BUILD)/cairnd-host)"' \
	-DINIT_HOST_DEFAULT='"$(abspath $(BUILD)/init-host)"' \
	-DGUEST_DIR='"$(abspath $(OUT)/guest)"'
$(BUILD)/unit/test_ctl_vm: $(BUILD)/obj/san/tests/unit/test_ctl_vm.o $(CTL_TEST_OBJS) \
		$(BUILD)/cairnctl-host $(BUILD)/cairnd-host $(BUILD)/init-host
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_SAN) -o $@ $(LINK_OBJS) -lcmocka $(CTL_LIBS)

.PHONY: cairnctl
cairnctl: $(OUT)/cairnctl

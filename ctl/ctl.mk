# ctl/ctl.mk - cairnctl, the command-line client: $(OUT)/cairnctl (optimized, linked with
# $(BUILD)/lib/libcairnconfig.a), $(BUILD)/cairnctl-host (the same sources under ASan/UBSan,
# which tests/unit/test_ctl.c and test_ctl_net.c run), and the explicit rules of
# $(BUILD)/unit/test_ctl, $(BUILD)/unit/test_ctl_net, $(BUILD)/unit/test_ctl_retry and
# $(BUILD)/unit/test_ctl_vm.
# Included by the top Makefile after lib/config/config.mk and before tests/unit/unit.mk.

OUT ?= out
BUILD ?= build
CC ?= gcc

CTL_SRCS := $(sort $(wildcard ctl/*.c))
CTL_HDRS := $(sort $(wildcard ctl/*.h))
CTL_VERSION := 0.1.0
CTL_LIBS := -lcurl -lgnutls -lyaml -ljansson
CTL_CFLAGS := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -g -Ilib/config -Ilib/fileio -Ictl \
	-DCAIRN_VERSION='"$(CTL_VERSION)"'
CTL_SAN := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

$(OUT)/cairnctl: $(CTL_SRCS) $(CTL_HDRS) $(FILEIO_HDRS) $(BUILD)/lib/libcairnconfig.a $(FILEIO_LIB)
	@mkdir -p $(OUT)
	$(CC) $(CTL_CFLAGS) -O2 -o $@ $(CTL_SRCS) $(BUILD)/lib/libcairnconfig.a $(FILEIO_LIB) $(CTL_LIBS)

$(BUILD)/cairnctl-host: $(CTL_SRCS) $(CTL_HDRS) $(CONFIG_SRCS) $(CONFIG_HDRS) $(FILEIO_HDRS) $(FILEIO_LIB_SAN)
	@mkdir -p $(BUILD)
	$(CC) $(CTL_CFLAGS) -O1 $(CTL_SAN) -o $@ $(CTL_SRCS) $(CONFIG_SRCS) $(FILEIO_LIB_SAN) $(CTL_LIBS)

# Explicit, so it wins over unit.mk's pattern rule; it depends on the binary it runs.
$(BUILD)/unit/test_ctl: tests/unit/test_ctl.c $(UNIT_HARNESS) $(BUILD)/cairnctl-host $(CONFIG_SRCS) $(CONFIG_HDRS)
	@mkdir -p $(BUILD)/unit
	$(CC) -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O1 -g $(CTL_SAN) -Ilib/config -Ictl \
		-DCAIRNCTL_HOST='"$(abspath $(BUILD)/cairnctl-host)"' \
		-Itests/unit -o $@ tests/unit/test_ctl.c tests/unit/harness.c ctl/yaml_json.c $(CONFIG_SRCS) -lcmocka $(CTL_LIBS)

# The network commands against the real cairnd and init --host on 127.0.0.1.
$(BUILD)/unit/test_ctl_net: tests/unit/test_ctl_net.c $(UNIT_HARNESS) $(BUILD)/cairnctl-host $(BUILD)/cairnd-host \
		$(BUILD)/init-host $(CONFIG_SRCS) $(CONFIG_HDRS)
	@mkdir -p $(BUILD)/unit
	$(CC) -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O1 -g $(CTL_SAN) -Ilib/config -Ictl \
		-DCAIRNCTL_HOST='"$(abspath $(BUILD)/cairnctl-host)"' \
		-DCAIRND_HOST='"$(abspath $(BUILD)/cairnd-host)"' \
		-DINIT_HOST_DEFAULT='"$(abspath $(BUILD)/init-host)"' \
		-Itests/unit -o $@ tests/unit/test_ctl_net.c tests/unit/harness.c ctl/yaml_json.c $(CONFIG_SRCS) -lcmocka $(CTL_LIBS)

# The retry of a connection closed before the request went out, against the test's own TLS
# server (GnuTLS).
$(BUILD)/unit/test_ctl_retry: tests/unit/test_ctl_retry.c $(UNIT_HARNESS) $(BUILD)/cairnctl-host \
		$(CONFIG_SRCS) $(CONFIG_HDRS)
	@mkdir -p $(BUILD)/unit
	$(CC) -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O1 -g $(CTL_SAN) -Ilib/config \
		-DCAIRNCTL_HOST='"$(abspath $(BUILD)/cairnctl-host)"' \
		-Itests/unit -o $@ tests/unit/test_ctl_retry.c tests/unit/harness.c ctl/yaml_json.c $(CONFIG_SRCS) -lcmocka $(CTL_LIBS)

# The vm commands against the real cairnd, vm console against the test's own mTLS console
# server (GnuTLS), and end to end with a VM of $(OUT)/guest (skipped when it is not built).
$(BUILD)/unit/test_ctl_vm: tests/unit/test_ctl_vm.c $(UNIT_HARNESS) $(BUILD)/cairnctl-host $(BUILD)/cairnd-host \
		$(BUILD)/init-host $(CONFIG_SRCS) $(CONFIG_HDRS)
	@mkdir -p $(BUILD)/unit
	$(CC) -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O1 -g $(CTL_SAN) -Ilib/config -Ictl \
		-DCAIRNCTL_HOST='"$(abspath $(BUILD)/cairnctl-host)"' \
		-DCAIRND_HOST='"$(abspath $(BUILD)/cairnd-host)"' \
		-DINIT_HOST_DEFAULT='"$(abspath $(BUILD)/init-host)"' \
		-DGUEST_DIR='"$(abspath $(OUT)/guest)"' \
		-Itests/unit -o $@ tests/unit/test_ctl_vm.c tests/unit/harness.c ctl/yaml_json.c $(CONFIG_SRCS) -lcmocka $(CTL_LIBS)

.PHONY: cairnctl
cairnctl: $(OUT)/cairnctl

# services/api/api.mk - cairnd, the mTLS API server: $(OUT)/cairnd, the sanitizer build
# $(BUILD)/cairnd-host for the tests, the unit test and the fuzz harness. Included by the top
# Makefile after lib/*/*.mk and before tests/unit/unit.mk.

OUT ?= out
BUILD ?= build
CC ?= gcc
CLANG ?= clang

include services/network/network.make
include services/vm/vm.make

API_SRCS := $(sort $(wildcard services/api/*.c))
API_HDRS := $(sort $(wildcard services/api/*.h))
# cairnd without main() and the controller table, for the tests
API_LIB_SRCS := $(filter-out services/api/main.c services/api/controllers.c,$(API_SRCS))
API_LIBS := -lmicrohttpd -lgnutls -ljansson -lyaml -lcurl -lpthread
# lib/: the kernel command line, PID 1's control client, file I/O, helper commands
API_LIB_HDRS := $(CMDLINE_HDRS) $(INITCTL_HDRS) $(FILEIO_HDRS) $(RUNCMD_HDRS)
API_LIB_A := $(CMDLINE_LIB) $(INITCTL_LIB) $(FILEIO_LIB) $(RUNCMD_LIB)
API_LIB_A_SAN := $(CMDLINE_LIB_SAN) $(INITCTL_LIB_SAN) $(FILEIO_LIB_SAN) $(RUNCMD_LIB_SAN)
API_CFLAGS := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -g -Ilib/config -Ilib/cmdline \
	-Ilib/initctl -Ilib/fileio -Ilib/runcmd $(VM_CFLAGS)
API_SAN := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

# cairnd itself links the controllers (services/network/network.make, with services/libvirt)
# and the VM controller (services/vm/vm.make);
# the API tests run it with --no-controllers.
$(OUT)/cairnd: $(API_SRCS) $(API_HDRS) $(CTRL_SRCS) $(CTRL_HDRS) $(VM_SRCS) $(VM_CTRL_SRCS) $(VM_HDRS) \
		$(API_LIB_HDRS) $(API_LIB_A) $(BUILD)/lib/libcairnconfig.a
	@mkdir -p $(OUT)
	$(CC) $(API_CFLAGS) $(CTRL_CFLAGS) -O2 -o $@ $(API_SRCS) $(sort $(CTRL_SRCS) $(VM_SRCS) $(VM_CTRL_SRCS)) \
		$(API_LIB_A) $(BUILD)/lib/libcairnconfig.a $(API_LIBS) $(CTRL_LIBS) $(VM_LIBS)

$(BUILD)/cairnd-host: $(API_SRCS) $(API_HDRS) $(CTRL_SRCS) $(CTRL_HDRS) $(VM_SRCS) $(VM_CTRL_SRCS) $(VM_HDRS) \
		$(API_LIB_HDRS) $(API_LIB_A_SAN) $(CONFIG_SRCS) $(CONFIG_HDRS)
	@mkdir -p $(BUILD)
	$(CC) $(API_CFLAGS) $(CTRL_CFLAGS) -O1 $(API_SAN) -o $@ $(API_SRCS) $(sort $(CTRL_SRCS) $(VM_SRCS) $(VM_CTRL_SRCS)) \
		$(CONFIG_SRCS) $(API_LIB_A_SAN) $(API_LIBS) $(CTRL_LIBS) $(VM_LIBS)

# Drives the real $(BUILD)/cairnd-host and $(BUILD)/init-host with curl and certtool.
$(BUILD)/unit/test_api: tests/unit/test_api.c $(UNIT_HARNESS) $(API_LIB_SRCS) $(API_HDRS) $(CONFIG_SRCS) $(CONFIG_HDRS) \
		$(VM_SRCS) $(VM_HDRS) $(API_LIB_HDRS) $(API_LIB_A_SAN) $(BUILD)/cairnd-host $(BUILD)/init-host
	@mkdir -p $(BUILD)/unit
	$(CC) $(API_CFLAGS) -O1 $(API_SAN) -Iservices/api \
		-DCAIRND_HOST='"$(abspath $(BUILD)/cairnd-host)"' \
		-DINIT_HOST_DEFAULT='"$(abspath $(BUILD)/init-host)"' \
		-Itests/unit -o $@ tests/unit/test_api.c tests/unit/harness.c $(API_LIB_SRCS) $(VM_SRCS) $(CONFIG_SRCS) $(API_LIB_A_SAN) \
		-lcmocka $(API_LIBS)

FUZZ_NAMES += api_routes
$(BUILD)/fuzz/fuzz_api_routes: tests/fuzz/fuzz_api_routes.c $(API_LIB_SRCS) $(API_HDRS) $(CONFIG_SRCS) $(CONFIG_HDRS) \
		$(VM_SRCS) $(VM_HDRS) $(API_LIB_HDRS)
	@mkdir -p $(BUILD)/fuzz
	$(CLANG) -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=undefined -Ilib/config -Ilib/cmdline -Ilib/initctl -Ilib/fileio \
		-Ilib/runcmd -Iservices/api $(VM_CFLAGS) -o $@ tests/fuzz/fuzz_api_routes.c $(API_LIB_SRCS) \
		$(VM_SRCS) $(CONFIG_SRCS) $(CMDLINE_SRCS) $(INITCTL_SRCS) $(FILEIO_SRCS) $(RUNCMD_SRCS) $(API_LIBS)

.PHONY: cairnd
cairnd: $(OUT)/cairnd

# The controller runtime with test controllers and the real resource store.
$(BUILD)/unit/test_runtime: tests/unit/test_runtime.c services/api/runtime.c services/api/runtime.h \
		services/api/controller.h services/api/resources.c $(API_LIB_HDRS) $(API_LIB_A_SAN)
	@mkdir -p $(BUILD)/unit
	$(CC) $(API_CFLAGS) -O1 $(API_SAN) -o $@ tests/unit/test_runtime.c services/api/runtime.c \
		services/api/resources.c $(API_LIB_A_SAN) -lcmocka -ljansson -lpthread

# services/api/api.mk - cairnd, the mTLS API server: $(OUT)/cairnd, the sanitizer build
# $(BUILD)/cairnd-host for the tests, the unit test and the fuzz harness; flags and object
# rules in mk/flags.mk. Included by the top Makefile after lib/*/*.mk and before
# tests/unit/unit.mk.

# vm.make first: network.make's test links $(VM_SRCS).
include services/vm/vm.make
include services/storage/storage.make
include services/network/network.make

API_SRCS := $(sort $(wildcard services/api/*.c))
API_HDRS := $(sort $(wildcard services/api/*.h))
# cairnd without main() and the controller table, for the tests
API_LIB_SRCS := $(filter-out services/api/main.c services/api/controllers.c,$(API_SRCS))
API_LIBS := -lmicrohttpd -lgnutls -ljansson -lyaml -lcurl -lpthread
# lib/: the kernel command line, PID 1's control client, file I/O, helper commands
API_LIB_HDRS := $(CMDLINE_HDRS) $(INITCTL_HDRS) $(FILEIO_HDRS) $(RUNCMD_HDRS)
API_LIB_A := $(INITCTL_LIB) $(RUNCMD_LIB) $(FILEIO_LIB) $(CMDLINE_LIB)
API_LIB_A_SAN := $(INITCTL_LIB_SAN) $(RUNCMD_LIB_SAN) $(FILEIO_LIB_SAN) $(CMDLINE_LIB_SAN)
API_CFLAGS := -Ilib/config -Ilib/cmdline -Ilib/initctl -Ilib/fileio -Ilib/runcmd $(VM_CFLAGS)

# Every source of cairnd (services/api, network, libvirt, vm) compiles with the same includes.
SVC_INC := $(call uniq,$(API_CFLAGS) $(CTRL_CFLAGS))
INC_services/api := $(SVC_INC)
INC_services/network := $(SVC_INC)
INC_services/libvirt := $(SVC_INC)
INC_services/vm := $(SVC_INC)
INC_services/storage := $(SVC_INC)
INC_services/kube := $(SVC_INC)

# cairnd itself links the controllers (services/network/network.make, with services/libvirt)
# and the VM controller (services/vm/vm.make);
# the API tests run it with --no-controllers.
CAIRND_SRCS := $(API_SRCS) $(sort $(CTRL_SRCS) $(VM_SRCS) $(VM_CTRL_SRCS))
$(OUT)/cairnd: $(call OBJ,rel,$(CAIRND_SRCS)) $(CONFIG_LIB) $(QMP_LIB) $(OVSDB_LIB) $(PKI_LIB) $(API_LIB_A)
	@mkdir -p $(@D)
	$(CC) -o $@ $(LINK_OBJS) $(API_LIBS) $(CTRL_LIBS) $(VM_LIBS)

$(BUILD)/cairnd-host: $(call OBJ,san,$(CAIRND_SRCS)) $(CONFIG_LIB_SAN) $(QMP_LIB_SAN) $(OVSDB_LIB_SAN) $(PKI_LIB_SAN) $(API_LIB_A_SAN)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_SAN) -o $@ $(LINK_OBJS) $(API_LIBS) $(CTRL_LIBS) $(VM_LIBS)

# Drives the real $(BUILD)/cairnd-host and $(BUILD)/init-host with curl and certtool.
$(BUILD)/obj/san/tests/unit/test_api.o: DEFS := $(SVC_INC) \
	-DCAIRND_HOST='"$(abspath $(BUILD)/cairnd-host)"' \
	-DINIT_HOST_DEFAULT='"$(abspath $(BUILD)/init-host)"'
$(BUILD)/unit/test_api: $(BUILD)/obj/san/tests/unit/test_api.o $(UNIT_HARNESS) \
		$(call OBJ,san,$(API_LIB_SRCS) $(VM_SRCS) $(STORAGE_ADMIT_SRCS) $(KUBE_API_SRCS)) $(CONFIG_LIB_SAN) \
		$(QMP_LIB_SAN) $(OVSDB_LIB_SAN) $(PKI_LIB_SAN) $(API_LIB_A_SAN) $(BUILD)/cairnd-host $(BUILD)/init-host
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_SAN) -o $@ $(LINK_OBJS) -lcmocka $(API_LIBS)

FUZZ_NAMES += api_routes
$(BUILD)/obj/fuzz/tests/fuzz/fuzz_api_routes.o: DEFS := $(SVC_INC)
$(BUILD)/fuzz/fuzz_api_routes: $(BUILD)/obj/fuzz/tests/fuzz/fuzz_api_routes.o \
		$(call OBJ,fuzz,$(API_LIB_SRCS) $(VM_SRCS) $(STORAGE_ADMIT_SRCS) $(KUBE_API_SRCS)) $(CONFIG_LIB_FUZZ) $(QMP_LIB_FUZZ) $(OVSDB_LIB_FUZZ) $(PKI_LIB_FUZZ) \
		$(INITCTL_LIB_FUZZ) $(RUNCMD_LIB_FUZZ) $(FILEIO_LIB_FUZZ) $(CMDLINE_LIB_FUZZ)
	@mkdir -p $(@D)
	$(CLANG) $(LDFLAGS_FUZZ) -o $@ $(LINK_OBJS) $(API_LIBS)

.PHONY: cairnd
cairnd: $(OUT)/cairnd

# The controller runtime with test controllers and the real resource store.
$(BUILD)/obj/san/tests/unit/test_runtime.o: DEFS := $(SVC_INC)
$(BUILD)/unit/test_runtime: $(BUILD)/obj/san/tests/unit/test_runtime.o $(UNIT_HARNESS) \
		$(call OBJ,san,services/api/runtime.c services/api/resources.c) $(API_LIB_A_SAN)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_SAN) -o $@ $(LINK_OBJS) -lcmocka -ljansson -lpthread

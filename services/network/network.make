# services/network/network.make - the network controllers (links, addresses, routes, DHCP,
# DNS, hostname, time, sysctls, modules) and services/libvirt's libvirtd controller: the
# sources for cairnd and the unit test, which needs root (it runs in its own network and UTS
# namespaces). Included only from services/api/api.mk (.make, not .mk: the top Makefile's
# services/*/*.mk wildcard does not include it a second time). Flags and object rules in
# mk/flags.mk; the include flags of services/ in api.mk.

CTRL_SRCS := $(sort $(wildcard services/network/*.c services/libvirt/*.c))
# services/ovn: the ovn controller and the NB reconcile (lib/ovsdb: linked as its archive)
CTRL_SRCS += $(sort $(wildcard services/ovn/*.c))
# services/storage: disks and pools (services/storage/storage.make)
CTRL_SRCS += $(STORAGE_SRCS)
# services/kube: Kubernetes' services and certificates (lib/pki: linked as its archive)
CTRL_SRCS += $(sort $(wildcard services/kube/*.c))
# the part of services/kube the API links (GET /v1/kubeconfig)
KUBE_API_SRCS := services/kube/kubeconfig.c
CTRL_HDRS := $(sort $(wildcard services/network/*.h services/libvirt/*.h services/ovn/*.h services/kube/*.h lib/ovsdb/*.h lib/pki/*.h)) services/api/resources.h \
	services/api/controller.h services/api/runtime.h
CTRL_CFLAGS := -I/usr/include/libnl3 -Iservices/network -Iservices/libvirt -Iservices/ovn -Iservices/storage -Iservices/kube -Ilib/ovsdb -Ilib/pki -Iservices/api -Ilib/config -Ilib/fileio \
	-Ilib/initctl -Ilib/runcmd
CTRL_LIBS := -lnl-route-3 -lnl-3 -lgnutls $(STORAGE_LIBS)

# The real resource store once it exists; until then the test carries a small one.
CTRL_TEST_RESOURCES := $(wildcard services/api/resources.c)
CTRL_TEST_DEFS := $(if $(CTRL_TEST_RESOURCES),,-DCTRL_TEST_RESOURCES_STUB)

# init/svcdef.c: the generated service definitions must pass PID 1's own parser.
CTRL_TEST_INIT := init/svcdef.c init/units.c

# The test runs the controllers as cairnd does (--controllers node): the runtime and the table
# (which names the VM controller too, so its sources are linked). The hook script is a
# prerequisite too: the test runs it.
CTRL_TEST_RUNTIME := services/api/runtime.c services/api/controllers.c
$(BUILD)/obj/san/tests/unit/test_ctrl.o: DEFS := $(CTRL_CFLAGS) $(VM_CFLAGS) -Iinit $(CTRL_TEST_DEFS) \
	-DCTRL_UDHCPC_SCRIPT='"$(abspath rootfs/overlay/usr/lib/cairn/udhcpc.script)"'
$(BUILD)/unit/test_ctrl: $(BUILD)/obj/san/tests/unit/test_ctrl.o $(UNIT_HARNESS) \
		$(call OBJ,san,$(CTRL_SRCS) $(CTRL_TEST_RUNTIME) $(VM_SRCS) $(VM_CTRL_SRCS) \
			$(CTRL_TEST_RESOURCES) $(CTRL_TEST_INIT)) \
		$(CONFIG_LIB_SAN) $(QMP_LIB_SAN) $(OVSDB_LIB_SAN) $(PKI_LIB_SAN) $(INITCTL_LIB_SAN) $(RUNCMD_LIB_SAN) $(FILEIO_LIB_SAN) \
		rootfs/overlay/usr/lib/cairn/udhcpc.script
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_SAN) -o $@ $(LINK_OBJS) -lcmocka $(CTRL_LIBS) -ljansson -lyaml -pthread

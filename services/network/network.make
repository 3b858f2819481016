# services/network/network.make - the network controllers (links, addresses, routes, DHCP,
# DNS, hostname, time, sysctls, modules) and services/libvirt's libvirtd controller: the
# sources for cairnd and the unit test, which needs root (it runs in its own network and UTS
# namespaces). Included only from services/api/api.mk (.make, not .mk: the top Makefile's
# services/*/*.mk wildcard does not include it a second time).

BUILD ?= build
CC ?= gcc

CTRL_SRCS := $(sort $(wildcard services/network/*.c services/libvirt/*.c))
# services/ovn: the ovn controller and the NB reconcile (lib/ovsdb comes with VM_SRCS)
CTRL_SRCS += $(sort $(wildcard services/ovn/*.c))
CTRL_HDRS := $(sort $(wildcard services/network/*.h services/libvirt/*.h services/ovn/*.h lib/ovsdb/*.h)) services/api/resources.h \
	services/api/controller.h services/api/runtime.h
CTRL_CFLAGS := -I/usr/include/libnl3 -Iservices/network -Iservices/libvirt -Iservices/ovn -Ilib/ovsdb -Iservices/api -Ilib/config -Ilib/fileio \
	-Ilib/initctl -Ilib/runcmd
CTRL_LIBS := -lnl-route-3 -lnl-3

# The real resource store once it exists; until then the test carries a small one.
CTRL_TEST_RESOURCES := $(wildcard services/api/resources.c)
CTRL_TEST_DEFS := $(if $(CTRL_TEST_RESOURCES),,-DCTRL_TEST_RESOURCES_STUB)

# init/svcdef.c: the generated service definitions must pass PID 1's own parser.
CTRL_TEST_INIT := init/svcdef.c init/units.c

# The test runs the controllers as cairnd does (--controllers node): the runtime and the table
# (which names the VM controller too, so its sources are linked). The hook script is a
# prerequisite too: the test runs it.
CTRL_TEST_RUNTIME := services/api/runtime.c services/api/controllers.c
$(BUILD)/unit/test_ctrl: tests/unit/test_ctrl.c $(CTRL_SRCS) $(CTRL_HDRS) $(CTRL_TEST_RESOURCES) \
		$(CTRL_TEST_RUNTIME) $(VM_SRCS) $(VM_CTRL_SRCS) $(VM_HDRS) \
		$(CONFIG_SRCS) $(CONFIG_HDRS) $(CTRL_TEST_INIT) init/svcdef.h init/units.h \
		$(FILEIO_LIB_SAN) $(INITCTL_LIB_SAN) $(RUNCMD_LIB_SAN)
	@mkdir -p $(BUILD)/unit
	$(CC) -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O1 -g \
		-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined \
		$(CTRL_CFLAGS) $(VM_CFLAGS) -Iinit $(CTRL_TEST_DEFS) \
		-DCTRL_UDHCPC_SCRIPT='"$(abspath rootfs/overlay/usr/lib/cairn/udhcpc.script)"' \
		-o $@ tests/unit/test_ctrl.c $(CTRL_SRCS) $(CTRL_TEST_RUNTIME) $(VM_SRCS) $(VM_CTRL_SRCS) \
		$(CTRL_TEST_RESOURCES) $(CONFIG_SRCS) \
		$(CTRL_TEST_INIT) $(FILEIO_LIB_SAN) $(INITCTL_LIB_SAN) $(RUNCMD_LIB_SAN) \
		-lcmocka $(CTRL_LIBS) -ljansson -lyaml -pthread

# services/vm/vm.make - the VM controller (services/vm/*.c, with lib/qmp) for cairnd, and its
# unit test. Included only from services/api/api.mk: the name ends in .make, not .mk, so the
# top Makefile's services/*/*.mk wildcard does not include it a second time.

BUILD ?= build
CC ?= gcc

# vm_controller.c: the adapter to cairnd's controller table (services/api/controller.h)
VM_CTRL_SRCS := services/vm/vm_controller.c
VM_SRCS := $(filter-out $(VM_CTRL_SRCS),$(sort $(wildcard services/vm/*.c))) lib/qmp/qmp.c lib/qmp/qmp_commands.c lib/qmp/qmp_frame.c
VM_HDRS := $(sort $(wildcard services/vm/*.h)) $(wildcard lib/qmp/*.h) services/api/resources.h \
	$(FILEIO_HDRS) $(INITCTL_HDRS) $(RUNCMD_HDRS)
VM_CFLAGS := -Iservices/vm -Ilib/qmp -Iservices/api -Ilib/fileio -Ilib/initctl -Ilib/runcmd
VM_LIBS := -ljansson -lpthread

# Runs the real $(BUILD)/init-host and qemu-system-x86_64 (TCG); needs root for the
# network namespace of the NIC test.
$(BUILD)/unit/test_vm: tests/unit/test_vm.c $(VM_SRCS) $(VM_HDRS) services/api/resources.c \
		$(CONFIG_SRCS) $(CONFIG_HDRS) init/svcdef.c init/units.c init/svcdef.h $(BUILD)/init-host \
		$(BUILD)/cairnd-host $(FILEIO_LIB_SAN) $(INITCTL_LIB_SAN) $(RUNCMD_LIB_SAN)
	@mkdir -p $(BUILD)/unit
	$(CC) -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O1 -g \
		-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined \
		$(VM_CFLAGS) -Ilib/config -Iinit \
		-DINIT_HOST_DEFAULT='"$(abspath $(BUILD)/init-host)"' \
		-DCAIRND_HOST='"$(abspath $(BUILD)/cairnd-host)"' \
		-o $@ tests/unit/test_vm.c $(VM_SRCS) services/api/resources.c $(CONFIG_SRCS) \
		init/svcdef.c init/units.c $(FILEIO_LIB_SAN) $(INITCTL_LIB_SAN) $(RUNCMD_LIB_SAN) \
		-lcmocka $(VM_LIBS) -lyaml -lgnutls

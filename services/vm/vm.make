# services/vm/vm.make - the VM controller (services/vm/*.c, with lib/qmp) for cairnd, and its
# unit test. Included only from services/api/api.mk: the name ends in .make, not .mk, so the
# top Makefile's services/*/*.mk wildcard does not include it a second time.

BUILD ?= build
CC ?= gcc

# vm_controller.c: the adapter to cairnd's controller table (services/api/controller.h)
VM_CTRL_SRCS := services/vm/vm_controller.c
VM_SRCS := $(filter-out $(VM_CTRL_SRCS) services/vm/cairn-vm-stop.c,$(sort $(wildcard services/vm/*.c))) lib/qmp/qmp.c lib/qmp/qmp_commands.c lib/qmp/qmp_frame.c \
	$(OVSDB_SRC)
VM_HDRS := $(sort $(wildcard services/vm/*.h)) $(wildcard lib/qmp/*.h) services/api/resources.h \
	$(FILEIO_HDRS) $(INITCTL_HDRS) $(RUNCMD_HDRS)
VM_CFLAGS := -Iservices/vm -Ilib/qmp -Ilib/ovsdb -Iservices/api -Ilib/fileio -Ilib/initctl -Ilib/runcmd
VM_LIBS := -ljansson -lpthread

# cairn-vm-stop: the stop_command of every vm-NAME.service (shipped as /usr/sbin/cairn-vm-stop,
# next to cairnd); the sanitizer build sits next to $(BUILD)/cairnd-host, where cairnd-host
# looks for it.
VM_STOP_SRCS := services/vm/cairn-vm-stop.c lib/qmp/qmp.c lib/qmp/qmp_commands.c lib/qmp/qmp_frame.c
$(OUT)/cairn-vm-stop: $(VM_STOP_SRCS) $(wildcard lib/qmp/*.h)
	@mkdir -p $(OUT)
	$(CC) -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O2 -g -Ilib/qmp -o $@ $(VM_STOP_SRCS) -ljansson
$(BUILD)/cairn-vm-stop: $(VM_STOP_SRCS) $(wildcard lib/qmp/*.h)
	@mkdir -p $(BUILD)
	$(CC) -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O1 -g \
		-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined \
		-Ilib/qmp -o $@ $(VM_STOP_SRCS) -ljansson
$(BUILD)/cairnd-host: $(BUILD)/cairn-vm-stop
$(OUT)/cairnd: $(OUT)/cairn-vm-stop

# Runs the real $(BUILD)/init-host and qemu-system-x86_64 (TCG); needs root for the
# network namespace of the NIC test.
$(BUILD)/unit/test_vm: tests/unit/test_vm.c $(UNIT_HARNESS) $(VM_SRCS) $(VM_HDRS) services/api/resources.c \
		$(CONFIG_SRCS) $(CONFIG_HDRS) init/svcdef.c init/units.c init/svcdef.h $(BUILD)/init-host \
		$(BUILD)/cairnd-host $(FILEIO_LIB_SAN) $(INITCTL_LIB_SAN) $(RUNCMD_LIB_SAN) $(BUILD)/cairn-vm-stop
	@mkdir -p $(BUILD)/unit
	$(CC) -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O1 -g \
		-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined \
		$(VM_CFLAGS) -Ilib/config -Iinit \
		-DINIT_HOST_DEFAULT='"$(abspath $(BUILD)/init-host)"' \
		-DCAIRND_HOST='"$(abspath $(BUILD)/cairnd-host)"' \
		-DVM_STOP_HOST='"$(abspath $(BUILD)/cairn-vm-stop)"' \
		-Itests/unit -o $@ tests/unit/test_vm.c tests/unit/harness.c $(VM_SRCS) services/api/resources.c $(CONFIG_SRCS) \
		init/svcdef.c init/units.c $(FILEIO_LIB_SAN) $(INITCTL_LIB_SAN) $(RUNCMD_LIB_SAN) \
		-lcmocka $(VM_LIBS) -lyaml -lgnutls

# services/vm/vm.make - the VM controller (services/vm/*.c, with lib/qmp) for cairnd, and its
# unit test. Included only from services/api/api.mk: the name ends in .make, not .mk, so the
# top Makefile's services/*/*.mk wildcard does not include it a second time. Flags, object
# rules and the include flags of services/ (INC_services/vm) in mk/flags.mk and api.mk.

# vm_controller.c: the adapter to cairnd's controller table (services/api/controller.h)
VM_CTRL_SRCS := services/vm/vm_controller.c
VM_SRCS := $(filter-out $(VM_CTRL_SRCS) services/vm/cairn-vm-stop.c,$(sort $(wildcard services/vm/*.c)))
VM_HDRS := $(sort $(wildcard services/vm/*.h)) $(wildcard lib/qmp/*.h) services/api/resources.h \
	$(FILEIO_HDRS) $(INITCTL_HDRS) $(RUNCMD_HDRS)
VM_CFLAGS := -Iservices/vm -Ilib/qmp -Ilib/ovsdb -Iservices/api -Ilib/fileio -Ilib/initctl -Ilib/runcmd
VM_LIBS := -ljansson -lpthread

# cairn-vm-stop: the stop_command of every vm-NAME.service (shipped as /usr/sbin/cairn-vm-stop,
# next to cairnd); the sanitizer build sits next to $(BUILD)/cairnd-host, where cairnd-host
# looks for it.
$(OUT)/cairn-vm-stop: $(BUILD)/obj/rel/services/vm/cairn-vm-stop.o $(QMP_LIB)
	@mkdir -p $(@D)
	$(CC) -o $@ $(LINK_OBJS) -ljansson
$(BUILD)/cairn-vm-stop: $(BUILD)/obj/san/services/vm/cairn-vm-stop.o $(QMP_LIB_SAN)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_SAN) -o $@ $(LINK_OBJS) -ljansson
$(BUILD)/cairnd-host: $(BUILD)/cairn-vm-stop
$(OUT)/cairnd: $(OUT)/cairn-vm-stop

# Runs the real $(BUILD)/init-host and qemu-system-x86_64 (TCG); needs root for the
# network namespace of the NIC test.
$(BUILD)/obj/san/tests/unit/test_vm.o: DEFS := $(VM_CFLAGS) -Ilib/config -Iinit \
	-DINIT_HOST_DEFAULT='"$(abspath $(BUILD)/init-host)"' \
	-DCAIRND_HOST='"$(abspath $(BUILD)/cairnd-host)"' \
	-DVM_STOP_HOST='"$(abspath $(BUILD)/cairn-vm-stop)"'
$(BUILD)/unit/test_vm: $(BUILD)/obj/san/tests/unit/test_vm.o $(UNIT_HARNESS) \
		$(call OBJ,san,$(VM_SRCS) services/api/resources.c init/svcdef.c init/units.c) \
		$(CONFIG_LIB_SAN) $(QMP_LIB_SAN) $(OVSDB_LIB_SAN) $(INITCTL_LIB_SAN) $(RUNCMD_LIB_SAN) $(FILEIO_LIB_SAN) \
		$(BUILD)/init-host $(BUILD)/cairnd-host $(BUILD)/cairn-vm-stop
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_SAN) -o $@ $(LINK_OBJS) -lcmocka $(VM_LIBS) -lyaml -lgnutls

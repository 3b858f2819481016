# services/storage/storage.make - the storage controller (disks, pools, the state volume) for
# cairnd, and its unit test. Included only from services/api/api.mk, before
# services/network/network.make, which adds $(STORAGE_SRCS) to the controllers' sources (.make,
# not .mk: the top Makefile's services/*/*.mk wildcard does not include it a second time).
# Flags and object rules in mk/flags.mk; the include flags of services/ in api.mk.

STORAGE_SRCS := $(sort $(wildcard services/storage/*.c))
# What cairnd's apply handler (services/api/handlers_config.c) calls, for the API's test and
# fuzz builds that link the handlers without the controllers: storage_admit() and its helpers.
STORAGE_ADMIT_SRCS := services/storage/admit.c services/storage/disks.c services/storage/common.c
STORAGE_HDRS := $(sort $(wildcard services/storage/*.h))
# libblkid: probing and wiping signatures (util-linux; libblkid1 is in the image); libcurl:
# the fence-peer handler (fence.c) calls the peer's cairnd
STORAGE_LIBS := -lblkid -lcurl

# Runs the controller through the real runtime against loop devices on sparse files, with the
# host's lvm2 (root; skipped with the reason when loop devices or lvm2 are missing).
$(BUILD)/obj/san/tests/unit/test_storage.o: DEFS = $(SVC_INC) -Iservices/storage
$(BUILD)/unit/test_storage: $(BUILD)/obj/san/tests/unit/test_storage.o $(UNIT_HARNESS) \
		$(call OBJ,san,$(STORAGE_SRCS) services/api/runtime.c services/api/resources.c) \
		$(CONFIG_LIB_SAN) $(INITCTL_LIB_SAN) $(RUNCMD_LIB_SAN) $(FILEIO_LIB_SAN)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_SAN) -o $@ $(LINK_OBJS) -lcmocka $(STORAGE_LIBS) -ljansson -lyaml -lpthread

# The pure parts of Volumes (services/storage/drbd.c): the DRBD resource file and the parse of
# `drbdsetup events2`; host-tested and fuzzed. And the fence-peer handler (fence.c) against a
# peer that cannot be reached (a closed port on 127.0.0.1).
$(BUILD)/obj/san/tests/unit/test_drbd.o: DEFS = $(SVC_INC) -Iservices/storage
$(BUILD)/unit/test_drbd: $(BUILD)/obj/san/tests/unit/test_drbd.o \
		$(call OBJ,san,services/storage/drbd.c services/storage/fence.c) $(CONFIG_LIB_SAN) \
		$(FILEIO_LIB_SAN)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_SAN) -o $@ $(LINK_OBJS) -lcmocka -ljansson -lyaml -lcurl

FUZZ_NAMES += drbd_events
$(BUILD)/obj/fuzz/tests/fuzz/fuzz_drbd_events.o: DEFS = $(SVC_INC) -Iservices/storage
$(BUILD)/fuzz/fuzz_drbd_events: $(BUILD)/obj/fuzz/tests/fuzz/fuzz_drbd_events.o \
		$(call OBJ,fuzz,services/storage/drbd.c) $(CONFIG_LIB_FUZZ)
	@mkdir -p $(@D)
	$(CLANG) $(LDFLAGS_FUZZ) -o $@ $(LINK_OBJS) -ljansson -lyaml

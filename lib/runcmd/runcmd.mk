# lib/runcmd/runcmd.mk - run_command(): a helper program with a deadline: $(BUILD)/lib/libcairnruncmd.a,
# its ASan/UBSan twin $(BUILD)/lib/san/libcairnruncmd.a for the sanitizer builds (the archive
# template in mk/flags.mk), and the unit test. Included by the top Makefile before the
# services' and the tests' fragments.

RUNCMD_SRCS := $(sort $(wildcard lib/runcmd/*.c))
RUNCMD_HDRS := $(sort $(wildcard lib/runcmd/*.h))
RUNCMD_LINK :=
$(eval $(call LIBRARY,RUNCMD,runcmd))

$(BUILD)/obj/san/tests/unit/test_runcmd.o: DEFS := -Ilib/runcmd
$(BUILD)/unit/test_runcmd: $(BUILD)/obj/san/tests/unit/test_runcmd.o $(RUNCMD_LIB_SAN)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_SAN) -o $@ $(LINK_OBJS) -lcmocka $(RUNCMD_LINK)

.PHONY: runcmd
runcmd: $(RUNCMD_LIB) $(RUNCMD_LIB_SAN)

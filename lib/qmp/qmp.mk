# lib/qmp/qmp.mk - the QMP client: libcairnqmp.a (and its sanitizer and fuzz twins, the archive
# template in mk/flags.mk), its unit test (against real QEMU) and its fuzz harness. Included by
# the top Makefile before tests/unit/unit.mk and tests/fuzz/fuzz.mk; the explicit rules below
# take precedence over their pattern rules.

QMP_SRC := lib/qmp/qmp.c lib/qmp/qmp_commands.c lib/qmp/qmp_frame.c
QMP_SRCS := $(QMP_SRC)
QMP_HDR := $(wildcard lib/qmp/*.h)
QMP_LINK := -ljansson
$(eval $(call LIBRARY,QMP,qmp))

$(BUILD)/obj/san/tests/unit/test_qmp.o: DEFS := -Ilib/qmp
$(BUILD)/unit/test_qmp: $(BUILD)/obj/san/tests/unit/test_qmp.o $(UNIT_HARNESS) $(QMP_LIB_SAN)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_SAN) -o $@ $(LINK_OBJS) -lcmocka $(QMP_LINK)

FUZZ_NAMES += qmp
$(BUILD)/obj/fuzz/tests/fuzz/fuzz_qmp.o: DEFS := -Ilib/qmp
$(BUILD)/fuzz/fuzz_qmp: $(BUILD)/obj/fuzz/tests/fuzz/fuzz_qmp.o $(QMP_LIB_FUZZ)
	@mkdir -p $(@D)
	$(CLANG) $(LDFLAGS_FUZZ) -o $@ $(LINK_OBJS) $(QMP_LINK)

.PHONY: qmp
qmp: $(QMP_LIB)

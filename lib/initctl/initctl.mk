# lib/initctl/initctl.mk - the client of PID 1's control socket and its reply parsers:
# $(BUILD)/lib/libcairninitctl.a, its ASan/UBSan twin $(BUILD)/lib/san/libcairninitctl.a for the
# sanitizer builds (the archive template in mk/flags.mk), and the unit test (against the real
# $(BUILD)/init-host). Included by the top Makefile before the services' and the tests'
# fragments. Link with -ljansson.

INITCTL_SRCS := $(sort $(wildcard lib/initctl/*.c))
INITCTL_HDRS := $(sort $(wildcard lib/initctl/*.h))
INITCTL_LINK := -ljansson
$(eval $(call LIBRARY,INITCTL,initctl))

$(BUILD)/obj/san/tests/unit/test_initctl.o: DEFS := -Ilib/initctl \
	-DINIT_HOST_DEFAULT='"$(abspath $(BUILD)/init-host)"'
$(BUILD)/unit/test_initctl: $(BUILD)/obj/san/tests/unit/test_initctl.o $(UNIT_HARNESS) \
		$(INITCTL_LIB_SAN) $(BUILD)/init-host
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_SAN) -o $@ $(LINK_OBJS) -lcmocka $(INITCTL_LINK)

.PHONY: initctl
initctl: $(INITCTL_LIB) $(INITCTL_LIB_SAN)

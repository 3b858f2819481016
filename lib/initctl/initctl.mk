# lib/initctl/initctl.mk - the client of PID 1's control socket and its reply parsers:
# $(BUILD)/lib/libcairninitctl.a, its ASan/UBSan twin $(BUILD)/lib/san/libcairninitctl.a for the
# sanitizer builds, and the unit test (against the real $(BUILD)/init-host). Included by the
# top Makefile before the services' and the tests' fragments. Link with -ljansson.

BUILD ?= build
CC ?= gcc

INITCTL_SRCS := $(sort $(wildcard lib/initctl/*.c))
INITCTL_HDRS := $(sort $(wildcard lib/initctl/*.h))
INITCTL_CFLAGS := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror
INITCTL_SAN := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
INITCTL_LIB := $(BUILD)/lib/libcairninitctl.a
INITCTL_LIB_SAN := $(BUILD)/lib/san/libcairninitctl.a
INITCTL_LINK := -ljansson

$(BUILD)/lib/initctl/%.o: lib/initctl/%.c $(INITCTL_HDRS)
	@mkdir -p $(@D)
	$(CC) $(INITCTL_CFLAGS) -O2 -g -c -o $@ $<
$(BUILD)/lib/san/initctl/%.o: lib/initctl/%.c $(INITCTL_HDRS)
	@mkdir -p $(@D)
	$(CC) $(INITCTL_CFLAGS) $(INITCTL_SAN) -c -o $@ $<

$(INITCTL_LIB): $(patsubst lib/initctl/%.c,$(BUILD)/lib/initctl/%.o,$(INITCTL_SRCS))
$(INITCTL_LIB_SAN): $(patsubst lib/initctl/%.c,$(BUILD)/lib/san/initctl/%.o,$(INITCTL_SRCS))
$(INITCTL_LIB) $(INITCTL_LIB_SAN):
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/unit/test_initctl: tests/unit/test_initctl.c $(UNIT_HARNESS) $(INITCTL_HDRS) $(INITCTL_LIB_SAN) $(BUILD)/init-host
	@mkdir -p $(BUILD)/unit
	$(CC) $(INITCTL_CFLAGS) $(INITCTL_SAN) -Ilib/initctl \
		-Itests/unit -DINIT_HOST_DEFAULT='"$(abspath $(BUILD)/init-host)"' -o $@ $< tests/unit/harness.c $(INITCTL_LIB_SAN) -lcmocka -ljansson $(INITCTL_LINK)

.PHONY: initctl
initctl: $(INITCTL_LIB) $(INITCTL_LIB_SAN)

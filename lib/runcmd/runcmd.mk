# lib/runcmd/runcmd.mk - run_command(): a helper program with a deadline: $(BUILD)/lib/libcairnruncmd.a,
# its ASan/UBSan twin $(BUILD)/lib/san/libcairnruncmd.a for the sanitizer builds, and the unit
# test. Included by the top Makefile before the services' and the tests' fragments.

BUILD ?= build
CC ?= gcc

RUNCMD_SRCS := $(sort $(wildcard lib/runcmd/*.c))
RUNCMD_HDRS := $(sort $(wildcard lib/runcmd/*.h))
RUNCMD_CFLAGS := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror
RUNCMD_SAN := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
RUNCMD_LIB := $(BUILD)/lib/libcairnruncmd.a
RUNCMD_LIB_SAN := $(BUILD)/lib/san/libcairnruncmd.a
RUNCMD_LINK := 

$(BUILD)/lib/runcmd/%.o: lib/runcmd/%.c $(RUNCMD_HDRS)
	@mkdir -p $(@D)
	$(CC) $(RUNCMD_CFLAGS) -O2 -g -c -o $@ $<
$(BUILD)/lib/san/runcmd/%.o: lib/runcmd/%.c $(RUNCMD_HDRS)
	@mkdir -p $(@D)
	$(CC) $(RUNCMD_CFLAGS) $(RUNCMD_SAN) -c -o $@ $<

$(RUNCMD_LIB): $(patsubst lib/runcmd/%.c,$(BUILD)/lib/runcmd/%.o,$(RUNCMD_SRCS))
$(RUNCMD_LIB_SAN): $(patsubst lib/runcmd/%.c,$(BUILD)/lib/san/runcmd/%.o,$(RUNCMD_SRCS))
$(RUNCMD_LIB) $(RUNCMD_LIB_SAN):
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/unit/test_runcmd: tests/unit/test_runcmd.c $(RUNCMD_HDRS) $(RUNCMD_LIB_SAN)
	@mkdir -p $(BUILD)/unit
	$(CC) $(RUNCMD_CFLAGS) $(RUNCMD_SAN) -Ilib/runcmd -o $@ $< $(RUNCMD_LIB_SAN) -lcmocka $(RUNCMD_LINK)

.PHONY: runcmd
runcmd: $(RUNCMD_LIB) $(RUNCMD_LIB_SAN)

# lib/cmdline/cmdline.mk - the kernel command line parser (pure, no I/O), used by PID 1 and
# cairnd: $(BUILD)/lib/libcairncmdline.a (gcc), $(BUILD)/lib/san/libcairncmdline.a (ASan/UBSan,
# for the unit tests) and $(BUILD)/lib/musl/libcairncmdline.a (musl-gcc, for the static PID 1).
# Included by the top Makefile before init's, the services' and the tests' fragments.

BUILD ?= build
CC ?= gcc
MUSLCC ?= musl-gcc

CMDLINE_SRCS := lib/cmdline/cmdline.c
CMDLINE_HDRS := lib/cmdline/cmdline.h
CMDLINE_CFLAGS := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror
CMDLINE_SAN := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
CMDLINE_LIB := $(BUILD)/lib/libcairncmdline.a
CMDLINE_LIB_SAN := $(BUILD)/lib/san/libcairncmdline.a
CMDLINE_LIB_MUSL := $(BUILD)/lib/musl/libcairncmdline.a

$(BUILD)/lib/cmdline/%.o: lib/cmdline/%.c $(CMDLINE_HDRS)
	@mkdir -p $(@D)
	$(CC) $(CMDLINE_CFLAGS) -O2 -g -c -o $@ $<
$(BUILD)/lib/san/cmdline/%.o: lib/cmdline/%.c $(CMDLINE_HDRS)
	@mkdir -p $(@D)
	$(CC) $(CMDLINE_CFLAGS) $(CMDLINE_SAN) -c -o $@ $<
$(BUILD)/lib/musl/cmdline/%.o: lib/cmdline/%.c $(CMDLINE_HDRS)
	@mkdir -p $(@D)
	$(MUSLCC) $(CMDLINE_CFLAGS) -Os -c -o $@ $<

$(CMDLINE_LIB): $(patsubst lib/cmdline/%.c,$(BUILD)/lib/cmdline/%.o,$(CMDLINE_SRCS))
$(CMDLINE_LIB_SAN): $(patsubst lib/cmdline/%.c,$(BUILD)/lib/san/cmdline/%.o,$(CMDLINE_SRCS))
$(CMDLINE_LIB_MUSL): $(patsubst lib/cmdline/%.c,$(BUILD)/lib/musl/cmdline/%.o,$(CMDLINE_SRCS))
$(CMDLINE_LIB) $(CMDLINE_LIB_SAN) $(CMDLINE_LIB_MUSL):
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

.PHONY: cmdline
cmdline: $(CMDLINE_LIB) $(CMDLINE_LIB_SAN) $(CMDLINE_LIB_MUSL)

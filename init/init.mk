# init/init.mk - the PID 1 binary: $(OUT)/init (static, musl) and $(BUILD)/init-host
# (glibc, ASan/UBSan) used by the supervisor tests. Included by the top Makefile after
# lib/*/*.mk: PID 1 links lib/cmdline (its musl build for $(OUT)/init).

OUT ?= out
BUILD ?= build
CC ?= gcc
MUSLCC ?= musl-gcc

INIT_SRCS := $(sort $(wildcard init/*.c))
INIT_HDRS := $(sort $(wildcard init/*.h))
INIT_CFLAGS := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Ilib/cmdline
INIT_SAN := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

# musl-gcc does not search the kernel UAPI headers: give it a folder of links to them.
INIT_UAPI := $(BUILD)/musl-uapi
INIT_ASM := $(firstword $(wildcard /usr/include/$(shell $(CC) -dumpmachine)/asm /usr/include/asm))

$(INIT_UAPI)/.stamp:
	@mkdir -p $(INIT_UAPI)
	ln -sfn /usr/include/linux $(INIT_UAPI)/linux
	ln -sfn /usr/include/asm-generic $(INIT_UAPI)/asm-generic
	ln -sfn $(INIT_ASM) $(INIT_UAPI)/asm
	@touch $@

$(OUT)/init: $(INIT_SRCS) $(INIT_HDRS) $(CMDLINE_HDRS) $(CMDLINE_LIB_MUSL) $(INIT_UAPI)/.stamp
	@mkdir -p $(OUT)
	$(MUSLCC) $(INIT_CFLAGS) -Os -static -isystem $(INIT_UAPI) -o $@ $(INIT_SRCS) $(CMDLINE_LIB_MUSL)
	strip $@

$(BUILD)/init-host: $(INIT_SRCS) $(INIT_HDRS) $(CMDLINE_HDRS) $(CMDLINE_LIB_SAN)
	@mkdir -p $(BUILD)
	$(CC) $(INIT_CFLAGS) -O1 -g $(INIT_SAN) -o $@ $(INIT_SRCS) $(CMDLINE_LIB_SAN)

# lib/cmdline/cmdline.mk - the kernel command line parser (pure, no I/O), used by PID 1 and
# cairnd: $(BUILD)/lib/libcairncmdline.a (gcc), $(BUILD)/lib/san/libcairncmdline.a (ASan/UBSan,
# for the unit tests), $(BUILD)/lib/musl/libcairncmdline.a (musl-gcc, for the static PID 1) and
# $(BUILD)/lib/fuzz/libcairncmdline.a (clang, for the fuzz harnesses); flags and the archive
# template in mk/flags.mk. Included by the top Makefile before init's, the services' and the
# tests' fragments.

CMDLINE_SRCS := lib/cmdline/cmdline.c
CMDLINE_HDRS := lib/cmdline/cmdline.h
$(eval $(call LIBRARY,CMDLINE,cmdline))

.PHONY: cmdline
cmdline: $(CMDLINE_LIB) $(CMDLINE_LIB_SAN) $(CMDLINE_LIB_MUSL)

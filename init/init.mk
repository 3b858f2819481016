# init/init.mk - the PID 1 binary: $(OUT)/init (static, musl) and $(BUILD)/init-host
# (glibc, ASan/UBSan) used by the supervisor tests; flags and object rules in mk/flags.mk.
# Included by the top Makefile after lib/*/*.mk: PID 1 links lib/cmdline (its musl build for
# $(OUT)/init).

INIT_SRCS := $(sort $(wildcard init/*.c))
INIT_HDRS := $(sort $(wildcard init/*.h))
INC_init := -Ilib/cmdline

$(OUT)/init: $(call OBJ,musl,$(INIT_SRCS)) $(CMDLINE_LIB_MUSL)
	@mkdir -p $(@D)
	$(MUSLCC) -static -o $@ $(LINK_OBJS)
	strip $@

$(BUILD)/init-host: $(call OBJ,san,$(INIT_SRCS)) $(CMDLINE_LIB_SAN)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_SAN) -o $@ $(LINK_OBJS)

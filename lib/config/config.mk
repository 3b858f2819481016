# lib/config/config.mk - the config model and strict decoder: $(BUILD)/lib/libcairnconfig.a
# (and its sanitizer and fuzz twins, the archive template in mk/flags.mk), the
# $(BUILD)/cairn-validate tool, the unit test and the fuzz harness. Included by the top
# Makefile before tests/unit/unit.mk and tests/fuzz/fuzz.mk.

CONFIG_SRCS := $(filter-out lib/config/cairn-validate.c,$(sort $(wildcard lib/config/*.c)))
CONFIG_HDRS := $(sort $(wildcard lib/config/*.h))
CONFIG_LIBS := -lyaml -ljansson
$(eval $(call LIBRARY,CONFIG,config))

$(BUILD)/cairn-validate: $(BUILD)/obj/rel/lib/config/cairn-validate.o $(CONFIG_LIB)
	$(CC) -o $@ $(LINK_OBJS) $(CONFIG_LIBS)

$(BUILD)/obj/san/tests/unit/test_config.o: DEFS := -Ilib/config \
	-DCONFIG_EXAMPLE='"$(abspath lib/config/example.yaml)"' \
	-DCONFIG_README='"$(abspath lib/config/README.md)"'
$(BUILD)/unit/test_config: $(BUILD)/obj/san/tests/unit/test_config.o $(CONFIG_LIB_SAN)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_SAN) -o $@ $(LINK_OBJS) -lcmocka $(CONFIG_LIBS)

FUZZ_NAMES += config
$(BUILD)/obj/fuzz/tests/fuzz/fuzz_config.o: DEFS := -Ilib/config
$(BUILD)/fuzz/fuzz_config: $(BUILD)/obj/fuzz/tests/fuzz/fuzz_config.o $(CONFIG_LIB_FUZZ)
	@mkdir -p $(@D)
	$(CLANG) $(LDFLAGS_FUZZ) -o $@ $(LINK_OBJS) $(CONFIG_LIBS)

.PHONY: config
config: $(CONFIG_LIB) $(BUILD)/cairn-validate

# The decoder against libyaml's parse alone, on the worst shapes (tests/bench/bench_decode.c):
# built optimized like cairnd, run by `make bench-decode`; `make bench` prints its rows.
$(BUILD)/obj/rel/tests/bench/bench_decode.o: DEFS := -Ilib/config
$(BUILD)/bench/bench_decode: $(BUILD)/obj/rel/tests/bench/bench_decode.o $(CONFIG_LIB)
	@mkdir -p $(@D)
	$(CC) -o $@ $(LINK_OBJS) $(CONFIG_LIBS)

.PHONY: bench-decode
bench-decode: $(BUILD)/bench/bench_decode
	$(BUILD)/bench/bench_decode
bench: $(BUILD)/bench/bench_decode

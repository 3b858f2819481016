# lib/config/config.mk - the config model and strict decoder: $(BUILD)/lib/libcairnconfig.a,
# the $(BUILD)/cairn-validate tool, the unit test and the fuzz harness. Included by the top
# Makefile before tests/unit/unit.mk and tests/fuzz/fuzz.mk.

BUILD ?= build
CC ?= gcc
CLANG ?= clang

CONFIG_SRCS := $(filter-out lib/config/cairn-validate.c,$(sort $(wildcard lib/config/*.c)))
CONFIG_HDRS := $(sort $(wildcard lib/config/*.h))
CONFIG_OBJS := $(patsubst lib/config/%.c,$(BUILD)/lib/config/%.o,$(CONFIG_SRCS))
CONFIG_LIBS := -lyaml -ljansson
CONFIG_CFLAGS := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O2 -g
CONFIG_SAN := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

$(BUILD)/lib/config/%.o: lib/config/%.c $(CONFIG_HDRS)
	@mkdir -p $(BUILD)/lib/config
	$(CC) $(CONFIG_CFLAGS) -c -o $@ $<

$(BUILD)/lib/libcairnconfig.a: $(CONFIG_OBJS)
	@mkdir -p $(BUILD)/lib
	rm -f $@
	ar rcs $@ $^

$(BUILD)/cairn-validate: lib/config/cairn-validate.c $(BUILD)/lib/libcairnconfig.a
	$(CC) $(CONFIG_CFLAGS) -o $@ $< $(BUILD)/lib/libcairnconfig.a $(CONFIG_LIBS)

$(BUILD)/unit/test_config: tests/unit/test_config.c $(CONFIG_SRCS) $(CONFIG_HDRS)
	@mkdir -p $(BUILD)/unit
	$(CC) -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O1 -g $(CONFIG_SAN) -Ilib/config \
		-DCONFIG_EXAMPLE='"$(abspath lib/config/example.yaml)"' \
		-DCONFIG_README='"$(abspath lib/config/README.md)"' \
		-o $@ tests/unit/test_config.c $(CONFIG_SRCS) -lcmocka $(CONFIG_LIBS)

FUZZ_NAMES += config
$(BUILD)/fuzz/fuzz_config: tests/fuzz/fuzz_config.c $(CONFIG_SRCS) $(CONFIG_HDRS)
	@mkdir -p $(BUILD)/fuzz
	$(CLANG) -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=undefined -Ilib/config -o $@ tests/fuzz/fuzz_config.c $(CONFIG_SRCS) $(CONFIG_LIBS)

.PHONY: config
config: $(BUILD)/lib/libcairnconfig.a $(BUILD)/cairn-validate

# The decoder against libyaml's parse alone, on the worst shapes (tests/bench/bench_decode.c):
# built optimized like cairnd, run by `make bench-decode`; `make bench` prints its rows.
$(BUILD)/bench/bench_decode: tests/bench/bench_decode.c $(BUILD)/lib/libcairnconfig.a
	@mkdir -p $(BUILD)/bench
	$(CC) $(CONFIG_CFLAGS) -o $@ $< $(BUILD)/lib/libcairnconfig.a $(CONFIG_LIBS)

.PHONY: bench-decode
bench-decode: $(BUILD)/bench/bench_decode
	$(BUILD)/bench/bench_decode
bench: $(BUILD)/bench/bench_decode

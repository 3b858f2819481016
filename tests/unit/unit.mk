# tests/unit/unit.mk - `make unit`: cmocka unit tests under ASan/UBSan. Pure parsers are
# linked in directly; test_supervisor drives the real $(BUILD)/init-host binary.

BUILD ?= build
CC ?= gcc

UNIT_TESTS := $(patsubst tests/unit/%.c,%,$(sort $(wildcard tests/unit/test_*.c)))
UNIT_LIB := init/cmdline.c init/control.c init/logring.c init/modindex.c init/svcdef.c init/units.c
UNIT_CFLAGS := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O1 -g \
	-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

$(BUILD)/unit/%: tests/unit/%.c $(UNIT_LIB) $(wildcard init/*.h)
	@mkdir -p $(BUILD)/unit
	$(CC) $(UNIT_CFLAGS) -o $@ $< $(UNIT_LIB) -lcmocka

.PHONY: unit
unit: $(addprefix $(BUILD)/unit/,$(UNIT_TESTS)) $(BUILD)/init-host
	@failed=""; for t in $(UNIT_TESTS); do \
		echo "== $$t"; \
		INIT_HOST=$(abspath $(BUILD)/init-host) ASAN_OPTIONS=detect_leaks=1 \
			$(BUILD)/unit/$$t || failed="$$failed $$t"; \
	done; \
	if [ -n "$$failed" ]; then echo "unit: FAILED:$$failed"; exit 1; fi; \
	echo "unit: all $(words $(UNIT_TESTS)) test programs passed"

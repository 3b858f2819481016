# lib/qmp/qmp.mk - the QMP client: libcairnqmp.a, its unit test (against real QEMU) and its
# fuzz harness. Included by the top Makefile before tests/unit/unit.mk and tests/fuzz/fuzz.mk;
# the explicit rules below take precedence over their pattern rules.

BUILD ?= build
CC ?= gcc
CLANG ?= clang

QMP_SRC := lib/qmp/qmp.c lib/qmp/qmp_commands.c lib/qmp/qmp_frame.c
QMP_HDR := $(wildcard lib/qmp/*.h)
QMP_CFLAGS := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O2 -g -fPIC
QMP_TEST_CFLAGS := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O1 -g \
	-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
QMP_FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=undefined

$(BUILD)/lib/qmp/%.o: lib/qmp/%.c $(QMP_HDR)
	@mkdir -p $(BUILD)/lib/qmp
	$(CC) $(QMP_CFLAGS) -c -o $@ $<

$(BUILD)/lib/libcairnqmp.a: $(patsubst lib/qmp/%.c,$(BUILD)/lib/qmp/%.o,$(QMP_SRC))
	@mkdir -p $(BUILD)/lib
	rm -f $@ && ar rcs $@ $^

$(BUILD)/unit/test_qmp: tests/unit/test_qmp.c $(QMP_SRC) $(QMP_HDR)
	@mkdir -p $(BUILD)/unit
	$(CC) $(QMP_TEST_CFLAGS) -Ilib/qmp -o $@ $< $(QMP_SRC) -lcmocka -ljansson

FUZZ_NAMES += qmp
$(BUILD)/fuzz/fuzz_qmp: tests/fuzz/fuzz_qmp.c $(QMP_SRC) $(QMP_HDR)
	@mkdir -p $(BUILD)/fuzz
	$(CLANG) $(QMP_FUZZ_CFLAGS) -Ilib/qmp -o $@ $< $(QMP_SRC) -ljansson

.PHONY: qmp
qmp: $(BUILD)/lib/libcairnqmp.a

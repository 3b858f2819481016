# lib/ovsdb/ovsdb.mk - the OVSDB client: libcairnovsdb.a, its unit test (against a real
# ovsdb-server) and its fuzz harness. Included by the top Makefile before tests/unit/unit.mk and
# tests/fuzz/fuzz.mk; the explicit rules below take precedence over their pattern rules.

BUILD ?= build
CC ?= gcc
CLANG ?= clang

OVSDB_SRC := lib/ovsdb/ovsdb.c lib/ovsdb/ovsdb_cache.c lib/ovsdb/ovsdb_proto.c lib/ovsdb/ovsdb_txn.c
OVSDB_HDR := $(wildcard lib/ovsdb/*.h)
OVSDB_CFLAGS := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O2 -g -fPIC
OVSDB_TEST_CFLAGS := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O1 -g \
	-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
OVSDB_FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=undefined

$(BUILD)/lib/ovsdb/%.o: lib/ovsdb/%.c $(OVSDB_HDR)
	@mkdir -p $(BUILD)/lib/ovsdb
	$(CC) $(OVSDB_CFLAGS) -c -o $@ $<

$(BUILD)/lib/libcairnovsdb.a: $(patsubst lib/ovsdb/%.c,$(BUILD)/lib/ovsdb/%.o,$(OVSDB_SRC))
	@mkdir -p $(BUILD)/lib
	rm -f $@ && ar rcs $@ $^

$(BUILD)/unit/test_ovsdb: tests/unit/test_ovsdb.c $(OVSDB_SRC) $(OVSDB_HDR)
	@mkdir -p $(BUILD)/unit
	$(CC) $(OVSDB_TEST_CFLAGS) -o $@ $< $(OVSDB_SRC) -lcmocka -ljansson

FUZZ_NAMES += ovsdb
$(BUILD)/fuzz/fuzz_ovsdb: tests/fuzz/fuzz_ovsdb.c $(OVSDB_SRC) $(OVSDB_HDR)
	@mkdir -p $(BUILD)/fuzz
	$(CLANG) $(OVSDB_FUZZ_CFLAGS) -o $@ $< $(OVSDB_SRC) -ljansson

.PHONY: ovsdb
ovsdb: $(BUILD)/lib/libcairnovsdb.a

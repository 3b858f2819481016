# lib/ovsdb/ovsdb.mk - the OVSDB client: libcairnovsdb.a (and its sanitizer and fuzz twins, the
# archive template in mk/flags.mk), its unit test (against a real ovsdb-server) and its fuzz
# harness. Included by the top Makefile before tests/unit/unit.mk and tests/fuzz/fuzz.mk; the
# explicit rules below take precedence over their pattern rules.

OVSDB_SRC := lib/ovsdb/ovsdb.c lib/ovsdb/ovsdb_cache.c lib/ovsdb/ovsdb_proto.c lib/ovsdb/ovsdb_txn.c
OVSDB_SRCS := $(OVSDB_SRC)
OVSDB_HDR := $(wildcard lib/ovsdb/*.h)
OVSDB_LINK := -ljansson
$(eval $(call LIBRARY,OVSDB,ovsdb))

$(BUILD)/obj/san/tests/unit/test_ovsdb.o: DEFS := -Ilib/ovsdb
$(BUILD)/unit/test_ovsdb: $(BUILD)/obj/san/tests/unit/test_ovsdb.o $(UNIT_HARNESS) $(OVSDB_LIB_SAN)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_SAN) -o $@ $(LINK_OBJS) -lcmocka $(OVSDB_LINK)

FUZZ_NAMES += ovsdb
$(BUILD)/obj/fuzz/tests/fuzz/fuzz_ovsdb.o: DEFS := -Ilib/ovsdb
$(BUILD)/fuzz/fuzz_ovsdb: $(BUILD)/obj/fuzz/tests/fuzz/fuzz_ovsdb.o $(OVSDB_LIB_FUZZ)
	@mkdir -p $(@D)
	$(CLANG) $(LDFLAGS_FUZZ) -o $@ $(LINK_OBJS) $(OVSDB_LINK)

.PHONY: ovsdb
ovsdb: $(OVSDB_LIB)

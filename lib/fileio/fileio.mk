# lib/fileio/fileio.mk - the bounded read and the atomic write: $(BUILD)/lib/libcairnfileio.a,
# its ASan/UBSan twin $(BUILD)/lib/san/libcairnfileio.a for the sanitizer builds (the archive
# template in mk/flags.mk), and the unit test. Included by the top Makefile before the
# services' and the tests' fragments.

FILEIO_SRCS := $(sort $(wildcard lib/fileio/*.c))
FILEIO_HDRS := $(sort $(wildcard lib/fileio/*.h))
FILEIO_LINK :=
$(eval $(call LIBRARY,FILEIO,fileio))

$(BUILD)/obj/san/tests/unit/test_fileio.o: DEFS := -Ilib/fileio
$(BUILD)/unit/test_fileio: $(BUILD)/obj/san/tests/unit/test_fileio.o $(FILEIO_LIB_SAN)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_SAN) -o $@ $(LINK_OBJS) -lcmocka $(FILEIO_LINK)

.PHONY: fileio
fileio: $(FILEIO_LIB) $(FILEIO_LIB_SAN)

# lib/fileio/fileio.mk - the bounded read and the atomic write: $(BUILD)/lib/libcairnfileio.a,
# its ASan/UBSan twin $(BUILD)/lib/san/libcairnfileio.a for the sanitizer builds, and the unit
# test. Included by the top Makefile before the services' and the tests' fragments.

BUILD ?= build
CC ?= gcc

FILEIO_SRCS := $(sort $(wildcard lib/fileio/*.c))
FILEIO_HDRS := $(sort $(wildcard lib/fileio/*.h))
FILEIO_CFLAGS := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror
FILEIO_SAN := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
FILEIO_LIB := $(BUILD)/lib/libcairnfileio.a
FILEIO_LIB_SAN := $(BUILD)/lib/san/libcairnfileio.a
FILEIO_LINK := 

$(BUILD)/lib/fileio/%.o: lib/fileio/%.c $(FILEIO_HDRS)
	@mkdir -p $(@D)
	$(CC) $(FILEIO_CFLAGS) -O2 -g -c -o $@ $<
$(BUILD)/lib/san/fileio/%.o: lib/fileio/%.c $(FILEIO_HDRS)
	@mkdir -p $(@D)
	$(CC) $(FILEIO_CFLAGS) $(FILEIO_SAN) -c -o $@ $<

$(FILEIO_LIB): $(patsubst lib/fileio/%.c,$(BUILD)/lib/fileio/%.o,$(FILEIO_SRCS))
$(FILEIO_LIB_SAN): $(patsubst lib/fileio/%.c,$(BUILD)/lib/san/fileio/%.o,$(FILEIO_SRCS))
$(FILEIO_LIB) $(FILEIO_LIB_SAN):
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/unit/test_fileio: tests/unit/test_fileio.c $(FILEIO_HDRS) $(FILEIO_LIB_SAN)
	@mkdir -p $(BUILD)/unit
	$(CC) $(FILEIO_CFLAGS) $(FILEIO_SAN) -Ilib/fileio -o $@ $< $(FILEIO_LIB_SAN) -lcmocka $(FILEIO_LINK)

.PHONY: fileio
fileio: $(FILEIO_LIB) $(FILEIO_LIB_SAN)

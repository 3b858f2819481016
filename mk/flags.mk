# mk/flags.mk - the compiler flags, defined once, and the generic rules every fragment uses.
# Included by the top Makefile before every other fragment.
#
# Four builds of the C sources, each object compiled once into $(BUILD)/obj/VARIANT/PATH.o
# by one pattern rule per variant, with -MMD -MP dependency files (a header change rebuilds
# what includes it):
#   rel   gcc, $(CFLAGS_REL): out/cairnd, out/cairnctl, out/cairn-vm-stop, the tools
#   san   gcc, $(CFLAGS_SAN) (ASan/UBSan): the *-host binaries and the unit tests
#   musl  musl-gcc, $(CFLAGS_MUSL): the static PID 1 (out/init)
#   fuzz  clang, $(CFLAGS_FUZZ) (libFuzzer coverage + ASan/UBSan): the fuzz harnesses
# A source's include flags come from INC_<its folder> (e.g. INC_services/api); a test's own
# defines from a target-specific DEFS on its object. Each library under lib/ makes its four
# archives with $(call LIBRARY,VAR,name) (see lib/*/*.mk); a variant is built only when
# something links it.

CSTD  := -std=c11 -D_GNU_SOURCE
CWARN := -Wall -Wextra -Werror
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
FUZZ_SAN  := address,undefined -fno-sanitize-recover=undefined

CFLAGS_REL  := $(CSTD) $(CWARN) -O2 -g
CFLAGS_SAN  := $(CSTD) $(CWARN) -O1 -g $(SAN_FLAGS)
CFLAGS_MUSL := $(CSTD) $(CWARN) -Os
CFLAGS_FUZZ := $(CSTD) -O1 -g -fsanitize=fuzzer-no-link,$(FUZZ_SAN)
# Linking: the sanitizer runtimes (san) and libFuzzer's main (fuzz).
LDFLAGS_SAN  := $(SAN_FLAGS)
LDFLAGS_FUZZ := -fsanitize=fuzzer,$(FUZZ_SAN)
DEPFLAGS := -MMD -MP

# musl-gcc does not search the kernel UAPI headers: give it a folder of links to them.
INIT_UAPI := $(BUILD)/musl-uapi
INIT_ASM := $(firstword $(wildcard /usr/include/$(shell $(CC) -dumpmachine)/asm /usr/include/asm))
$(INIT_UAPI)/.stamp:
	@mkdir -p $(INIT_UAPI)
	ln -sfn /usr/include/linux $(INIT_UAPI)/linux
	ln -sfn /usr/include/asm-generic $(INIT_UAPI)/asm-generic
	ln -sfn $(INIT_ASM) $(INIT_UAPI)/asm
	@touch $@

# $(call uniq,WORDS): WORDS without repeats, in first-seen order (include flags).
uniq = $(if $(1),$(firstword $(1)) $(call uniq,$(filter-out $(firstword $(1)),$(1))))

# $(call OBJ,VARIANT,SOURCES): the objects of SOURCES in VARIANT.
OBJ = $(patsubst %.c,$(BUILD)/obj/$(1)/%.o,$(2))

$(BUILD)/obj/rel/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_REL) $(DEPFLAGS) $(INC_$(<D)) $(DEFS) -c -o $@ $<
$(BUILD)/obj/san/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_SAN) $(DEPFLAGS) $(INC_$(<D)) $(DEFS) -c -o $@ $<
$(BUILD)/obj/musl/%.o: %.c | $(INIT_UAPI)/.stamp
	@mkdir -p $(@D)
	$(MUSLCC) $(CFLAGS_MUSL) $(DEPFLAGS) -isystem $(INIT_UAPI) $(INC_$(<D)) $(DEFS) -c -o $@ $<
$(BUILD)/obj/fuzz/%.o: %.c
	@mkdir -p $(@D)
	$(CLANG) $(CFLAGS_FUZZ) $(DEPFLAGS) $(INC_$(<D)) $(DEFS) -c -o $@ $<

# $(call LIBRARY,VAR,name): lib/name's archives from $(VAR_SRCS): VAR_LIB
# ($(BUILD)/lib/libcairnname.a), VAR_LIB_SAN ($(BUILD)/lib/san/...), VAR_LIB_MUSL
# ($(BUILD)/lib/musl/...) and VAR_LIB_FUZZ ($(BUILD)/lib/fuzz/...).
define LIBRARY
$(1)_LIB      := $(BUILD)/lib/libcairn$(2).a
$(1)_LIB_SAN  := $(BUILD)/lib/san/libcairn$(2).a
$(1)_LIB_MUSL := $(BUILD)/lib/musl/libcairn$(2).a
$(1)_LIB_FUZZ := $(BUILD)/lib/fuzz/libcairn$(2).a
$(BUILD)/lib/libcairn$(2).a: $(call OBJ,rel,$($(1)_SRCS))
$(BUILD)/lib/san/libcairn$(2).a: $(call OBJ,san,$($(1)_SRCS))
$(BUILD)/lib/musl/libcairn$(2).a: $(call OBJ,musl,$($(1)_SRCS))
$(BUILD)/lib/fuzz/libcairn$(2).a: $(call OBJ,fuzz,$($(1)_SRCS))
endef
$(BUILD)/lib/%.a:
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

# Link recipes: the objects, then the archives, in the order the prerequisites name them;
# the rule's recipe adds the system libraries.
LINK_OBJS = $(filter %.o,$^) $(filter %.a,$^)

# The daemon-level unit tests' shared helpers (tests/unit/harness.c, rule in tests/unit/unit.mk).
UNIT_HARNESS := $(BUILD)/unit/harness.o

# Keep the objects only a pattern rule names (a test's own object in unit.mk and fuzz.mk):
# make would delete them as intermediate files and rebuild them next time.
.PRECIOUS: $(BUILD)/obj/%.o

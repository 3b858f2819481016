# tests/fuzz/fuzz.mk - `make fuzz`: libFuzzer harnesses for the pure parsers (cmdline,
# svcdef, control), each run for FUZZ_SECONDS from the seed corpus in corpus/NAME/.

FUZZ_SECONDS ?= 30

# Other fragments (lib/*/*.mk, included first) add their own names and explicit build rules.
# Flags (clang, libFuzzer + ASan/UBSan) and object rules in mk/flags.mk.
FUZZ_NAMES += cmdline svcdef control
FUZZ_LIB := init/control.c init/svcdef.c init/units.c
INC_tests/fuzz := -Iinit -Ilib/cmdline

$(BUILD)/fuzz/fuzz_%: $(BUILD)/obj/fuzz/tests/fuzz/fuzz_%.o $(call OBJ,fuzz,$(FUZZ_LIB)) $(CMDLINE_LIB_FUZZ)
	@mkdir -p $(@D)
	$(CLANG) $(LDFLAGS_FUZZ) -o $@ $(LINK_OBJS)

.PHONY: fuzz
fuzz: $(addprefix $(BUILD)/fuzz/fuzz_,$(FUZZ_NAMES))
	@for n in $(FUZZ_NAMES); do \
		echo "== fuzz_$$n ($(FUZZ_SECONDS) s)"; \
		mkdir -p $(BUILD)/fuzz/corpus-$$n $(BUILD)/fuzz/crashes-$$n; \
		$(BUILD)/fuzz/fuzz_$$n -max_total_time=$(FUZZ_SECONDS) -max_len=8192 \
			-artifact_prefix=$(BUILD)/fuzz/crashes-$$n/ -print_final_stats=0 \
			$(BUILD)/fuzz/corpus-$$n tests/fuzz/corpus/$$n > $(BUILD)/fuzz/fuzz_$$n.log 2>&1; \
		rc=$$?; tail -n 2 $(BUILD)/fuzz/fuzz_$$n.log; \
		if [ $$rc -ne 0 ]; then tail -n 40 $(BUILD)/fuzz/fuzz_$$n.log; \
			echo "fuzz: fuzz_$$n found a problem (see $(BUILD)/fuzz/crashes-$$n/)"; exit 1; fi; \
	done; echo "fuzz: all harnesses ran $(FUZZ_SECONDS) s without findings"

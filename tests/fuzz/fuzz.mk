# tests/fuzz/fuzz.mk - `make fuzz`: libFuzzer harnesses for the pure parsers (cmdline,
# svcdef, control), each run for FUZZ_SECONDS from the seed corpus in corpus/NAME/.

BUILD ?= build
CLANG ?= clang
FUZZ_SECONDS ?= 30

# Other fragments (lib/*/*.mk, included first) add their own names and explicit build rules.
FUZZ_NAMES += cmdline svcdef control
FUZZ_LIB := lib/cmdline/cmdline.c init/control.c init/svcdef.c init/units.c
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=undefined -Iinit -Ilib/cmdline

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_LIB) $(wildcard init/*.h) lib/cmdline/cmdline.h
	@mkdir -p $(BUILD)/fuzz
	$(CLANG) $(FUZZ_CFLAGS) -o $@ $< $(FUZZ_LIB)

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

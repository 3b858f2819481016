# tests/unit/unit.mk - `make unit`: cmocka unit tests under ASan/UBSan. Pure parsers are
# linked in directly; test_supervisor drives the real $(BUILD)/init-host binary.

# Flags and object rules in mk/flags.mk; lib/*/*.mk, services/ and ctl/ add explicit rules.

UNIT_TESTS := $(patsubst tests/unit/%.c,%,$(sort $(wildcard tests/unit/test_*.c)))
UNIT_LIB := init/control.c init/logring.c init/modindex.c init/svcdef.c init/units.c
INC_tests/unit := -Iinit -Ilib/cmdline

# The daemon-level tests' shared helpers (harness.h), linked into every test that starts
# processes or daemons (those with an explicit rule name $(UNIT_HARNESS) themselves).
$(UNIT_HARNESS): tests/unit/harness.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_SAN) $(DEPFLAGS) -DCAIRND_HOST='"$(abspath $(BUILD)/cairnd-host)"' \
		-DINIT_HOST_DEFAULT='"$(abspath $(BUILD)/init-host)"' -c -o $@ $<
$(BUILD)/unit/test_supervisor: $(UNIT_HARNESS)

$(BUILD)/unit/%: $(BUILD)/obj/san/tests/unit/%.o $(call OBJ,san,$(UNIT_LIB)) $(CMDLINE_LIB_SAN)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_SAN) -o $@ $(LINK_OBJS) -lcmocka $(if $(filter $(UNIT_HARNESS),$^),-ljansson)

# Each program's output also goes to $(BUILD)/unit/NAME.log; the closing line counts cmocka's
# test cases: passed, failed, and skipped (a skipped test printed why on its own line).
.PHONY: unit
unit: $(addprefix $(BUILD)/unit/,$(UNIT_TESTS)) $(BUILD)/init-host
	@failed=""; passed_n=0; failed_n=0; skipped_n=0; \
	for t in $(UNIT_TESTS); do \
		echo "== $$t"; \
		INIT_HOST=$(abspath $(BUILD)/init-host) ASAN_OPTIONS=detect_leaks=1 \
			$(BUILD)/unit/$$t 2>&1 | tee $(BUILD)/unit/$$t.log; \
		[ "$${PIPESTATUS[0]}" = 0 ] || failed="$$failed $$t"; \
		p=$$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' $(BUILD)/unit/$$t.log | tail -1); \
		f=$$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' $(BUILD)/unit/$$t.log | tail -1); \
		s=$$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' $(BUILD)/unit/$$t.log | tail -1); \
		passed_n=$$((passed_n + $${p:-0})); failed_n=$$((failed_n + $${f:-0})); \
		skipped_n=$$((skipped_n + $${s:-0})); \
		case " $$failed " in *" $$t "*) [ -n "$$f" ] || failed_n=$$((failed_n + 1));; esac; \
	done; \
	if [ "$$skipped_n" != 0 ]; then echo "unit: skipped (and why):"; \
		grep -h 'skipped' $(addprefix $(BUILD)/unit/,$(addsuffix .log,$(UNIT_TESTS))) | grep -v '^\[' | sort -u | sed 's/^/  /'; fi; \
	echo "unit: $$passed_n passed, $$failed_n failed, $$skipped_n skipped"; \
	if [ -n "$$failed" ]; then echo "unit: FAILED:$$failed"; exit 1; fi

# tests/lab/lab.mk - the QEMU lab (included by the top Makefile; needs OUT and BUILD).
#   make lab-test [SCENARIO=name]   run the scenarios in tests/lab/scenarios/ (all, or one)
#   make run [BOOT=direct|iso-bios|iso-uefi|pxe]   one node, console on this terminal
#   make lab [N=3] [BOOT=...]       N nodes in the background; make lab-down stops them
#   make lab N=3 OVN=1              the same, configured as an OVN cluster (README, "Your first network")
#   make lab N=2 STORAGE=1          two nodes with a data disk and pool each (README, "Your first replicated VM")
#   make bench                      boot-time and memory figures, also into $(BUILD)/bench.txt
# LAB_ACCEL=kvm|tcg skips the KVM probe; LAB_CPUS, LAB_MEM size the nodes.

LAB_PY   := PYTHONDONTWRITEBYTECODE=1 python3 tests/lab/main.py
LAB_ENV  := LAB_OUT=$(abspath $(OUT)) LAB_DIR=$(abspath $(BUILD))/lab \
            BENCH_TXT=$(abspath $(BUILD))/bench.txt
N        ?= 3
SCENARIO ?=
OVN      ?=
STORAGE  ?=

.PHONY: lab-test run lab lab-down bench lab-probe

lab-test:
	@$(LAB_ENV) $(LAB_PY) test $(SCENARIO)

run:
	@$(LAB_ENV) $(LAB_PY) run

lab:
	@$(LAB_ENV) OVN=$(OVN) STORAGE=$(STORAGE) $(LAB_PY) up $(N)

lab-down:
	@$(LAB_ENV) $(LAB_PY) down

bench:
	@$(LAB_ENV) $(LAB_PY) bench

lab-probe:
	@$(LAB_ENV) $(LAB_PY) probe

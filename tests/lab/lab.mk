# tests/lab/lab.mk - the QEMU lab (included by the top Makefile; needs OUT and BUILD).
#   make lab-test [SCENARIO=name]   run the scenarios in tests/lab/scenarios/ (all, or one)
#   make run [BOOT=direct|iso-bios|iso-uefi|pxe]   one node, console on this terminal
#   make lab [N=3] [BOOT=...]       N nodes in the background; make lab-down stops them
#   make lab N=3 OVN=1              the same, configured as an OVN cluster (README, "Your first network")
#   make lab N=2 STORAGE=1          two nodes with a data disk and pool each (README, "Your first replicated VM")
#   make lab N=2 KUBE=1             Kubernetes: node-1 the control plane (README, "Your first Kubernetes cluster")
#   make lab N=2 KUBE=1 KUBE_CP=2   the same with node-1 .. node-KUBE_CP control planes (etcd members)
#   make lab N=2 KUBE=1 KUBE_CNI=bridge   pods on Debian's bridge plugin instead of the OVN Network "pods"
#   make lab N=2 KUBE=1 KUBE_CP_MEM=1536 KUBE_WORKER_MEM=1024   the nodes' RAM in MiB (default 2560, 1536)
#   make bench                      boot-time and memory figures, also into $(BUILD)/bench.txt
# LAB_ACCEL=kvm|tcg skips the KVM probe; LAB_CPUS, LAB_MEM size the nodes.

LAB_PY   := PYTHONDONTWRITEBYTECODE=1 python3 tests/lab/main.py
LAB_ENV  := LAB_OUT=$(abspath $(OUT)) LAB_DIR=$(abspath $(BUILD))/lab \
            BENCH_TXT=$(abspath $(BUILD))/bench.txt
N        ?= 3
SCENARIO ?=
OVN      ?=
STORAGE  ?=
KUBE     ?=
KUBE_CP  ?= 1
KUBE_CNI ?= ovn
KUBE_CP_MEM ?=
KUBE_WORKER_MEM ?=

.PHONY: lab-test run lab lab-down bench lab-probe

# The lab's container image (image/testimg): imported with `cairnctl image import`, no registry.
LAB_IMAGES := $(BUILD)/lab-images
$(LAB_IMAGES)/cairn-hello: image/testimg/cairn-hello.c
	@mkdir -p $(@D)
	$(MUSLCC) -static -Os -s -std=c11 -Wall -Wextra -Werror -o $@ $<
$(LAB_IMAGES)/hello.tar: $(LAB_IMAGES)/cairn-hello image/oci-archive.sh
	image/oci-archive.sh cairn.local/hello:1 $< $@
lab-test lab bench: $(LAB_IMAGES)/hello.tar

lab-test:
	@$(LAB_ENV) $(LAB_PY) test $(SCENARIO)

run:
	@$(LAB_ENV) $(LAB_PY) run

lab:
	@$(LAB_ENV) OVN=$(OVN) STORAGE=$(STORAGE) KUBE=$(KUBE) KUBE_CP=$(KUBE_CP) KUBE_CNI=$(KUBE_CNI) \
		KUBE_CP_MEM=$(KUBE_CP_MEM) KUBE_WORKER_MEM=$(KUBE_WORKER_MEM) $(LAB_PY) up $(N)

lab-down:
	@$(LAB_ENV) $(LAB_PY) down

bench:
	@$(LAB_ENV) $(LAB_PY) bench

lab-probe:
	@$(LAB_ENV) $(LAB_PY) probe

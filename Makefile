# Cairn: every entry point.
#   make            build every artifact into out/ (installs host build deps with apt-get)
#   make run        boot one node in QEMU from out/ (serial console here, API on 127.0.0.1:50000)
#   make check      unit tests (ASan/UBSan), then the lab scenarios
#   make lab N=3    start a multi-node lab that stays up; make lab-down stops it
#   make bench      print the performance table
#   make fuzz       run the libFuzzer harnesses for a bounded time (FUZZ_SECONDS each)
.DEFAULT_GOAL := all
SHELL := /bin/bash

OUT    := out
BUILD  := build
CACHE  ?= $(HOME)/.cache/cairn
CC     := gcc
MUSLCC := musl-gcc
CLANG  := clang
export CACHE

# Host packages the build and the tests need (Debian 12 bookworm).
HOST_PACKAGES := build-essential musl-tools libcmocka-dev clang libclang-rt-14-dev \
	qemu-system-x86 qemu-utils ovmf ipxe-qemu vde2 \
	xorriso grub-pc-bin grub-efi-amd64-bin grub-common mtools dosfstools \
	squashfs-tools cpio zstd xz-utils kmod binutils file \
	socat jq python3 ca-certificates debian-archive-keyring \
	libjansson-dev libyaml-dev libgnutls28-dev libmicrohttpd-dev libcurl4-gnutls-dev gnutls-bin curl \
	libnl-3-dev libnl-route-3-dev libblkid-dev lvm2 thin-provisioning-tools chrony iproute2 busybox openvswitch-common openvswitch-switch ovn-central \
	golang-go dpkg-dev rsync

# Compiler flags (release, ASan/UBSan, musl, libFuzzer) are defined once in mk/flags.mk, with
# the object pattern rules and the library archive template every fragment uses.
include mk/flags.mk
include $(sort $(wildcard lib/*/*.mk))

include init/init.mk
include $(sort $(wildcard services/*/*.mk ctl/*.mk))
include tests/unit/unit.mk
include tests/fuzz/fuzz.mk
include image/image.mk
include tests/lab/lab.mk
# The dependency files of the objects (-MMD -MP): a header change rebuilds what includes it.
-include $(shell find $(BUILD)/obj $(BUILD)/unit -name '*.d' 2>/dev/null)

.PHONY: all artifacts deps check clean distclean help
# deps first, then the artifacts in a second make: with -j, nothing compiles before the
# host packages it needs are installed.
all: deps
	@$(MAKE) --no-print-directory artifacts
artifacts: $(OUT)/init $(OUT)/cairnd $(OUT)/cairnctl image

# Install what is missing, once; a stamp keyed by the package list skips the dpkg query next time.
DEPS_STAMP := $(BUILD)/.deps-$(shell echo $(HOST_PACKAGES) | md5sum | cut -c1-12)
deps: $(DEPS_STAMP)
$(DEPS_STAMP):
	@mkdir -p $(BUILD)
	@missing=$$(for p in $(HOST_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" != 0 ]; then echo "make: missing host packages: $$missing (run 'make deps' as root)" >&2; exit 1; fi; \
		echo "deps: installing $$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing >/dev/null || \
			{ echo "make: apt-get install failed for: $$missing" >&2; exit 1; }; \
	fi
	@touch $@

# The artifacts first: the unit tests that boot a guest (test_vm, test_ctl_vm) need out/.
check: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory unit
	@$(MAKE) --no-print-directory lab-test

# The lab boots what is in out/: build what is missing first (seconds when nothing changed).
run lab bench lab-test: all

clean:
	rm -rf $(OUT) $(BUILD)
distclean: clean
	rm -rf $(CACHE)

help:
	@sed -n '2,8p' Makefile | sed 's/^# *//'

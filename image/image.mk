# image/image.mk: the bootable artifacts (included by the top Makefile, which defines OUT, BUILD,
# CACHE). Everything is keyed by inputs: the package manifests (names + versions), the files
# under rootfs/ and kernel-config/, the scripts, and $(OUT)/init.
#   make image           vmlinuz, initramfs{,-base}.img, rootfs.squashfs(.sha256), cairn.iso, pxe/, guest/
#   make guest           guest/vmlinuz and guest/initramfs.img: the test guest (image/guest/)
#   make image-refresh   re-resolve packages against fresh trixie lists (picks up updates)

IMG        := $(BUILD)/image
IMG_DEBS   := $(CACHE)/debs
IMG_KWORK  := $(IMG)/kernel
IMG_ROOT   := $(IMG)/rootfs
IMG_KERNEL_PKG ?= linux-image-amd64
GUEST_OUTPUTS := $(OUT)/guest/vmlinuz $(OUT)/guest/initramfs.img
IMG_OUTPUTS := $(OUT)/vmlinuz $(OUT)/initramfs.img $(OUT)/initramfs-base.img \
	$(OUT)/rootfs.squashfs $(OUT)/rootfs.squashfs.sha256 $(OUT)/cairn.iso \
	$(OUT)/pxe/vmlinuz $(OUT)/pxe/initramfs.img $(OUT)/pxe/boot.ipxe $(GUEST_OUTPUTS)

# Listings of rootfs/ and kernel-config/ (names, link targets, sizes, mtimes), rewritten only when
# they change: they catch added/removed files and symlinks, which make cannot depend on directly.
img_listing = $(shell mkdir -p $(IMG) && find $(1) -printf '%p %y %l %s %T@\n' 2>/dev/null | LC_ALL=C sort > $(2).new && \
	{ cmp -s $(2).new $(2) && rm -f $(2).new || mv -f $(2).new $(2); })
IMG_ROOTFS_SRC := $(IMG)/rootfs-src.list
IMG_KCONFIG_SRC := $(IMG)/kernel-config-src.list
$(call img_listing,rootfs,$(IMG_ROOTFS_SRC))
$(call img_listing,kernel-config,$(IMG_KCONFIG_SRC))

.PHONY: image image-refresh image-sizes guest
image: $(IMG_OUTPUTS)
	@image/sizes.sh $(OUT) $(IMG_KWORK)

image-refresh:
	@APT_REFRESH=1 image/resolve.sh $(CACHE) rootfs/packages.list rootfs/exclude.list $(IMG_KERNEL_PKG) \
		$(IMG)/packages.manifest $(IMG)/kernel.manifest image/guest/packages.list $(IMG)/guest.manifest
	@touch $(IMG)/resolve.stamp
	@$(MAKE) --no-print-directory image

image-sizes:
	@image/sizes.sh $(OUT) $(IMG_KWORK)

# 1. package set (apt, private trixie config) -> manifests "name version arch file"
# Resolve again when a .deb the manifests name is missing from $(CACHE) (new or wiped cache).
$(shell [ -f $(IMG)/resolve.stamp ] && cat $(IMG)/packages.manifest $(IMG)/kernel.manifest $(IMG)/guest.manifest 2>/dev/null | \
	while read -r n v a f; do [ -f "$(IMG_DEBS)/$$f" ] || { rm -f $(IMG)/resolve.stamp; break; }; done)
$(IMG)/resolve.stamp: rootfs/packages.list rootfs/exclude.list image/guest/packages.list image/resolve.sh \
		image/apt-setup.sh image/mirror.sh image/prune-closure.awk
	@mkdir -p $(IMG)
	image/resolve.sh $(CACHE) rootfs/packages.list rootfs/exclude.list $(IMG_KERNEL_PKG) \
		$(IMG)/packages.manifest $(IMG)/kernel.manifest image/guest/packages.list $(IMG)/guest.manifest
	@touch $@
$(IMG)/packages.manifest $(IMG)/kernel.manifest $(IMG)/guest.manifest: $(IMG)/resolve.stamp ;

# 2. kernel: vmlinuz, config check, reduced module tree
$(IMG)/kernel.stamp: $(IMG)/kernel.manifest $(IMG_KCONFIG_SRC) image/mkkernel.sh
	image/mkkernel.sh $(IMG_DEBS)/$$(awk '{ print $$4 }' $(IMG)/kernel.manifest) kernel-config \
		$(IMG_KWORK) $(IMG)/vmlinuz
	@touch $@
$(OUT)/vmlinuz: $(IMG)/kernel.stamp
	@mkdir -p $(OUT)
	cp $(IMG)/vmlinuz $@

# 3a. Kubernetes: the server binaries (built once from bookworm's source and cached under
# $(CACHE)/kube, or KUBE_SERVER_BINARIES=DIR|TARBALL), and the pause image (image/pause).
IMG_KUBE := $(IMG)/kube
KUBE_SERVER_BINARIES ?=
export KUBE_SERVER_BINARIES
$(shell mkdir -p $(IMG_KUBE) && echo '$(KUBE_SERVER_BINARIES)' > $(IMG_KUBE)/source.new && \
	{ cmp -s $(IMG_KUBE)/source.new $(IMG_KUBE)/source && rm -f $(IMG_KUBE)/source.new || \
	  mv -f $(IMG_KUBE)/source.new $(IMG_KUBE)/source; })
$(IMG_KUBE)/bin/VERSION: image/kube-build.sh image/kube/main.go $(IMG_KUBE)/source
	image/kube-build.sh $(CACHE) $(BUILD)/kube-work $(IMG_KUBE)/bin
	@touch $@
$(IMG_KUBE)/pause: image/pause/pause.c
	@mkdir -p $(@D)
	$(MUSLCC) -static -Os -s -std=c11 -Wall -Wextra -Werror -o $@ $<
$(IMG_KUBE)/images/pause.tar: $(IMG_KUBE)/pause image/oci-archive.sh
	@mkdir -p $(@D)
	image/oci-archive.sh cairn.local/pause:1 $(IMG_KUBE)/pause $@
.PHONY: kube
kube: $(IMG_KUBE)/bin/VERSION $(IMG_KUBE)/images/pause.tar

# 3. root image
$(IMG)/rootfs.stamp: $(IMG)/packages.manifest $(IMG)/kernel.stamp $(OUT)/init $(OUT)/cairnd $(IMG_ROOTFS_SRC) \
		$(GUEST_OUTPUTS) $(OUT)/cairn-vm-stop $(OUT)/cairn-ovn image/mkrootfs.sh image/check-elf.sh \
		$(IMG_KUBE)/bin/VERSION $(IMG_KUBE)/images/pause.tar
	image/mkrootfs.sh $(IMG)/packages.manifest $(IMG_DEBS) rootfs $(IMG_KWORK) $(OUT)/init $(OUT)/cairnd $(IMG_ROOT) \
		$(OUT)/guest $(OUT)/cairn-vm-stop $(IMG_KUBE) $(OUT)/cairn-ovn
	image/check-elf.sh $(IMG_ROOT)
	@touch $@
$(OUT)/rootfs.squashfs: $(IMG)/rootfs.stamp image/squash.sh
	image/squash.sh $(IMG_ROOT) $@
$(OUT)/rootfs.squashfs.sha256: $(OUT)/rootfs.squashfs ;

# 4. initramfs: base (ISO) and base + root image (RAM/PXE)
$(OUT)/initramfs-base.img: $(OUT)/init $(IMG)/kernel.stamp $(OUT)/rootfs.squashfs.sha256 image/mkinitramfs.sh
	image/mkinitramfs.sh $(OUT)/init $(IMG_KWORK) $(OUT)/rootfs.squashfs.sha256 $(IMG)/initramfs $@
$(OUT)/initramfs.img: $(OUT)/initramfs-base.img $(OUT)/rootfs.squashfs image/append-rootfs.sh
	image/append-rootfs.sh $(OUT)/initramfs-base.img $(OUT)/rootfs.squashfs $(IMG)/initramfs-rootfs $@

# 5. ISO (BIOS + UEFI)
$(OUT)/cairn.iso: $(OUT)/vmlinuz $(OUT)/initramfs-base.img $(OUT)/rootfs.squashfs image/grub.cfg image/mkiso.sh
	image/mkiso.sh $(OUT)/vmlinuz $(OUT)/initramfs-base.img $(OUT)/rootfs.squashfs image/grub.cfg $(IMG)/iso $@

# 6. PXE bundle (hard links, no copies of the large files)
$(OUT)/pxe/vmlinuz: $(OUT)/vmlinuz
	@mkdir -p $(OUT)/pxe
	ln -f $< $@
$(OUT)/pxe/initramfs.img: $(OUT)/initramfs.img
	@mkdir -p $(OUT)/pxe
	ln -f $< $@
$(OUT)/pxe/boot.ipxe: image/boot.ipxe
	@mkdir -p $(OUT)/pxe
	cp $< $@

# 7. the test guest (image/guest/): the node's own kernel and a small initramfs whose static PID 1
# prints markers on ttyS0, addresses eth0 (static or DHCP through busybox-static's udhcpc),
# pings, measures TCP throughput, and powers off on the ACPI power button. The root image
# carries both in /usr/share/cairn/guest/ for VMs and lab scenarios to boot.
GUEST_CFLAGS := $(CFLAGS_MUSL) -static
guest: $(GUEST_OUTPUTS)
$(BUILD)/guest/guest-init: image/guest/guest-init.c $(INIT_UAPI)/.stamp
	@mkdir -p $(BUILD)/guest
	$(MUSLCC) $(GUEST_CFLAGS) -isystem $(INIT_UAPI) -o $@ $<
	strip $@
$(OUT)/guest/initramfs.img: $(BUILD)/guest/guest-init $(IMG)/kernel.stamp $(IMG)/guest.manifest \
		image/guest/mkguest.sh image/guest/udhcpc.script
	image/guest/mkguest.sh $(BUILD)/guest/guest-init $(IMG_KWORK) $(IMG)/guest.manifest $(IMG_DEBS) \
		image/guest/udhcpc.script $(IMG)/guest $@
$(OUT)/guest/vmlinuz: $(OUT)/vmlinuz
	@mkdir -p $(OUT)/guest
	ln -f $< $@

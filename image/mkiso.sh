#!/bin/bash
# Hybrid ISO for BIOS (El Torito + MBR) and UEFI, volume label CAIRN:
#   /boot/vmlinuz, /boot/initramfs.img (the base initramfs, no root image inside),
#   /cairn/rootfs.squashfs, /boot/grub/grub.cfg
# Usage: mkiso.sh VMLINUZ INITRAMFS_BASE ROOTFS_SQUASHFS GRUB_CFG STAGING_DIR OUT_ISO
set -euo pipefail
vmlinuz=$1 initrd=$2 squash=$3 cfg=$4 stage=$5 out=$6
rm -rf "$stage"; mkdir -p "$stage/boot/grub" "$stage/cairn"
link() { ln "$1" "$2" 2>/dev/null || cp "$1" "$2"; }
link "$vmlinuz" "$stage/boot/vmlinuz"
link "$initrd" "$stage/boot/initramfs.img"
link "$squash" "$stage/cairn/rootfs.squashfs"
cp "$cfg" "$stage/boot/grub/grub.cfg"
# GRUB's EFI start-up config loads every partition-table module: ship them all (they are tiny).
parts="part_acorn part_amiga part_apple part_bsd part_dfly part_dvh part_gpt part_msdos part_plan part_sun part_sunpc"
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-0}
grub-mkrescue -o "$out.tmp" --compress=xz --fonts= --locales= --themes= \
  --install-modules="linux normal iso9660 fat search search_label serial terminal echo test all_video $parts" \
  "$stage" -- -volid CAIRN > "$stage.log" 2>&1 ||
  { cat "$stage.log" >&2; echo "mkiso: grub-mkrescue failed" >&2; exit 1; }
mv "$out.tmp" "$out"; rm -rf "$stage" "$stage.log"
echo "mkiso: $out $(stat -c %s "$out") bytes"

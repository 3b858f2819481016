#!/bin/bash
# Print the size report of the image outputs and write OUT/sizes.txt ("key value" lines).
# Usage: sizes.sh OUT_DIR KERNEL_WORK_DIR
set -euo pipefail
out=$1 kwork=$2
size() { stat -c %s "$1" 2>/dev/null || echo 0; }
{
  echo "iso_bytes $(size "$out/cairn.iso")"
  echo "initramfs_bytes $(size "$out/initramfs.img")"
  echo "initramfs_base_bytes $(size "$out/initramfs-base.img")"
  echo "squashfs_bytes $(size "$out/rootfs.squashfs")"
  echo "vmlinuz_bytes $(size "$out/vmlinuz")"
  echo "modules_count $(cat "$kwork/modules.count" 2>/dev/null || echo 0)"
  echo "kernel_version $(cat "$kwork/version" 2>/dev/null || echo unknown)"
} > "$out/sizes.txt.tmp"
mv "$out/sizes.txt.tmp" "$out/sizes.txt"
echo "image sizes:"
awk '{ v = $2; if ($1 ~ /_bytes$/) v = sprintf("%12d bytes  (%.1f MiB)", $2, $2 / 1048576); printf "  %-22s %s\n", $1, v }' "$out/sizes.txt"

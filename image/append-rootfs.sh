#!/bin/bash
# RAM/PXE initramfs: the base initramfs followed by an uncompressed newc cpio holding
# /rootfs.squashfs (the kernel unpacks concatenated archives in order).
# Usage: append-rootfs.sh BASE_IMG ROOTFS_SQUASHFS STAGING_DIR OUT_IMG
set -euo pipefail
base=$1 squash=$2 stage=$3 out=$4
rm -rf "$stage"; mkdir -p "$stage"
cp "$squash" "$stage/rootfs.squashfs"
chmod 0644 "$stage/rootfs.squashfs"; touch -d @0 "$stage/rootfs.squashfs"
{ cat "$base"; (cd "$stage" && echo rootfs.squashfs | cpio --quiet -o -H newc -R 0:0 --reproducible); } > "$out.tmp"
mv "$out.tmp" "$out"; rm -rf "$stage"
echo "append-rootfs: $out $(stat -c %s "$out") bytes"

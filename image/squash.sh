#!/bin/bash
# Squash the root tree reproducibly (zstd, every file owned by root, fixed timestamps) and record
# its SHA-256 (64 lowercase hex chars and a newline) next to it.
# Usage: squash.sh ROOT_DIR OUT_SQUASHFS
set -euo pipefail
root=$1 out=$2
mkdir -p "$(dirname "$out")"
rm -f "$out.tmp"
mksquashfs "$root" "$out.tmp" -comp zstd ${SQUASHFS_OPTS:-} -noappend -all-root -no-xattrs \
  -reproducible -mkfs-time 0 -all-time 0 -quiet -no-progress > /dev/null ||
  { echo "squash: mksquashfs $root failed" >&2; exit 1; }
sha256sum "$out.tmp" | cut -c1-64 > "$out.sha256.tmp"
mv "$out.tmp" "$out"; mv "$out.sha256.tmp" "$out.sha256"
echo "squash: $out $(stat -c %s "$out") bytes, sha256 $(cat "$out.sha256")"

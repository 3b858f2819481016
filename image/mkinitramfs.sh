#!/bin/bash
# Build the base initramfs: /init, Cairn's kernel modules, /etc/cairn/{modules.boot,rootfs.sha256}.
# A zstd-compressed newc cpio (level INITRAMFS_ZSTD_LEVEL, default 9), reproducible (sorted, owner
# root, mtime 0), zero-padded to 512 bytes so further (uncompressed) archives can be appended.
# Usage: mkinitramfs.sh INIT_BIN KERNEL_WORK_DIR ROOTFS_SHA256_FILE STAGING_DIR OUT_IMG
set -euo pipefail
export LC_ALL=C
init=$1 kwork=$2 sha=$3 stage=$4 out=$5
ver=$(cat "$kwork/version")
grep -qxE '[0-9a-f]{64}' "$sha" || { echo "mkinitramfs: $sha does not hold a SHA-256 digest" >&2; exit 1; }
[ -f "$init" ] || { echo "mkinitramfs: PID 1 binary $init missing" >&2; exit 1; }
rm -rf "$stage"; mkdir -p "$stage/etc/cairn" "$stage/lib/modules"
for d in dev proc sys run newroot tmp; do mkdir -p "$stage/$d"; done
install -m 0755 "$init" "$stage/init"
cp -a "$kwork/modules/lib/modules/$ver" "$stage/lib/modules/"
install -m 0644 "$kwork/modules.boot" "$stage/etc/cairn/modules.boot"
install -m 0644 "$sha" "$stage/etc/cairn/rootfs.sha256"
find "$stage" -exec touch -h -d @0 {} +
mkdir -p "$(dirname "$out")"
(cd "$stage" && find . -mindepth 1 | sort | cpio --quiet -o -H newc -R 0:0 --reproducible) |
  zstd -q -"${INITRAMFS_ZSTD_LEVEL:-9}" -T0 > "$out.tmp"
size=$(stat -c %s "$out.tmp"); pad=$(( (512 - size % 512) % 512 ))
head -c "$pad" /dev/zero >> "$out.tmp"
mv "$out.tmp" "$out"
echo "mkinitramfs: $out $(stat -c %s "$out") bytes ($ver, $(wc -l < "$kwork/modules.boot") boot modules)"

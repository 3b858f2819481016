#!/bin/bash
# Build the test guest's initramfs: guest-init as /init, busybox-static's busybox as
# /bin/busybox (with /bin/sh) for udhcpc and its event script /etc/udhcpc.script, and the few
# kernel modules it loads (virtio_net and virtio_blk with their dependencies, evdev and the ACPI button for the
# power key) from the node's reduced module tree, listed dependencies first in /modules/order.
# Modules built into the kernel are skipped. A zstd-compressed newc cpio, reproducible (sorted,
# root, mtime 0).
# Usage: mkguest.sh GUEST_INIT KERNEL_WORK_DIR GUEST_MANIFEST DEBS_DIR UDHCPC_SCRIPT STAGING_DIR OUT_IMG
#   GUEST_MANIFEST: "name version arch file" lines (image/resolve.sh) naming busybox-static
set -euo pipefail
export LC_ALL=C
init=$1 kwork=$(realpath "$2") gmanifest=$3 debs=$4 script=$5 stage=$6 out=$7
modules="virtio_net virtio_blk evdev button"
ver=$(cat "$kwork/version")
[ -f "$init" ] || { echo "mkguest: guest init $init missing" >&2; exit 1; }
[ -f "$script" ] || { echo "mkguest: udhcpc script $script missing" >&2; exit 1; }
bbdeb=$(awk '$1 == "busybox-static" { print $4 }' "$gmanifest")
[ -n "$bbdeb" ] || { echo "mkguest: $gmanifest names no busybox-static" >&2; exit 1; }
[ -f "$debs/$bbdeb" ] || { echo "mkguest: $debs/$bbdeb missing" >&2; exit 1; }
rm -rf "$stage"; mkdir -p "$stage/modules" "$stage/dev" "$stage/proc" "$stage/sys" "$stage/run" \
  "$stage/bin" "$stage/etc"
install -m 0755 "$init" "$stage/init"
dpkg-deb --fsys-tarfile "$debs/$bbdeb" | tar -xO ./usr/bin/busybox > "$stage/bin/busybox" ||
  { echo "mkguest: no ./usr/bin/busybox in $debs/$bbdeb" >&2; exit 1; }
chmod 0755 "$stage/bin/busybox"
"$stage/bin/busybox" --list | grep -qx udhcpc ||
  { echo "mkguest: $bbdeb's busybox has no udhcpc applet" >&2; exit 1; }
ln -s busybox "$stage/bin/sh"
install -m 0755 "$script" "$stage/etc/udhcpc.script"
: > "$stage/modules/order"
for m in $modules; do
  deps=$(modprobe -d "$kwork/modules" -S "$ver" --show-depends "$m" 2>&1) ||
    { echo "mkguest: module $m is neither a module nor built into $ver: $deps" >&2; exit 1; }
  echo "$deps" | awk '$1 == "insmod" { print $2 }' | while read -r f; do
    name=$(basename "$f")
    grep -qxF "$name" "$stage/modules/order" && continue
    cp "$f" "$stage/modules/$name"
    echo "$name" >> "$stage/modules/order"
  done
done
find "$stage" -exec touch -h -d @0 {} +
mkdir -p "$(dirname "$out")"
(cd "$stage" && find . -mindepth 1 | sort | cpio --quiet -o -H newc -R 0:0 --reproducible) |
  zstd -q -19 -T0 > "$out.tmp"
mv "$out.tmp" "$out"
echo "mkguest: $out $(stat -c %s "$out") bytes ($ver; $bbdeb; modules: $(paste -sd ' ' "$stage/modules/order"))"

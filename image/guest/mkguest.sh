#!/bin/bash
# Build the test guest's initramfs: guest-init as /init, and the few kernel modules it loads
# (virtio_net with its dependencies, evdev and the ACPI button for the power key) from the
# node's reduced module tree, listed dependencies first in /modules/order. Modules built into
# the kernel are skipped. A zstd-compressed newc cpio, reproducible (sorted, root, mtime 0).
# Usage: mkguest.sh GUEST_INIT KERNEL_WORK_DIR STAGING_DIR OUT_IMG
set -euo pipefail
export LC_ALL=C
init=$1 kwork=$(realpath "$2") stage=$3 out=$4
modules="virtio_net evdev button"
ver=$(cat "$kwork/version")
[ -f "$init" ] || { echo "mkguest: guest init $init missing" >&2; exit 1; }
rm -rf "$stage"; mkdir -p "$stage/modules" "$stage/dev" "$stage/proc" "$stage/sys"
install -m 0755 "$init" "$stage/init"
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
echo "mkguest: $out $(stat -c %s "$out") bytes ($ver; modules: $(paste -sd ' ' "$stage/modules/order"))"

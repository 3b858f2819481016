#!/bin/bash
# Unpack Debian's kernel package, check its config, reduce its modules to Cairn's set.
# Usage: mkkernel.sh KERNEL_DEB KERNEL_CONFIG_DIR WORK_DIR VMLINUZ_OUT
# Produces in WORK_DIR: version (the uname -r), modules/lib/modules/VERSION (decompressed .ko,
# depmod'ed), modules.boot (always-load modules that are not built in), modules.count.
set -euo pipefail
export LC_ALL=C
deb=$1 kc=$2 work=$(realpath -m "$3") vmlinuz=$4
rm -rf "$work"; mkdir -p "$work/pkg" "$work/modules/lib/modules"
dpkg-deb -x "$deb" "$work/pkg" || { echo "mkkernel: cannot unpack $deb" >&2; exit 1; }
ln -s usr/lib "$work/pkg/lib"                 # host kmod looks in ROOT/lib/modules
ver=$(ls "$work/pkg/usr/lib/modules")
[ "$(echo "$ver" | wc -l)" = 1 ] || { echo "mkkernel: expected one module tree in $deb, got: $ver" >&2; exit 1; }
"$kc/check.sh" "$work/pkg/boot/config-$ver" "$kc/required.config"
mkdir -p "$(dirname "$vmlinuz")"; cp "$work/pkg/boot/vmlinuz-$ver" "$vmlinuz.tmp"; mv "$vmlinuz.tmp" "$vmlinuz"

depmod -b "$work/pkg" "$ver"
src=$work/pkg/lib/modules/$ver dst=$work/modules/lib/modules/$ver
names() { sed -e 's/#.*//' "$1" | tr -s ' \t' '\n\n' | sed '/^$/d'; }
: > "$work/files"
for m in $(names "$kc/modules.list"); do
  deps=$(modprobe -d "$work/pkg" -S "$ver" --show-depends "$m" 2>&1) ||
    { echo "mkkernel: module $m (kernel-config/modules.list) is neither a module nor built into $ver: $deps" >&2; exit 1; }
  # soft dependencies (e.g. crc32c for ext4) are taken along when they exist
  for s in $(modinfo -b "$work/pkg" -k "$ver" -F softdep "$m" 2>/dev/null | tr ' ' '\n' | grep -v ':$' || true); do
    modprobe -d "$work/pkg" -S "$ver" --show-depends "$s" 2>/dev/null || true
  done | cat - <(echo "$deps") | awk '$1 == "insmod" { print $2 }' >> "$work/files"
done
sort -u "$work/files" | while read -r f; do
  rel=${f#"$src"/}
  mkdir -p "$dst/$(dirname "$rel")"
  case $rel in
    *.ko.xz) xz -dc "$f" > "$dst/${rel%.xz}" ;;
    *.ko.zst) zstd -qdc "$f" > "$dst/${rel%.zst}" ;;
    *) cp "$f" "$dst/$rel" ;;
  esac
done
cp "$src"/modules.builtin "$src"/modules.builtin.modinfo "$src"/modules.order "$dst/"
depmod -b "$work/modules" "$ver"
find "$dst" -name '*.ko' | wc -l > "$work/modules.count"

# always-load list: only real modules (built-ins need no loading)
for m in $(names "$kc/modules.boot"); do
  if modprobe -d "$work/modules" -S "$ver" --show-depends "$m" 2>/dev/null | grep -q '^insmod'; then
    echo "$m"
  elif ! modprobe -d "$work/modules" -S "$ver" --show-depends "$m" >/dev/null 2>&1; then
    echo "mkkernel: kernel-config/modules.boot names $m, which kernel-config/modules.list lacks" >&2; exit 1
  fi
done > "$work/modules.boot"
echo "$ver" > "$work/version"
echo "mkkernel: $ver, $(cat "$work/modules.count") modules, $(wc -l < "$work/modules.boot") loaded at boot"

#!/bin/bash
# Assemble the root image tree: unpack the .debs (no maintainer scripts), merge /usr, prune,
# busybox applet links, Cairn's overlay, the reduced kernel modules, /sbin/init, cairnd,
# cairn-vm-stop, the CNI plugin cairn-ovn.
# Usage: mkrootfs.sh MANIFEST DEBS_DIR ROOTFS_SRC_DIR KERNEL_WORK_DIR INIT_BIN CAIRND_BIN ROOT_DIR GUEST_DIR VM_STOP_BIN KUBE_DIR CNI_BIN
# GUEST_DIR holds the test guest (vmlinuz, initramfs.img), installed to /usr/share/cairn/guest/.
# VM_STOP_BIN is cairn-vm-stop, the VMs' stop_command, installed next to cairnd.
# KUBE_DIR holds bin/ (the Kubernetes binaries, image/kube-build.sh), installed to /usr/bin/,
# and images/*.tar (the pause image), installed to /usr/share/cairn/images/.
# CNI_BIN is cairn-ovn (services/kube/cni), installed to /usr/lib/cni/ next to Debian's plugins.
set -euo pipefail
export LC_ALL=C
manifest=$1 debs=$2 src=$3 kwork=$4 init=$5 cairnd=$6 root=$7 guest=$8 vmstop=$9 kube=${10} cni=${11}
rm -rf "$root"; mkdir -p "$root"

# 1. unpack, two at a time
awk -v d="$debs" '{ print d "/" $4 }' "$manifest" |
  xargs -P 2 -n 16 sh -c 'for f; do dpkg-deb -x "$f" "$0" || { echo "mkrootfs: cannot unpack $f" >&2; exit 255; }; done' "$root"

# 2. merged /usr: /bin /sbin /lib /lib64 are links into /usr
for d in bin sbin lib lib64; do
  if [ -d "$root/$d" ] && [ ! -L "$root/$d" ]; then
    mkdir -p "$root/usr/$d"; cp -a "$root/$d/." "$root/usr/$d/"; rm -rf "${root:?}/$d"
  fi
  mkdir -p "$root/usr/$d"; ln -sfn "usr/$d" "$root/$d"
done

# 3. prune
mapfile -t pats < <(sed -e 's/#.*//' "$src/prune.list" | tr -s ' \t' '\n\n' | sed '/^$/d')
shopt -s globstar nullglob dotglob
for pat in "${pats[@]}"; do
  for p in "$root"/$pat; do rm -rf "$p"; done
done
shopt -u globstar nullglob dotglob

# 4. busybox applets: links in /usr/bin for every applet no package provides as a real tool.
# The applet list comes from the image's busybox, run with the image's own loader and libc.
applets=$("$root/usr/lib64/ld-linux-x86-64.so.2" --library-path "$root/usr/lib/x86_64-linux-gnu" \
  "$root/usr/bin/busybox" --list) || { echo "mkrootfs: cannot list busybox applets" >&2; exit 1; }
n=0
for a in $applets; do
  case $a in busybox|init|linuxrc|halt|poweroff|reboot) continue ;; esac   # PID 1 owns these
  if [ ! -e "$root/usr/bin/$a" ] && [ ! -L "$root/usr/bin/$a" ] && [ ! -e "$root/usr/sbin/$a" ]; then
    ln -s busybox "$root/usr/bin/$a"; n=$((n + 1))
  fi
done
[ -e "$root/usr/bin/sh" ] || { echo "mkrootfs: busybox gave no sh applet" >&2; exit 1; }

# 5. Cairn's static files, modules, PID 1
cp -a "$src/overlay/." "$root/"
find "$root/etc/cairn" -name .keep -delete
ver=$(cat "$kwork/version")
mkdir -p "$root/usr/lib/modules"; cp -a "$kwork/modules/lib/modules/$ver" "$root/usr/lib/modules/"
[ -f "$init" ] || { echo "mkrootfs: PID 1 binary $init missing" >&2; exit 1; }
install -m 0755 "$init" "$root/usr/sbin/init"
[ -f "$cairnd" ] || { echo "mkrootfs: cairnd binary $cairnd missing" >&2; exit 1; }
install -m 0755 "$cairnd" "$root/usr/sbin/cairnd"
[ -f "$vmstop" ] || { echo "mkrootfs: cairn-vm-stop binary $vmstop missing" >&2; exit 1; }
install -m 0755 "$vmstop" "$root/usr/sbin/cairn-vm-stop"
[ -f "$cni" ] || { echo "mkrootfs: CNI plugin $cni missing" >&2; exit 1; }
install -D -m 0755 "$cni" "$root/usr/lib/cni/cairn-ovn"   # pods on an OVN Network
install -D -m 0644 "$manifest" "$root/usr/lib/cairn/packages.manifest"   # what the image holds
for f in vmlinuz initramfs.img; do
  [ -f "$guest/$f" ] || { echo "mkrootfs: test guest file $guest/$f missing" >&2; exit 1; }
  install -D -m 0644 "$guest/$f" "$root/usr/share/cairn/guest/$f"
done

# Kubernetes: the server binaries (one program, /usr/bin/kube, with a link per component, or
# the separate binaries KUBE_SERVER_BINARIES gave), the images containerd imports at boot, and the
# iptables commands kube-proxy runs (the nft backend; Debian makes these links in a maintainer script).
rm -f "$root/usr/bin/kube"
[ ! -f "$kube/bin/kube" ] || install -m 0755 "$kube/bin/kube" "$root/usr/bin/kube"
for b in kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl; do
  [ -f "$kube/bin/$b" ] || { echo "mkrootfs: Kubernetes binary $kube/bin/$b missing" >&2; exit 1; }
  rm -f "$root/usr/bin/$b"
  if [ -L "$kube/bin/$b" ]; then
    ln -s "$(readlink "$kube/bin/$b")" "$root/usr/bin/$b"
  else
    install -m 0755 "$kube/bin/$b" "$root/usr/bin/$b"
  fi
done
for f in "$kube"/images/*.tar; do install -D -m 0644 "$f" "$root/usr/share/cairn/images/$(basename "$f")"; done
[ -f "$root/usr/share/cairn/images/pause.tar" ] || { echo "mkrootfs: $kube/images/pause.tar missing" >&2; exit 1; }
for t in iptables iptables-save iptables-restore ip6tables ip6tables-save ip6tables-restore; do
  ln -sfn xtables-nft-multi "$root/usr/sbin/$t"
done

# 6. mount points and the library cache
for d in run var tmp dev proc sys system/state root; do mkdir -p "$root/$d"; done
chmod 1777 "$root/tmp"; chmod 0700 "$root/root"
ldconfig -r "$root" -X || { echo "mkrootfs: ldconfig -r $root failed" >&2; exit 1; }
rm -rf "$root/var/cache/ldconfig"
echo "mkrootfs: $(wc -l < "$manifest") packages, $n busybox links, $(du -sm "$root" | cut -f1) MiB"

#!/bin/bash
# Resolve the image's trixie package set and fetch the .debs into CACHE/debs.
# Usage: resolve.sh CACHE PACKAGES_LIST EXCLUDE_LIST KERNEL_PKG OUT_MANIFEST OUT_KERNEL_MANIFEST \
#                   [GUEST_LIST OUT_GUEST_MANIFEST]
# apt resolves the full set (no Recommends) against an empty private dpkg status; packages in
# EXCLUDE_LIST and the dependencies only they need are then dropped (prune-closure.awk) and
# never fetched. GUEST_LIST names packages for the test guest (image/guest/), each fetched on
# its own and required to have no dependencies (static binaries such as busybox-static, which
# conflicts with the root image's busybox and so cannot join its set). Manifests ("name version arch file" lines, sorted) are only
# rewritten when their content changes, so unchanged package sets rebuild nothing.
set -euo pipefail
export LC_ALL=C
cache=$1 pkglist=$2 exclude=$3 kpkg=$4 manifest=$5 kmanifest=$6 guestlist=${7:-} gmanifest=${8:-}
here=$(cd "$(dirname "$0")" && pwd)
"$here/apt-setup.sh" "$cache" ${APT_REFRESH:+--refresh}
export APT_CONFIG=$cache/apt/apt.conf
a=$cache/apt debs=$cache/debs
: > "$a/status"

words() { sed -e 's/#.*//' "$1" | tr -s ' \t' '\n\n' | sed '/^$/d'; }
mapfile -t pkgs < <(words "$pkglist")
mapfile -t excl < <(words "$exclude")

sim=$(apt-get install -s "${pkgs[@]}" 2>&1) || { echo "$sim" >&2; echo "resolve: apt cannot resolve $pkglist" >&2; exit 1; }
# "Inst NAME (VERSION Origin [ARCH])" -> NAME VERSION ARCH FILE
to_manifest() {
  awk '$1 == "Inst" { name = $2; ver = $3; sub(/^\(/, "", ver); match($0, /\[[a-z0-9]+\]\)/); arch = substr($0, RSTART + 1, RLENGTH - 3)
         f = ver; gsub(/:/, "%3a", f); print name, ver, arch, name "_" f "_" arch ".deb" }' | sort
}
echo "$sim" | to_manifest > "$manifest.all"
[ -s "$manifest.all" ] || { echo "resolve: empty package set from $pkglist" >&2; exit 1; }
# Drop excluded packages and whatever only they pulled in.
mapfile -t keep < <(awk '{ print $1 "=" $2 }' "$manifest.all" | xargs apt-cache show |
  awk -v want="${pkgs[*]}" -v skip="${excl[*]}" -f "$here/prune-closure.awk" | sort)
printf '%s\n' "${keep[@]}" | join - "$manifest.all" > "$manifest.new"
for p in "${pkgs[@]}"; do
  grep -q "^$p " "$manifest.new" || { echo "resolve: requested package $p is excluded or missing" >&2; exit 1; }
done
rm -f "$manifest.all"

fetch() { # MANIFEST...: apt-get download what the cache lacks, in one go
  local missing
  missing=$(cat "$@" | while read -r n v _ f; do [ -f "$debs/$f" ] || echo "$n=$v"; done)
  [ -z "$missing" ] && return 0
  echo "resolve: downloading $(echo "$missing" | wc -l) packages"
  (cd "$debs/partial" && apt-get -q download $missing > "$a/download.log" 2>&1 && mv -f ./*.deb ..) ||
    { tail -n 20 "$a/download.log" >&2; echo "resolve: apt-get download failed (see $a/download.log)" >&2; exit 1; }
}

# Kernel: the versioned image package the meta package points to, without its dependencies.
kimg=$(apt-cache show --no-all-versions "$kpkg" | sed -n 's/^Depends: //p' | tr ',' '\n' |
       sed -e 's/^ *//' -e 's/[ (|].*//' | grep '^linux-image-' | head -n 1)
[ -n "$kimg" ] || { echo "resolve: $kpkg does not depend on a linux-image-* package" >&2; exit 1; }
apt-get install -s -o APT::Get::Download-Only=true "$kimg" 2>/dev/null | grep "^Inst $kimg " | to_manifest > "$kmanifest.new"
# Test guest: each package alone; one that needs another package is refused.
manifests=("$manifest" "$kmanifest")
if [ -n "$guestlist" ]; then
  : > "$gmanifest.new"
  while read -r p; do
    sim=$(apt-get install -s "$p" 2>&1) || { echo "$sim" >&2; echo "resolve: apt cannot resolve guest package $p" >&2; exit 1; }
    n=$(echo "$sim" | grep -c '^Inst ') || true
    [ "$n" = 1 ] || { echo "resolve: guest package $p needs other packages ($(echo "$sim" | awk '$1 == "Inst" { print $2 }' | paste -sd ' ')); the guest takes static packages only" >&2; exit 1; }
    echo "$sim" | to_manifest >> "$gmanifest.new"
  done < <(words "$guestlist")
  manifests+=("$gmanifest")
fi
fetch "${manifests[@]/%/.new}"

while read -r name _ _ file; do
  [ -f "$debs/$file" ] || { echo "resolve: $name: $debs/$file missing after download" >&2; exit 1; }
done < <(cat "${manifests[@]/%/.new}")
for m in "${manifests[@]}"; do
  if cmp -s "$m.new" "$m"; then rm -f "$m.new"; else mv "$m.new" "$m"; fi
done
echo "resolve: $(wc -l < "$manifest") packages, kernel $kimg"

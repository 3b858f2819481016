#!/bin/bash
# Kubernetes server binaries for the image: built from Debian bookworm's `kubernetes` source
# package (1.20.2 with Debian's patches, vendor tree included), linked into one stripped program
# (image/kube/main.go picks the component by the name it runs as), cached by source version and
# by that file's digest.
# Usage: kube-build.sh CACHE_DIR WORK_DIR OUT_DIR
#   OUT_DIR receives kube, and kube-apiserver kube-controller-manager kube-scheduler kubelet
#   kube-proxy kubectl as symbolic links to it, and VERSION (the source version they came from).
# KUBE_SERVER_BINARIES=PATH takes the binaries from a folder, or from a release tarball
# (kubernetes-server-linux-amd64.tar.gz, whose binaries are under kubernetes/server/bin/), instead.
set -euo pipefail
cache=${1:?usage: kube-build.sh CACHE_DIR WORK_DIR OUT_DIR}
work=${2:?usage: kube-build.sh CACHE_DIR WORK_DIR OUT_DIR}
out=${3:?usage: kube-build.sh CACHE_DIR WORK_DIR OUT_DIR}
bins="kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl"
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out" "$work"
out=$(cd "$out" && pwd)
work=$(cd "$work" && pwd)

install_from() { # DIR LABEL
	local b
	for b in $bins; do
		[ -x "$1/$b" ] || { echo "kube-build: $1/$b is missing or not executable ($2)" >&2; exit 1; }
	done
	rm -f "$out/kube"
	for b in $bins; do cp -fL "$1/$b" "$out/$b.new" && mv -f "$out/$b.new" "$out/$b"; done
	echo "$2" > "$out/VERSION"
}
install_built() { # DIR LABEL: one program, a link per component
	local b
	cp -f "$1/kube" "$out/kube.new" && mv -f "$out/kube.new" "$out/kube"
	for b in $bins; do ln -sfn kube "$out/$b"; done
	echo "$2" > "$out/VERSION"
}

if [ -n "${KUBE_SERVER_BINARIES:-}" ]; then
	src=$KUBE_SERVER_BINARIES
	if [ -f "$src" ]; then
		rm -rf "$work/tarball" && mkdir -p "$work/tarball"
		tar -xzf "$src" -C "$work/tarball" || { echo "kube-build: cannot unpack $src" >&2; exit 1; }
		d=$(find "$work/tarball" -type d -path '*/server/bin' | head -n 1)
		[ -n "$d" ] || d=$work/tarball
		install_from "$d" "user:$src"
	elif [ -d "$src" ]; then
		install_from "$src" "user:$src"
	else
		echo "kube-build: KUBE_SERVER_BINARIES=$src is neither a folder nor a tarball" >&2; exit 1
	fi
	exit 0
fi

# Private apt configuration with bookworm's source index (image/apt-setup.sh: the host's mirror,
# never hard-coded); lists that cannot be refreshed are kept, so a cached build still works.
a=$cache/kube/apt
mirror=${CAIRN_MIRROR:-$("$here/mirror.sh")}
CAIRN_MIRROR=$mirror CAIRN_SUITE=bookworm CAIRN_APT_TYPE=deb-src CAIRN_APT_DIR=$a CAIRN_APT_STALE_OK=1 \
	"$here/apt-setup.sh" "$cache" >&2
export APT_CONFIG=$a/apt.conf
ver=$(apt-cache showsrc kubernetes 2>/dev/null | awk '/^Version:/ { print $2; exit }')
[ -n "$ver" ] || { echo "kube-build: bookworm has no 'kubernetes' source package in $mirror" >&2; exit 1; }
key=$(echo "$ver" | tr -c 'A-Za-z0-9.+\n' '_')
main=$here/kube/main.go
bin=$cache/kube/$key/kube-$(sha256sum "$main" | cut -c1-12)
if [ -f "$bin/.complete" ]; then
	install_built "$bin" "debian-source:$ver"
	exit 0
fi

command -v go >/dev/null || { echo "kube-build: 'go' is missing (make deps installs golang-go)" >&2; exit 1; }
command -v dpkg-source >/dev/null || { echo "kube-build: 'dpkg-source' is missing (make deps installs dpkg-dev)" >&2; exit 1; }
echo "kube-build: building Kubernetes $ver from source (about 6 minutes on 2 cores; cached afterwards)"
dl=$cache/kube/$key/src
mkdir -p "$dl"
(cd "$dl" && { ls ./*.dsc >/dev/null 2>&1 || apt-get -q source --download-only "kubernetes=$ver" > "$dl/source.log" 2>&1 ||
	{ cat "$dl/source.log" >&2; echo "kube-build: cannot download the kubernetes $ver source" >&2; exit 1; }; })
tree=$work/src
rm -rf "$tree"
mkdir -p "$work"
dpkg-source -q -x "$(ls "$dl"/*.dsc | head -n 1)" "$tree" > "$work/extract.log" 2>&1 ||
	{ cat "$work/extract.log" >&2; echo "kube-build: dpkg-source failed" >&2; exit 1; }
mkdir -p "$tree/.go/src/k8s.io" "$tree/cmd/kube"
cp "$main" "$tree/cmd/kube/main.go"
ln -sfn ../../.. "$tree/.go/src/k8s.io/kubernetes"
start=$(date +%s)
(cd "$tree" && env GOPATH="$tree/.go" GOCACHE="$cache/kube/gocache" CGO_ENABLED=0 HOME="$work" GOFLAGS=-mod=vendor \
	make WHAT=cmd/kube GOLDFLAGS='-s -w -buildid=' > "$work/build.log" 2>&1) ||
	{ tail -n 40 "$work/build.log" >&2; echo "kube-build: the build failed; see $work/build.log" >&2; exit 1; }
mkdir -p "$bin"
cp -f "$tree/_output/bin/kube" "$bin/kube"
echo "built in $(( $(date +%s) - start )) s on $(nproc) cores" > "$bin/.complete"
rm -rf "$tree"
# builds of an older image/kube/main.go (and the separate binaries of older Cairns) are not used
for old in "$cache/kube/$key"/kube-* "$cache/kube/$key/bin"; do
	[ "$old" = "$bin" ] || rm -rf "$old"
done
install_built "$bin" "debian-source:$ver"
echo "kube-build: Kubernetes $ver built in $(( $(date +%s) - start )) s"

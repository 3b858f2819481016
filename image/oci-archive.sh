#!/bin/bash
# Make a single-layer container image archive from one static binary, without a registry or a
# container daemon, for `ctr -n k8s.io images import` (containerd 1.6/1.7) and `docker load`.
#
# Usage: oci-archive.sh REF BINARY OUT.tar [ENTRYPOINT_ARG...]
#   REF     full image name with a tag, e.g. cairn.local/pause:1 (kept as the image's name)
#   BINARY  static x86-64 ELF; lands at /$(basename BINARY), mode 0755
#   OUT.tar written atomically (temp file in the same directory, then mv)
#   the image config gets Entrypoint ["/$(basename BINARY)", ENTRYPOINT_ARG...], amd64/linux.
#
# The archive is an OCI image layout (oci-layout, index.json, blobs/sha256/...) whose index entry
# carries io.containerd.image.name=REF and org.opencontainers.image.ref.name=TAG, plus a
# docker-style manifest.json with RepoTags=[REF]. The layer holds the binary and an empty /tmp
# (1777). Reproducible: mtime 0, sorted names, owner 0/0, ustar, gzip -n; the same inputs give
# the same bytes. Needs only bash, coreutils, tar (GNU), gzip, sha256sum.
set -euo pipefail
export LC_ALL=C
prog=oci-archive.sh

die() { echo "$prog: error: $*" >&2; exit 1; }

[ $# -ge 3 ] || { echo "usage: $prog REF BINARY OUT.tar [ENTRYPOINT_ARG...]" >&2; exit 2; }
ref=$1 bin=$2 out=$3
shift 3

for t in tar gzip sha256sum stat od mktemp; do
  command -v "$t" >/dev/null || die "required tool '$t' not found in PATH"
done
tar --version 2>/dev/null | grep -q 'GNU tar' || die "tar is not GNU tar (need --sort, --mtime, --owner)"

# --- REF: [domain[:port]/]path:tag with a domain, as the kubelet/CRI would spell it ---
[[ $ref == *@* ]] && die "REF '$ref': digests are not supported, give NAME:TAG"
name=${ref%:*} tag=${ref##*:}
[[ $ref == *:* && $tag != */* && -n $name ]] ||
  die "REF '$ref' has no tag; give it one, e.g. cairn.local/pause:1"
[[ $tag =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]] ||
  die "REF '$ref': bad tag '$tag' (letters, digits, _ . -, at most 128, not starting with . or -)"
domain=${name%%/*}
[[ $name == */* && ( $domain == *.* || $domain == *:* || $domain == localhost ) ]] ||
  die "REF '$ref' is not fully qualified: start it with a registry domain, e.g. cairn.local/${name}:$tag (the kubelet would look for docker.io/library/... otherwise)"
[[ $domain =~ ^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]+)?$ ]] ||
  die "REF '$ref': bad registry domain '$domain'"
comp='[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*'
[[ ${name#*/} =~ ^$comp(/$comp)*$ ]] ||
  die "REF '$ref': bad repository path '${name#*/}' (lowercase letters, digits, separators . _ __ -)"

# --- BINARY: a regular x86-64 ELF file ---
[ -e "$bin" ] || die "BINARY '$bin' does not exist"
[ -f "$bin" ] || die "BINARY '$bin' is not a regular file"
[ -r "$bin" ] || die "BINARY '$bin' is not readable"
hdr=$(od -An -tx1 -N20 -v "$bin" | tr -d ' \n')
[ "${hdr:0:8}" = 7f454c46 ] || die "BINARY '$bin' is not an ELF file"
[[ ${hdr:8:2} == 02 && ${hdr:10:2} == 01 && ${hdr:36:4} == 3e00 ]] ||
  die "BINARY '$bin' is not a 64-bit little-endian x86-64 ELF (the image says amd64)"
base=$(basename -- "$bin")
[[ $base != .* && $base != -* ]] || die "BINARY name '$base' must not start with . or -"

# --- OUT ---
outdir=$(dirname -- "$out")
[ -d "$outdir" ] || die "directory of OUT '$outdir' does not exist"
[ -w "$outdir" ] || die "directory of OUT '$outdir' is not writable"
[ ! -d "$out" ] || die "OUT '$out' is a directory"

# JSON string, quotes included. Escapes " \ and control characters; other bytes pass through
# (UTF-8 stays UTF-8).
# shellcheck disable=SC1003  # the backslash case below is meant literally
json_str() {
  local s=$1 r='' c i
  for ((i = 0; i < ${#s}; i++)); do
    c=${s:i:1}
    case $c in
      '"') r+='\"' ;;
      \\) r+='\\' ;;
      $'\n') r+='\n' ;;
      $'\t') r+='\t' ;;
      $'\r') r+='\r' ;;
      [$'\x01'-$'\x1f']) r+=$(printf '\\u%04x' "'$c") ;;
      *) r+=$c ;;
    esac
  done
  printf '"%s"' "$r"
}

work=$(mktemp -d "${TMPDIR:-/tmp}/oci-archive.XXXXXX")
tmpout=
cleanup() { rm -rf "$work"; [ -z "$tmpout" ] || rm -f "$tmpout"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# Store CONTENT_FILE as a blob, print "sha256:HEX SIZE".
blob() {
  local h s
  h=$(sha256sum "$1" | cut -d' ' -f1)
  s=$(stat -c %s "$1")
  mv -f "$1" "$work/oci/blobs/sha256/$h"
  echo "sha256:$h $s"
}
mkdir -p "$work/root" "$work/oci/blobs/sha256"

# --- layer ---
cp -- "$bin" "$work/root/$base"
chmod 0755 "$work/root/$base"
mkdir "$work/root/tmp"
chmod 1777 "$work/root/tmp"
tar -C "$work/root" --format=ustar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner \
    -cf "$work/layer.tar" -- "$base" tmp
diff_id=sha256:$(sha256sum "$work/layer.tar" | cut -d' ' -f1)
gzip -n -9 "$work/layer.tar"
read -r layer_digest layer_size < <(blob "$work/layer.tar.gz")

# --- config ---
ep=$(json_str "/$base")
for a in "$@"; do ep+=",$(json_str "$a")"; done
printf '%s' '{"architecture":"amd64","os":"linux","created":"1970-01-01T00:00:00Z",'\
'"config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],'\
'"Entrypoint":['"$ep"'],"WorkingDir":"/"},'\
'"rootfs":{"type":"layers","diff_ids":["'"$diff_id"'"]},'\
'"history":[{"created":"1970-01-01T00:00:00Z","created_by":'"$(json_str "oci-archive.sh $base")"'}]}' \
  > "$work/config.json"
read -r config_digest config_size < <(blob "$work/config.json")

# --- manifest, index, docker manifest.json, layout marker ---
printf '%s' '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",'\
'"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"'"$config_digest"'","size":'"$config_size"'},'\
'"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"'"$layer_digest"'","size":'"$layer_size"'}]}' \
  > "$work/manifest"
read -r manifest_digest manifest_size < <(blob "$work/manifest")

printf '%s' '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{'\
'"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"'"$manifest_digest"'","size":'"$manifest_size"','\
'"platform":{"architecture":"amd64","os":"linux"},'\
'"annotations":{"io.containerd.image.name":'"$(json_str "$ref")"',"org.opencontainers.image.ref.name":'"$(json_str "$tag")"'}}]}' \
  > "$work/oci/index.json"
printf '%s' '[{"Config":"blobs/sha256/'"${config_digest#sha256:}"'","RepoTags":['"$(json_str "$ref")"'],'\
'"Layers":["blobs/sha256/'"${layer_digest#sha256:}"'"]}]' > "$work/oci/manifest.json"
printf '%s' '{"imageLayoutVersion":"1.0.0"}' > "$work/oci/oci-layout"

# --- archive ---
tmpout=$(mktemp "$outdir/.$(basename -- "$out").XXXXXX")
tar -C "$work/oci" --format=ustar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner \
    --mode='u=rwX,go=rX' -cf "$tmpout" -- blobs index.json manifest.json oci-layout
chmod "$(printf '%o' $((0666 & ~$(umask))))" "$tmpout"
mv -f -- "$tmpout" "$out"
tmpout=
echo "$prog: $out: $ref (manifest $manifest_digest, $(stat -c %s "$out") bytes)"

#!/bin/bash
# Private apt configuration for Debian trixie (the image's release), independent of the host's apt.
# Usage: apt-setup.sh CACHE_DIR [--refresh]
# Writes CACHE_DIR/apt/apt.conf and refreshes the package lists when they are older than
# APT_LISTS_MAX_AGE minutes (default 1440), when the mirror changed, or with --refresh.
# image/kube-build.sh uses it for bookworm's sources: CAIRN_SUITE=bookworm CAIRN_APT_TYPE=deb-src
# CAIRN_APT_DIR=DIR (instead of CACHE_DIR/apt); CAIRN_APT_STALE_OK=1 keeps lists that could not
# be refreshed (with a warning) instead of failing.
set -euo pipefail
cache=${1:?usage: apt-setup.sh CACHE_DIR [--refresh]}
refresh=${2:-}
here=$(cd "$(dirname "$0")" && pwd)
mirror=${CAIRN_MIRROR:-$("$here/mirror.sh")}
suite=${CAIRN_SUITE:-trixie}
keyring=${CAIRN_KEYRING:-/usr/share/keyrings/debian-archive-keyring.gpg}
type=${CAIRN_APT_TYPE:-deb}
a=${CAIRN_APT_DIR:-$cache/apt}
mkdir -p "$a/empty.d" "$a/lists/partial" "$a/cache" "$a/archives/partial" "$cache/debs/partial"
[ -f "$keyring" ] || { echo "apt-setup: keyring $keyring missing (install debian-archive-keyring)" >&2; exit 1; }
[ -f "$a/status" ] || : > "$a/status"

echo "$type [signed-by=$keyring] $mirror $suite main" > "$a/sources.list.new"
cat > "$a/apt.conf.new" <<CONF
APT::Architecture "amd64";
APT::Architectures { "amd64"; };
APT::Install-Recommends "false";
APT::Install-Suggests "false";
APT::Get::Assume-Yes "true";
APT::Sandbox::User "root";
Dir::State "$a";
Dir::State::Lists "$a/lists";
Dir::State::status "$a/status";
Dir::Cache "$a/cache";
Dir::Cache::archives "$cache/debs";
Dir::Etc::SourceList "$a/sources.list";
Dir::Etc::SourceParts "$a/empty.d";
Dir::Etc::Preferences "$a/empty.d";
Dir::Etc::PreferencesParts "$a/empty.d";
Dir::Etc::Parts "$a/empty.d";
Dir::Log "$a";
Debug::NoLocking "true";
Acquire::Languages "none";
CONF
changed=no
for f in sources.list apt.conf; do
  if ! cmp -s "$a/$f.new" "$a/$f"; then mv "$a/$f.new" "$a/$f"; changed=yes; else rm -f "$a/$f.new"; fi
done

max_age=${APT_LISTS_MAX_AGE:-1440}
stamp=$a/lists.stamp
if [ "$changed" = yes ] || [ "$refresh" = --refresh ] || [ ! -f "$stamp" ] ||
   [ -n "$(find "$stamp" -mmin +"$max_age")" ]; then
  echo "apt-setup: updating $suite $type lists from $mirror"
  if APT_CONFIG=$a/apt.conf apt-get -q update >"$a/update.log" 2>&1; then
    touch "$stamp"
  elif [ "${CAIRN_APT_STALE_OK:-}" = 1 ] && [ -f "$stamp" ]; then
    echo "apt-setup: warning: apt-get update failed for $mirror $suite; keeping the lists of $(date -r "$stamp" '+%F %T')" >&2
  else
    cat "$a/update.log" >&2; echo "apt-setup: apt-get update failed for $mirror $suite" >&2; exit 1
  fi
fi

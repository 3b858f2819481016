#!/bin/sh
# Print the Debian mirror URI the host itself uses for bookworm (never hard-coded in the repo).
# Reads /etc/apt/sources.list (one-line format) and /etc/apt/sources.list.d/*.{list,sources}.
set -eu
dir=${APT_SOURCES_DIR:-/etc/apt}
uri=$(
  {
    for f in "$dir"/sources.list "$dir"/sources.list.d/*.list; do
      [ -f "$f" ] || continue
      # deb [opts] URI SUITE COMPONENTS...
      sed -e 's/#.*//' -e 's/\[[^]]*\]//' "$f" |
        awk '$1 == "deb" && $3 == "bookworm" { print $2; exit }'
    done
    for f in "$dir"/sources.list.d/*.sources; do
      [ -f "$f" ] || continue
      # deb822 stanzas separated by blank lines
      awk 'BEGIN { RS = ""; FS = "\n" }
        {
          types = ""; uris = ""; suites = ""; enabled = "yes"
          for (i = 1; i <= NF; i++) {
            line = $i; sub(/#.*/, "", line)
            if (line ~ /^Types:/)   { sub(/^Types:[ \t]*/, "", line);   types = line }
            if (line ~ /^URIs:/)    { sub(/^URIs:[ \t]*/, "", line);    uris = line }
            if (line ~ /^Suites:/)  { sub(/^Suites:[ \t]*/, "", line);  suites = line }
            if (line ~ /^Enabled:/) { sub(/^Enabled:[ \t]*/, "", line); enabled = line }
          }
          if (enabled == "no" || (" " types " ") !~ / deb /) next
          if ((" " suites " ") ~ / bookworm /) { split(uris, u, /[ \t]+/); print u[1]; exit }
        }' "$f"
    done
  } | head -n 1
)
if [ -z "$uri" ]; then
  echo "mirror.sh: no 'deb ... bookworm' entry found in $dir/sources.list{,.d/*}; set CAIRN_MIRROR=URI" >&2
  exit 1
fi
echo "$uri"

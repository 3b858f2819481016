#!/bin/sh
# Check a kernel config against kernel-config/required.config.
# Usage: check.sh KERNEL_CONFIG [REQUIRED_CONFIG]
set -eu
config=${1:?usage: check.sh KERNEL_CONFIG [REQUIRED_CONFIG]}
required=${2:-$(dirname "$0")/required.config}
[ -r "$config" ] || { echo "kernel-config: cannot read $config" >&2; exit 1; }
sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$required" | awk -F= -v cfg="$config" '
  BEGIN { while ((getline line < cfg) > 0) if (line ~ /^CONFIG_[A-Za-z0-9_]+=/) {
            split(line, kv, "="); have[kv[1]] = kv[2] } }
  { want = $2; got = ($1 in have) ? have[$1] : "not set"
    if (("|" want "|") !~ ("\\|" got "\\|")) { printf "kernel-config: %s is %s, Cairn needs %s\n", $1, got, want; bad++ } }
  END { if (bad) { printf "kernel-config: %s lacks %d required option(s)\n", cfg, bad; exit 1 } }' >&2

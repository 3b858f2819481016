#!/bin/bash
# Build check: every ELF in ROOT finds its program interpreter and each DT_NEEDED library inside
# ROOT (RPATH/RUNPATH with $ORIGIN, the standard directories, /etc/ld.so.conf.d). Prints each
# ELF and missing library, exits 1 if any.
# Usage: check-elf.sh ROOT
set -euo pipefail
export LC_ALL=C
root=${1:?usage: check-elf.sh ROOT}
root=$(cd "$root" && pwd)

# Library directories of the image (paths inside ROOT), merged-/usr aliases folded.
sysdirs="/usr/lib/x86_64-linux-gnu /usr/lib /usr/lib64"
for f in "$root"/etc/ld.so.conf.d/*.conf; do
  [ -f "$f" ] && sysdirs="$sysdirs $(sed -e 's/#.*//' -e '/^include/d' "$f" | tr '\n' ' ')"
done

# Every existing file (or symlink resolving inside ROOT) -> "present" set, as /path lines.
present=$(mktemp); trap 'rm -f "$present"' EXIT
( cd "$root" && find . \( -type f -o -type l \) -print ) | sed 's|^\.||' | while read -r p; do
  if [ -L "$root$p" ]; then
    t=$(readlink "$root$p"); case $t in /*) t=$root$t ;; *) t=$(dirname "$root$p")/$t ;; esac
    # resolve absolute targets inside ROOT by hand (one level of the /lib -> usr/lib links is enough)
    [ -e "$t" ] || [ -e "$root$(realpath -m --relative-to="$root" "$t" 2>/dev/null | sed 's|^|/|')" ] || continue
  fi
  echo "$p"
done > "$present"

( cd "$root" && find usr etc -type f ! -name '*.ko' -size +1k -print0 ) |
  (cd "$root" && xargs -0 readelf -d -l -W /dev/null 2>/dev/null || [ $? = 123 ]) |
  awk -v sysdirs="$sysdirs" -v present="$present" '
    function fold(p) { sub(/^\/lib\//, "/usr/lib/", p); sub(/^\/lib64\//, "/usr/lib64/", p)
                       sub(/^\/bin\//, "/usr/bin/", p); sub(/^\/sbin\//, "/usr/sbin/", p)
                       sub(/^\/lib$/, "/usr/lib", p); sub(/^\/lib64$/, "/usr/lib64", p)
                       while (sub(/\/[^\/]+\/\.\.\//, "/", p)) ; gsub(/\/\.\//, "/", p); return p }
    function check(   i, j, n, m, dirs, d, ok, origin) {
      if (file == "") return
      origin = file; sub(/\/[^\/]*$/, "", origin)
      if (interp != "" && !(fold(interp) in have)) { printf "%s: program interpreter %s missing\n", file, interp; bad++ }
      n = split(runpath ":" sysdirs, dirs, /[: ]+/)
      for (i = 1; i <= nneed; i++) {
        ok = 0
        for (j = 1; j <= n && !ok; j++) {
          d = dirs[j]; if (d == "") continue
          gsub(/\$ORIGIN|\$\{ORIGIN\}/, origin, d)
          if (fold(d "/" need[i]) in have) ok = 1
        }
        if (!ok) { printf "%s: needs %s, not found in the image\n", file, need[i]; bad++ }
      }
      elfs++
    }
    BEGIN { while ((getline l < present) > 0) have[fold(l)] = 1 }
    /^File: / { check(); file = "/" $2; nneed = 0; runpath = ""; interp = ""; next }
    /\[Requesting program interpreter: / { interp = $NF; sub(/\]$/, "", interp) }
    /\(NEEDED\)/ { l = $0; sub(/.*\[/, "", l); sub(/\].*/, "", l); need[++nneed] = l }
    /\((RUNPATH|RPATH)\)/ { l = $0; sub(/.*\[/, "", l); sub(/\].*/, "", l); runpath = runpath ":" l }
    END { check(); printf "check-elf: %d ELF files, %d unresolved\n", elfs, bad > "/dev/stderr"; exit bad > 0 }'

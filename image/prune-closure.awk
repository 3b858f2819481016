# Reduce apt's chosen package set to what the requested packages reach without passing through
# an excluded package.
# Input: `apt-cache show NAME=VERSION...` stanzas for the chosen set.
# Variables: want="pkg pkg ..." (requested), skip="pkg pkg ..." (excluded).
# Output: the reachable package names, one per line.
function clauses(s, name,   n, i, c) {
  n = split(s, c, ",")
  for (i = 1; i <= n; i++) { gsub(/\([^)]*\)|:any|:native|[ \t]/, "", c[i]); ndep[name]++; dep[name, ndep[name]] = c[i] }
}
BEGIN { RS = ""; FS = "\n" }
{
  name = ""
  for (i = 1; i <= NF; i++) if ($i ~ /^Package: /) { name = substr($i, 10) }
  pkg[name] = 1; prov[name] = prov[name] " " name
  for (i = 1; i <= NF; i++) {
    if ($i ~ /^(Pre-)?Depends: /) { s = $i; sub(/^[^:]*: /, "", s); clauses(s, name) }
    if ($i ~ /^Provides: /) {
      s = $i; sub(/^Provides: /, "", s); n = split(s, p, ",")
      for (j = 1; j <= n; j++) { gsub(/\([^)]*\)|[ \t]/, "", p[j]); prov[p[j]] = prov[p[j]] " " name }
    }
  }
}
END {
  ns = split(skip, sk, " "); for (i = 1; i <= ns; i++) excluded[sk[i]] = 1
  nq = split(want, q, " ")
  head = 1
  for (i = 1; i <= nq; i++) queue[++tail] = q[i]
  while (head <= tail) {
    x = queue[head++]
    np = split(prov[x], cand, " ")
    for (k = 1; k <= np; k++) {
      y = cand[k]
      if (y in seen || y in excluded) continue
      seen[y] = 1; print y
      for (d = 1; d <= ndep[y]; d++) {
        na = split(dep[y, d], alt, "|")
        for (a = 1; a <= na; a++) if (prov[alt[a]] != "") { queue[++tail] = alt[a]; break }
      }
    }
  }
}

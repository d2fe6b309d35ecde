#!/usr/bin/env bash
# Prints, one per line, the installed Debian packages that hold the shared
# libraries BINARY loads (what a runtime image must install to run it).
# usage: tools/runtime-packages.sh BINARY
# Exits 1 naming any library that is missing or that no package holds.
set -euo pipefail
binary=${1:?usage: runtime-packages.sh BINARY}
status=0
libs=$(ldd "$binary") || { echo "runtime-packages: ldd $binary failed" >&2; exit 1; }
if grep -q "not found" <<<"$libs"; then
  echo "runtime-packages: $binary has missing libraries:" >&2
  grep "not found" <<<"$libs" >&2
  exit 1
fi
pkgs=()
while read -r lib; do
  # /lib and /usr/lib are one directory on bookworm; dpkg knows one of them.
  pkg=$(dpkg-query -S "*${lib#/usr}" 2>/dev/null | head -n1 | cut -d: -f1 || true)
  if [[ -z $pkg ]]; then
    echo "runtime-packages: no package holds $lib" >&2
    status=1
    continue
  fi
  pkgs+=("$pkg")
done < <(awk '$2 == "=>" && $3 ~ /^\// {print $3}' <<<"$libs")
((${#pkgs[@]})) && printf '%s\n' "${pkgs[@]}" | sort -u
exit $status

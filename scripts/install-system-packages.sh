#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages the tests use (scripts/system-packages.txt) when they are missing.
# A no-op when everything is present. Needs root or sudo to install; otherwise it says what is missing.
set -euo pipefail
list="$(dirname "$0")/system-packages.txt"
[ -f "$list" ] || exit 0
missing=()
while read -r pkg; do
  [ -z "$pkg" ] || [[ "$pkg" == \#* ]] && continue
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done < "$list"
[ ${#missing[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null; then
  echo "warning: not a Debian/Ubuntu system; please install: ${missing[*]}" >&2
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo="sudo -n"
  else echo "warning: cannot install ${missing[*]} (not root, no sudo); the tests that need them will fail" >&2; exit 0; fi
fi
echo "installing system packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >/dev/null || true
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

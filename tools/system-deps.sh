#!/usr/bin/env bash
# Install the Debian packages a target needs, only when something is missing.
#   test:     fonts-noto-cjk (Chinese chart labels), poppler-utils (pdftotext, pdftoppm)
#   validate: R with the surveillance, spc and spdep packages
set -euo pipefail
case "${1:-test}" in
  test)     packages=(fonts-noto-cjk poppler-utils) ;;
  validate) packages=(r-base-core r-cran-surveillance r-cran-spc r-cran-spdep) ;;
  *) echo "usage: $0 test|validate" >&2; exit 2 ;;
esac
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null; then
  echo "system-deps: missing ${missing[*]} and no apt-get; install them by hand" >&2; exit 1
fi
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "system-deps: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

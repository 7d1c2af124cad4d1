#!/usr/bin/env bash
# WeasyPrint (certificates, promotion files) needs Pango and HarfBuzz from the system.
set -euo pipefail
packages=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b libharfbuzz-subset0 fonts-dejavu-core)
# The suite checks signed PDFs with an independent validator: poppler's pdfsig, trusting our CA via NSS's certutil.
packages+=(poppler-utils libnss3-tools)
have() { /sbin/ldconfig -p 2>/dev/null | grep -q "$1"; }
if have libpango-1.0.so.0 && have libpangoft2-1.0.so.0 && have libharfbuzz-subset.so.0 \
   && command -v pdfsig >/dev/null && command -v certutil >/dev/null; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
  echo "Installing the system packages Bangkom needs: ${packages[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}" >/dev/null
else
  echo "Bangkom needs system packages that are missing (WeasyPrint's libraries, pdfsig, certutil). Install them with:"
  echo "  sudo apt-get install -y ${packages[*]}"
  exit 1
fi

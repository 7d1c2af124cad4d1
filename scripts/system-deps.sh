#!/usr/bin/env bash
# WeasyPrint (certificates, promotion files) needs Pango and HarfBuzz from the system.
set -euo pipefail
packages=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b libharfbuzz-subset0 fonts-dejavu-core)
have() { /sbin/ldconfig -p 2>/dev/null | grep -q "$1"; }
if have libpango-1.0.so.0 && have libpangoft2-1.0.so.0 && have libharfbuzz-subset.so.0; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
  echo "Installing the system libraries WeasyPrint needs: ${packages[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}" >/dev/null
else
  echo "WeasyPrint needs system libraries that are missing. Install them with:"
  echo "  sudo apt-get install -y ${packages[*]}"
  exit 1
fi

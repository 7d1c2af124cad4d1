#!/usr/bin/env bash
# The browser tests drive Debian's Chromium headless; install it when we can, else say so (they skip loudly).
set -euo pipefail
command -v chromium >/dev/null && exit 0
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
  echo "Installing Chromium for the browser tests"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
else
  echo "!! Chromium is missing: the browser tests will be skipped. Install it with: sudo apt-get install -y chromium"
fi

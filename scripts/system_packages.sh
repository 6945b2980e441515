#!/usr/bin/env bash
# The one system library mediacache needs at run time: libmagic (type detection from bytes).
# Installed from Debian when missing and we may (root + apt-get); otherwise one clear line.
set -euo pipefail
if ldconfig -p 2>/dev/null | grep -q 'libmagic\.so\.1'; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing libmagic1 (content types from magic bytes)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libmagic1 >/dev/null
  exit 0
fi
echo "mediacache needs libmagic: install it (Debian/Ubuntu: apt-get install libmagic1; macOS: brew install libmagic)" >&2
exit 1

#!/usr/bin/env bash
# The system packages mediacache needs at run time: libmagic (type detection from bytes) and
# ffmpeg (ffprobe analyses audio/video at ingest; ffmpeg makes the variants).
# Installed from Debian when missing and we may (root + apt-get); otherwise one clear line.
set -euo pipefail
need=()
ldconfig -p 2>/dev/null | grep -q 'libmagic\.so\.1' || need+=(libmagic1)
{ command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null; } || need+=(ffmpeg)
if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing ${need[*]} (content types from magic bytes; media analysis and variants)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  exit 0
fi
echo "mediacache needs ${need[*]}: install it (Debian/Ubuntu: apt-get install ${need[*]}; macOS: brew install libmagic ffmpeg)" >&2
exit 1

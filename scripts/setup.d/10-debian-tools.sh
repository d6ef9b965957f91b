#!/usr/bin/env bash
# Debian command-line tools that tests call directly: zstd (the .zst input test compresses with
# the system tool, so it does not share valley's writer). Installed with apt-get when missing and
# root; otherwise the tests that need them are gated skips naming them.
set -euo pipefail
missing=()
for tool in zstd; do
  command -v "$tool" >/dev/null || missing+=("$tool")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null ||
    { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null; }
else
  echo "warning: ${missing[*]} not installed and no apt-get as root; the tests that need them will be gated skips" >&2
fi

#!/usr/bin/env bash
# Headless Chromium (Debian's `chromium` package) for the report's HTML test
# (crates/valley/tests/report_cli.rs loads index.html with --dump-dom and checks its tables and
# figures). Writes VALLEY_CHROMIUM into .cache/env.sh. Without apt-get or root, the test prints
# why it skips.
set -euo pipefail
cd "$(dirname "$0")/../.."
mkdir -p .cache
find_chromium() { command -v chromium || command -v chromium-browser || command -v google-chrome || true; }
bin=$(find_chromium)
if [ -z "$bin" ]; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    { apt-get update -q && apt-get install -y -q --no-install-recommends chromium; } >&2 \
      || echo "warning: installing chromium failed; the report's HTML test will skip" >&2
    bin=$(find_chromium)
  else
    echo "skipped: no chromium, and no apt-get as root to install it; the report's HTML test will skip" >&2
  fi
fi
if [ -n "$bin" ]; then
  echo "export VALLEY_CHROMIUM=$bin" >> .cache/env.sh
fi

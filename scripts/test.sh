#!/usr/bin/env bash
# The test command (README's second). First installs what the tests need with scripts/setup.sh
# (idempotent, package registries only: a first run on a fresh machine takes about 45 minutes,
# most of it compiling llama.cpp and fetching torch; later runs spend about a minute checking),
# then runs the whole workspace's tests and doc tests. A test whose tool could not be installed
# here (no root for apt-get, no npm, ...) is a gated skip (valley_test::gate): the list of skips,
# each with what was missing and how to get it, is printed at the end. VALLEY_REQUIRE_GATED=1
# (CI sets it) makes every skip a failure. VALLEY_SETUP=0 leaves the setup out.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${VALLEY_SETUP:-1}" != 0 ]; then
  bash scripts/setup.sh ||
    echo "warning: the setup was incomplete (above); the tests that need what it could not install will say so" >&2
fi
[ -f .cache/env.sh ] && . .cache/env.sh
skips=$(mktemp)
trap 'rm -f "$skips"' EXIT
export VALLEY_GATED_LOG="$skips"
cargo test --workspace --all-targets
cargo test --workspace --doc
if [ -s "$skips" ]; then
  echo "$(wc -l < "$skips") gated tests skipped (VALLEY_REQUIRE_GATED=1 makes a skip a failure):" >&2
  sort "$skips" >&2
fi

#!/usr/bin/env bash
# Installs what the tests and the main job need on a fresh machine, from the package registries
# only. Idempotent. Writes .cache/env.sh with the variables that enable the optional tests.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .cache
: > .cache/env.sh
for s in scripts/setup.d/*.sh; do
  [ -e "$s" ] || continue
  echo "-- $s" >&2
  bash "$s"
done

#!/usr/bin/env bash
# Installs what the tests and the main job need on a fresh machine, from the package registries
# only. Idempotent. Writes .cache/env.sh with the variables that enable the gated tests. Every
# step runs even when an earlier one failed; the exit status is 1 when any failed.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .cache
: > .cache/env.sh
failed=()
for s in scripts/setup.d/*.sh; do
  [ -e "$s" ] || continue
  echo "-- $s" >&2
  bash "$s" || failed+=("$s (exit $?)")
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "error: setup steps failed: ${failed[*]}" >&2
  exit 1
fi

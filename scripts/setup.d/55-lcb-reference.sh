#!/usr/bin/env bash
# LiveCodeBench's own code (NVIDIA's PyPI packaging, `nvidia-livecodebench`, pure Python, no
# dependencies needed for its prompt and extraction functions) in a venv at
# .cache/lcb-reference/venv, for scripts/check-lcb-extraction.py and scripts/check-lcb-prompts.py
# (issue 13: valley's extraction and prompts checked against LiveCodeBench's source). Writes
# VALLEY_LCB_PYTHON into .cache/env.sh. Idempotent; without python3 or the registry it says so and
# the checks report themselves skipped.
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV=.cache/lcb-reference/venv
VERSION=26.3
if ! command -v python3 >/dev/null; then
  echo "skipped: python3 not found; the LiveCodeBench fidelity checks will skip" >&2
  exit 0
fi
if ! "$VENV/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('nvidia-livecodebench') != '$VERSION')" 2>/dev/null; then
  python3 -m venv "$VENV"
  if ! "$VENV/bin/python" -m pip install --quiet --no-deps "nvidia-livecodebench==$VERSION" >&2; then
    echo "warning: installing nvidia-livecodebench failed; the LiveCodeBench fidelity checks will skip" >&2
    exit 0
  fi
fi
echo "export VALLEY_LCB_PYTHON=$PWD/$VENV/bin/python" >> .cache/env.sh

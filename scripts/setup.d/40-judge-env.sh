#!/usr/bin/env bash
# The judge's declared Python environment: a virtual environment in .cache/judge-env/ made from
# python3 with exactly the pinned packages of crates/valley-judge/python/requirements.txt
# (numpy: LiveCodeBench's grader and TACO's test header import it), from PyPI. The same thing
# as `valley judge env create .cache/judge-env`, without needing the binary (setup runs before
# the build). Writes VALLEY_JUDGE_PYTHON into .cache/env.sh: `valley judge`, `data label` and
# `eval` take it as their default --python, and the judge tests run under it, so they never
# depend on what happens to be installed in the system's python3.
# Idempotent (a stamp of the requirements file); a first run takes about 10 s (venv, one wheel).
set -euo pipefail
cd "$(dirname "$0")/../.."
req=crates/valley-judge/python/requirements.txt
env_dir=.cache/judge-env
stamp="$env_dir/valley-judge-requirements.txt"
if ! command -v python3 >/dev/null; then
    echo "skipped: python3 not found; the judge tests will skip" >&2
    exit 0
fi
start=$(date +%s)
if [ -x "$env_dir/bin/python" ] && cmp -s "$req" "$stamp" \
    && "$env_dir/bin/python" -I -c "import numpy" 2>/dev/null; then
    echo "judge env: $env_dir is up to date" >&2
else
    [ -x "$env_dir/bin/python" ] || python3 -m venv "$env_dir"
    "$env_dir/bin/python" -m pip install --disable-pip-version-check --no-input --quiet -r "$req"
    cp "$req" "$stamp"
    echo "judge env: made $env_dir ($("$env_dir/bin/python" -I -c 'import sys, numpy; print("Python", sys.version.split()[0], "numpy", numpy.__version__)')) in $(( $(date +%s) - start )) s" >&2
fi
line="export VALLEY_JUDGE_PYTHON=$(cd "$env_dir" && pwd -P)/bin/python"
touch .cache/env.sh
grep -qxF "$line" .cache/env.sh || echo "$line" >> .cache/env.sh

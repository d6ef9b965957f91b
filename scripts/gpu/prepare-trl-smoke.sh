#!/usr/bin/env bash
# Prepares what scripts/gpu/trl-smoke.sh needs on the GPU machine, which has no cargo and no
# network: the valley binary and SmolLM2-135M-Instruct's GGUF, in pieces that fit the device
# tool's 64 MiB carry limit per call. Writes into .cache/gpu/ (git-ignored):
#   valley.gz            the stripped release binary, gzip'd (~9 MB)
#   smollm2.gguf.part-aa the GGUF's first 48 MiB
#   smollm2.gguf.part-ab the rest (~46 MiB)
#   smollm2.gguf.sha256  the whole file's digest, checked after reassembly
# Two calls then carry them, back to back (a warm machine keeps ignored files between calls,
# and gives itself back after ~30 s idle):
#   call 1: carry [".cache/gpu/valley.gz", ".cache/gpu/smollm2.gguf.part-aa", ".cache/gpu/smollm2.gguf.sha256"]
#           command: true
#   call 2: carry [".cache/gpu/smollm2.gguf.part-ab"]
#           command: OUT=$OUT bash scripts/gpu/trl-smoke.sh
# trl-smoke.sh reassembles and checks the GGUF, unpacks the binary, and runs
# `valley model export` there to get the HF folder the engine trains.
set -euo pipefail
cd "$(dirname "$0")/../.."
gguf="${VALLEY_SMOLLM2_GGUF:-.cache/models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf}"
[ -f "$gguf" ] || bash scripts/setup.d/70-smollm2.sh
cargo build --release -p valley
mkdir -p .cache/gpu
strip -o .cache/gpu/valley target/release/valley
gzip -9 -f .cache/gpu/valley
split -b 48M "$gguf" .cache/gpu/smollm2.gguf.part-
sha256sum < "$gguf" | cut -d' ' -f1 > .cache/gpu/smollm2.gguf.sha256
ls -la .cache/gpu

#!/usr/bin/env bash
# GPU parity and throughput of valley's native backend against HF transformers, in one call on
# the lent GPU machine (issue 5). Prepared on the CPU machine, which builds the binary:
#
#   cargo build --release -p valley-native --features cuda --example parity
#   mkdir -p shared/gpu && cp target/release/examples/parity shared/gpu/parity-cuda   # ~35 MB
#
# then on the GPU machine (torch + transformers installed, no cargo), from the repository root:
#
#   OUT=$OUT PARITY_BIN=shared/gpu/parity-cuda bash scripts/gpu/native-parity.sh
#
# Same random SmolLM2-135M-shaped weights (fp32) and batch (4 x 1024 tokens) on both sides: loss and
# every gradient vs transformers (relative error), valley's checkpoint after 6 AdamW steps loaded
# in transformers with matching logits, and training tokens/s vs transformers on the same GPU
# (fp32 eager, fp32 SDPA, bf16 autocast). Numbers go to $OUT/parity.json.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT="${OUT:-/tmp/valley-parity}"
BIN="${PARITY_BIN:-target/release/examples/parity}"
PY="${PYTHON:-python3}"
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$OUT/gpu.txt"
t0=$(date +%s)
"$PY" scripts/gpu/native_parity.py prepare "$OUT"
echo "prepared in $(( $(date +%s) - t0 ))s" >&2
"$BIN" "$OUT/ref" "$OUT/batch.json" "$OUT/native" cuda 6 | tee "$OUT/native.log"
echo "native done at $(( $(date +%s) - t0 ))s" >&2
"$PY" scripts/gpu/native_parity.py compare "$OUT"
rm -rf "$OUT/ref" "$OUT/native/run" "$OUT/native/checkpoint"   # keep $OUT small: only the numbers come back
echo "total $(( $(date +%s) - t0 ))s" >&2

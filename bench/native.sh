#!/usr/bin/env bash
# valley's native backend on CPU against the references, same machine, same run (issue 5):
#  1. training: tokens/s of a full AdamW step (forward, backward, clip, update) on SmolLM2-135M's
#     shape (random fp32 weights, ROWS x SEQ tokens) — valley (`parity` tool, burn-flex) vs PyTorch
#     + transformers on CPU, same weights and batch;
#  2. generation: tokens/s of greedy chat completions with SmolLM2-135M-Instruct (Q4_1 GGUF) —
#     `valley serve` (dequantised to f32) vs llama.cpp's server (quantised kernels), same prompts
#     and max_tokens, plus how much of the greedy output agrees.
# Prints both ratios. Needs: scripts/setup.sh (SmolLM2, the llama.cpp server) and a Python with
# torch + transformers (TORCH_PYTHON, default: the engines' venv .cache/train-engines).
#
#   cargo build --release -p valley -p valley-native --example parity
#   VALLEY=target/release/valley PARITY=target/release/examples/parity bash bench/native.sh
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f .cache/env.sh ] && . .cache/env.sh
VALLEY="${VALLEY:-target/release/valley}"
PARITY="${PARITY:-target/release/examples/parity}"
TORCH_PYTHON="${TORCH_PYTHON:-.cache/train-engines/bin/python}"
ROWS="${ROWS:-1}" SEQ="${SEQ:-512}" STEPS="${STEPS:-4}"
PROMPTS="${PROMPTS:-4}" MAX_TOKENS="${MAX_TOKENS:-128}"
OUT=bench/out/native
mkdir -p "$OUT"
for f in "$VALLEY" "$PARITY" "$TORCH_PYTHON"; do
  [ -x "$f" ] || { echo "error: $f not found (see the header of $0)" >&2; exit 2; }
done
: "${VALLEY_SMOLLM2_GGUF:?run scripts/setup.d/70-smollm2.sh first}"
[ -f .cache/llm-env.sh ] && . .cache/llm-env.sh
: "${VALLEY_LLM_ENDPOINT:?start the llama.cpp server: scripts/setup-llm-server.sh}"
echo "machine: $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)"

echo "== training step, SmolLM2-135M shape, ${ROWS}x${SEQ} tokens, fp32"
"$TORCH_PYTHON" bench/native_train_torch.py prepare "$OUT" "$ROWS" "$SEQ"
ours=$("$PARITY" "$OUT/ref" "$OUT/batch.json" "$OUT/valley" cpu "$STEPS" | tail -n1)
theirs=$("$TORCH_PYTHON" bench/native_train_torch.py measure "$OUT" "$STEPS")
rm -rf "$OUT/valley/run" "$OUT/valley/checkpoint" "$OUT/valley/logits.safetensors"
python3 - "$ours" "$theirs" <<'PYEOF'
import json, sys
a, b = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"valley  {a['train_tokens_per_second']:8.1f} tok/s (loss {a['loss']:.4f}, steps {[round(s, 2) for s in a['step_seconds']]})")
print(f"pytorch {b['train_tokens_per_s']:8.1f} tok/s (loss {b['loss']:.4f}, torch {b['torch']}, {b['threads']} threads)")
print(f"ratio valley/pytorch (training): {a['train_tokens_per_second'] / b['train_tokens_per_s']:.2f}")
PYEOF

echo "== generation, SmolLM2-135M-Instruct Q4_1, greedy, $PROMPTS prompts x $MAX_TOKENS tokens"
port=$((20000 + RANDOM % 20000))
"$VALLEY" serve --model "$VALLEY_SMOLLM2_GGUF" --port "$port" --name smollm2 2> "$OUT/serve.log" &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do
  curl -sf "http://127.0.0.1:$port/v1/models" >/dev/null && break
  kill -0 $pid 2>/dev/null || { cat "$OUT/serve.log" >&2; exit 1; }
  sleep 1
done
python3 bench/native_generate.py "http://127.0.0.1:$port/v1" smollm2 "$VALLEY_LLM_ENDPOINT" "${VALLEY_LLM_MODEL:-smollm2}" "$PROMPTS" "$MAX_TOKENS"

echo "== teacher-forced greedy agreement with llama.cpp (same GGUF; repeat penalty off)"
python3 -c "import numpy" 2>/dev/null && py=python3 || py="$TORCH_PYTHON"
"$py" bench/greedy_agreement.py "$VALLEY" "$VALLEY_SMOLLM2_GGUF" "$VALLEY_LLM_ENDPOINT" "${VALLEY_LLM_MODEL:-smollm2}" "$PROMPTS" "$MAX_TOKENS"

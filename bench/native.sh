#!/usr/bin/env bash
# valley's native backend on CPU against the references, same machine, same run (issues 5, 17):
#  1. training: tokens/s of a full AdamW step (forward, backward, clip, update) on SmolLM2-135M's
#     shape (random fp32 weights, ROWS x SEQ tokens) — valley's CPU trainer (`parity` tool) vs
#     PyTorch + transformers on CPU, same weights and batch;
#  2. batch-1 decoding: tokens/s of greedy chat completions with SmolLM2-135M-Instruct (Q4_1
#     GGUF), streamed, one request at a time — `valley serve` (quantised kernels) vs llama.cpp's
#     server, same prompts, max_tokens and threads;
#  3. continuous batching: aggregate tokens/s of `valley serve` with CONCURRENCY requests in
#     flight against one at a time, same requests;
#  4. the engines alone, no HTTP, no Python per token: valley's (`examples/decode`) against
#     llama.cpp's C decode loop (bench/llama_cpp_decode.py through llama-cpp-python's bindings,
#     greedy sampling in C), same GGUF, same token ids, same threads, batch 1 and CONCURRENCY
#     sequences decoding together after PROMPT_TOKENS-token prompts;
#  5. teacher-forced greedy agreement with llama.cpp, for the engine and the f32 path;
#  6. with QUANT=1: the engine's and the f32 path's logits against llama.cpp's own on copies of the
#     GGUF requantised by llama.cpp (Q8_0, Q4_0, Q5_1, Q4_K_M, Q5_K_M, Q6_K; bench/requantize.py,
#     bench/quant_logits.py, with the llama.cpp server's Python, VALLEY_LLM_PYTHON).
# Prints the three ratios at the end with the machine's load (the machine is shared: rerun when
# the load is low). Needs: scripts/setup.sh (SmolLM2, the llama.cpp server) and a Python with
# torch + transformers (TORCH_PYTHON, default: the engines' venv .cache/train-engines).
#
#   cargo build --release -p valley --bin valley
#   cargo build --release -p valley-native --example parity --example decode
#   VALLEY=target/release/valley PARITY=target/release/examples/parity \
#     DECODE=target/release/examples/decode bash bench/native.sh
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f .cache/env.sh ] && . .cache/env.sh
VALLEY="${VALLEY:-target/release/valley}"
PARITY="${PARITY:-target/release/examples/parity}"
DECODE="${DECODE:-target/release/examples/decode}"
PROMPT_TOKENS="${PROMPT_TOKENS:-300}"
TORCH_PYTHON="${TORCH_PYTHON:-.cache/train-engines/bin/python}"
ROWS="${ROWS:-1}" SEQ="${SEQ:-512}" STEPS="${STEPS:-4}"
PROMPTS="${PROMPTS:-4}" MAX_TOKENS="${MAX_TOKENS:-128}"
CONCURRENCY="${CONCURRENCY:-8}" REQUESTS="${REQUESTS:-8}"
THREADS="${THREADS:-$(nproc)}"
OUT=bench/out/native
mkdir -p "$OUT"
for f in "$VALLEY" "$PARITY" "$DECODE" "$TORCH_PYTHON"; do
  [ -x "$f" ] || { echo "error: $f not found (see the header of $0)" >&2; exit 2; }
done
: "${VALLEY_SMOLLM2_GGUF:?run scripts/setup.d/70-smollm2.sh first}"
[ -f .cache/llm-env.sh ] && . .cache/llm-env.sh
: "${VALLEY_LLM_ENDPOINT:?start the llama.cpp server: scripts/setup-llm-server.sh}"
load() { cut -d' ' -f1-3 /proc/loadavg; }
echo "machine: $(nproc) cores; load $(load)"
summary=()

echo "== training step, SmolLM2-135M shape, ${ROWS}x${SEQ} tokens, fp32 (load $(load))"
"$TORCH_PYTHON" bench/native_train_torch.py prepare "$OUT" "$ROWS" "$SEQ"
ours=$("$PARITY" "$OUT/ref" "$OUT/batch.json" "$OUT/valley" cpu "$STEPS" | tail -n1)
theirs=$("$TORCH_PYTHON" bench/native_train_torch.py measure "$OUT" "$STEPS")
rm -rf "$OUT/valley/run" "$OUT/valley/checkpoint" "$OUT/valley/logits.safetensors"
line=$(python3 - "$ours" "$theirs" <<'PYEOF'
import json, sys
a, b = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"valley  {a['train_tokens_per_second']:8.1f} tok/s (loss {a['loss']:.4f}, steps {[round(s, 2) for s in a['step_seconds']]})", file=sys.stderr)
print(f"pytorch {b['train_tokens_per_s']:8.1f} tok/s (loss {b['loss']:.4f}, torch {b['torch']}, {b['threads']} threads)", file=sys.stderr)
print(f"training vs PyTorch CPU: {a['train_tokens_per_second'] / b['train_tokens_per_s']:.2f}x "
      f"({a['train_tokens_per_second']:.1f} vs {b['train_tokens_per_s']:.1f} tok/s)")
PYEOF
)
echo "$line"
summary+=("$line (load $(load))")

port=$((20000 + RANDOM % 20000))
"$VALLEY" serve --model "$VALLEY_SMOLLM2_GGUF" --port "$port" --name smollm2 --threads "$THREADS" \
  --parallel "$CONCURRENCY" 2> "$OUT/serve.log" &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do
  curl -sf "http://127.0.0.1:$port/v1/models" >/dev/null && break
  kill -0 $pid 2>/dev/null || { cat "$OUT/serve.log" >&2; exit 1; }
  sleep 1
done
head -n1 "$OUT/serve.log"

echo "== batch-1 decoding, SmolLM2-135M-Instruct Q4_1, greedy, $PROMPTS prompts x $MAX_TOKENS tokens, $THREADS threads (load $(load))"
gen=$(python3 bench/native_generate.py "http://127.0.0.1:$port/v1" smollm2 "$VALLEY_LLM_ENDPOINT" "${VALLEY_LLM_MODEL:-smollm2}" "$PROMPTS" "$MAX_TOKENS")
echo "$gen"
line=$(python3 - "$gen" <<'PYEOF'
import json, sys
d = json.loads(sys.argv[1].splitlines()[0])
print(f"batch-1 decode vs llama.cpp: {d['ratio_decode_valley_over_llama_cpp']:.2f}x ({d['valley_decode_tokens_per_s']} vs "
      f"{d['llama_cpp_decode_tokens_per_s']} tok/s; whole requests {d['valley_request_tokens_per_s']} vs "
      f"{d['llama_cpp_request_tokens_per_s']})")
PYEOF
)
summary+=("$line (load $(load))")

echo "== continuous batching: $REQUESTS requests, $CONCURRENCY in flight vs one at a time (load $(load))"
conc=$(python3 bench/native_concurrency.py "http://127.0.0.1:$port/v1" smollm2 "$CONCURRENCY" "$REQUESTS" "$MAX_TOKENS")
echo "$conc"
line=$(python3 - "$conc" <<'PYEOF'
import json, sys
d = json.loads(sys.argv[1].splitlines()[0])
print(f"{d['concurrency']} concurrent vs 1: {d['ratio']:.2f}x aggregate ({d['concurrent_tokens_per_s']} vs "
      f"{d['one_at_a_time_tokens_per_s']} tok/s)")
PYEOF
)
summary+=("$line (load $(load))")
kill $pid 2>/dev/null || true

echo "== the engines alone (no HTTP): $PROMPT_TOKENS-token prompts, $MAX_TOKENS greedy steps, 1 and $CONCURRENCY sequences, $THREADS threads (load $(load))"
: "${VALLEY_LLM_PYTHON:?set by .cache/env.sh: the Python of the llama.cpp server}"
ours=$(RAYON_NUM_THREADS="$THREADS" "$DECODE" "$VALLEY_SMOLLM2_GGUF" "$PROMPT_TOKENS" "$MAX_TOKENS" 1 "$CONCURRENCY")
echo "$ours"
theirs=$("$VALLEY_LLM_PYTHON" bench/llama_cpp_decode.py "$VALLEY_SMOLLM2_GGUF" "$THREADS" "$PROMPT_TOKENS" "$MAX_TOKENS" 1 "$CONCURRENCY" 2> "$OUT/llama_cpp_decode.log")
echo "$theirs"
line=$(python3 - "$ours" "$theirs" "$CONCURRENCY" <<'PYEOF'
import json, sys
ours = {d["sequences"]: d["tokens_per_s"] for d in map(json.loads, sys.argv[1].splitlines())}
theirs, c = json.loads(sys.argv[2]), int(sys.argv[3])
l1, lc = theirs["batch_1_tokens_per_s"], theirs[f"batch_{c}_tokens_per_s"]
print(f"engines, no HTTP: batch-1 decode vs llama.cpp {ours[1] / l1:.2f}x ({ours[1]} vs {l1} tok/s); "
      f"{c} sequences vs 1: valley {ours[c] / ours[1]:.2f}x ({ours[c]} tok/s), llama.cpp {lc / l1:.2f}x ({lc} tok/s); "
      f"{c} sequences vs llama.cpp {ours[c] / lc:.2f}x")
PYEOF
)
summary+=("$line (load $(load))")

echo "== teacher-forced greedy agreement with llama.cpp (same GGUF; repeat penalty off)"
python3 -c "import numpy" 2>/dev/null && py=python3 || py="$TORCH_PYTHON"
"$py" bench/greedy_agreement.py "$VALLEY" "$VALLEY_SMOLLM2_GGUF" "$VALLEY_LLM_ENDPOINT" "${VALLEY_LLM_MODEL:-smollm2}" "$PROMPTS" "$MAX_TOKENS"

if [ "${QUANT:-0}" = 1 ]; then
  echo "== logits against llama.cpp's on requantised copies (engine: quantised kernels; f32: dequantised)"
  : "${VALLEY_LLM_PYTHON:?set by .cache/env.sh: the Python of the llama.cpp server}"
  "$VALLEY_LLM_PYTHON" bench/requantize.py "$VALLEY_SMOLLM2_GGUF" "$OUT/quant" > "$OUT/requantize.log" 2>&1
  "$VALLEY_LLM_PYTHON" bench/quant_logits.py "$VALLEY" "$VALLEY_SMOLLM2_GGUF" "$OUT"/quant/*.gguf
fi

echo "== summary ($(nproc) cores)"
printf '%s\n' "${summary[@]}"

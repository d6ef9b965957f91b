#!/usr/bin/env bash
# Issue 13: `valley eval` on the 1,200 MavenCoder LCB v1 candidates under the old default
# extraction (after-think) and the new one (LiveCodeBench's rule, the `lcb` profile's default), in
# the same run. The responses have no thinking (a Markdown plan, often with fences of its own,
# then the solution block), so the graded programs must not change; the script prints both
# pass@1s and every verdict that flips (at the time limit: the judge's timing on a loaded machine;
# otherwise: a different program extracted), and exits 1 if an extraction flip changes pass/fail.
#
# Usage: bench/extraction.sh [OUT_DIR]
# Needs ../shared (or VALLEY_SHARED) with data/lcb_v1_public_mavencoder (benchmark use only: the
# generations are built in OUT_DIR, never in the repository) and a built `valley` (VALLEY).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SHARED="${VALLEY_SHARED:-$ROOT/../shared}"
OUT="${1:-$(mktemp -d -t valley-extraction-bench.XXXXXX)}"
VALLEY="${VALLEY:-${CARGO_TARGET_DIR:-$ROOT/target}/debug/valley}"
[ -x "$VALLEY" ] || { echo "error: no valley binary at $VALLEY; build it or set VALLEY" >&2; exit 2; }
mkdir -p "$OUT"
python3 "$ROOT/bench/judge_corpus.py" mavencoder "$SHARED/data" "$OUT" >/dev/null
python3 - "$SHARED/data/lcb_v1_public_mavencoder" "$OUT/generations.jsonl" <<'PY'
import gzip, json, os, sys
folder, out = sys.argv[1], sys.argv[2]
n = fenced = 0
models = sorted(m[len("candidates_"):].split(".jsonl")[0] for m in os.listdir(folder) if m.startswith("candidates_"))
with open(out, "w") as f:
    for name in sorted(os.listdir(folder)):
        if not name.startswith("candidates_"):
            continue
        model = name[len("candidates_"):].split(".jsonl")[0]
        with gzip.open(os.path.join(folder, name), "rt") as src:
            for line in src:
                c = json.loads(line)
                plan = c.get("solution_approach") or ""
                fenced += "```" in plan
                # the model's plan, then its program in a fence: a response as a chat model writes it
                response = f"{plan}\n\n```python\n{c['solution']}\n```\n"
                f.write(json.dumps({"question_id": c["task_id"], "sample_index": models.index(model),
                                    "response": response, "finish_reason": "stop",
                                    "model": model}) + "\n")
                n += 1
print(f"{n} generations ({fenced} plans hold fences of their own) -> {out}", file=sys.stderr)
PY
for mode in after-think lcb; do
  "$VALLEY" -q eval --problems "$OUT/problems.jsonl" --generations "$OUT/generations.jsonl" \
    --extract "$mode" --out "$OUT/eval-$mode" --json > "$OUT/eval-$mode.json"
done
python3 - "$OUT" <<'PY'
import json, sys
out = sys.argv[1]
m = {k: json.load(open(f"{out}/eval-{k}/metrics.json")) for k in ("after-think", "lcb")}
v = {k: {r["candidate_id"]: r["verdict"] for r in map(json.loads, open(f"{out}/eval-{k}/verdicts.jsonl"))} for k in m}
flips = [(c, v["after-think"][c], v["lcb"][c]) for c in v["lcb"] if v["lcb"][c] != v["after-think"][c]]
for k in m:
    print(f"{k:12} pass@1 {m[k]['pass_at_1']:.4f}  no-code {m[k]['no_code_rate']:.4f}  verdicts {json.dumps(m[k]['verdicts'])}")
print(f"lcb run: pass_at_1_after_think {m['lcb'].get('pass_at_1_after_think')}, decomposition {json.dumps(m['lcb'].get('failure_decomposition'))}")
# A flip with a time limit on one side is the judge's timing (the same program near its limit on
# a loaded machine), not the extraction; any other flip is a different program graded.
timing = [f for f in flips if "TLE" in f[1:]]
extraction = [f for f in flips if "TLE" not in f[1:]]
changed = [f for f in extraction if (f[1] == "AC") != (f[2] == "AC")]
print(f"verdict flips: {len(flips)} of {len(v['lcb'])} ({len(timing)} at the time limit, {len(extraction)} from the extraction, {len(changed)} of those change pass/fail)")
for f in flips:
    print("  %s: after-think %s, lcb %s" % f)
sys.exit(1 if changed else 0)
PY

#!/usr/bin/env bash
# Grades the same corpus with LiveCodeBench's own grader (../shared/tools/lcb-baseline,
# nvidia-livecodebench 26.3) and with `valley judge --profile lcb`, WORKERS workers each, in the
# same run, and prints verdict agreement and the speed ratio:
#   1. the mixed corpus (the 1,200 MavenCoder LCB v1 candidates, time-outs included), against
#      its physical bound (every fired time limit must elapse; every record costs its CPU time);
#   2. the accepted candidates whose own run time is small (both graders, 2 workers each), with
#      the few that compute for seconds reported apart against their own CPU time;
#   3. verdict flips when CPU-bound processes compete with valley.
#
# Usage: bench/judge.sh [OUT_DIR]
# Needs: ../shared (or VALLEY_SHARED) with data/lcb_v1_public_mavencoder and tools/lcb-baseline
# (run its setup.sh once); a built `valley` (VALLEY, default target/{release,debug}/valley).
# The corpus is built in OUT_DIR from the shared data and never copied into the repository.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SHARED="${VALLEY_SHARED:-$ROOT/../shared}"
OUT="${1:-$(mktemp -d -t valley-judge-bench.XXXXXX)}"
WORKERS="${WORKERS:-2}"
SPINNERS="${SPINNERS:-2}"
# "Small own run time": accepted records whose programs use less CPU than this in all.
FAST_CPU_MS="${FAST_CPU_MS:-100}"
VALLEY="${VALLEY:-}"
if [ -z "$VALLEY" ]; then
  for c in "${CARGO_TARGET_DIR:-$ROOT/target}/release/valley" "${CARGO_TARGET_DIR:-$ROOT/target}/debug/valley"; do
    if [ -x "$c" ]; then VALLEY="$c"; break; fi
  done
fi
[ -x "$VALLEY" ] || { echo "error: no valley binary; build it or set VALLEY" >&2; exit 2; }
BASELINE="$SHARED/tools/lcb-baseline/run_baseline.py"
# Grade with the reference's own interpreter and packages (installed packages change verdicts).
PY="${VALLEY_PYTHON:-${LCB_BASELINE_HOME:-$HOME/.cache/lcb-baseline}/venv/bin/python}"
[ -x "$PY" ] || PY=python3
CORPUS_PY="$ROOT/bench/judge_corpus.py"
mkdir -p "$OUT"

now() { date +%s.%N; }
load() { cut -d' ' -f1-3 /proc/loadavg; }
ratio() { python3 -c "import sys; a, b = float(sys.argv[1]), float(sys.argv[2]); print('%.2f' % (a / b))" "$1" "$2"; }
elapsed() { python3 -c "import sys; print('%.2f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$1" "$2"; }

reference() { # corpus json_out
  local t0 t1
  t0=$(now)
  python3 "$BASELINE" "$1" --mode codegen --workers "$WORKERS" --no-overheads --json-out "$2" > "$2.txt"
  t1=$(now)
  elapsed "$t0" "$t1"
}

valley() { # dir out
  local t0 t1
  t0=$(now)
  "$VALLEY" -q judge --problems "$1/problems.jsonl" --candidates "$1/candidates.jsonl" \
    --profile lcb --jobs "$WORKERS" --python "$PY" --out "$2" --json > "$2.summary.json"
  t1=$(now)
  elapsed "$t0" "$t1"
}

echo "== corpus"
python3 "$CORPUS_PY" mavencoder "$SHARED/data" "$OUT/mixed"
echo "machine: $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg); workers $WORKERS each; valley $VALLEY; python $PY"

echo "== 1. mixed corpus (1,200 candidates)"
t_ref=$(reference "$OUT/mixed/corpus.jsonl" "$OUT/mixed/ref.jsonl")
t_val=$(valley "$OUT/mixed" "$OUT/mixed/valley.jsonl")
python3 "$CORPUS_PY" compare "$OUT/mixed/ref.jsonl" "$OUT/mixed/valley.jsonl" || true
bound=$(python3 "$CORPUS_PY" bound "$OUT/mixed/valley.jsonl" "$WORKERS")
tests=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['tests_run'])" "$OUT/mixed/valley.jsonl.summary.json")
echo "reference ${t_ref}s, valley ${t_val}s: valley is $(ratio "$t_ref" "$t_val")x faster (load now $(load))"
echo "physical bound ${bound}s: valley at $(ratio "$t_val" "$bound")x the bound; $(python3 -c "import sys; print('%.0f' % (float(sys.argv[1]) / float(sys.argv[2])))" "$tests" "$t_val") tests/s"

echo "== 2. accepted candidates with a small own run time (under ${FAST_CPU_MS} ms of CPU)"
python3 "$CORPUS_PY" fast "$OUT/mixed/corpus.jsonl" "$OUT/mixed/ref.jsonl" "$OUT/mixed/valley.jsonl" "$OUT/fast" "$FAST_CPU_MS"
t_ref=$(reference "$OUT/fast/corpus.jsonl" "$OUT/fast/ref.jsonl")
t_val=$(valley "$OUT/fast" "$OUT/fast/valley.jsonl")
python3 "$CORPUS_PY" compare "$OUT/fast/ref.jsonl" "$OUT/fast/valley.jsonl" | head -3 || true
echo "reference ${t_ref}s, valley ${t_val}s: valley is $(ratio "$t_ref" "$t_val")x faster (load now $(load))"

echo "== 2b. the accepted candidates that compute for longer, against their own CPU time"
t_val=$(valley "$OUT/fast-slow" "$OUT/fast-slow/valley.jsonl")
slow_bound=$(python3 "$CORPUS_PY" bound "$OUT/fast-slow/valley.jsonl" "$WORKERS")
echo "valley ${t_val}s for their CPU-time bound of ${slow_bound}s ($(ratio "$t_val" "$slow_bound")x the bound)"

echo "== 3. verdict flips with $SPINNERS CPU-bound competitors"
pids=()
for _ in $(seq "$SPINNERS"); do
  python3 -c "while True: pass" & pids+=($!)
done
t_val=$(valley "$OUT/mixed" "$OUT/mixed/valley.loaded.jsonl")
for p in "${pids[@]}"; do kill "$p"; done
echo "valley under load ${t_val}s (load now $(load))"
python3 "$CORPUS_PY" flips "$OUT/mixed/valley.jsonl" "$OUT/mixed/valley.loaded.jsonl" || true
echo "outputs in $OUT"

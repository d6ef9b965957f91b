#!/usr/bin/env bash
# Replica scaling and straggler tolerance of `valley generate --engine`, against a stand-in
# engine that valley starts itself (crates/valley-test/python/fake_engine.py, installed as
# `vllm`): a fixed latency per completion token and a fixed batch (at most BATCH requests at
# once, like a GPU server at capacity), so one server's throughput is bounded and R servers can
# give at most R times it. Both measurements are ratios from the same run:
#
#   1. scaling: samples/s of R replicas over samples/s of one (goal: >= 0.9 R);
#   2. straggler: one replica SLOW times slower than the others; the wall time of R replicas
#      with it over that of the R-1 fast ones alone (goal: <= 1: a slow replica may help, never
#      hold the run hostage), with valley's hedging and, for reference, with --no-hedge.
#
# Usage: VALLEY=<valley binary> bench/engines.sh [SAMPLES] [R] [SLOW]   (default 800 4 10)
# Without VALLEY it builds the release binary. Engine start-up is not timed (`wall_s` is the
# generation's own).
set -euo pipefail
cd "$(dirname "$0")/.."
SAMPLES="${1:-800}"
R="${2:-4}"
SLOW="${3:-10}"
TOKEN_MS="${TOKEN_MS:-2}"   # 50 tokens: 100 ms a request
TOKENS="${TOKENS:-50}"
BATCH="${BATCH:-8}"
if [ -z "${VALLEY:-}" ]; then
  cargo build --quiet --release -p valley
  VALLEY="${CARGO_TARGET_DIR:-target}/release/valley"
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/bin" "$work/model"
python3 - "$work" "$SAMPLES" <<'PY'
import json, os, shutil, sys
work, n = sys.argv[1], int(sys.argv[2])
src = "crates/valley-test/python/fake_engine.py"
dst = os.path.join(work, "bin", "vllm")
shutil.copy(src, dst)
os.chmod(dst, 0o755)
with open(os.path.join(work, "problems.jsonl"), "w") as f:
    for i in range(n):
        f.write(json.dumps({"question_id": f"q{i}", "question_content": f"Problem {i}."}) + "\n")
PY
export PATH="$work/bin:$PATH" FAKE_ENGINE_TOKEN_MS="$TOKEN_MS" FAKE_ENGINE_TOKENS="$TOKENS" \
  FAKE_ENGINE_BATCH="$BATCH" FAKE_ENGINE_SLOW_FACTOR="$SLOW" FAKE_ENGINE_LIFETIME_S=900
unset CUDA_VISIBLE_DEVICES SLURM_JOB_ID
gpus() { seq -s, 0 $(( $1 - 1 )); }
# run NAME REPLICAS [valley flags...]: prints the summary JSON with a "name"
run() {
  local name=$1 r=$2; shift 2
  rm -rf "$work/gen.jsonl" "$work/gen.engine"
  (cd "$work" && "$VALLEY" generate --engine vllm --model model --problems problems.jsonl \
     --out gen.jsonl --replicas "$r" --gpus "$(gpus "$r")" --concurrency "$BATCH" --json "$@") |
    python3 -c "import json,sys; d=json.load(sys.stdin); d['name']='$name'; print(json.dumps(d))"
}
results=()
results+=("$(run one 1)")
results+=("$(run many "$R")")
results+=("$(run fast-only $(( R - 1 )))")
results+=("$(FAKE_ENGINE_SLOW_GPU=$(( R - 1 )) run with-slow "$R")")
results+=("$(FAKE_ENGINE_SLOW_GPU=$(( R - 1 )) run with-slow-no-hedge "$R" --no-hedge)")
python3 - "$R" "$SLOW" "${results[@]}" <<'PY'
import json, sys
r, slow = int(sys.argv[1]), sys.argv[2]
runs = {d["name"]: d for d in map(json.loads, sys.argv[3:])}
for d in runs.values():
    assert d["written"] == d["planned"], d
    print(f'{d["name"]:>20}: {d["written"]} samples in {d["wall_s"]:.2f}s = {d["records_per_s"]:.1f}/s, '
          f'per replica {d["per_replica"]}, hedged {d["hedged"]} (won {d["hedge_wins"]})')
scale = runs["many"]["records_per_s"] / runs["one"]["records_per_s"]
print(f"scaling: {r} replicas give {scale:.2f}x the throughput of one = {scale / r:.2f} R (goal >= 0.90 R)")
fast = runs["fast-only"]["wall_s"]
for name in ("with-slow", "with-slow-no-hedge"):
    print(f"straggler ({name}): {r} replicas, one {slow}x slower, take {runs[name]['wall_s'] / fast:.2f}x "
          f"the wall time of the {r - 1} fast ones alone (goal <= 1.00)")
PY

#!/usr/bin/env bash
# Client overhead and sustained request rate: valley's generation client versus LiveCodeBench's
# own OpenAI-compatible runner (GenericOAIServerRunner from PyPI nvidia-livecodebench 26.3), both
# sending the same number of chat requests to the same fast local server (valley-test's fake
# OpenAI server on 127.0.0.1, answering instantly), at concurrency 1 and 8, in the same run.
#
# Usage: bench/generate/run.sh [REQUESTS]   (default 1000)
# Needs the LiveCodeBench venv of shared/tools/lcb-baseline/setup.sh (LCB_BASELINE_HOME) plus the
# runner's own imports (requests, tenacity, pebble, attrs), installed here if missing.
set -euo pipefail
cd "$(dirname "$0")/../.."
REQUESTS="${1:-1000}"
LCB_HOME="${LCB_BASELINE_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/lcb-baseline}"
LCB_PY="$LCB_HOME/venv/bin/python"
PORT="${BENCH_PORT:-18765}"
[ -x "$LCB_PY" ] || { echo "error: no LiveCodeBench venv at $LCB_HOME/venv; run shared/tools/lcb-baseline/setup.sh" >&2; exit 2; }
"$LCB_PY" -c "import requests, tenacity, pebble, attrs" 2>/dev/null ||
  "$LCB_PY" -m pip install --quiet requests tenacity pebble attrs

cargo build --quiet --release -p valley-test --example fake_openai -p valley-generate --example bench_client
TARGET="${CARGO_TARGET_DIR:-target}/release/examples"
# Bounded: the server exits after 20 * REQUESTS + 100 requests or 600 s.
"$TARGET/fake_openai" "$PORT" $(( 20 * REQUESTS + 100 )) 600 > /dev/null &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
sleep 0.5
URL="http://127.0.0.1:$PORT/v1"

results=()
for c in 1 8; do
  v=$("$TARGET/bench_client" "$URL" "$REQUESTS" "$c")
  l=$("$LCB_PY" bench/generate/lcb_runner_bench.py "$URL" "$REQUESTS" "$c" 2>/dev/null | tail -n1)
  echo "$v"
  echo "$l"
  results+=("$v" "$l")
done
"$LCB_PY" - "${results[@]}" <<'PY'
import json, sys
rows = [json.loads(a) for a in sys.argv[1:]]
for c in sorted({r["concurrency"] for r in rows}):
    v = next(r for r in rows if r["client"] == "valley" and r["concurrency"] == c)
    l = next(r for r in rows if r["client"] == "lcb" and r["concurrency"] == c)
    per_v = 1000 * v["wall_s"] * c / v["requests"]
    per_l = 1000 * l["wall_s"] * c / l["requests"]
    print(f"concurrency {c}: valley {v['requests_per_s']:.0f} req/s ({per_v:.2f} ms/request/worker), "
          f"lcb {l['requests_per_s']:.0f} req/s ({per_l:.2f} ms/request/worker), "
          f"ratio valley/lcb = {v['requests_per_s'] / l['requests_per_s']:.1f}x")
PY

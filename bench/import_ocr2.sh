#!/usr/bin/env bash
# Benchmark: `valley data import ocr2` on ROWS synthetic OpenCodeReasoning-2 rows of realistic size
# (one Parquet file, the 14 string columns of the published config; r1_generation median 24,000
# characters, ~45 KB a row; 35,000 questions over TACO, APPS, CodeContests and Codeforces source
# splits at their real sizes; see crates/valley-data/examples/gen_ocr2.rs). Prints rows/s and
# peak RSS for the questions-only import and for `--traces r1` (every R1 response streamed back
# out as a trace), which is what shows memory bounded by the questions, not the rows.
#
#   bash bench/import_ocr2.sh             # ROWS=1000000
#   ROWS=100000 bash bench/import_ocr2.sh
#   KEEP=1 bash bench/import_ocr2.sh      # keep the generated input (it is large) for a rerun
#   VALLEY=target/release/valley bash bench/import_ocr2.sh   # time the CLI itself
#
# Without VALLEY it times crates/valley-data/examples/import_ocr2.rs, the same library call as
# `valley data import ocr2` in a small release build (the whole binary's, native backend
# included, takes long to build on a small machine). TRACES_ROWS (default ROWS) limits the
# `--traces r1` run, whose output is ~25 KB a row.
set -euo pipefail
ROWS=${ROWS:-1000000}
WORK=${WORK:-/tmp/valley-bench-ocr2}
cd "$(dirname "$0")/.."
export CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-1} CARGO_INCREMENTAL=0
cargo build --release -q -p valley-data --example gen_ocr2 --example import_ocr2
BIN=${CARGO_TARGET_DIR:-target}/release/examples
if [ -n "${VALLEY:-}" ]; then
  IMPORT=("$VALLEY" data import ocr2); TRACES_FLAG=(--traces r1); JSON=(--json)
else
  IMPORT=("$BIN/import_ocr2"); TRACES_FLAG=(--traces); JSON=()
fi
gen() {
  local rows=$1 dir=$2
  if [ ! -s "$dir/ocr2-python.parquet" ]; then
    echo "generating $rows OCR2-shaped rows into $dir ..." >&2
    "$BIN/gen_ocr2" --rows "$rows" --out "$dir"
  fi
}
run() {
  local label=$1 rows=$2 dir=$3; shift 3
  local size
  size=$(stat -c %s "$dir/ocr2-python.parquet")
  rm -rf "$WORK/out"
  /usr/bin/time -f '%e %M' -o "$WORK/time.txt" \
    "${IMPORT[@]}" --input "$dir/ocr2-python.parquet" \
      --source "taco:train=$dir/sources/taco-train.jsonl" \
      --source "apps:train=$dir/sources/apps-train.jsonl" \
      --source "code_contests:train=$dir/sources/code_contests-train.jsonl" \
      --source "open-r1/codeforces:train=$dir/sources/open-r1_codeforces-train.jsonl" \
      --out "$WORK/out" "$@" "${JSON[@]}" > "$WORK/summary.json"
  read -r SECS KB < "$WORK/time.txt"
  python3 - "$label" "$rows" "$size" "$SECS" "$KB" "$WORK/summary.json" <<'PY'
import json, sys
label, rows, size, secs, kb, summary = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
s = json.load(open(summary))
extra = f", {s['traces']} traces" if s.get("traces") is not None else ""
print(f"import ocr2 {label}: {rows:,} rows ({size/1e9:.2f} GB Parquet): {secs:.1f} s, "
      f"{rows/secs:,.0f} rows/s, peak RSS {kb/1024:.0f} MiB; {s['questions']} questions{extra}, "
      f"{s['left_out']['rows']} rows left out")
PY
  rm -rf "$WORK/out"
}
IN="$WORK/in-$ROWS"
gen "$ROWS" "$IN"
run "questions only" "$ROWS" "$IN"
TRACES_ROWS=${TRACES_ROWS:-$ROWS}
if [ "$TRACES_ROWS" = "$ROWS" ]; then
  run "--traces r1" "$ROWS" "$IN" "${TRACES_FLAG[@]}"
else
  [ -z "${KEEP:-}" ] && rm -rf "$IN"
  IN="$WORK/in-$TRACES_ROWS"
  gen "$TRACES_ROWS" "$IN"
  run "--traces r1" "$TRACES_ROWS" "$IN" "${TRACES_FLAG[@]}"
fi
if [ -z "${KEEP:-}" ]; then rm -rf "$IN"; fi

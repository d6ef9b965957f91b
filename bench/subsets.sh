#!/usr/bin/env bash
# Benchmark: `valley data subsets` on ROWS traces of realistic size (default 1M rows, median
# 8,000 characters per response): wall time and peak memory (RSS) for the paper's 30K/10K/1K draw.
#
#   bash bench/subsets.sh            # ROWS=1000000 MEDIAN=8000 by default
#   ROWS=100000 bash bench/subsets.sh
set -euo pipefail
ROWS=${ROWS:-1000000}
MEDIAN=${MEDIAN:-8000}
WORK=${WORK:-/tmp/valley-bench}
cd "$(dirname "$0")/.."
mkdir -p "$WORK"
cargo build --release -q -p valley
BIN=target/release/valley
IN="$WORK/traces-$ROWS-$MEDIAN.jsonl"
if [ ! -s "$IN" ]; then
  echo "generating $ROWS traces (median $MEDIAN chars) into $IN ..." >&2
  python3 bench/gen_traces.py --rows "$ROWS" --median-chars "$MEDIAN" --out "$IN"
fi
SIZE=$(stat -c %s "$IN")
rm -rf "$WORK/out"
/usr/bin/time -f '%e %M' -o "$WORK/time.txt" \
  "$BIN" data subsets --input "$IN" --sizes 30000,10000,1000 --seed 1 --out "$WORK/out" --json >/dev/null
read -r SECS KB < "$WORK/time.txt"
python3 - "$ROWS" "$SIZE" "$SECS" "$KB" <<'PY'
import sys
rows, size, secs, kb = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
print(f"data subsets: {rows} rows, {size/1e9:.2f} GB input: {secs:.1f} s "
      f"({rows/secs:,.0f} rows/s, {size/1e6/secs:,.0f} MB/s), peak RSS {kb/1024:.0f} MiB")
PY

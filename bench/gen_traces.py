#!/usr/bin/env python3
"""Writes N synthetic distillation traces of realistic size as JSON Lines, deterministically.

Each row has the fields of a real trace (id, question, response with <think>...</think> and a
final ```python block, difficulty, correct, source). Response lengths follow a log-normal
distribution (median ~ --median-chars, long tail capped at 32x the median), as teacher traces do.

    python3 bench/gen_traces.py --rows 1000000 --median-chars 8000 --out /tmp/traces.jsonl
"""
import argparse
import json
import math
import random

WORDS = (
    "we need to read the input then for each test case compute the answer using a prefix sum "
    "array but wait the constraints say n up to 2e5 so an O(n log n) approach with sorting and "
    "binary search works let me check the sample input 3 1 2 gives output 4 which matches hmm "
    "actually the edge case when k equals zero must print minus one so handle that first"
).split()
CODE = "import sys\ndef main():\n    data = sys.stdin.read().split()\n    n = int(data[0])\n    print(sum(map(int, data[1:n+1])))\nmain()\n"
DIFFS = ["easy", "medium", "medium_hard", "hard", "very_hard"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, required=True)
    ap.add_argument("--median-chars", type=int, default=8000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    # a pool of pre-built paragraphs, so generation is I/O bound
    pool = [" ".join(rng.choice(WORDS) for _ in range(200)) for _ in range(64)]
    cap = 32 * a.median_chars
    with open(a.out, "w", buffering=1 << 22) as f:
        for i in range(a.rows):
            n = min(cap, int(a.median_chars * math.exp(rng.gauss(0, 0.8))))
            parts, size = [], 0
            while size < n:
                p = pool[rng.randrange(64)]
                parts.append(p)
                size += len(p) + 1
            think = "\n".join(parts)[:n]
            row = {
                "id": f"ocr2-{i:08d}",
                "question": f"Problem {i}: given n integers, print their sum. " + pool[i % 64][:400],
                "response": f"<think>\n{think}\n</think>\n\n```python\n{CODE}```\n",
                "difficulty": DIFFS[i % 5],
                "correct": i % 2 == 0,
                "source": "synthetic",
            }
            f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()

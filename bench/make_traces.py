#!/usr/bin/env python3
"""Writes synthetic distillation traces of realistic length from real data in ../shared/data.

Each trace is a real question (rLLM CodeContests/Codeforces/LeetCode, TACO prompts) and a
response of about --chars characters: a `<think>` block assembled from real reasoning prose
(LiveCodeBench candidates' reflections and solution approaches) and real solution code, then a
final ```python``` block. About 5% of the responses leave the block unclosed. Same arguments,
same bytes.

    python3 bench/make_traces.py --rows 30000 --chars 20000 --out bench/out/traces.jsonl
"""

import argparse
import gzip
import json
import os
import random

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", type=int, default=30000)
    p.add_argument("--chars", type=int, default=20000)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--shared", default=os.environ.get("VALLEY_SHARED_DATA", os.path.join(REPO, "..", "shared", "data")))
    p.add_argument("--out", required=True)
    a = p.parse_args()

    questions, prose, code = [], [], []
    for name in ["code_contests_test", "codeforces_test", "leetcode_test", "leetcode_train"]:
        with gzip.open(os.path.join(a.shared, "rllm_code_tests", f"{name}.json.gz"), "rt") as f:
            for r in json.load(f):
                questions.append(r["problem"])
                if r.get("solutions"):
                    code.append(r["solutions"] if isinstance(r["solutions"], str) else r["solutions"][0])
    with gzip.open(os.path.join(a.shared, "taco_test_prompts_flagopen", "taco_generation_example.json.gz"), "rt") as f:
        for r in json.load(f):
            questions.append(r["prompt"])
            code += r["output"]
    lcb = os.path.join(a.shared, "lcb_v1_public_mavencoder")
    for name in sorted(os.listdir(lcb)):
        if name.startswith("candidates_"):
            with gzip.open(os.path.join(lcb, name), "rt") as f:
                for line in f:
                    r = json.loads(line)
                    for key in ("reflection", "solution_approach"):
                        if r.get(key):
                            prose.append(r[key])
                    if r.get("solution"):
                        code.append(r["solution"])

    rng = random.Random(a.seed)
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    tmp = a.out + ".tmp"
    total = 0
    with open(tmp, "w", encoding="utf-8") as f:
        for i in range(a.rows):
            q = rng.choice(questions)
            parts, n = [], len(q)
            while n < a.chars - 2000:
                piece = rng.choice(prose) if rng.random() < 0.7 else "Let me try this:\n" + rng.choice(code)
                parts.append(piece)
                n += len(piece) + 2
            answer = rng.choice(code)
            think = "\n\n".join(parts)
            if rng.random() < 0.05:
                response = f"<think>\n{think}"
            else:
                response = f"<think>\n{think}\n</think>\n\nHere is the solution.\n\n```python\n{answer}\n```"
            total += len(q) + len(response)
            f.write(json.dumps({"id": f"t{i}", "question": q, "response": response,
                                "source": "synthetic"}, ensure_ascii=False) + "\n")
    os.replace(tmp, a.out)
    print(f"wrote {a.rows} traces, {total / max(a.rows, 1):.0f} characters each on average, to {a.out}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Regenerates the committed trace fixtures from ../shared/data (MIT-licensed sources only).

fixtures/traces/leetcode-train.jsonl.gz: 1,889 traces built from rLLM's LeetCode train split
(agentica-project/rllm, MIT): question = the problem statement, response = a short reasoning block
(synthetic: sentences drawn from the statement, deterministic) followed by the reference solution in
a python fence. To exercise parsers, every 10th response has its reasoning cut off (unclosed
<think>), and every 20th has no reasoning block. The `tests` column carries rLLM's `check` function.

fixtures/benchmarks/leetcode-test.jsonl.gz: the 200 problems of rLLM's LeetCode test split
(MIT), with `question_id`, `question` and the `check` tests, as a decontamination benchmark.

    python3 scripts/make-fixtures.py ../shared/data
"""
import gzip
import json
import os
import random
import sys

src = sys.argv[1] if len(sys.argv) > 1 else "../shared/data"
rng = random.Random(20251007)


def write(path, rows):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    raw = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode()
    with open(path, "wb") as f:
        f.write(gzip.compress(raw, compresslevel=9, mtime=0))


def statement(problem):
    marker = "```python"
    return problem.split(marker)[0].strip()


train = json.load(gzip.open(os.path.join(src, "rllm_code_tests/leetcode_train.json.gz")))
rows = []
for i, r in enumerate(train):
    q = statement(r["problem"])
    sentences = [s.strip() for s in q.replace("\n", " ").split(".") if len(s.strip()) > 20]
    picked = rng.sample(sentences, min(4, len(sentences)))
    think = "Let me restate the task. " + ". ".join(picked) + ".\nI will write a `Solution` class and check it on the examples."
    code = r["solutions"].rstrip() + "\n"
    if i % 20 == 19:
        response = f"Here is a solution.\n\n```python\n{code}```\n"
    elif i % 10 == 9:
        response = f"<think>\n{think}\nWait, let me reconsider"
    else:
        response = f"<think>\n{think}\n</think>\n\n```python\n{code}```\n"
    tests = r["tests"]
    rows.append({
        "id": f"lc-train-{i:05d}",
        "question": q,
        "response": response,
        "source": "rllm/leetcode_train",
        "tests": tests if isinstance(tests, str) else json.dumps(tests),
    })
write("fixtures/traces/leetcode-train.jsonl.gz", rows)

test = json.load(gzip.open(os.path.join(src, "rllm_code_tests/leetcode_test.json.gz")))
write("fixtures/benchmarks/leetcode-test.jsonl.gz", [
    {"question_id": f"lc-test-{i:03d}", "question": statement(r["problem"]),
     "tests": r["tests"] if isinstance(r["tests"], str) else json.dumps(r["tests"])}
    for i, r in enumerate(test)
])
print(f"wrote {len(rows)} traces and {len(test)} benchmark problems")

#!/usr/bin/env python3
"""Builds examples/data/leetcode-lcb.jsonl: the first 30 problems of
fixtures/benchmarks/leetcode-test.jsonl.gz (rllm's LeetCode test split, MIT; see
fixtures/PROVENANCE.md) whose `check` asserts are plain literal calls, rewritten as LiveCodeBench
code_generation_lite rows (call-based tests: one JSON argument per line, the expected value as
JSON), so `valley generate` prompts them and `valley eval --profile lcb` judges them.

    python3 examples/data/make-leetcode-lcb.py     # byte-identical output on any machine
"""
import ast
import gzip
import json
import os
import re

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(HERE, "..", "..", "fixtures", "benchmarks", "leetcode-test.jsonl.gz")
OUT = os.path.join(HERE, "leetcode-lcb.jsonl")
KEEP = 30


def convert(row):
    tests = json.loads(row["tests"])["functional"]
    tree = ast.parse(tests)
    check = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "check")
    call = tree.body[-1].value  # check(Solution().name)
    func = call.args[0].attr
    cases, params = [], None
    for stmt in check.body:
        if not (isinstance(stmt, ast.Assert) and isinstance(stmt.test, ast.Compare)):
            return None
        left, (op,), (right,) = stmt.test.left, stmt.test.ops, stmt.test.comparators
        if not (isinstance(op, ast.Eq) and isinstance(left, ast.Call) and not left.args):
            return None
        try:
            args = [(k.arg, ast.literal_eval(k.value)) for k in left.keywords]
            want = ast.literal_eval(right)
        except ValueError:
            return None
        names = [a for a, _ in args]
        if params is None:
            params = names
        if names != params or any(isinstance(v, float) for _, v in args) or isinstance(want, float):
            return None
        cases.append({
            "input": "\n".join(json.dumps(v) for _, v in args),
            "output": json.dumps(want),
            "testtype": "functional",
        })
    if not cases or params is None:
        return None
    text = row["question"]
    text = re.sub(r"^Please solve the programming task below.*?\n\n", "", text, flags=re.S)
    text = re.sub(r"\s*Please complete the following python code precisely:\s*$", "", text)
    starter = "class Solution:\n    def %s(self, %s):\n        " % (func, ", ".join(params))
    return {
        "question_title": func,
        "question_content": text.strip(),
        "platform": "leetcode",
        "question_id": row["question_id"],
        "contest_id": "rllm-leetcode-test",
        "contest_date": "2023-09-30T00:00:00",
        "starter_code": starter,
        "difficulty": "medium",
        "public_test_cases": json.dumps(cases[:1]),
        "private_test_cases": json.dumps(cases[1:]),
        "metadata": json.dumps({"func_name": func}),
    }


def main():
    rows = []
    with gzip.open(SRC, "rt", encoding="utf-8") as f:
        for line in f:
            r = convert(json.loads(line))
            if r is not None:
                rows.append(r)
            if len(rows) == KEEP:
                break
    with open(OUT, "w", encoding="utf-8", newline="\n") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False, sort_keys=False) + "\n")
    print("%d problems -> %s" % (len(rows), OUT))


if __name__ == "__main__":
    main()

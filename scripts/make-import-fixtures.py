#!/usr/bin/env python3
"""Writes fixtures/import/: TACO test rows, CodeContests and Codeforces test rows, and an
OpenCodeReasoning-2-shaped file that refers to them, from the real material in ../shared/data.

    python3 scripts/make-import-fixtures.py ../shared/data
    # then, for the Parquet twin of the OCR2 file (needs pyarrow, e.g. .cache/train-engines):
    .cache/train-engines/bin/python3 scripts/make-import-fixtures.py ../shared/data --parquet
    # every row of each set instead of its head, into a scratch folder (for measuring imports
    # on all the real rows there are: 1,000 TACO test rows, 165 CodeContests, 408 Codeforces):
    python3 scripts/make-import-fixtures.py ../shared/data --all --out /tmp/valley-import-real

Same input, same bytes. fixtures/PROVENANCE.md says what each file holds and what is
reconstructed; read it before using these rows for anything but tests.
"""

import argparse
import gzip
import hashlib
import json
import os
import re

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(REPO, "fixtures", "import")

TACO_ROWS = 36  # TACO test positions 0..35
CC_ROWS = 6  # CodeContests test positions 0..5 (rLLM's order)
CF_ROWS = 6  # Codeforces test positions 0..5 (rLLM's order)

OCR2_FIELDS = ["question", "r1_generation", "qwq_critique", "solution", "judgement", "pass_rate",
               "source", "license", "dataset", "split", "difficulty", "index", "id", "question_id"]


def taco_question(prompt):
    """The statement (and starter code) of a TACO/APPS-style prompt."""
    body = prompt
    if body.startswith("\nQUESTION:\n"):
        body = body[len("\nQUESTION:\n"):]
    call = body.endswith("\nUse Call-Based format\nANSWER:\n")
    for tail in ("\nUse Standard Input format\nANSWER:\n", "\nUse Call-Based format\nANSWER:\n"):
        if body.endswith(tail):
            body = body[: -len(tail)]
    return body, call


def examples(statement):
    """The sample tests printed in a statement, or [] when none can be read with certainty."""
    tests = []
    m = re.search(r"-----Examples?-----\n(.*?)(?:\n-----Note-----|\Z)", statement, re.S)
    if m:
        parts = re.split(r"^(Input|Output)\n", m.group(1), flags=re.M)
        # ['', 'Input', text, 'Output', text, ...]
        labels = parts[1::2]
        texts = parts[2::2]
        if labels and len(labels) % 2 == 0 and all(
            labels[i] == ("Input" if i % 2 == 0 else "Output") for i in range(len(labels))
        ):
            for i in range(0, len(texts), 2):
                inp, out = texts[i].strip("\n"), texts[i + 1].strip("\n")
                if inp and out:
                    tests.append((inp + "\n", out + "\n"))
            return tests
    pairs = re.findall(
        r"----- Sample Input \d+ ------ ?\n(.*?)\n----- Sample Output \d+ ------ ?\n(.*?)(?=\n----- |\Z)",
        statement,
        re.S,
    )
    for inp, out in pairs:
        inp, out = inp.strip("\n"), out.strip("\n")
        if inp and out:
            tests.append((inp + "\n", out + "\n"))
    return tests


def md5(s):
    return hashlib.md5(s.encode()).hexdigest()


def response(code, note):
    return f"<think>\n{note}\n</think>\n\n```python\n{code.strip()}\n```\n"


def main():
    global OUT, TACO_ROWS, CC_ROWS, CF_ROWS
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("shared", help="the shared data folder (../shared/data)")
    p.add_argument("--parquet", action="store_true", help="also write ocr2-python.parquet")
    p.add_argument("--all", action="store_true", help="every row of each set, not the heads")
    p.add_argument("--out", default=OUT, help="output folder [default: fixtures/import]")
    a = p.parse_args()
    OUT = a.out
    if a.all:
        TACO_ROWS = CC_ROWS = CF_ROWS = None
    os.makedirs(OUT, exist_ok=True)

    with gzip.open(os.path.join(a.shared, "taco_test_prompts_flagopen", "taco_generation_example.json.gz"), "rt") as f:
        taco = json.load(f)
    taco_rows, taco_solvable = [], []
    for r in taco[:TACO_ROWS]:
        assert int(r["task_id"]) == len(taco_rows), "FlagOpen's order is the split's order"
        question, call = taco_question(r["prompt"])
        tests = [] if call else examples(question)
        io = json.dumps({"inputs": [t[0] for t in tests], "outputs": [t[1] for t in tests]}) if tests else ""
        taco_rows.append({
            "question": question,
            "solutions": "[]",
            "starter_code": "",
            "input_output": io,
            "difficulty": "UNKNOWN_DIFFICULTY",
            "raw_tags": "[]",
            "name": None,
            "source": None,
            "tags": "[]",
            "skill_types": "[]",
            "url": None,
            "Expected Auxiliary Space": None,
            "time_limit": None,
            "date": None,
            "picture_num": None,
            "memory_limit": None,
            "Expected Time Complexity": None,
        })
        taco_solvable.append((len(taco_rows) - 1, r["output"][0], bool(tests), call))
    write_jsonl("taco-test-head.jsonl", taco_rows)

    with gzip.open(os.path.join(a.shared, "rllm_code_tests", "code_contests_test.json.gz"), "rt") as f:
        cc = json.load(f)
    cc_rows = []
    for r in cc[:CC_ROWS]:
        cc_rows.append({
            "description": r["problem"].strip("\n"),
            "public_tests": {"input": r["tests"]["inputs"][:1], "output": r["tests"]["outputs"][:1]},
            "private_tests": {"input": r["tests"]["inputs"][1:], "output": r["tests"]["outputs"][1:]},
        })
    write_jsonl("code_contests-test-head.jsonl", cc_rows)

    with gzip.open(os.path.join(a.shared, "rllm_code_tests", "codeforces_test.json.gz"), "rt") as f:
        cf = json.load(f)
    cf_rows = []
    for r in cf[:CF_ROWS]:
        text = r["problem"].strip("\n")
        m = re.match(r"(.*?)\n\nInput Format:\n(.*?)\n\nOutput Format:\n(.*?)(?:\n\nNote:\n(.*?))?\n\nTags:\n", text + "\n\nTags:\n", re.S)
        assert m, text[:200]
        cf_rows.append({
            "description": m.group(1),
            "input_format": m.group(2),
            "output_format": m.group(3),
            "interaction_format": None,
            "note": m.group(4),
            "examples": [{"input": t["input"], "output": t["output"]} for t in r["tests"]],
        })
    write_jsonl("codeforces-test-head.jsonl", cf_rows)

    # OCR2-shaped rows: every question is "-", located by dataset/split/index as OCR2 does.
    ocr2 = []

    def row(dataset, split, index, resp, source, license_, difficulty, sample):
        key = f"{dataset}/{split}/{index}"
        ocr2.append({
            "question": "-",
            "r1_generation": resp,
            "qwq_critique": "",
            "solution": "",
            "judgement": "",
            "pass_rate": "",
            "source": source,
            "license": license_,
            "dataset": dataset,
            "split": split,
            "difficulty": difficulty,
            "index": str(index),
            "id": md5(f"valley-fixture:row:{key}:{sample}"),
            "question_id": md5(f"valley-fixture:question:{key}"),
        })

    note = "(The reasoning of this fixture row is not a real model's; the code below is.)"
    for index, code, has_tests, call in taco_solvable:
        if call:
            continue
        row("taco", "test", index, response(code, note), "codeforces", "apache-2.0", "UNKNOWN_DIFFICULTY", 0)
        if index % 3 == 0:  # a second sample of some questions, as OCR2 has several per question
            row("taco", "test", index, response(code, note + " Second sample."), "codeforces", "apache-2.0",
                "UNKNOWN_DIFFICULTY", 1)
    for i in range(len(cc_rows)):
        row("code_contests", "test", i, response("print()", note), "codeforces", "cc-by-4.0", "", 0)
    for i in range(len(cf_rows)):
        row("open-r1/codeforces", "test", i, response("print()", note), "codeforces", "cc-by-4.0", "", 0)
    # rows an import must leave out, each for a different reason
    row("apps", "train", 17, response("print()", note), "codeforces", "mit", "interview", 0)
    row("taco", "test", 4000, response("print()", note), "codeforces", "apache-2.0", "UNKNOWN_DIFFICULTY", 0)
    bad = dict(ocr2[-1])
    bad["index"], bad["question_id"], bad["id"] = "12a", md5("valley-fixture:question:bad-index"), md5("valley-fixture:row:bad-index")
    ocr2.append(bad)
    write_jsonl("ocr2-python.jsonl", ocr2)
    if a.parquet:
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.table({k: [r[k] for r in ocr2] for k in OCR2_FIELDS})
        pq.write_table(table, os.path.join(OUT, "ocr2-python.parquet"), compression="snappy")


def write_jsonl(name, rows):
    with open(os.path.join(OUT, name), "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()

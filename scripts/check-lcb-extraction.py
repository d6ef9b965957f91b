#!/usr/bin/env python3
"""Checks the extraction corpus (fixtures/lcb/extraction.jsonl) against LiveCodeBench's own
`extract_code`, run unchanged. valley's `extract_code` is checked against the same corpus by
`cargo test -p valley-types` (test `lcb_corpus`), so the two together say valley extracts what
LiveCodeBench extracts, awkward responses included (issue 13).

    python3 scripts/check-lcb-extraction.py [--lcb-src DIR] [--write] [CORPUS]

LiveCodeBench's code comes from, in order:
  --lcb-src DIR   a LiveCodeBench git repository (github.com/LiveCodeBench/LiveCodeBench): its
                  lcb_runner/utils/extraction_utils.py and lm_styles.py as committed at HEAD;
  otherwise       the `livecodebench` package importable by this Python (NVIDIA's PyPI
                  packaging, `nvidia-livecodebench`, installed by scripts/setup.d/55-lcb-reference.sh
                  into .cache/lcb-reference/venv; run this script with that venv's python).

Columns: `lcb` is LMStyle.OpenAIChat (every chat style shares it), `lcb-base` is
LMStyle.GenericBase, `lcb-codellama` is LMStyle.CodeLLaMaInstruct. Since commit b95a71c
(2025-01-18, "gemini-thinking reasoning parts") the CodeLLaMaInstruct branch of LiveCodeBench's
function falls off its end and returns None for every output (its return was indented into the
`else` branch). valley keeps the rule as written before that commit; with --lcb-src the script
checks that column against `git show b95a71c^:lcb_runner/utils/extraction_utils.py`, and
without a checkout it reports the column as unchecked.

LiveCodeBench returns "" where nothing is extracted; the corpus writes null there (valley's
NO_CODE). A whitespace-only extraction is also null: LiveCodeBench would run it as an empty
program, which fails either way.

--write fills each row's `expect` from LiveCodeBench (the `after-think` column, valley's own
policy, is left as it is). Exit status: 0 all agree, 1 a disagreement, 2 usage or setup error.
"""
import argparse
import json
import os
import subprocess
import sys
import types

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_CORPUS = os.path.join(HERE, "..", "fixtures", "lcb", "extraction.jsonl")
REGRESSION = "b95a71c"


def load_module(name, source, deps):
    module = types.ModuleType(name)
    for k, v in deps.items():
        sys.modules[k] = v
    sys.modules[name] = module
    exec(compile(source, name, "exec"), module.__dict__)
    return module


def from_checkout(root):
    def read(rel, rev="HEAD"):
        return subprocess.run(["git", "-C", root, "show", f"{rev}:{rel}"], check=True,
                              capture_output=True, text=True).stdout

    styles = load_module("lcb_runner.lm_styles", read("lcb_runner/lm_styles.py"), {})
    pkg = types.ModuleType("lcb_runner")
    deps = {"lcb_runner": pkg, "lcb_runner.lm_styles": styles}
    head = load_module("extraction_head", read("lcb_runner/utils/extraction_utils.py"), deps)
    before = load_module("extraction_before",
                         read("lcb_runner/utils/extraction_utils.py", f"{REGRESSION}^"), deps)
    rev = subprocess.run(["git", "-C", root, "rev-parse", "--short", "HEAD"], capture_output=True,
                         text=True).stdout.strip()
    return styles.LMStyle, head.extract_code, before.extract_code, f"checkout {root} at {rev}"


def from_package():
    try:
        from livecodebench.lm_styles import LMStyle
        from livecodebench.utils.extraction_utils import extract_code
        import importlib.metadata as md
        version = md.version("nvidia-livecodebench")
    except ImportError as e:
        sys.exit(f"error: LiveCodeBench is not importable ({e}); run this script with the python of "
                 ".cache/lcb-reference/venv (scripts/setup.d/55-lcb-reference.sh), or pass --lcb-src")
    return LMStyle, extract_code, None, f"nvidia-livecodebench {version}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("corpus", nargs="?", default=DEFAULT_CORPUS)
    ap.add_argument("--lcb-src", help="a LiveCodeBench git checkout")
    ap.add_argument("--write", action="store_true", help="fill `expect` from LiveCodeBench")
    args = ap.parse_args()
    if args.lcb_src:
        LMStyle, extract, extract_before, source = from_checkout(args.lcb_src)
    else:
        LMStyle, extract, extract_before, source = from_package()

    def norm(code):
        return code if code and code.strip() else None

    columns = [("lcb", lambda r: extract(r, LMStyle.OpenAIChat)),
               ("lcb-base", lambda r: extract(r, LMStyle.GenericBase))]
    head_codellama = [extract(r, LMStyle.CodeLLaMaInstruct) for r in ("[PYTHON]\nx\n[/PYTHON]",)]
    if extract_before is not None:
        columns.append(("lcb-codellama", lambda r: extract_before(r, LMStyle.CodeLLaMaInstruct)))

    with open(args.corpus, encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    checked = disagree = 0
    for row in rows:
        expect = row.setdefault("expect", {})
        for name, fn in columns:
            got = norm(fn(row["response"]))
            if args.write:
                expect[name] = got
            elif expect.get(name, "<missing>") != got:
                disagree += 1
                print(f"DIFFER {row['id']} [{name}]: corpus {expect.get(name, '<missing>')!r}, "
                      f"LiveCodeBench {got!r}")
            checked += 1
    if args.write:
        with open(args.corpus, "w", encoding="utf-8") as f:
            for row in rows:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"LiveCodeBench ({source}): {checked - disagree}/{checked} extractions agree with the "
          f"corpus over {len(rows)} responses")
    if head_codellama[0] is None:
        note = ("checked against the function before " + REGRESSION) if extract_before else "unchecked (pass --lcb-src)"
        print(f"note: LiveCodeBench's CodeLLaMaInstruct branch returns None for every output "
              f"(regression in {REGRESSION}); the lcb-codellama column is {note}")
    return 1 if disagree else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Checks that `valley generate` sends, for each prompt style, exactly what LiveCodeBench's own
`format_prompt_generation` builds for the same problems (issue 13).

    python3 scripts/check-lcb-prompts.py --valley target/debug/valley [--lcb-src DIR]
        [--llama3-tokenizer DIR] [PROBLEMS]

PROBLEMS (default examples/data/leetcode-lcb.jsonl plus one stdin problem written here) are
LiveCodeBench rows; valley renders them with `generate --dry-run --json --prompt-style S`, and
LiveCodeBench's function is called on the same statement and starter code (the only fields its
prompt builders read).

LiveCodeBench's code comes from --lcb-src (a LiveCodeBench git repository: its
lcb_runner/prompts/code_generation.py and lm_styles.py as committed at HEAD), or else from the
`livecodebench` package this Python imports (NVIDIA's PyPI packaging, installed by
scripts/setup.d/55-lcb-reference.sh; it predates the DeepSeekR1 and QwQ styles). The LLaMa3
style applies Meta-Llama-3-8B-Instruct's chat template with HF transformers; it is checked when
this Python has transformers and --llama3-tokenizer names a folder with that tokenizer (the npm
copy that scripts/fetch-tokenizers.sh puts in .cache/tokenizers/llama3 carries it), else
reported as unchecked. Exit status: 0 all agree, 1 a difference, 2 usage or setup error.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import types

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..")
STYLES = ["OpenAIChat", "OpenAIReasonPreview", "OpenAIReason", "GenericOAIServer", "LLaMa3",
          "CodeQwenInstruct", "QwQ", "DeepSeekR1", "DeepSeekCodeInstruct", "GenericBase"]
STDIN_PROBLEM = {
    "question_id": "stdin_check", "question_title": "Twice",
    "question_content": "Read an integer n and print 2n.\n\nConstraints\n\n- 1 \u2264 n \u2264 10\n",
    "platform": "atcoder", "contest_id": "abc000", "contest_date": "2024-08-03T00:00:00",
    "starter_code": "", "difficulty": "easy", "public_test_cases": "[]",
    "private_test_cases": "[]", "metadata": "{}",
}


def stub(name, **attrs):
    m = types.ModuleType(name)
    m.__dict__.update(attrs)
    sys.modules[name] = m
    return m


def from_checkout(root, workdir):
    def show(rel):
        return subprocess.run(["git", "-C", root, "show", f"HEAD:{rel}"], check=True,
                              capture_output=True, text=True).stdout
    # the module opens its few-shot files relative to the working directory
    shots = os.path.join(workdir, "lcb_runner", "prompts", "few_shot_examples", "generation")
    os.makedirs(shots)
    for f in ("func.json", "stdin.json"):
        with open(os.path.join(shots, f), "w", encoding="utf-8") as out:
            out.write(show(f"lcb_runner/prompts/few_shot_examples/generation/{f}"))
    stub("lcb_runner")
    styles = stub("lcb_runner.lm_styles")
    exec(compile(show("lcb_runner/lm_styles.py"), "lm_styles.py", "exec"), styles.__dict__)
    stub("lcb_runner.benchmarks")
    stub("lcb_runner.benchmarks.code_generation", CodeGenerationProblem=object)
    gen = stub("lcb_runner.prompts.code_generation")
    cwd = os.getcwd()
    os.chdir(workdir)
    try:
        exec(compile(show("lcb_runner/prompts/code_generation.py"), "code_generation.py", "exec"),
             gen.__dict__)
    finally:
        os.chdir(cwd)
    rev = subprocess.run(["git", "-C", root, "rev-parse", "--short", "HEAD"],
                         capture_output=True, text=True).stdout.strip()
    return styles.LMStyle, gen.format_prompt_generation, f"checkout {root} at {rev}"


def from_package():
    # its modules import HF datasets (to download problems) and anthropic (for the Claude
    # styles); the prompt builders checked here use neither
    for name in ("datasets", "anthropic"):
        if name not in sys.modules:
            stub(name).__getattr__ = lambda attr: ""
    try:
        import importlib.metadata as md
        from livecodebench.lm_styles import LMStyle
        from livecodebench.prompts.code_generation import format_prompt_generation
    except ImportError as e:
        sys.exit(f"error: LiveCodeBench is not importable ({e}); run with the python of "
                 ".cache/lcb-reference/venv, or pass --lcb-src")
    return LMStyle, format_prompt_generation, f"nvidia-livecodebench {md.version('nvidia-livecodebench')}"


def patch_llama3(tokenizer_dir):
    try:
        import transformers
    except ImportError:
        return "transformers is not importable"
    if not tokenizer_dir:
        return "no --llama3-tokenizer"
    real = transformers.AutoTokenizer.from_pretrained

    def from_pretrained(name, *args, **kwargs):
        if name == "meta-llama/Meta-Llama-3-8B-Instruct":
            kwargs.pop("use_fast", None)
            return real(tokenizer_dir, *args, **kwargs)
        return real(name, *args, **kwargs)

    transformers.AutoTokenizer.from_pretrained = from_pretrained
    return None


def valley_requests(valley, problems, style):
    with tempfile.TemporaryDirectory() as d:
        out = subprocess.run(
            [valley, "generate", "--endpoint", "http://127.0.0.1:9/v1", "--model", "check",
             "--problems", problems, "--out", os.path.join(d, "g.jsonl"), "--prompt-style", style,
             "--dry-run", "--json"],
            capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"error: valley generate --dry-run failed for {style}:\n{out.stderr}")
    return [json.loads(line) for line in out.stdout.splitlines() if line.strip()]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("problems", nargs="?", default=os.path.join(ROOT, "examples", "data", "leetcode-lcb.jsonl"))
    ap.add_argument("--valley", required=True)
    ap.add_argument("--lcb-src")
    ap.add_argument("--llama3-tokenizer")
    args = ap.parse_args()
    work = tempfile.mkdtemp()
    if args.lcb_src:
        LMStyle, fmt, source = from_checkout(args.lcb_src, work)
    else:
        LMStyle, fmt, source = from_package()
    llama3_missing = patch_llama3(args.llama3_tokenizer)
    rows = [json.loads(l) for l in open(args.problems, encoding="utf-8") if l.strip()]
    rows.append(STDIN_PROBLEM)
    problems = os.path.join(work, "problems.jsonl")
    with open(problems, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    by_id = {r["question_id"]: r for r in rows}
    checked, differ, skipped = 0, 0, []
    for style in STYLES:
        if not hasattr(LMStyle, style):
            skipped.append(f"{style} (not in this LiveCodeBench)")
            continue
        if style == "LLaMa3" and llama3_missing:
            skipped.append(f"LLaMa3 ({llama3_missing})")
            continue
        for req in valley_requests(args.valley, problems, style):
            r = by_id[req["question_id"]]
            q = types.SimpleNamespace(question_content=r["question_content"],
                                      starter_code=r.get("starter_code") or "")
            try:
                want = fmt(q, getattr(LMStyle, style))
            except NotImplementedError:
                skipped.append(f"{style} (this LiveCodeBench names it but builds no prompt for it)")
                break
            got = req.get("prompt") if req["api"] == "completions" else req["messages"]
            checked += 1
            if got != want:
                differ += 1
                print(f"DIFFER {style} {req['question_id']}:\n  valley        {got!r:.400}\n"
                      f"  LiveCodeBench {want!r:.400}")
    print(f"LiveCodeBench ({source}): {checked - differ}/{checked} prompts agree "
          f"({len(rows)} problems, {len(STYLES) - len(skipped)} styles)")
    for s in skipped:
        print(f"unchecked: {s}")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())

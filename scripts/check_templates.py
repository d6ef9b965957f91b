#!/usr/bin/env python3
"""Checks valley's chat-template rendering against HF transformers itself.

For each tokenizer folder (default: the Qwen2.5 and Llama-3.1 folders made by
scripts/fetch-tokenizers.sh) it synthesizes N varied conversations from real questions in the
shared data (rLLM CodeContests/Codeforces/LeetCode, TACO prompts) and compares, conversation by
conversation, what valley produces with what `AutoTokenizer.apply_chat_template` produces:

- `text`: the rendered conversation, byte for byte;
- `input_ids`: the token ids of the rendered conversation;
- `prompt_text`: the conversation without its last turn, with the generation prompt;
- `loss_mask`: against transformers' `return_assistant_tokens_mask` on a copy of the template in
  which each assistant turn's content and end-of-turn token sit in `{% generation %}` (the copy
  must render the same text);
- through the CLI as well: `valley data render` on the single-turn conversations, with and without
  `--system`.

Exit status 0 when everything matches, 1 on any mismatch (the first few are printed).

    python3 scripts/check_templates.py --render-chat BIN --valley BIN [--n 1000]
"""

import argparse
import gzip
import json
import os
import random
import subprocess
import sys
import tempfile

os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
import warnings  # noqa: E402

warnings.filterwarnings("ignore")
from transformers import AutoTokenizer  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Strings that look like template syntax or special tokens of either family.
SPECIAL_LOOKING = [
    "<|im_start|>", "<|im_end|>", "<|endoftext|>", "<|begin_of_text|>", "<|eot_id|>",
    "<|start_header_id|>assistant<|end_header_id|>", "<|eom_id|>", "<|python_tag|>",
    "<think>", "</think>", "<tool_call>", "{{ bos_token }}", "{% if x %}", "{#", "</s>", "<s>",
    "<|reserved_special_token_5|>", "<|fim_prefix|>", "<｜Assistant｜>",
]
UNICODE = [
    "héllo wörld", "你好，世界", "こんにちは", "🙂🚀👩‍💻", "e\u0301", "\u202eRTL\u202c", "Ελληνικά",
    "\u00a0nbsp\u00a0", "\u3000ideographic space\u3000", "zero\u200bwidth", "\ufeffBOM",
    "\x1cfile sep\x1f", "tab\tand\r\nCRLF", "ﬁ ligature", "Ａ全角", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
]
WHITESPACE = ["", " ", "\n", "\n\n", "  \t", "\r\n", "\u3000", "\x1c", "\x85", "\u2028"]
SYSTEMS = [
    "You are a helpful assistant.",
    "You are an expert competitive programmer. Think step by step, then answer with one "
    "```python``` block.",
    "  Réponds en français, s'il te plaît.  ",
    "",
    "System with <|im_end|> and <|eot_id|> inside",
    "\n",
]


def load_questions(shared):
    qs = []
    for name in ["code_contests_test", "codeforces_test", "leetcode_test", "leetcode_train"]:
        with gzip.open(os.path.join(shared, "rllm_code_tests", f"{name}.json.gz"), "rt") as f:
            qs += [r["problem"] for r in json.load(f)]
    with gzip.open(
        os.path.join(shared, "taco_test_prompts_flagopen", "taco_generation_example.json.gz"), "rt"
    ) as f:
        taco = json.load(f)
    qs += [r["prompt"] for r in taco]
    codes = [o for r in taco for o in r["output"]]
    return qs, codes


def decorate(rng, s):
    """Randomly adds unicode, special-looking strings and edge whitespace to s."""
    r = rng.random()
    if r < 0.15:
        s = rng.choice(UNICODE) + " " + s
    elif r < 0.3:
        pos = rng.randrange(len(s) + 1)
        s = s[:pos] + rng.choice(SPECIAL_LOOKING) + s[pos:]
    elif r < 0.4:
        s = rng.choice(WHITESPACE) + s + rng.choice(WHITESPACE)
    elif r < 0.45:
        s = rng.choice(SPECIAL_LOOKING + UNICODE + WHITESPACE)
    return s


def response(rng, codes):
    code = rng.choice(codes)
    lines = code.splitlines()
    reasoning = " ".join(lines[: rng.randrange(1, 6)]) if lines else ""
    reasoning = (
        f"Let me think about the constraints first. {reasoning}\nSo the answer uses a loop. "
    )
    kind = rng.random()
    if kind < 0.55:
        r = f"<think>\n{reasoning}\n</think>\n\n```python\n{code}\n```"
    elif kind < 0.65:
        r = f"<think>\n{reasoning}"  # unclosed
    elif kind < 0.75:
        r = f"```python\n{code}\n```"  # no reasoning
    elif kind < 0.8:
        r = ""
    elif kind < 0.9:
        r = f"\n\n<think>{reasoning}</think>{code}\n\n"
    else:
        r = f"{reasoning}</think>\n```python\n{code}```"  # closed only
    return decorate(rng, r)


def conversations(n, seed, questions, codes):
    rng = random.Random(seed)
    convs = []
    for i in range(n):
        msgs = []
        if rng.random() < 0.4:
            msgs.append({"role": "system", "content": decorate(rng, rng.choice(SYSTEMS))})
        turns = 1 if rng.random() < 0.7 else rng.randrange(2, 4)
        for _ in range(turns):
            msgs.append({"role": "user", "content": decorate(rng, rng.choice(questions))})
            msgs.append({"role": "assistant", "content": response(rng, codes)})
        convs.append({"id": f"c{i}", "messages": msgs})
    return convs


def generation_marked(template):
    """The template with each assistant turn's content and end-of-turn token in {% generation %}."""
    qwen_line = (
        "{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}"
    )
    llama_line = (
        "{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'"
        "+ message['content'] | trim + '<|eot_id|>' }}"
    )
    if qwen_line in template:
        marked = (
            "{%- if message.role == 'assistant' %}{{- '<|im_start|>assistant\\n' }}"
            "{% generation %}{{- message.content + '<|im_end|>' }}{% endgeneration %}"
            "{{- '\\n' }}{%- else %}" + qwen_line + "{%- endif %}"
        )
        return template.replace(qwen_line, marked)
    if llama_line in template:
        marked = (
            "{%- if message.role == 'assistant' %}"
            "{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}"
            "{% generation %}{{- message['content'] | trim + '<|eot_id|>' }}{% endgeneration %}"
            "{%- else %}" + llama_line + "{%- endif %}"
        )
        return template.replace(llama_line, marked)
    return None


def hf_side(tok, convs, marked):
    out = {}
    for c in convs:
        m = c["messages"]
        text = tok.apply_chat_template(m, tokenize=False)
        ids = tok.apply_chat_template(m, tokenize=True, return_dict=True)["input_ids"]
        prompt = tok.apply_chat_template(m[:-1], tokenize=False, add_generation_prompt=True)
        mask = None
        if marked is not None:
            r = tok.apply_chat_template(
                m, chat_template=marked, tokenize=True, return_dict=True,
                return_assistant_tokens_mask=True,
            )
            if r["input_ids"] != ids:
                raise SystemExit(f"{c['id']}: the generation-marked template renders differently")
            mask = list(r["assistant_masks"])
        out[c["id"]] = {"text": text, "input_ids": list(ids), "prompt_text": prompt, "loss_mask": mask}
    return out


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def compare(name, ours, theirs, fields, report):
    n_ok = 0
    for row in ours:
        ref = theirs[row["id"]]
        bad = [
            f for f in fields
            if ref.get(f) is not None and row.get(f) != ref[f]
        ]
        if "error" in row:
            bad = ["error: " + row["error"]]
        if bad:
            if len(report) < 5:
                report.append(f"{name} {row['id']}: mismatch in {bad}")
                for f in fields:
                    if f in bad and isinstance(ref[f], str):
                        report.append(f"  valley: {row.get(f)!r:.300}\n  hf:     {ref[f]!r:.300}")
        else:
            n_ok += 1
    return n_ok


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--render-chat", required=True, help="the render_chat example binary")
    p.add_argument("--valley", help="the valley binary (checks `valley data render` too)")
    p.add_argument("--tokenizers", default=os.path.join(REPO, ".cache", "tokenizers"))
    p.add_argument("--models", default="qwen2.5,llama3.1")
    p.add_argument("--shared", default=os.environ.get("VALLEY_SHARED_DATA", os.path.join(REPO, "..", "shared", "data")))
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--seed", type=int, default=20240726)
    a = p.parse_args()

    questions, codes = load_questions(a.shared)
    failed = False
    work = tempfile.mkdtemp(prefix="valley-check-templates-")
    for model in a.models.split(","):
        folder = os.path.join(a.tokenizers, model)
        tok = AutoTokenizer.from_pretrained(folder)
        convs = conversations(a.n, a.seed, questions, codes)
        marked = generation_marked(tok.chat_template)
        theirs = hf_side(tok, convs, marked)

        conv_path = os.path.join(work, f"{model}.conversations.jsonl")
        with open(conv_path, "w", encoding="utf-8") as f:
            for c in convs:
                f.write(json.dumps(c, ensure_ascii=False) + "\n")
        ours_path = os.path.join(work, f"{model}.render_chat.jsonl")
        with open(conv_path, "rb") as fin, open(ours_path, "wb") as fout:
            subprocess.run([a.render_chat, folder], stdin=fin, stdout=fout, check=True)
        ours = read_jsonl(ours_path)
        assert len(ours) == len(convs), (len(ours), len(convs))
        report = []
        fields = ["text", "input_ids", "prompt_text", "loss_mask"]
        n_ok = compare(model, ours, theirs, fields, report)
        n_tokens = sum(len(t["input_ids"]) for t in theirs.values())
        n_masked = sum(sum(t["loss_mask"]) for t in theirs.values() if t["loss_mask"])
        print(
            f"{model}: {n_ok}/{len(convs)} conversations identical to transformers "
            f"(text, input_ids, prompt_text, loss_mask; {n_tokens} tokens, {n_masked} masked 1)"
        )
        failed |= n_ok != len(convs)

        if a.valley:
            single = [c for c in convs if len(c["messages"]) == 2 and c["messages"][0]["role"] == "user"]
            traces_path = os.path.join(work, f"{model}.traces.jsonl")
            with open(traces_path, "w", encoding="utf-8") as f:
                for c in single:
                    f.write(json.dumps({"id": c["id"], "question": c["messages"][0]["content"],
                                        "response": c["messages"][1]["content"]}, ensure_ascii=False) + "\n")
            for system in [None, SYSTEMS[1]]:
                if system is None:
                    ref_convs = single
                else:
                    ref_convs = [{"id": c["id"], "messages": [{"role": "system", "content": system}] + c["messages"]}
                                 for c in single]
                ref = hf_side(tok, ref_convs, marked)
                out = os.path.join(work, f"{model}.render.jsonl")
                cmd = [a.valley, "data", "render", "--input", traces_path, "--tokenizer", folder, "--out", out]
                if system is not None:
                    cmd += ["--system", system]
                subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
                rows = read_jsonl(out)
                assert len(rows) == len(ref_convs), (len(rows), len(ref_convs))
                n_cli = compare(f"{model} cli", rows, ref, ["text", "input_ids", "loss_mask"], report)
                label = "with --system" if system else "no system"
                print(f"{model}: valley data render ({label}): {n_cli}/{len(rows)} identical")
                failed |= n_cli != len(rows)
        for line in report:
            print(line)
    print(f"conversations and outputs in {work}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

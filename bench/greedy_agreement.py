"""Teacher-forced greedy agreement of valley's native forward passes with llama.cpp on the same GGUF:
the serving engine (`--quantized`: quantised kernels, as `valley serve` decodes) and the f32 path over
dequantised weights (the default, the training model), each against llama.cpp's greedy tokens.

    python bench/greedy_agreement.py VALLEY GGUF LLAMA_CPP_URL MODEL [K] [MAX_TOKENS]

For each of the first K LeetCode problems (as a chat prompt in SmolLM2's template), llama.cpp
generates greedily (temperature 0, repeat_penalty 1.0: llama-cpp-python's default of 1.1 would
move it off its own argmax) with its top-3 log-probs; `valley model logits` then scores prompt +
llama.cpp's tokens in one pass, and at each generated position valley's argmax is compared with
llama.cpp's token. A disagreement is reported with both models' margins (nats), to tell a
near-tie between different arithmetic from a real difference. Also the largest logit difference
between valley's two paths.
"""

import json
import subprocess
import sys
import tempfile

import numpy as np

from native_generate import post


def main():
    valley, gguf, url, model = sys.argv[1:5]
    k = int(sys.argv[5]) if len(sys.argv) > 5 else 3
    max_tokens = int(sys.argv[6]) if len(sys.argv) > 6 else 64
    root = url.rsplit("/v1", 1)[0]
    questions = [json.loads(l)["question_content"] for l in open("examples/data/leetcode-lcb.jsonl")][:k]
    result = {name: {"argmax_agree": 0, "disagreements": []} for name in ("engine", "f32")}
    total = 0
    worst = 0.0
    for q in questions:
        prompt = f"<|im_start|>user\n{q}<|im_end|>\n<|im_start|>assistant\n"
        r = post(url + "/completions", {"model": model, "prompt": prompt, "max_tokens": max_tokens,
                                         "temperature": 0, "repeat_penalty": 1.0, "logprobs": 3})
        lp = r["choices"][0]["logprobs"]
        ptoks = post(root + "/extras/tokenize", {"input": prompt, "special": True})["tokens"]
        gen = []
        for t in lp["tokens"]:
            ids = post(root + "/extras/tokenize", {"input": t, "add_special": False})["tokens"]
            gen += ids[1:] if ids[:1] == [1] and len(ids) > 1 else ids
        if len(gen) != len(lp["tokens"]):
            raise SystemExit("a generated token does not map back to one id")
        ids = ptoks + gen
        rows = {}
        for name, extra in (("engine", ["--quantized"]), ("f32", [])):
            with tempfile.NamedTemporaryFile(suffix=".f32") as f:
                out = subprocess.run([valley, "model", "logits", "--model", gguf, "--ids",
                                      ",".join(map(str, ids)), "--out", f.name, "--json"] + extra,
                                     capture_output=True, text=True, check=True)
                vocab = json.loads(out.stdout)["vocab"]
                rows[name] = np.fromfile(f.name, dtype="<f4").reshape(len(ids), vocab)
        worst = max(worst, float(np.abs(rows["engine"] - rows["f32"])[len(ptoks) - 1:].max()))
        for i, tok in enumerate(gen):
            top = sorted(lp["top_logprobs"][i].values(), reverse=True)
            for name, logits in rows.items():
                row = logits[len(ptoks) - 1 + i]
                ours = int(row.argmax())
                if ours == tok:
                    result[name]["argmax_agree"] += 1
                    continue
                result[name]["disagreements"].append({
                    "valley_margin": round(float(row[ours] - row[tok]), 4),
                    "llama_cpp_top2_margin": round(top[0] - top[1], 4) if len(top) > 1 else None})
        total += len(gen)
    print(json.dumps({"prompts": len(questions), "positions": total, "engine": result["engine"],
                      "f32": result["f32"], "max_abs_logit_difference_engine_vs_f32": round(worst, 4)}))


if __name__ == "__main__":
    main()

"""Teacher-forced greedy agreement of valley's native forward pass with llama.cpp on the same GGUF.

    python bench/greedy_agreement.py VALLEY GGUF LLAMA_CPP_URL MODEL [K] [MAX_TOKENS]

For each of the first K LeetCode problems (as a chat prompt in SmolLM2's template), llama.cpp
generates greedily (temperature 0, repeat_penalty 1.0: llama-cpp-python's default of 1.1 would
move it off its own argmax) with its top-3 log-probs; `valley model logits` then scores prompt +
llama.cpp's tokens in one pass, and at each generated position valley's argmax is compared with
llama.cpp's token. A disagreement is reported with both models' margins (nats), to tell a
near-tie between f32-dequantised and quantised arithmetic from a real difference.
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
    agree = total = 0
    ties = []
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
        with tempfile.NamedTemporaryFile(suffix=".f32") as f:
            out = subprocess.run([valley, "model", "logits", "--model", gguf, "--ids",
                                  ",".join(map(str, ids)), "--out", f.name, "--json"],
                                 capture_output=True, text=True, check=True)
            vocab = json.loads(out.stdout)["vocab"]
            logits = np.fromfile(f.name, dtype="<f4").reshape(len(ids), vocab)
        for i, tok in enumerate(gen):
            row = logits[len(ptoks) - 1 + i]
            ours = int(row.argmax())
            total += 1
            if ours == tok:
                agree += 1
                continue
            top = sorted(lp["top_logprobs"][i].values(), reverse=True)
            ties.append({"valley_margin": round(float(row[ours] - row[tok]), 4),
                         "llama_cpp_top2_margin": round(top[0] - top[1], 4) if len(top) > 1 else None})
    print(json.dumps({"prompts": len(questions), "positions": total, "argmax_agree": agree,
                      "disagreements": ties}))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Generation speed and greedy agreement of two OpenAI-compatible servers serving the same model:
valley serve (native) and llama.cpp. Same prompts (chat, the first K LeetCode problems of
examples/data/leetcode-lcb.jsonl), greedy, same max_tokens, one request at a time, alternating
servers. Token agreement: both answers tokenized by llama.cpp's /extras/tokenize; the share of
generated tokens in the common prefix. Prints one JSON object. Standard library only.

Usage: native_generate.py VALLEY_URL VALLEY_MODEL LLAMA_URL LLAMA_MODEL [K] [MAX_TOKENS]
"""
import json
import sys
import time
import urllib.request


def post(url, body):
    req = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=600) as r:
        return json.loads(r.read())


def main():
    v_url, v_model, l_url, l_model = sys.argv[1:5]
    k = int(sys.argv[5]) if len(sys.argv) > 5 else 4
    max_tokens = int(sys.argv[6]) if len(sys.argv) > 6 else 128
    questions = [json.loads(l)["question_content"] for l in open("examples/data/leetcode-lcb.jsonl")][:k]
    root = l_url.rsplit("/v1", 1)[0]
    tok = lambda text: post(root + "/extras/tokenize", {"input": text})["tokens"]
    stats = {"valley": [0, 0.0], "llama.cpp": [0, 0.0]}
    agree, total, identical = 0, 0, 0
    for q in questions:
        msgs = [{"role": "user", "content": q}]
        outs = {}
        for name, url, model in [("valley", v_url, v_model), ("llama.cpp", l_url, l_model)]:
            body = {"model": model, "messages": msgs, "max_tokens": max_tokens, "temperature": 0}
            if name == "llama.cpp":
                # llama-cpp-python's server applies repeat_penalty 1.1 by default, even at
                # temperature 0: its "greedy" text then leaves the model's argmax wherever a token
                # repeats (its own logprobs show the unpenalised top token). Off, for plain greedy.
                body["repeat_penalty"] = 1.0
            t0 = time.perf_counter()
            r = post(url + "/chat/completions", body)
            dt = time.perf_counter() - t0
            stats[name][0] += r["usage"]["completion_tokens"]
            stats[name][1] += dt
            outs[name] = r["choices"][0]["message"]["content"]
        a, b = tok(outs["valley"]), tok(outs["llama.cpp"])
        n = 0
        while n < min(len(a), len(b)) and a[n] == b[n]:
            n += 1
        agree += n
        total += max(len(a), len(b))
        identical += outs["valley"] == outs["llama.cpp"]
    rate = {k: v[0] / v[1] for k, v in stats.items()}
    print(json.dumps({
        "prompts": len(questions), "max_tokens": max_tokens,
        "valley_tokens_per_s": round(rate["valley"], 2),
        "llama_cpp_tokens_per_s": round(rate["llama.cpp"], 2),
        "ratio_valley_over_llama_cpp": round(rate["valley"] / rate["llama.cpp"], 3),
        "greedy_common_prefix_token_share": round(agree / max(total, 1), 3),
        "identical_answers": identical,
    }))
    print(f"ratio valley/llama.cpp (generation): {rate['valley'] / rate['llama.cpp']:.2f}")


if __name__ == "__main__":
    main()

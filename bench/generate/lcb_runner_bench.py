#!/usr/bin/env python3
"""Time LiveCodeBench's own OpenAI-compatible runner (`GenericOAIServerRunner`, from the
`nvidia-livecodebench` wheel, unchanged) sending N chat requests to a server, C at a time,
the way `lcb_runner` does it (`BaseRunner.run_batch`, a pebble process pool of C workers).

Usage: lcb_runner_bench.py URL REQUESTS CONCURRENCY   (URL = .../v1)
Prints one JSON line: {"client": "lcb", "requests", "concurrency", "wall_s", "requests_per_s"}.
"""
import argparse
import json
import sys
import time
import types

# The runner package imports, at module level, libraries that only other scenarios use (HF
# `datasets`, `anthropic`, ...). Nothing here calls them, so a stand-in module answers for each
# one that is missing; the runner's own code runs unchanged.
class _StandIn(types.ModuleType):
    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return type(name, (), {})


def _import_runner():
    for _ in range(20):
        try:
            from livecodebench.runner.generic_oai_server_runner import GenericOAIServerRunner
            from livecodebench.prompts.code_generation import PromptConstants
            return GenericOAIServerRunner, PromptConstants
        except ModuleNotFoundError as e:
            top = (e.name or "").split(".")[0]
            if not top or top == "livecodebench" or top in sys.modules:
                raise
            sys.modules[top] = _StandIn(top)
    raise RuntimeError("too many missing modules")


GenericOAIServerRunner, PromptConstants = _import_runner()


def main():
    url, n_requests, concurrency = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    args = argparse.Namespace(
        url=url.rstrip("/") + "/chat/completions",
        model="fake",
        temperature=0.2,
        top_p=0.95,
        max_tokens=512,
        n=1,
        timeout=60,
        max_retries=3,
        support_system_role=True,
        multiprocess=concurrency,
        use_cache=False,
    )
    model = types.SimpleNamespace(model_repr="fake", model_style=None)
    runner = GenericOAIServerRunner(args, model)
    prompts = [
        [
            {"role": "system", "content": PromptConstants.SYSTEM_MESSAGE_GENERIC},
            {"role": "user", "content": f"### Question:\nProblem {i}: print {i}.\n\n"},
        ]
        for i in range(n_requests)
    ]
    start = time.perf_counter()
    outputs = runner.prompts_to_outputs(prompts)
    wall = time.perf_counter() - start
    assert len(outputs) == n_requests and all(len(o) == 1 and o[0] for o in outputs)
    print(json.dumps({"client": "lcb", "requests": n_requests, "concurrency": concurrency,
                      "wall_s": wall, "requests_per_s": n_requests / wall}))


if __name__ == "__main__":
    main()

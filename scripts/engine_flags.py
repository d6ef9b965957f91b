#!/usr/bin/env python3
"""Lists the command-line flags of vLLM's `vllm serve` and SGLang's `launch_server`, read from
their published wheels without importing them (no GPU, torch or CUDA needed).

    python3 scripts/engine_flags.py vllm   vllm-0.33.0-*.whl   > fixtures/engines/vllm-0.33.0.flags
    python3 scripts/engine_flags.py sglang sglang-0.5.23-*.whl > fixtures/engines/sglang-0.5.23.flags

(`python3 -m pip download --no-deps vllm==0.33.0 sglang==0.5.23` fetches the wheels.) valley's
tests check every flag valley puts on an engine's command line against these lists.

How each engine registers its flags:
- vLLM: `EngineArgs.add_cli_args` names each flag in an `add_argument("--…")` call
  (vllm/engine/arg_utils.py); the frontend (`--host`, `--port`, `--chat-template`, …) derives a
  flag from every annotated field of `BaseFrontendArgs`/`FrontendArgs`
  (vllm/entrypoints/common/cli_args.py), `--` + the field name with `_` as `-`;
  `make_arg_parser` adds a few more by hand.
- SGLang: `ServerArgs` is assembled from the dataclasses in sglang/srt/arg_groups/fields/, one
  flag per `A[...]`-annotated field (`--` + name with `-`), plus the `aliases` of its `Arg(...)`;
  server_args.py adds a few with `add_argument`.
"""

import ast
import sys
import zipfile


def kebab(name):
    return "--" + name.replace("_", "-")


def add_argument_flags(tree):
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "add_argument":
            for a in node.args:
                if isinstance(a, ast.Constant) and isinstance(a.value, str) and a.value.startswith("--"):
                    out.add(a.value)
    return out


def annotated_fields(tree, classes=None, wrapper=None):
    """(field name, annotation node) of class bodies (all classes, or those named)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and (classes is None or node.name in classes):
            for stmt in node.body:
                if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
                    ann = stmt.annotation
                    if wrapper is not None:
                        if not (isinstance(ann, ast.Subscript) and getattr(ann.value, "id", None) == wrapper):
                            continue
                    yield stmt.target.id, ann


def aliases(ann):
    out = set()
    for node in ast.walk(ann):
        if isinstance(node, ast.keyword) and node.arg == "aliases" and isinstance(node.value, ast.List):
            for e in node.value.elts:
                if isinstance(e, ast.Constant) and isinstance(e.value, str):
                    out.add(e.value)
    return out


def main():
    engine, wheel = sys.argv[1], sys.argv[2]
    z = zipfile.ZipFile(wheel)
    parse = lambda name: ast.parse(z.read(name).decode())
    flags = set()
    if engine == "vllm":
        flags |= add_argument_flags(parse("vllm/engine/arg_utils.py"))
        cli = parse("vllm/entrypoints/common/cli_args.py")
        flags |= add_argument_flags(cli)
        for name, _ in annotated_fields(cli, {"BaseFrontendArgs", "FrontendArgs"}):
            flags.add(kebab(name))
        # `vllm serve` itself
        flags |= add_argument_flags(parse("vllm/entrypoints/cli/serve.py"))
    elif engine == "sglang":
        for name in z.namelist():
            if name.startswith("sglang/srt/arg_groups/fields/") and name.endswith(".py"):
                for field, ann in annotated_fields(parse(name), wrapper="A"):
                    flags.add(kebab(field))
                    flags |= aliases(ann)
        flags |= add_argument_flags(parse("sglang/srt/server_args.py"))
    else:
        sys.exit(f"unknown engine {engine}")
    if not flags:
        sys.exit(f"no flags found in {wheel}: has the engine moved its argument parser?")
    for f in sorted(flags):
        print(f)


main()

# valley judge harness: assert-style problems (HumanEval, MBPP): the candidate, then the
# problem's test code (asserts, or a `check` function called on the entry point), run as one
# program with CPU, wall and memory limits. One test per problem.


def assert_program(req):
    code = req["code"]
    entry = req.get("entry_point") or ""
    prompt = req.get("prompt") or ""
    if entry and prompt and ("def " + entry) not in code:
        code = prompt + code  # a HumanEval-style completion of the prompt's function body
    test = req.get("test") or ""
    parts = [code, test]
    if entry and "def check" in test:
        parts.append("check(%s)" % entry)
    return "\n\n".join(parts) + "\n"


def assert_run(req):
    src = assert_program(req)
    try:
        compile(src, "main.py", "exec")
    except (SyntaxError, ValueError) as e:
        return {"results": [CE], "setup": True,
                "failure": {"reason": "compile error: " + trunc(repr(e)), "test": None}}
    timeout = float(req["timeout"])
    run = run_program(src, "", timeout * 2 + 1, cpu=timeout, memory=req.get("memory"))
    verdict = strict_outcome(run)
    if verdict == RE and b"AssertionError" in run.stderr[-4000:]:
        verdict = WA
    if verdict is None:
        return {"results": [AC], "setup": False, "failure": None}
    tail = run.stderr.decode("utf-8", "replace").strip().split("\n")[-1:]
    return {"results": [verdict], "setup": False,
            "failure": {"reason": trunc(tail[0] if tail else verdict, 300), "test": 0}}

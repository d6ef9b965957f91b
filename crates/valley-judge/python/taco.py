# valley judge harness: the `taco` profile (research/judge-spec.md §2).
#
# Reproduces FlagOpen/TACO's grader for labelling: stdin programs run as separate processes, one
# per test (here forked from the warm interpreter instead of a fresh `python`), with the fixed
# import header, 4 s wall per test, all tests run, the retry with input.txt/output.txt, the re-run
# in the wrapped `code()` form when every test exits with status 1, and TACO's lenient output
# comparison (set-based fallbacks included). Call-based programs run in-process with TACO's guard.
# `taco_strict` keeps the same process model but compares like DMOJ's standard checker and counts
# a crash as a failure.

TACO_HEADER = (
    "import sys\nimport time\nimport itertools\n"
    "from itertools import accumulate, product, permutations, combinations\n"
    "import collections\nfrom collections import Counter, OrderedDict, deque, defaultdict, ChainMap\n"
    "from functools import lru_cache\nimport math\n"
    "from math import sqrt, sin, cos, tan, ceil, fabs, floor, gcd, exp, log, log2\n"
    "import fractions\nfrom typing import List, Tuple\nimport numpy as np\nimport random\n"
    "import heapq\nfrom heapq import *\n"
)
TACO_STD_ALIASES = "\nstdin = sys.stdin\nstdout = sys.stdout\n"


def taco_line_kind(line):
    """2: a star import (hoisted out of the wrapped form), 1: an import line, 0: anything else."""
    if "import *" in line:
        return 2
    if line.startswith("from ") or line.startswith("import "):
        return 1
    return 0


def taco_programs(code):
    """(wrapped, plain): the `def code():` form TACO compiles first, and the program it runs,
    both with the header and the stdin/stdout aliases inserted before the first non-import line."""
    lines = code.split("\n")
    kinds = [taco_line_kind(l) for l in lines]
    star = "\n".join(l.lstrip("\t") for l, k in zip(lines, kinds) if k == 2)
    wrapped, plain = [], []
    started = False
    for line, kind in zip(lines, kinds):
        if kind == 0 and not started:
            plain.append(TACO_HEADER + TACO_STD_ALIASES + line + "\n")
            wrapped.append(TACO_HEADER + star + TACO_STD_ALIASES + "def code():\n\t" + line + "\n")
            started = True
            continue
        plain.append(line + "\n")
        if kind < 2:
            wrapped.append(("\t" if started else "") + line + "\n")
    return "".join(wrapped), "".join(plain)


def taco_load_module(src):
    module = ModuleType("tmp_sol", "")
    exec(src, module.__dict__)
    return module


def taco_compare(produced, expected):
    """TACO's compare_std_results on a captured stdout string (so its list branches are inert)."""
    if produced.strip() == expected.strip():
        return True
    want = [x.strip() for x in expected.split("\n") if len(x)]
    try:
        # Its float branch iterates the *characters* of the output.
        got_f = [float(c) for c in produced]
        want_f = [float(x) for x in want]
        if len(got_f) == len(want_f) and all(
            abs(a - b) <= 1e-8 + 1e-5 * abs(b) for a, b in zip(got_f, want_f)
        ):
            return True
    except Exception:
        pass
    want_sets = [set(x.split()) for x in want]
    tokens = set(t for t in produced.split() if len(t))
    try:
        if set(frozenset(t) for t in tokens) == set(frozenset(s) for s in want_sets):
            return True
    except Exception:
        pass
    try:
        return set(frozenset(round(float(c), 3) for c in t) for t in tokens) == set(
            frozenset(round(float(x), 3) for x in s) for s in want_sets
        )
    except Exception:
        return False


def strict_tokens(text):
    return [line.split() for line in text.split("\n") if line.split()]


def strict_compare(produced, expected, tol=None):
    """DMOJ `standard` (line structure kept, blank lines and whitespace runs free), with an
    optional absolute-or-relative float tolerance per token."""
    got, want = strict_tokens(produced), strict_tokens(expected)
    if len(got) != len(want):
        return False
    for a_line, b_line in zip(got, want):
        if len(a_line) != len(b_line):
            return False
        for a, b in zip(a_line, b_line):
            if a == b:
                continue
            if tol is None:
                return False
            try:
                fa, fb = float(a), float(b)
            except ValueError:
                return False
            if not (abs(fa - fb) <= tol or abs(fa - fb) <= tol * abs(fb)):
                return False
    return True


def taco_as_text(v):
    return "\n".join(v) if isinstance(v, list) else v


def taco_std_test(program, inp, out, timeout, strict):
    run = run_program(program, inp, timeout)
    if run.timed_out:
        return "timeout", run
    got = run.stdout.decode("utf-8", "replace")
    if strict:
        if run.exit_code != 0 or run.signal is not None:
            return "returncode", run
        return ("passed" if strict_compare(got, out) else "false"), run
    if run.exit_code != 0 or run.signal is not None:
        # TACO's retries: stdin from a file (ours already is), then input.txt / output.txt.
        with open(work("input.txt"), "w", encoding="utf-8") as f:
            f.write(inp)
        retry = run_program(program, "", timeout)
        if retry.ok():
            try:
                with open(work("output.txt"), encoding="utf-8") as f:
                    got = f.read()
                return ("passed" if taco_compare(got, out) else "false"), retry
            except OSError:
                pass
        for name in (work("input.txt"), work("output.txt")):
            try:
                os.unlink(name)
            except OSError:
                pass
        return "returncode", retry if not retry.timed_out else run
    return ("passed" if taco_compare(got, out) else "false"), run


TACO_CODES = {"passed": AC, "false": WA, "timeout": TLE, "returncode": RE}


def taco_std(req, strict):
    wrapped, plain = taco_programs(req["code"])
    try:
        module = taco_load_module(wrapped)
        getattr(module, "code")
    except BaseException as e:
        return {"results": [CE], "setup": True,
                "failure": {"reason": "compile error: " + trunc(repr(e)), "test": None}}
    timeout = float(req["timeout"])
    inputs = [taco_as_text(i) for i in req["inputs"]]
    outputs = [taco_as_text(o) for o in req["outputs"]]

    def suite(program):
        return [taco_std_test(program, i, o, timeout, strict) for i, o in zip(inputs, outputs)]

    outcomes = suite(plain)
    if not strict and outcomes and all(k == "returncode" and r.exit_code == 1 for k, r in outcomes):
        outcomes = suite(wrapped + "\ncode()\n")
    results, failure = [], None
    for i, (kind, run) in enumerate(outcomes):
        code = TACO_CODES[kind]
        if code == RE and run.memory_error():
            code = MLE
        results.append(code)
        if code != AC and failure is None:
            tail = run.stderr.decode("utf-8", "replace").strip().split("\n")[-1:]
            failure = {"reason": {"false": "wrong answer", "timeout": "time limit exceeded",
                                  "returncode": "runtime error (exit %s%s): %s" % (
                                      run.exit_code, "" if run.signal is None else ", signal %d" % run.signal,
                                      trunc(tail[0] if tail else "", 200))}[kind], "test": i}
    return {"results": results, "setup": False, "failure": failure}


def taco_fix_keys(inputs, outputs):
    """APPS legacy: JSON object keys back to int for a leading dict argument or dict output."""
    try:
        if isinstance(inputs[0], dict):
            inputs = [{int(k): v for k, v in inputs[0].items()}]
    except Exception:
        pass
    try:
        if isinstance(outputs, dict):
            outputs = [{int(k): v for k, v in outputs.items()}]
    except Exception:
        pass
    try:
        if isinstance(outputs[0], dict):
            outputs = [{int(k): v for k, v in outputs[0].items()}]
    except Exception:
        pass
    return inputs, outputs


def taco_call(req, strict):
    src = TACO_HEADER + req["code"]
    try:
        module = taco_load_module(src)
        target = module.Solution() if "class Solution" in src else module
        method = getattr(target, req["fn_name"])
    except BaseException as e:
        return {"results": [CE], "setup": True,
                "failure": {"reason": "compile error: " + trunc(repr(e)), "test": None}}
    lcb_guard()
    builtins.exit = None
    signal.signal(signal.SIGALRM, lcb_on_alarm)
    timeout = max(1, int(math.ceil(float(req["timeout"]))))
    results, failure = [], None
    for i, (args, expected) in enumerate(zip(req["inputs"], req["outputs"])):
        if isinstance(args, str):
            args = [json.loads(line) for line in args.split("\n")]
        if isinstance(expected, str) and strict:
            expected = json.loads(expected)
        args, expected = taco_fix_keys(args, expected)
        signal.alarm(timeout)
        try:
            got = method(*args)
        except Exception as e:
            signal.alarm(0)
            outcome = exception_outcome(e)
            if strict and "timeoutexception" in repr(e).lower():
                outcome = TLE
            results.append(outcome)
            failure = failure or {"reason": "runtime error: " + trunc(repr(e)), "test": i}
            continue
        try:
            if isinstance(got, tuple):
                got = list(got)
            same = got == expected
            if not strict and isinstance(expected, list) and expected:
                same = same or (got == expected[0])
            try:
                if isinstance(got[0], tuple):
                    got = [list(x) for x in got]
                    same = same or (got == expected[0])
            except Exception:
                pass
            outcome = AC if same else WA
        except Exception as e:
            outcome = TLE
        signal.alarm(0)
        results.append(outcome)
        if outcome != AC and failure is None:
            failure = {"reason": "wrong answer" if outcome == WA else "time limit exceeded", "test": i}
    return {"results": results, "setup": False, "failure": failure}


def taco_header_error():
    """Why TACO's import header does not run in this interpreter (numpy missing, say), or None.
    That is a fault of the judge's environment, not of the program: every program would fail."""
    try:
        exec(TACO_HEADER, {"__name__": "valley_taco_header"})
        return None
    except BaseException as e:
        return "TACO's test header does not import in the judge's Python: %s: %s" % (
            type(e).__name__, trunc(str(e), 200))


def taco_run(req):
    header = taco_header_error()
    if header is not None:
        return {"results": [], "setup": True, "failure": None, "judge_error": header}
    strict = bool(req.get("strict"))
    if req.get("fn_name"):
        return taco_call(req, strict)
    return taco_std(req, strict)

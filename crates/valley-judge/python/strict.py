# valley judge harness: the `strict` profile, a DMOJ-style judge for our own labelling and RL.
#
# Every test runs the unmodified program as a fresh process (forked from the warm interpreter)
# with CPU and wall limits, an address-space limit and an output cap; the exit status and signals
# count; output is compared token by token with DMOJ's `standard` rule and an optional float
# tolerance. Verdict precedence within a test: TLE > MLE > OLE > RE > WA. Stops at the first
# failing test. Call-based problems get a fresh Solution() per test, in a fresh process.


def strict_call_body(code, fn_name, args, result_path):
    def body():
        import pickle

        module = ModuleType("solution")
        module.__builtins__ = builtins
        status = 0
        try:
            exec(compile(code, "solution.py", "exec"), module.__dict__)
            target = module.Solution() if hasattr(module, "Solution") else module
            got = getattr(target, fn_name)(*args)
            with open(result_path, "wb") as f:
                pickle.dump(json.dumps(strict_jsonable(got)), f)
        except SystemExit as e:
            status = exit_code_of(e) or 1
        except BaseException:
            import traceback

            traceback.print_exc()
            status = 1
        os._exit(status)

    return body


def strict_jsonable(v):
    if isinstance(v, (tuple, list)):
        return [strict_jsonable(x) for x in v]
    if isinstance(v, dict):
        return {str(k): strict_jsonable(x) for k, x in v.items()}
    if hasattr(v, "tolist"):
        return v.tolist()
    return v


def strict_values_equal(a, b, tol):
    if isinstance(a, bool) or isinstance(b, bool):
        return a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        if a == b:
            return True
        return tol is not None and (abs(a - b) <= tol or abs(a - b) <= tol * abs(b))
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(strict_values_equal(x, y, tol) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(strict_values_equal(a[k], b[k], tol) for k in a)
    return a == b


def strict_outcome(run):
    if run.timed_out:
        return TLE
    if run.memory_error():
        return MLE
    if run.output_exceeded:
        return OLE
    if run.exit_code != 0 or run.signal is not None:
        return RE
    return None


def strict_run(req):
    code = req["code"]
    try:
        compile(code, "main.py", "exec")
    except (SyntaxError, ValueError) as e:
        return {"results": [CE], "setup": True,
                "failure": {"reason": "compile error: " + trunc(repr(e)), "test": None}}
    timeout = float(req["timeout"])
    wall = timeout * 2 + 1
    tol = req.get("float_tol")
    memory = req.get("memory")
    out_limit = int(req.get("output_limit") or (16 << 20))
    results = []
    for i, (inp, out) in enumerate(zip(req["inputs"], req["outputs"])):
        if req.get("fn_name"):
            # LCB stores one JSON argument per line; TACO stores the argument list itself.
            args = inp if isinstance(inp, list) else [json.loads(line) for line in inp.split("\n")]
            path = work(".valley-result")
            body = strict_call_body(code, req["fn_name"], args, path)
            run = run_program("", "", wall, cpu=timeout, memory=memory, out_limit=out_limit, body=body)
            verdict = strict_outcome(run)
            if verdict is None:
                import pickle

                try:
                    with open(path, "rb") as f:
                        got = json.loads(pickle.load(f))
                    os.unlink(path)
                    want = json.loads(out) if isinstance(out, str) else out
                    same = strict_values_equal(got, want, tol)
                    if not same and isinstance(out, list) and len(want) == 1:
                        same = strict_values_equal(got, want[0], tol)  # TACO wraps outputs
                    verdict = AC if same else WA
                except Exception:
                    verdict = RE
        else:
            run = run_program(code, inp, wall, cpu=timeout, memory=memory, out_limit=out_limit)
            verdict = strict_outcome(run)
            if verdict is None:
                got = run.stdout.decode("utf-8", "replace")
                verdict = AC if strict_compare(got, out, tol) else WA
        results.append(verdict)
        if verdict != AC:
            tail = run.stderr.decode("utf-8", "replace").strip().split("\n")[-1:]
            reason = {TLE: "time limit exceeded", MLE: "memory limit exceeded",
                      OLE: "output limit exceeded", WA: "wrong answer"}.get(verdict)
            if reason is None:
                reason = "runtime error (exit %s%s): %s" % (
                    run.exit_code, "" if run.signal is None else ", signal %d" % run.signal,
                    trunc(tail[0] if tail else "", 200))
            return {"results": results, "setup": False, "failure": {"reason": reason, "test": i}}
    return {"results": results, "setup": False, "failure": None}

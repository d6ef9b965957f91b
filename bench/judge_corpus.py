#!/usr/bin/env python3
"""Helpers for bench/judge.sh (our own code; no data is stored in the repository).

  judge_corpus.py mavencoder SHARED_DATA_DIR OUT_DIR
      Builds, from ../shared/data/lcb_v1_public_mavencoder (benchmark use only, never copied
      into the repository), the 1,200-candidate corpus in the record layout of
      tools/lcb-baseline/sample.jsonl (problem fields + candidate_id + code), plus
      problems.jsonl and candidates.jsonl for `valley judge`.

  judge_corpus.py split CORPUS OUT_DIR
      Writes problems.jsonl and candidates.jsonl for `valley judge` from a corpus in the
      sample.jsonl layout.

  judge_corpus.py fast CORPUS REFERENCE_JSON_OUT VALLEY_VERDICTS OUT_DIR [CPU_MS]
      Writes OUT_DIR/corpus.jsonl (+ problems/candidates) with the records both graders accept
      whose own CPU time (valley's cpu_ms) is under CPU_MS (default 1000), and prints the
      accepted records left out with their CPU time (those are bound by their own computation).

  judge_corpus.py bound VALLEY_VERDICTS WORKERS
      The physical lower bound on wall time for a corpus: every per-test time limit that fired
      must elapse, every record costs at least its own CPU time; divided over the workers.

  judge_corpus.py flips VERDICTS_A VERDICTS_B
      Counts candidates whose verdict differs between two valley runs (exit 1 if any).

  judge_corpus.py compare REFERENCE_JSON_OUT VALLEY_VERDICTS
      Compares run_baseline.py's verdict classes with ours (valley's verdict mapped to the
      reference's class: CE/NO_CODE/MLE/OLE -> RE, `harness:` failures -> HARNESS) and prints
      the agreement and every disagreement. Exit 1 on any disagreement.
"""
import gzip
import json
import os
import sys

PROBLEM_KEYS = ("question_id", "question_title", "question_content", "platform", "contest_id",
                "contest_date", "starter_code", "difficulty", "public_test_cases",
                "private_test_cases", "metadata")


def read_jsonl(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def write_jsonl(path, rows):
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")


def split(corpus, out_dir):
    problems, candidates = {}, []
    for r in corpus:
        problems.setdefault(r["question_id"], {k: r[k] for k in PROBLEM_KEYS if k in r})
        candidates.append({"candidate_id": r["candidate_id"], "question_id": r["question_id"],
                           "code": r["code"]})
    write_jsonl(os.path.join(out_dir, "problems.jsonl"), problems.values())
    write_jsonl(os.path.join(out_dir, "candidates.jsonl"), candidates)


def mavencoder(data_dir, out_dir):
    folder = os.path.join(data_dir, "lcb_v1_public_mavencoder")
    problems = {p["question_id"]: p for p in read_jsonl(os.path.join(folder, "lcb_v1_problems.jsonl.gz"))}
    corpus = []
    for name in sorted(os.listdir(folder)):
        if not name.startswith("candidates_"):
            continue
        model = name[len("candidates_"):].split(".jsonl")[0]
        for c in read_jsonl(os.path.join(folder, name)):
            p = problems[c["task_id"]]
            rec = {k: p[k] for k in PROBLEM_KEYS if k in p}
            rec["private_test_cases"] = rec.get("private_test_cases") or "[]"
            rec["candidate_id"] = "%s/%s" % (model, c["task_id"])
            rec["code"] = c["solution"]
            corpus.append(rec)
    os.makedirs(out_dir, exist_ok=True)
    write_jsonl(os.path.join(out_dir, "corpus.jsonl"), corpus)
    split(corpus, out_dir)
    print("%d candidates on %d problems -> %s" % (len(corpus), len(problems), out_dir))


def valley_class(v):
    reason = (v.get("first_failure") or {}).get("reason", "")
    if reason.startswith("harness:"):
        return "HARNESS"
    return {"CE": "RE", "NO_CODE": "RE", "MLE": "RE", "OLE": "RE"}.get(v["verdict"], v["verdict"])


def compare(ref_path, ours_path):
    ref = {r["candidate_id"]: r for r in read_jsonl(ref_path)}
    ours = {r["candidate_id"]: r for r in read_jsonl(ours_path)}
    agree, disagree = 0, []
    classes = {}
    for cid, r in ref.items():
        want = r["verdict"].split("(")[0]
        if want == "AC" and r["verdict"] == "AC(no tests)":
            want = "AC"
        got = valley_class(ours[cid]) if cid in ours else "MISSING"
        classes[want] = classes.get(want, 0) + 1
        if got == want:
            agree += 1
        else:
            disagree.append((cid, want, got, (ours.get(cid) or {}).get("first_failure")))
    print("reference classes: %s" % json.dumps(dict(sorted(classes.items()))))
    print("agreement: %d of %d records (%d disagreements)" % (agree, len(ref), len(disagree)))
    for cid, want, got, ff in disagree:
        print("  %s: reference %s, valley %s %s" % (cid, want, got, json.dumps(ff)))
    return 1 if disagree else 0


def fast(corpus_path, ref_path, ours_path, out_dir, cpu_ms=1000.0):
    ref = {r["candidate_id"]: r for r in read_jsonl(ref_path)}
    ours = {r["candidate_id"]: r for r in read_jsonl(ours_path)}
    keep, slow = [], []
    for rec in read_jsonl(corpus_path):
        cid = rec["candidate_id"]
        if not ref[cid]["verdict"].startswith("AC") or ours[cid]["verdict"] != "AC":
            continue
        (keep if ours[cid]["cpu_ms"] < cpu_ms else slow).append(rec)
    os.makedirs(out_dir, exist_ok=True)
    write_jsonl(os.path.join(out_dir, "corpus.jsonl"), keep)
    split(keep, out_dir)
    # The accepted records that compute for longer, apart: bound by their own CPU time.
    slow_dir = out_dir + "-slow"
    os.makedirs(slow_dir, exist_ok=True)
    write_jsonl(os.path.join(slow_dir, "corpus.jsonl"), slow)
    split(slow, slow_dir)
    print("accepted by both graders: %d records under %.0f ms of CPU -> %s" % (len(keep), cpu_ms, out_dir))
    for rec in slow:
        o = ours[rec["candidate_id"]]
        print("  left out (own CPU time %.2f s, %d tests): %s" % (o["cpu_ms"] / 1000, o["total"], rec["candidate_id"]))
    print("  their CPU time together: %.1f s" % (sum(ours[r["candidate_id"]]["cpu_ms"] for r in slow) / 1000))


def bound(ours_path, workers):
    total, longest = 0.0, 0.0
    for o in read_jsonl(ours_path):
        reason = (o.get("first_failure") or {}).get("reason", "")
        cost = o["cpu_ms"] / 1000.0
        if o["verdict"] == "TLE":
            # LCB's alarm is wall-clock: the limit itself must pass, whatever the CPU did.
            cost = max(cost, o["wall_ms"] / 1000.0 if reason.startswith("harness:") else 6.0)
        total += cost
        longest = max(longest, cost)
    # No schedule beats the work spread evenly, nor the longest single record.
    print("%.2f" % max(total / float(workers), longest))


def flips(a_path, b_path):
    a = {r["candidate_id"]: r["verdict"] for r in read_jsonl(a_path)}
    b = {r["candidate_id"]: r["verdict"] for r in read_jsonl(b_path)}
    changed = [(k, a[k], b.get(k)) for k in a if a[k] != b.get(k)]
    print("verdict flips: %d of %d" % (len(changed), len(a)))
    for k, x, y in changed:
        print("  %s: %s -> %s" % (k, x, y))
    return 1 if changed else 0


def main():
    cmd = sys.argv[1]
    if cmd == "mavencoder":
        mavencoder(sys.argv[2], sys.argv[3])
    elif cmd == "split":
        os.makedirs(sys.argv[3], exist_ok=True)
        split(read_jsonl(sys.argv[2]), sys.argv[3])
    elif cmd == "fast":
        fast(*sys.argv[2:6], *(float(x) for x in sys.argv[6:7]))
    elif cmd == "bound":
        bound(sys.argv[2], sys.argv[3])
    elif cmd == "flips":
        sys.exit(flips(sys.argv[2], sys.argv[3]))
    elif cmd == "compare":
        sys.exit(compare(sys.argv[2], sys.argv[3]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()

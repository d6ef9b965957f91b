//! CLI tests for `valley judge` and `valley data label`: verdict records, summary, labels, and
//! bad input named by file and line. A gated skip where the sandbox or Python is unavailable.

use std::path::Path;
use std::process::Output;

use serde_json::{Value, json};
use valley_test::{read_jsonl as read_rows, write_jsonl as write_rows};

fn valley(args: &[&str], cwd: &Path) -> Output {
    valley_test::run_bin(env!("CARGO_BIN_EXE_valley"), args, cwd)
}

fn sandbox_unavailable(out: &Output) -> bool {
    let err = String::from_utf8_lossy(&out.stderr);
    if err.contains("sandbox") || err.contains("Python interpreter") {
        valley_test::gate::skip(
            err.trim(),
            "python3 on PATH, and the tests run as root on a Linux kernel that allows user, PID, \
             mount and network namespaces",
        );
        return true;
    }
    false
}

fn lcb_problem() -> Value {
    let tests = json!([{"input": "1 2\n", "output": "3\n", "testtype": "stdin"},
                       {"input": "5 5\n", "output": "10\n", "testtype": "stdin"}]);
    json!({"question_id": "add", "public_test_cases": tests.to_string(), "private_test_cases": "", "metadata": "{}"})
}

#[test]
fn judge_writes_one_verdict_per_candidate_and_a_summary() {
    let dir = tempfile::tempdir().unwrap();
    write_rows(&dir.path().join("p.jsonl"), &[lcb_problem()]);
    write_rows(
        &dir.path().join("c.jsonl"),
        &[
            json!({"candidate_id": "ok", "question_id": "add", "code": "a, b = map(int, input().split())\nprint(a + b)"}),
            json!({"candidate_id": "wa", "question_id": "add", "code": "print(3)"}),
            json!({"candidate_id": "resp", "question_id": "add", "response": "Here:\n```python\nprint(sum(map(int, input().split())))\n```\n"}),
            json!({"candidate_id": "none", "question_id": "add", "response": "no code at all"}),
        ],
    );
    let out = valley(
        &[
            "judge",
            "--problems",
            "p.jsonl",
            "--candidates",
            "c.jsonl",
            "--profile",
            "lcb",
            "--out",
            "v.jsonl",
            "--jobs",
            "2",
            "--json",
        ],
        dir.path(),
    );
    if !out.status.success() && sandbox_unavailable(&out) {
        return;
    }
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["candidates"], 4);
    assert_eq!(summary["counts"]["AC"], 2);
    assert_eq!(summary["counts"]["WA"], 1);
    assert_eq!(summary["counts"]["NO_CODE"], 1);
    assert_eq!(summary["pass_rate"], 0.5);
    assert!(summary["tests_per_second"].as_f64().unwrap() > 0.0);
    let records = read_rows(&dir.path().join("v.jsonl"));
    let verdicts: Vec<&str> = records.iter().map(|r| r["verdict"].as_str().unwrap()).collect();
    assert_eq!(verdicts, ["AC", "WA", "AC", "NO_CODE"]);
    let wa = &records[1];
    assert_eq!((wa["passed"].as_u64(), wa["total"].as_u64()), (Some(1), Some(2)));
    assert_eq!(wa["first_failure"]["test"], 1);
    for key in ["candidate_id", "question_id", "cpu_ms", "wall_ms", "profile", "python"] {
        assert!(wa.get(key).is_some(), "{key}");
    }
}

#[test]
fn judge_names_the_file_and_line_of_a_bad_candidate_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    write_rows(&dir.path().join("p.jsonl"), &[lcb_problem()]);
    write_rows(
        &dir.path().join("c.jsonl"),
        &[
            json!({"candidate_id": "ok", "question_id": "add", "code": "print(3)"}),
            json!({"candidate_id": "bad", "question_id": "nope", "code": "print(3)"}),
        ],
    );
    let out = valley(
        &[
            "judge",
            "--problems",
            "p.jsonl",
            "--candidates",
            "c.jsonl",
            "--profile",
            "lcb",
            "--out",
            "v.jsonl",
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("c.jsonl:2") && err.contains("question_id"), "{err}");
    assert!(!dir.path().join("v.jsonl").exists());
}

#[test]
fn label_adds_correct_and_the_verdict_to_each_trace() {
    let dir = tempfile::tempdir().unwrap();
    let io = json!({"inputs": ["1 2\n", "3 4\n"], "outputs": ["3\n", "7\n"]});
    write_rows(
        &dir.path().join("p.jsonl"),
        &[json!({"question_id": "t1", "input_output": io.to_string()})],
    );
    let answer = |code: &str| format!("<think>plan</think>\n```python\n{code}\n```");
    write_rows(
        &dir.path().join("t.jsonl"),
        &[
            json!({"id": "a", "question": "q", "question_id": "t1", "response": answer("a, b = map(int, input().split())\nprint(a + b)"), "keep": 1}),
            json!({"id": "b", "question": "q", "question_id": "t1", "response": answer("print(3)")}),
        ],
    );
    let out = valley(
        &[
            "data",
            "label",
            "--input",
            "t.jsonl",
            "--problems",
            "p.jsonl",
            "--profile",
            "taco",
            "--out",
            "l.jsonl",
        ],
        dir.path(),
    );
    if !out.status.success() && sandbox_unavailable(&out) {
        return;
    }
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rows = read_rows(&dir.path().join("l.jsonl"));
    assert_eq!(rows[0]["correct"], true);
    assert_eq!(rows[0]["verdict"], "AC");
    assert_eq!(rows[0]["keep"], 1);
    assert_eq!(rows[1]["correct"], false);
    assert_eq!(rows[1]["verdict"], "WA");
    assert_eq!(rows[1]["verdict_detail"]["profile"], "taco");
}

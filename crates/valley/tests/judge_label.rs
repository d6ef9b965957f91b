//! CLI tests for `valley judge` and `valley data label`: verdict records, summary, labels, and
//! bad input named by file and line; the judge's declared Python environment (`valley judge env`,
//! a Python without numpy refused at start naming it). Judging runs under the environment setup
//! made (`VALLEY_JUDGE_PYTHON`); a gated skip where it or the sandbox is unavailable.

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
    let Some(_) = valley_test::judge_python() else { return };
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
    let Some(_) = valley_test::judge_python() else { return };
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

#[test]
fn judge_label_and_eval_under_a_python_without_numpy_exit_2_naming_numpy() {
    let Some((_env, python)) = valley_test::python_without_numpy() else { return };
    let dir = tempfile::tempdir().unwrap();
    write_rows(&dir.path().join("p.jsonl"), &[lcb_problem()]);
    write_rows(
        &dir.path().join("c.jsonl"),
        &[
            json!({"candidate_id": "ok", "question_id": "add", "code": "a, b = map(int, input().split())\nprint(a + b)"}),
        ],
    );
    let io = json!({"inputs": ["1 2\n"], "outputs": ["3\n"]});
    write_rows(
        &dir.path().join("taco.jsonl"),
        &[json!({"question_id": "add", "input_output": io.to_string()})],
    );
    write_rows(
        &dir.path().join("t.jsonl"),
        &[
            json!({"id": "a", "question": "q", "question_id": "add", "response": "```python\nprint(3)\n```"}),
        ],
    );
    write_rows(
        &dir.path().join("g.jsonl"),
        &[
            json!({"question_id": "add", "sample_index": 0, "response": "```python\nprint(3)\n```", "finish_reason": "stop", "completion_tokens": 5}),
        ],
    );
    let runs = [
        ("judge lcb", "judge --problems p.jsonl --candidates c.jsonl --profile lcb --out v.jsonl"),
        (
            "judge taco",
            "judge --problems taco.jsonl --candidates c.jsonl --profile taco --out v.jsonl",
        ),
        ("label", "data label --input t.jsonl --problems taco.jsonl --profile taco --out l.jsonl"),
        ("eval", "eval --problems p.jsonl --generations g.jsonl --out ev"),
    ];
    for (name, line) in &runs {
        let mut args: Vec<&str> = line.split_whitespace().collect();
        args.extend(["--python", python.as_str()]);
        let out = valley(&args, dir.path());
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {err}");
        assert!(err.contains("cannot import numpy"), "{name}: {err}");
        assert!(err.contains(&python), "{name}: {err}");
        assert!(
            err.contains("valley judge env create"),
            "{name}: the hint says how to fix it: {err}"
        );
        for f in ["v.jsonl", "l.jsonl", "ev/verdicts.jsonl"] {
            assert!(!dir.path().join(f).exists(), "{name}: {f} written");
        }
    }
    // The same interpreter named by the variable instead of the flag.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_valley"))
        .args(runs[0].1.split_whitespace())
        .current_dir(dir.path())
        .env(valley_test::JUDGE_PYTHON_ENV, &python)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot import numpy"));
}

#[test]
fn judge_env_check_names_what_each_profile_lacks() {
    let Some((_env, python)) = valley_test::python_without_numpy() else { return };
    let dir = tempfile::tempdir().unwrap();
    let out = valley(&["judge", "env", "check", "--python", &python, "--json"], dir.path());
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ok"], false);
    assert_eq!(v["profiles"]["lcb"]["missing"], json!(["numpy"]));
    assert_eq!(v["profiles"]["taco"]["missing"], json!(["numpy"]));
    assert_eq!(v["profiles"]["strict"], json!({"ok": true, "missing": []}));
    assert_eq!(v["packages"][0]["module"], "numpy");
    assert!(v["packages"][0]["error"].as_str().unwrap().contains("No module named 'numpy'"));
    let out =
        valley(&["judge", "env", "check", "--python", &python, "--profile", "strict"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));

    let Some(declared) = valley_test::judge_python() else { return };
    let out = valley(&["judge", "env", "check", "--python", &declared, "--json"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let numpy = &v["packages"][0];
    assert_eq!(numpy["found"], numpy["pinned"], "{v:#}");
    // `env create` on the environment setup made finds every pin in place and changes nothing.
    let env_dir = std::path::Path::new(&declared).parent().unwrap().parent().unwrap();
    let out = valley(&["judge", "env", "create", env_dir.to_str().unwrap(), "--json"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["packages"][0]["found"], v["packages"][0]["pinned"]);
}

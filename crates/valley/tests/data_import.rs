//! CLI tests for `valley data import ocr2|taco` and `valley data traces` on the real rows in
//! fixtures/import (see fixtures/PROVENANCE.md): OCR2 questions filled from TACO, CodeContests
//! and Codeforces rows, TACO problems with the same ids, then label and split; every row left
//! out named by file, row and field. Labelling runs under the judge's declared environment
//! (`VALLEY_JUDGE_PYTHON`); a gated skip where it or the sandbox is unavailable.

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::{Value, json};
use valley_test::{read_jsonl, write_jsonl};

fn valley(args: &[&str], cwd: &Path) -> Output {
    valley_test::run_bin(env!("CARGO_BIN_EXE_valley"), args, cwd)
}

fn fixture(name: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/import").join(name);
    p.canonicalize().unwrap_or(p).display().to_string()
}

fn ok_json(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("--json prints one JSON object")
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

fn import_ocr2(dir: &Path, input: &str, out: &str, extra: &[&str]) -> Output {
    let taco = format!("taco:test={}", fixture("taco-test-head.jsonl"));
    let cc = format!("code_contests:test={}", fixture("code_contests-test-head.jsonl"));
    let cf = format!("open-r1/codeforces:test={}", fixture("codeforces-test-head.jsonl"));
    let mut args = vec![
        "data", "import", "ocr2", "--input", input, "--source", &taco, "--source", &cc, "--source",
        &cf, "--out", out, "--json",
    ];
    args.extend_from_slice(extra);
    valley(&args, dir)
}

#[test]
fn real_rows_go_through_import_label_and_split() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();

    // TACO: rows without tests are left out and named; positions stay the split's positions.
    let taco = ok_json(&valley(
        &[
            "data",
            "import",
            "taco",
            "--input",
            &fixture("taco-test-head.jsonl"),
            "--split",
            "test",
            "--out",
            "taco.jsonl",
            "--json",
        ],
        d,
    ));
    assert_eq!((taco["input_rows"].as_u64(), taco["problems"].as_u64()), (Some(36), Some(21)));
    assert_eq!(taco["left_out"]["rows"], 15);
    assert_eq!(taco["left_out"]["by_reason"]["no tests"], 15);
    let first = &taco["left_out"]["examples"][0];
    assert!(first["file"].as_str().unwrap().ends_with("taco-test-head.jsonl"));
    assert_eq!((first["row"].as_u64(), first["field"].as_str()), (Some(3), Some("input_output")));
    let problems = read_jsonl(&d.join("taco.jsonl"));
    assert_eq!(problems[0]["question_id"], "taco/test/0");
    assert_eq!(problems[2]["question_id"], "taco/test/3", "row 3 of the file is position 3");
    assert!(problems.iter().all(|p| p.get("solutions").is_none()));
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("taco.manifest.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["outputs"]["problems"]["rows"], 21);
    assert_eq!(manifest["inputs"][0]["rows"], 36);

    // OCR2 (Parquet, as published): questions filled from their sources, R1 responses as traces.
    let ocr2 =
        ok_json(&import_ocr2(d, &fixture("ocr2-python.parquet"), "ocr2", &["--traces", "r1"]));
    assert_eq!(ocr2["input_rows"], 61);
    assert_eq!(ocr2["questions"], 46);
    assert_eq!(ocr2["traces"], 58);
    assert_eq!(ocr2["sources"]["taco"], json!({"questions": 34, "rows": 46}));
    assert_eq!(ocr2["sources"]["code_contests"], json!({"questions": 6, "rows": 6}));
    assert_eq!(ocr2["sources"]["open-r1/codeforces"], json!({"questions": 6, "rows": 6}));
    let left = &ocr2["left_out"];
    assert_eq!(left["rows"], 3);
    assert_eq!(left["by_reason"]["no --source for apps:train"], 1);
    assert_eq!(left["by_reason"]["index out of range"], 1);
    assert_eq!(left["by_reason"]["invalid source reference"], 1);
    let named: Vec<String> = left["examples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "{}:{}:{}:{}",
                e["row"],
                e["field"].as_str().unwrap(),
                e["reason"].as_str().unwrap(),
                e["file"].as_str().unwrap().ends_with("ocr2-python.parquet")
            )
        })
        .collect();
    assert!(named.contains(&"59:dataset:no --source for apps:train:true".to_owned()), "{named:?}");
    assert!(
        named.contains(&"60:index:index out of range: taco:test has 36 rows:true".to_owned()),
        "{named:?}"
    );
    assert!(
        named.contains(
            &"61:index:invalid source reference: `12a` is not a row position:true".to_owned()
        ),
        "{named:?}"
    );
    let questions = read_jsonl(&d.join("ocr2/questions.jsonl"));
    let q0 = &questions[0];
    assert_eq!(q0["question_id"], "taco/test/0");
    assert_eq!(q0["question"], problems[0]["question"], "filled from the TACO row");
    assert_eq!(q0["ocr2_rows"], 2);
    let cf = questions.iter().find(|q| q["question_id"] == "open-r1/codeforces/test/0").unwrap();
    let text = cf["question"].as_str().unwrap();
    assert!(text.contains("\n\nInput\n\n") && text.contains("\n\nExamples\n\nInput\n\n"), "{text}");
    let left_rows = read_jsonl(&d.join("ocr2/left_out.jsonl"));
    assert_eq!(left_rows.len(), 3);
    let traces = read_jsonl(&d.join("ocr2/traces.jsonl"));
    assert_eq!(traces.len(), 58);
    assert_eq!(traces[0]["question_id"], "taco/test/0");
    assert_eq!(
        (traces[0]["sample_index"].as_u64(), traces[1]["sample_index"].as_u64()),
        (Some(0), Some(1))
    );
    assert_eq!(traces[0]["teacher"], "ocr2-r1");

    // The JSON Lines twin of the Parquet file gives the same questions, byte for byte.
    ok_json(&import_ocr2(d, &fixture("ocr2-python.jsonl"), "ocr2-jsonl", &[]));
    assert_eq!(
        std::fs::read(d.join("ocr2/questions.jsonl")).unwrap(),
        std::fs::read(d.join("ocr2-jsonl/questions.jsonl")).unwrap()
    );
    assert!(!d.join("ocr2-jsonl/traces.jsonl").exists());

    // Label: every TACO trace finds its problem by id; the others are named and left out.
    let Some(_) = valley_test::judge_python() else { return };
    let out = valley(
        &[
            "data",
            "label",
            "--input",
            "ocr2/traces.jsonl",
            "--problems",
            "taco.jsonl",
            "--profile",
            "taco",
            "--out",
            "labelled.jsonl",
            "--skip-unmatched",
            "--json",
        ],
        d,
    );
    if !out.status.success() && sandbox_unavailable(&out) {
        return;
    }
    let label = ok_json(&out);
    assert_eq!(label["unmatched"]["rows"], 29);
    let first = label["unmatched"]["examples"][0].as_str().unwrap();
    assert!(
        first.contains("traces.jsonl:")
            && first.contains("field `question_id`: no problem `taco/test/2`"),
        "{first}"
    );
    let labelled = read_jsonl(&d.join("labelled.jsonl"));
    assert_eq!(labelled.len(), 29);
    let correct = labelled.iter().filter(|t| t["correct"] == true).count();
    assert!(correct > 0 && correct < 29, "{correct} of 29 correct");

    // Split on correctness.
    let split = ok_json(&valley(
        &[
            "data",
            "split",
            "--input",
            "labelled.jsonl",
            "--by",
            "correctness",
            "--per-group",
            "5",
            "--seed",
            "1",
            "--out",
            "split",
            "--json",
        ],
        d,
    ));
    assert!(split.to_string().contains("correct"), "{split}");
    assert_eq!(read_jsonl(&d.join("split/correct.jsonl")).len(), 5);
    assert_eq!(read_jsonl(&d.join("split/incorrect.jsonl")).len(), 5);
}

#[test]
fn without_skip_unmatched_label_names_the_first_trace_without_a_problem() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_jsonl(
        &d.join("p.jsonl"),
        &[
            json!({"question_id": "taco/test/0", "question": "q", "input_output": "{\"inputs\": [\"1\\n\"], \"outputs\": [\"1\\n\"]}"}),
        ],
    );
    write_jsonl(
        &d.join("t.jsonl"),
        &[
            json!({"id": "a", "question": "q", "response": "x", "question_id": "taco/test/0"}),
            json!({"id": "b", "question": "q", "response": "x", "question_id": "taco/test/9"}),
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
        d,
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("t.jsonl:2: field `question_id`: no problem `taco/test/9`"), "{err}");
    assert!(err.contains("--skip-unmatched"), "{err}");
    assert!(!d.join("l.jsonl").exists());
}

#[test]
fn a_malformed_ocr2_row_stops_the_import_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let good = std::fs::read_to_string(fixture("ocr2-python.jsonl")).unwrap();
    let mut lines: Vec<&str> = good.lines().collect();
    lines.insert(3, "{\"question_id\": ");
    std::fs::write(d.join("bad.jsonl"), lines.join("\n") + "\n").unwrap();
    let out = import_ocr2(d, "bad.jsonl", "o", &[]);
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.jsonl:4") && err.contains("JSON"), "{err}");
    assert!(!d.join("o").exists(), "nothing half-written");
}

#[test]
fn every_question_unmatched_exits_1_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = valley(
        &[
            "data",
            "import",
            "ocr2",
            "--input",
            &fixture("ocr2-python.jsonl"),
            "--out",
            "o",
            "--json",
        ],
        d,
    );
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let s: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(s["questions"], 0);
    assert_eq!(s["left_out"]["rows"], 61);
    // the 46 TACO rows and the one whose index is out of range: no source to look either up in
    assert_eq!(s["left_out"]["by_reason"]["no --source for taco:test"], 47);
    assert_eq!(s["left_out"]["by_reason"]["invalid source reference"], 1);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no question could be filled"), "{err}");
}

#[test]
fn teacher_traces_keep_teacher_sample_and_finish_and_filter_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_jsonl(
        &d.join("q.jsonl"),
        &[
            json!({"question_id": "taco/train/1", "question": "Add.", "dataset": "taco", "split": "train", "index": 1, "difficulty": "EASY"}),
            json!({"question_id": "apps/train/2", "question": "Sub.", "dataset": "apps", "split": "train", "index": 2}),
        ],
    );
    let ok = "<think>plan</think>\n```python\nprint(1)\n```";
    write_jsonl(
        &d.join("r1.jsonl"),
        &[
            json!({"question_id": "taco/train/1", "sample_index": 0, "response": ok, "finish_reason": "stop", "completion_tokens": 9, "model": "r1"}),
            json!({"question_id": "taco/train/1", "sample_index": 1, "response": "<think>long", "finish_reason": "length", "model": "r1"}),
            json!({"question_id": "apps/train/2", "sample_index": 0, "response": "no think", "finish_reason": "stop", "model": "r1"}),
            json!({"question_id": "taco/train/7", "sample_index": 0, "response": ok, "finish_reason": "stop", "model": "r1"}),
        ],
    );
    let kat = "<judge>hard</judge>\n<think_on>\n<think>why</think>\n<answer>\n```python\nprint(2)\n```\n</answer>";
    write_jsonl(
        &d.join("kat.jsonl"),
        &[
            json!({"question_id": "taco/train/1", "sample_index": 0, "response": kat, "finish_reason": "stop", "model": "kat"}),
            json!({"question_id": "apps/train/2", "sample_index": 0, "response": "<judge>easy</judge><think_off><answer>x</answer>", "finish_reason": "stop", "model": "kat"}),
        ],
    );
    let recipe = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/teachers.toml");
    let s = ok_json(&valley(
        &[
            "data",
            "traces",
            "--questions",
            "q.jsonl",
            "--recipe",
            recipe.to_str().unwrap(),
            "--generations",
            "deepseek-r1-0528=r1.jsonl",
            "--generations",
            "kat-v1-40b=kat.jsonl",
            "--out",
            "traces.jsonl",
            "--json",
        ],
        d,
    ));
    assert_eq!(s["filter"], "finished-with-closed-think");
    assert_eq!(s["traces"], 2);
    assert_eq!(
        s["filtered"]["deepseek-r1-0528"],
        json!({"samples": 3, "kept": 1, "not_finished": 1, "no_closed_think": 1, "outside_datasets": 0})
    );
    assert_eq!(s["filtered"]["kat-v1-40b"]["no_closed_think"], 1);
    assert_eq!(s["left_out"]["rows"], 1);
    assert_eq!(s["left_out"]["examples"][0]["row"], 4);
    assert_eq!(s["left_out"]["examples"][0]["field"], "question_id");
    let traces = read_jsonl(&d.join("traces.jsonl"));
    assert_eq!(traces[0]["id"], "taco/train/1/deepseek-r1-0528/0");
    assert_eq!(traces[0]["teacher"], "deepseek-r1-0528");
    assert_eq!(traces[0]["finish_reason"], "stop");
    assert_eq!(traces[0]["difficulty"], "EASY");
    assert_eq!(traces[1]["response"], "<think>why</think>\n```python\nprint(2)\n```\n");
    assert!(d.join("traces.manifest.json").exists());
    // only TACO questions
    let s = ok_json(&valley(
        &[
            "data",
            "traces",
            "--questions",
            "q.jsonl",
            "--generations",
            "r1=r1.jsonl",
            "--dataset",
            "taco",
            "--out",
            "taco-traces.jsonl",
            "--json",
        ],
        d,
    ));
    assert_eq!(s["filtered"]["r1"]["outside_datasets"], 1);
    assert_eq!(s["traces"], 1);
}

#[test]
fn lcb_files_are_read_directly_within_the_window_and_bad_rows_named() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let src =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/data/leetcode-lcb.jsonl");
    let mut rows: Vec<Value> = read_jsonl(&src).into_iter().take(6).collect();
    for r in &mut rows[3..] {
        r["contest_date"] = json!("2024-02-01T00:00:00");
    }
    let mut dup = rows[0].clone();
    dup["question_content"] = json!("the same id again");
    let mut broken = rows[1].clone();
    broken["question_id"] = json!("lc-broken");
    broken["public_test_cases"] = json!("not json");
    rows.push(dup);
    rows.push(broken);
    std::fs::create_dir(d.join("lcb")).unwrap();
    write_jsonl(&d.join("lcb/test.jsonl"), &rows);
    let s = ok_json(&valley(
        &[
            "data",
            "import",
            "lcb",
            "--input",
            "lcb",
            "--release",
            "release_v1",
            "--start-date",
            "2023-09-01",
            "--end-date",
            "2023-12-31",
            "--out",
            "lcb.jsonl",
            "--json",
        ],
        d,
    ));
    assert_eq!((s["input_rows"].as_u64(), s["problems"].as_u64()), (Some(8), Some(3)));
    assert_eq!(s["outside_selection"], 3);
    assert_eq!(s["left_out"]["by_reason"]["duplicate question_id"], 1);
    assert_eq!(s["left_out"]["by_reason"]["unreadable problem"], 1);
    let named: Vec<(u64, String)> = s["left_out"]["examples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["row"].as_u64().unwrap(), e["field"].as_str().unwrap().to_owned()))
        .collect();
    assert!(
        named.contains(&(7, "question_id".into()))
            && named.contains(&(8, "public_test_cases".into())),
        "{named:?}"
    );
    let kept = read_jsonl(&d.join("lcb.jsonl"));
    assert_eq!(kept[0], rows[0], "rows are written as read");
    let m: Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("lcb.manifest.json")).unwrap())
            .unwrap();
    assert_eq!(m["settings"]["selection"]["release"], "release_v1");
}

//! Issue 4: `valley eval` on hand-made cases with known answers gives the exact metrics: drafts
//! inside reasoning, unclosed think blocks, truncated responses, no code, call-based problems.
//! Issue 13: LiveCodeBench's extraction by default, pass@1 under after-think beside it, and the
//! failure decomposition.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::{Value, json};

fn valley(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_valley")).args(args).current_dir(cwd).output().unwrap()
}

fn tests_json(cases: &[(&str, &str)], kind: &str) -> String {
    let list: Vec<Value> =
        cases.iter().map(|(i, o)| json!({"input": i, "output": o, "testtype": kind})).collect();
    serde_json::to_string(&list).unwrap()
}

fn generation(q: &str, i: u32, response: &str, finish: &str, tokens: u64) -> Value {
    json!({
        "question_id": q, "sample_index": i, "response": response,
        "finish_reason": finish, "completion_tokens": tokens, "model": "m",
        "params": {"temperature": 0.2, "top_p": 0.95, "max_tokens": 100},
    })
}

const FENCE: &str = "```";

#[test]
fn hand_made_generations_give_exact_metrics() {
    let Some(_) = valley_test::judge_python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let stdin_tests = tests_json(&[("1\n", "2\n"), ("41\n", "42\n")], "stdin");
    let call_tests = tests_json(&[("1\n2", "3"), ("-5\n5", "0")], "functional");
    let problems = [
        json!({"question_id": "inc", "question_content": "Print n + 1.", "platform": "atcoder",
               "contest_date": "2024-01-01T00:00:00", "starter_code": "", "difficulty": "easy",
               "public_test_cases": stdin_tests, "private_test_cases": "[]", "metadata": "{}"}),
        json!({"question_id": "add", "question_content": "Return a + b.", "platform": "leetcode",
               "contest_date": "2024-01-01T00:00:00",
               "starter_code": "class Solution:\n    def add(self, a: int, b: int) -> int:\n        ",
               "difficulty": "hard", "public_test_cases": call_tests, "private_test_cases": "[]",
               "metadata": "{\"func_name\": \"add\"}"}),
    ];
    let good_inc = format!("{FENCE}python\nprint(int(input()) + 1)\n{FENCE}");
    let bad_inc = format!("{FENCE}python\nprint(int(input()) + 2)\n{FENCE}");
    let good_add = format!(
        "{FENCE}python\nclass Solution:\n    def add(self, a, b):\n        return a + b\n{FENCE}"
    );
    let bad_add = format!(
        "{FENCE}python\nclass Solution:\n    def add(self, a, b):\n        return a - b\n{FENCE}"
    );
    let gens = [
        // inc: correct answer after the reasoning -> AC
        generation("inc", 0, &format!("<think>\nsimple\n</think>\n{good_inc}\n"), "stop", 30),
        // inc: a correct draft inside reasoning that never closes -> NO_CODE
        generation("inc", 1, &format!("<think>\n{good_inc}\nhmm, let me check"), "length", 100),
        // inc: a correct draft inside the reasoning, a wrong final answer -> WA (draft not graded)
        generation("inc", 2, &format!("<think>\n{good_inc}\n</think>\n{bad_inc}\n"), "stop", 60),
        // inc: reasoning closed, the answer's block cut off by the budget -> NO_CODE, incomplete
        generation(
            "inc",
            3,
            &format!("<think>\nok\n</think>\n{FENCE}python\nprint(int(inp"),
            "length",
            100,
        ),
        // add: no think block, graded on its last fenced block -> AC (call-based)
        generation("add", 0, &format!("Here:\n{bad_add}\nFixed:\n{good_add}\n"), "stop", 40),
        // add: no code at all -> NO_CODE
        generation("add", 1, "I cannot solve this.", "stop", 5),
        // add: wrong -> WA
        generation("add", 2, &bad_add, "stop", 20),
        // add: correct, but longer than the evaluation budget of 90 tokens -> AC, not completed
        generation("add", 3, &good_add, "stop", 95),
    ];
    let write = |name: &str, rows: &[Value]| {
        let text: String = rows.iter().map(|r| format!("{r}\n")).collect();
        std::fs::write(dir.path().join(name), text).unwrap();
    };
    write("problems.jsonl", &problems);
    write("generations.jsonl", &gens);
    let out = valley(
        &[
            "eval",
            "--problems",
            "problems.jsonl",
            "--generations",
            "generations.jsonl",
            "--out",
            "ev",
            "--max-tokens",
            "90",
            "--k",
            "1,2,8",
            "--extract",
            "after-think",
            "--json",
            "--allow-weak-sandbox",
            "-j",
            "2",
        ],
        dir.path(),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let m: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("ev/metrics.json")).unwrap())
            .unwrap();
    let stdout: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(stdout, m);

    assert_eq!((m["n_problems"].as_u64(), m["n_samples"].as_u64()), (Some(2), Some(8)));
    assert_eq!(m["verdicts"], json!({"AC": 3, "NO_CODE": 3, "WA": 2}), "{m:#}");
    // inc 1/4, add 2/4
    assert_eq!(m["pass_at_1"], json!(0.375));
    assert_eq!(m["pass_at_1_ci95"], json!([0.25, 0.5]));
    // pass@2: inc 1 - C(3,2)/C(4,2) = 0.5; add 1 - C(2,2)/C(4,2) = 5/6
    let p2 = m["pass_at_k"]["pass@2"].as_f64().unwrap();
    assert!((p2 - (0.5 + 5.0 / 6.0) / 2.0).abs() < 1e-12, "{p2}");
    assert!(m["pass_at_k"].get("pass@8").is_none(), "k above n is not reported");
    // not completed: inc/1 and inc/3 (length), add/3 (95 > 90 tokens)
    assert_eq!(m["completion_rate"], json!(5.0 / 8.0));
    assert_eq!(m["think_tag_rate"], json!(0.5));
    assert_eq!(m["closed_think_rate"], json!(3.0 / 8.0));
    assert_eq!(m["no_code_rate"], json!(3.0 / 8.0));
    assert_eq!(m["extract_mode"], "after-think");
    assert_eq!(m["pass_at_1_after_think"], json!(0.375));
    assert!(m.get("extract_modes").is_none(), "every sample under --extract");
    // issue 13: passed inc/0 add/0 add/3; not finished inc/1 inc/3; no code add/1; failed inc/2
    // add/2
    assert_eq!(
        m["failure_decomposition"],
        json!({"passed": 0.375, "not_finished": 0.25, "no_code": 0.125, "failed": 0.25})
    );
    assert_eq!(
        m["by_difficulty"]["easy"]["failure_decomposition"],
        json!({"passed": 0.25, "not_finished": 0.5, "no_code": 0.0, "failed": 0.25})
    );
    assert_eq!(m["profile"], "lcb");
    assert_eq!(m["by_difficulty"]["easy"]["pass_at_1"], json!(0.25));
    assert_eq!(m["by_platform"]["leetcode"]["pass_at_1"], json!(0.5));
    assert_eq!(m["response_tokens"]["all"]["max"], json!(100));

    let verdicts = std::fs::read_to_string(dir.path().join("ev/verdicts.jsonl")).unwrap();
    let by_id: std::collections::HashMap<String, String> = verdicts
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (
                v["candidate_id"].as_str().unwrap().to_owned(),
                v["verdict"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expect = [
        ("inc/0", "AC"),
        ("inc/1", "NO_CODE"),
        ("inc/2", "WA"),
        ("inc/3", "NO_CODE"),
        ("add/0", "AC"),
        ("add/1", "NO_CODE"),
        ("add/2", "WA"),
        ("add/3", "AC"),
    ];
    for (id, v) in expect {
        assert_eq!(by_id[id], v, "{id}");
    }
    let report = std::fs::read_to_string(dir.path().join("ev/report.md")).unwrap();
    assert!(report.contains("| pass@1 (95% CI) | 0.3750 [0.2500, 0.5000] |"), "{report}");
    assert!(report.contains("extraction policy: `after-think`"), "{report}");
    assert!(report.contains("## Response length"), "{report}");

    // By default, LiveCodeBench's rule: the lines between the last two fence lines, anywhere. It
    // grades the draft inside never-closed reasoning (inc/1: AC), finds nothing in a block cut by
    // the budget (inc/3), and takes the last of several blocks (inc/2: WA, add/0: AC).
    let out = valley(
        &[
            "eval",
            "--problems",
            "problems.jsonl",
            "--generations",
            "generations.jsonl",
            "--out",
            "ev-lcb",
            "--json",
            "--allow-weak-sandbox",
            "-j",
            "2",
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let m: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(m["extract_mode"], "lcb");
    assert_eq!(m["verdicts"], json!({"AC": 4, "NO_CODE": 2, "WA": 2}), "{m:#}");
    assert_eq!(m["pass_at_1"], json!(0.5));
    // only inc/0, add/0 and add/3 pass with code after a closed </think> (or no think block)
    assert_eq!(m["pass_at_1_after_think"], json!(0.375));
    // passed: inc/0 inc/1 add/0 add/3; not finished: inc/3; no code: add/1; failed: inc/2 add/2
    assert_eq!(
        m["failure_decomposition"],
        json!({"passed": 0.5, "not_finished": 0.125, "no_code": 0.125, "failed": 0.25})
    );
    let report = std::fs::read_to_string(dir.path().join("ev-lcb/report.md")).unwrap();
    assert!(report.contains("extraction policy: `lcb`: LiveCodeBench's rule"), "{report}");
    assert!(
        report.contains("| pass@1, only code after a closed `</think>` | 0.3750 |"),
        "{report}"
    );
    assert!(
        report.contains("| passed | not finished | no code | failed |\n| --- | --- | --- | --- |\n| 0.5000 | 0.1250 | 0.1250 | 0.2500 |"),
        "{report}"
    );

    // Lengths counted by a tokenizer where the server gave no count.
    let uncounted: Vec<Value> = gens
        .iter()
        .enumerate()
        .map(|(i, g)| {
            let mut g = g.clone();
            if i % 2 == 0 {
                g.as_object_mut().unwrap().remove("completion_tokens");
            }
            g
        })
        .collect();
    write("uncounted.jsonl", &uncounted);
    let tokenizer =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/tokenizers/byte-chatml");
    let out = valley(
        &[
            "eval",
            "--problems",
            "problems.jsonl",
            "--generations",
            "uncounted.jsonl",
            "--out",
            "ev-tok",
            "--tokenizer",
            tokenizer.to_str().unwrap(),
            "--k",
            "1,3",
            "--bootstrap-resamples",
            "500",
            "--bootstrap-seed",
            "7",
            "--extract",
            "after-think",
            "--json",
            "--allow-weak-sandbox",
            "-j",
            "2",
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let m: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(m["response_tokens"]["source"], "server, else tokenizer");

    // Issue 15: metrics.json and report.md are byte for byte those that valley wrote before
    // evaluation moved out of the binary into valley-eval (the golden files were written by
    // that binary), with what issue 13 added since: the failure decomposition, pass@1 under
    // after-think and LiveCodeBench's rule as the default extraction.
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    for (name, out) in
        [("eval-after-think", "ev"), ("eval-lcb", "ev-lcb"), ("eval-tokenizer", "ev-tok")]
    {
        let text = valley_test::eval_outputs(&dir.path().join(out));
        valley_test::assert_golden(&golden.join(format!("{name}.txt")), &text);
    }
}

/// Issue 13: where after-think takes other code than LiveCodeBench's rule, that code is judged
/// for `pass_at_1_after_think` (and kept out of verdicts.jsonl); a generation made with the
/// GenericBase style is graded on its whole output, as LiveCodeBench grades base models, unless
/// --extract names a rule for every generation.
#[test]
fn after_think_and_base_model_generations_are_judged_as_they_say() {
    let Some(_) = valley_test::judge_python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let tests = tests_json(&[("1\n", "2\n"), ("41\n", "42\n")], "stdin");
    let problem = json!({"question_id": "inc", "question_content": "Print n + 1.",
        "platform": "atcoder", "contest_date": "2024-01-01T00:00:00", "starter_code": "",
        "difficulty": "easy", "public_test_cases": tests, "private_test_cases": "[]",
        "metadata": "{}"});
    let good = "print(int(input()) + 1)";
    let mut base = generation("inc", 3, &format!("{good}\n"), "stop", 9);
    base["prompt_style"] = json!("GenericBase");
    let gens = [
        // LCB: the last two lines holding a fence are the block's end and the note -> nothing;
        // after-think: the answer's block -> AC
        generation(
            "inc",
            0,
            &format!(
                "<think>\nok\n</think>\n{FENCE}python\n{good}\n{FENCE}\nRun it: {FENCE}python3 a.py{FENCE}\n"
            ),
            "stop",
            40,
        ),
        // LCB: the draft in never-closed reasoning -> AC; after-think: nothing
        generation(
            "inc",
            1,
            &format!("<think>\n{FENCE}python\n{good}\n{FENCE}\nhmm"),
            "length",
            99,
        ),
        // the same wrong program under both -> WA
        generation(
            "inc",
            2,
            &format!("{FENCE}python\nprint(int(input()) + 2)\n{FENCE}"),
            "stop",
            20,
        ),
        // a base model's whole output: LCB's base rule -> AC; after-think: no block
        base,
    ];
    let text: String = gens.iter().map(|g| format!("{g}\n")).collect();
    std::fs::write(dir.path().join("p.jsonl"), format!("{problem}\n")).unwrap();
    std::fs::write(dir.path().join("g.jsonl"), text).unwrap();
    let run = |out: &str, extra: &[&str]| -> Value {
        let mut args = vec![
            "eval",
            "--problems",
            "p.jsonl",
            "--generations",
            "g.jsonl",
            "--out",
            out,
            "--json",
            "--allow-weak-sandbox",
            "-j",
            "2",
        ];
        args.extend(extra);
        let out = valley(&args, dir.path());
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let m = run("ev", &[]);
    assert_eq!(m["verdicts"], json!({"AC": 2, "NO_CODE": 1, "WA": 1}), "{m:#}");
    assert_eq!(m["pass_at_1"], json!(0.5));
    assert_eq!(m["pass_at_1_after_think"], json!(0.25));
    assert_eq!(m["extract_modes"], json!({"lcb": 3, "lcb-base": 1}));
    let verdicts = std::fs::read_to_string(dir.path().join("ev/verdicts.jsonl")).unwrap();
    assert_eq!(verdicts.lines().count(), 4, "{verdicts}");
    assert!(!verdicts.contains("#after-think"), "{verdicts}");
    let report = std::fs::read_to_string(dir.path().join("ev/report.md")).unwrap();
    assert!(
        report.contains(
            "by the generations' prompt styles, as LiveCodeBench does: `lcb` 3, `lcb-base` 1"
        ),
        "{report}"
    );

    // --extract lcb: the fence rule for every generation, the base model's output included
    let m = run("ev-lcb", &["--extract", "lcb"]);
    assert_eq!(m["verdicts"], json!({"AC": 1, "NO_CODE": 2, "WA": 1}), "{m:#}");
    assert_eq!(m["pass_at_1_after_think"], json!(0.25));
    assert!(m.get("extract_modes").is_none(), "{m:#}");
}

#[test]
fn generations_for_unknown_problems_are_refused_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let problem = json!({"question_id": "p", "question_content": "x", "public_test_cases": "[]",
                         "private_test_cases": "[]", "metadata": "{}"});
    std::fs::write(dir.path().join("p.jsonl"), format!("{problem}\n")).unwrap();
    let g1 = generation("p", 0, "x", "stop", 1);
    let g2 = generation("nope", 0, "x", "stop", 1);
    std::fs::write(dir.path().join("g.jsonl"), format!("{g1}\n{g2}\n")).unwrap();
    let out = valley(
        &["eval", "--problems", "p.jsonl", "--generations", "g.jsonl", "--out", "ev"],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("g.jsonl:2: field `question_id`: no problem `nope`"), "{stderr}");
    assert!(!dir.path().join("ev/metrics.json").exists());
}

//! Issue 4: LiveCodeBench release versions and the scorer's date-window, platform and difficulty
//! filters, in `valley generate` (which problems are sampled) and `valley eval` (which count).

use std::path::Path;

use serde_json::{Value, json};
use valley_test::{FakeConfig, FakeOpenAi, read_jsonl, run_bin, write_jsonl};

const FENCE: &str = "```";

fn valley(args: &[&str], cwd: &Path) -> std::process::Output {
    run_bin(env!("CARGO_BIN_EXE_valley"), args, cwd)
}

/// An LCB row whose stdin test expects `n + 1`.
fn problem(id: &str, date: &str, platform: &str, difficulty: &str) -> Value {
    let tests = json!([{"input": "1\n", "output": "2\n", "testtype": "stdin"}]).to_string();
    json!({"question_id": id, "question_content": format!("Problem {id}: print n + 1."),
           "platform": platform, "contest_date": date, "starter_code": "",
           "difficulty": difficulty, "public_test_cases": tests, "private_test_cases": "[]",
           "metadata": "{}"})
}

/// An LCB dataset folder: test.jsonl (release v1) and test2.jsonl (added in v2).
fn dataset(dir: &Path) {
    std::fs::create_dir_all(dir.join("lcb")).unwrap();
    write_jsonl(
        &dir.join("lcb/test.jsonl"),
        &[
            problem("a1", "2023-05-01T00:00:00", "atcoder", "easy"),
            problem("a2", "2023-08-15T00:00:00", "leetcode", "medium"),
            problem("a3", "2024-03-01T00:00:00", "codeforces", "hard"),
        ],
    );
    write_jsonl(
        &dir.join("lcb/test2.jsonl"),
        &[
            problem("b1", "2024-04-01T00:00:00", "atcoder", "easy"),
            // later on the end day than the scorer's midnight bound
            problem("b2", "2024-05-01T12:00:00", "atcoder", "hard"),
        ],
    );
}

fn answer(id: &str, sample: u32, good: bool) -> Value {
    let code = if good { "print(int(input()) + 1)" } else { "print(0)" };
    json!({"question_id": id, "sample_index": sample, "model": "m", "finish_reason": "stop",
           "completion_tokens": 10,
           "response": format!("<think>ok</think>\n{FENCE}python\n{code}\n{FENCE}\n")})
}

#[test]
fn eval_scores_only_the_selected_release_and_window() {
    let Some(_) = valley_test::judge_python() else { return };
    let dir = tempfile::tempdir().unwrap();
    dataset(dir.path());
    let gens = [
        answer("a1", 0, true),
        answer("a2", 0, false),
        answer("a3", 0, true),
        answer("b1", 0, true),
        answer("b2", 0, false),
    ];
    write_jsonl(&dir.path().join("gen.jsonl"), &gens);
    let eval = |extra: &[&str], out: &str| -> Value {
        let mut args = vec![
            "eval",
            "--problems",
            "lcb",
            "--generations",
            "gen.jsonl",
            "--out",
            out,
            "--json",
            "-j",
            "1",
        ];
        args.extend_from_slice(extra);
        let o = valley(&args, dir.path());
        assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
        serde_json::from_slice(&o.stdout).unwrap()
    };
    // release_v1: a1 a2 a3; samples of b1 b2 are outside it.
    let m = eval(&["--release", "release_v1"], "v1");
    assert_eq!(m["n_problems"], 3);
    assert_eq!(m["samples_outside_selection"], 2);
    assert!((m["pass_at_1"].as_f64().unwrap() - 2.0 / 3.0).abs() < 1e-12);
    assert_eq!(m["selection"]["release"], "release_v1");
    // release_v2 within [2023-06-01, 2024-05-01]: a2 a3 b1 (b2 is after the end's midnight).
    let m = eval(
        &["--release", "release_v2", "--start-date", "2023-06-01", "--end-date", "2024-05-01"],
        "window",
    );
    assert_eq!(m["n_problems"], 3);
    assert!((m["pass_at_1"].as_f64().unwrap() - 2.0 / 3.0).abs() < 1e-12);
    // v2 alone, atcoder only: b1 b2.
    let m = eval(&["--release", "v2", "--platform", "atcoder"], "v2");
    assert_eq!(m["n_problems"], 2);
    assert_eq!(m["pass_at_1"], 0.5);
    // difficulty, across the latest release.
    let m = eval(&["--release", "release_v2", "--difficulty", "easy,medium"], "easy");
    assert_eq!(m["n_problems"], 3);
    let report = std::fs::read_to_string(dir.path().join("easy/report.md")).unwrap();
    assert!(report.contains("release: `release_v2`"), "{report}");
    assert!(report.contains("difficulty in {easy, medium}"), "{report}");
    // Issue 15: byte for byte what valley wrote before evaluation moved into valley-eval.
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    for (name, out) in [("eval-release-window", "window"), ("eval-release-v2-atcoder", "v2")] {
        let text = valley_test::eval_outputs(&dir.path().join(out));
        valley_test::assert_golden(&golden.join(format!("{name}.txt")), &text);
    }
}

#[test]
fn bad_selections_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    dataset(dir.path());
    write_jsonl(&dir.path().join("gen.jsonl"), &[answer("a1", 0, true)]);
    let run = |extra: &[&str]| {
        let mut args = vec!["eval", "--generations", "gen.jsonl", "--out", "o"];
        args.extend_from_slice(extra);
        let o = valley(&args, dir.path());
        (o.status.code(), String::from_utf8_lossy(&o.stderr).into_owned())
    };
    let (code, err) = run(&["--problems", "lcb", "--release", "release_v3"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("test3.jsonl") && err.contains("missing"), "{err}");
    let (code, err) = run(&["--problems", "lcb"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("is a folder") && err.contains("--release"), "{err}");
    let (code, err) = run(&["--problems", "lcb/test.jsonl", "--release", "release_v1"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("not a folder"), "{err}");
    let (code, err) = run(&["--problems", "lcb", "--release", "release_v9"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("unknown LiveCodeBench release"), "{err}");
    let (code, err) = run(&["--problems", "lcb/test.jsonl", "--start-date", "2024-02-30"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("--start-date"), "{err}");
    // A date window over a row without a contest date names the file, line and field.
    write_jsonl(
        &dir.path().join("nodate.jsonl"),
        &[problem("a1", "2023-05-01T00:00:00", "atcoder", "easy"), {
            let mut p = problem("a2", "x", "atcoder", "easy");
            p.as_object_mut().unwrap().remove("contest_date");
            p
        }],
    );
    let (code, err) = run(&["--problems", "nodate.jsonl", "--start-date", "2023-01-01"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("nodate.jsonl:2") && err.contains("`contest_date`"), "{err}");
    assert!(!dir.path().join("o").exists());
}

#[test]
fn generate_samples_only_the_selected_problems() {
    let dir = tempfile::tempdir().unwrap();
    dataset(dir.path());
    let server = FakeOpenAi::start(FakeConfig::default()).unwrap();
    let o = valley(
        &[
            "generate",
            "--endpoint",
            &server.base_url(),
            "--model",
            "m",
            "--problems",
            "lcb",
            "--release",
            "release_v2",
            "--platform",
            "atcoder",
            "--end-date",
            "2024-04-30",
            "--n",
            "1",
            "--out",
            "gen.jsonl",
            "--json",
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let ids: Vec<String> = read_jsonl(&dir.path().join("gen.jsonl"))
        .iter()
        .map(|g| g["question_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.iter().filter(|i| *i == "a1").count(), 1);
    assert_eq!(ids.iter().filter(|i| *i == "b1").count(), 1);
    assert_eq!(ids.len(), 2, "{ids:?}");
}

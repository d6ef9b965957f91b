//! Issue 14: nothing wrong is ever written as a result. Bad input at the command line is refused
//! with exit 2 and an `error:` line, before anything is read or written: numbers outside their
//! range (never a panic, whatever the value: a property test), outputs that are or overlap an
//! input, outputs another run holds, unreachable or malformed endpoints, columns that are not
//! there. Outputs get the user's umask; colours go only to a terminal.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use serde_json::{Value, json};
use valley_data::io::{ClaimOutputs, OutputKind};
use valley_test::{FakeConfig, FakeOpenAi, write_jsonl};

fn valley(args: &[&str], cwd: &Path) -> Output {
    valley_test::run_bin(env!("CARGO_BIN_EXE_valley"), args, cwd)
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Exit 2 with an `error:` line holding every one of `words`, and no panic.
fn assert_refused(o: &Output, words: &[&str]) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("error:"), "{err}");
    assert!(!err.contains("panicked at"), "{err}");
    for w in words {
        assert!(err.contains(w), "`{w}` not in: {err}");
    }
}

fn trace(i: usize) -> Value {
    json!({"id": format!("t{i}"), "question": format!("question {i}"),
           "response": format!("<think>r</think>\n```python\nprint({i})\n```"),
           "question_id": "add"})
}

fn lcb_problem() -> Value {
    let tests = json!([{"input": "1 2\n", "output": "3\n", "testtype": "stdin"}]);
    json!({"question_id": "add", "question_content": "Add two numbers.",
           "public_test_cases": tests.to_string(), "private_test_cases": "", "metadata": "{}"})
}

/// A folder with traces (`t.jsonl`), problems (`p.jsonl`) and candidates (`c.jsonl`).
fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write_jsonl(&dir.path().join("t.jsonl"), &(0..20).map(trace).collect::<Vec<_>>());
    write_jsonl(&dir.path().join("p.jsonl"), &[lcb_problem()]);
    write_jsonl(
        &dir.path().join("c.jsonl"),
        &[json!({"candidate_id": "c1", "question_id": "add", "code": "print(3)"})],
    );
    dir
}

/// A base URL where nothing listens.
fn closed_endpoint() -> String {
    let s = FakeOpenAi::start(FakeConfig::default()).unwrap();
    s.base_url()
}

#[test]
fn issue_14_numeric_flags_out_of_range_are_refused_naming_the_range() {
    let dir = workspace();
    let d = dir.path();
    let judge = ["judge", "--problems", "p.jsonl", "--candidates", "c.jsonl", "--profile", "lcb"];
    let label =
        ["data", "label", "--input", "t.jsonl", "--problems", "p.jsonl", "--profile", "lcb"];
    let eval = ["eval", "--problems", "p.jsonl", "--generations", "g.jsonl", "--out", "e"];
    let generate = ["generate", "--endpoint", "http://127.0.0.1:9/v1", "--model", "m"];
    let generate = [&generate[..], &["--problems", "p.jsonl", "--out", "g.jsonl"]].concat();
    let cases: Vec<(Vec<&str>, [&str; 2], &str)> = vec![
        ([&judge[..], &["--out", "v.jsonl"]].concat(), ["--timeout", "1e20"], "(0, 3600]"),
        (eval.to_vec(), ["--timeout", "1e20"], "(0, 3600]"),
        ([&label[..], &["--out", "o.jsonl"]].concat(), ["--timeout", "1e20"], "(0, 3600]"),
        (generate.clone(), ["--request-timeout", "1e30"], "(0, 604800]"),
        (generate.clone(), ["--max-backoff", "1e30"], "(0, 604800]"),
        ([&judge[..], &["--out", "v.jsonl"]].concat(), ["--jobs", "0"], "1..=1024"),
        ([&judge[..], &["--out", "v.jsonl"]].concat(), ["--memory-mb", "0"], "64..=1048576"),
        (generate.clone(), ["--temperature", "nan"], "[0, 10]"),
        (generate.clone(), ["--max-tokens", "0"], "1..=100000000"),
        (eval.to_vec(), ["--bootstrap-resamples", "0"], "1..=10000000"),
        // and their neighbours
        (generate.clone(), ["--top-p", "0"], "(0, 1]"),
        (generate.clone(), ["--n", "0"], "1..="),
        (generate.clone(), ["--concurrency", "0"], "1..="),
        (eval.to_vec(), ["--k", "1,0"], "1..="),
        (eval.to_vec(), ["--timeout", "-inf"], "(0, 3600]"),
        (
            ["report", "--results", "r.jsonl", "--out", "r"].to_vec(),
            ["--png-scale", "inf"],
            "(0, 8]",
        ),
        (
            ["data", "subsets", "--input", "t.jsonl", "--seed", "1", "--out", "s"].to_vec(),
            ["--sizes", "10,0"],
            "1..=",
        ),
        (
            ["data", "dedup", "--input", "t.jsonl", "--out", "k.jsonl"].to_vec(),
            ["--near-threshold", "NaN"],
            "(0, 1]",
        ),
    ];
    for (base, [flag, value], range) in cases {
        let mut args = base.clone();
        // `--flag=value`, so that `-inf` is a value
        let pair = format!("{flag}={value}");
        args.push(&pair);
        let o = valley(&args, d);
        assert_refused(&o, &[flag, range]);
    }
    for out in ["v.jsonl", "o.jsonl", "e", "g.jsonl", "r", "s", "k.jsonl"] {
        assert!(!d.join(out).exists(), "{out} was written");
    }
}

/// Values a user might type for a number, and some no one would.
fn number_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<f64>().prop_map(|v| v.to_string()),
        any::<f64>().prop_map(|v| format!("{v:e}")),
        any::<i64>().prop_map(|v| v.to_string()),
        any::<u64>().prop_map(|v| v.to_string()),
        (0u32..20).prop_map(|v| v.to_string()),
        (0.0f64..10.0).prop_map(|v| v.to_string()),
        prop::sample::select(vec![
            "nan",
            "NaN",
            "inf",
            "-inf",
            "infinity",
            "1e20",
            "1e30",
            "1e308",
            "1e309",
            "-0",
            "0",
            "-1",
            "0.0",
            "1e-320",
            "18446744073709551616",
            "",
            " 1",
            "0x10",
            "1_000",
            "4294967296",
            "9223372036854775808",
        ])
        .prop_map(str::to_owned),
    ]
}

/// Commands that run cheaply, each with its numeric flags: the drawn value goes to one of them.
fn numeric_flag_runs(endpoint: &str) -> Vec<Vec<String>> {
    let s = |v: &[&str]| v.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
    let with = |base: &[&str], flags: &[&str]| -> Vec<Vec<String>> {
        flags.iter().map(|f| [&s(base)[..], &s(&[f])[..]].concat()).collect()
    };
    let mut runs = Vec::new();
    runs.extend(with(
        &["data", "subsets", "--input", "t.jsonl", "--seed", "1", "--out", "s"],
        &["--sizes"],
    ));
    runs.extend(with(
        &["data", "subsets", "--input", "t.jsonl", "--sizes", "5", "--out", "s"],
        &["--seed"],
    ));
    runs.extend(with(
        &["data", "split", "--input", "t.jsonl", "--by", "difficulty", "--seed", "1", "--out", "s"],
        &["--per-group"],
    ));
    runs.extend(with(
        &["data", "dedup", "--input", "t.jsonl", "--out", "k.jsonl"],
        &["--near-threshold", "--shingle"],
    ));
    runs.extend(with(
        &["data", "decontam", "--input", "t.jsonl", "--benchmark", "p.jsonl", "--out", "x.jsonl"],
        &["--ngram", "--min-overlap", "--max-problems", "--min-coverage"],
    ));
    runs.extend(with(
        &[
            "generate",
            "--endpoint",
            endpoint,
            "--model",
            "m",
            "--problems",
            "p.jsonl",
            "--out",
            "g.jsonl",
            "--max-attempts",
            "2",
            "--max-backoff",
            "0.01",
        ],
        &[
            "--n",
            "--max-tokens",
            "--temperature",
            "--top-p",
            "--concurrency",
            "--seed",
            "--limit",
            "--request-timeout",
        ],
    ));
    runs.extend(with(
        &[
            "generate",
            "--endpoint",
            endpoint,
            "--model",
            "m",
            "--problems",
            "p.jsonl",
            "--out",
            "g.jsonl",
        ],
        &["--max-attempts", "--max-backoff"],
    ));
    // the judging commands with an interpreter that is not there: the flags are parsed and
    // checked, then the judge refuses to start (exit 2)
    let no_python = ["--python", "/nonexistent/python3"];
    runs.extend(with(
        &[&judge_args("p.jsonl", "c.jsonl", "v.jsonl")[..], &no_python[..]].concat(),
        &["--jobs", "--timeout", "--memory-mb", "--float-tol"],
    ));
    runs.extend(
        with(
            &[
                &[
                    "data",
                    "label",
                    "--input",
                    "t.jsonl",
                    "--problems",
                    "p.jsonl",
                    "--profile",
                    "lcb",
                ][..],
                &["--out", "o.jsonl"][..],
                &no_python[..],
            ]
            .concat(),
            &["--jobs", "--timeout", "--memory-mb"],
        ),
    );
    runs.extend(with(
        &[
            &["eval", "--problems", "p.jsonl", "--generations", "c.jsonl", "--out", "e"][..],
            &no_python[..],
        ]
        .concat(),
        &["--jobs", "--timeout", "--memory-mb", "--k", "--bootstrap-resamples", "--max-tokens"],
    ));
    let tok = root().join("fixtures/tokenizers/byte-chatml");
    let tok = tok.to_str().unwrap();
    runs.extend(with(
        &["data", "stats", "--input", "t.jsonl", "--tokenizer", tok],
        &["--max-len", "--jobs"],
    ));
    runs.extend(with(
        &["data", "render", "--input", "t.jsonl", "--tokenizer", tok, "--out", "r.jsonl"],
        &["--jobs"],
    ));
    let results = root().join("fixtures/report/paired/results.jsonl");
    runs.extend(with(
        &["report", "--results", results.to_str().unwrap(), "--out", "rep"],
        &["--bootstrap-resamples", "--bootstrap-seed", "--png-scale"],
    ));
    runs
}

fn root() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs the binary for at most `limit`; a run still going then is stopped (it did not panic so
/// far, and a long but valid run is not a failure).
fn run_for(args: &[&str], cwd: &Path, limit: Duration) -> (Option<i32>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_valley"))
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(std::fs::File::create(cwd.join("stderr.txt")).unwrap()))
        .spawn()
        .unwrap();
    let start = Instant::now();
    let code = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break Some(0);
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    (code, std::fs::read_to_string(cwd.join("stderr.txt")).unwrap_or_default())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    /// No value of any numeric flag makes the tool panic: it is refused (exit 2 with an `error:`
    /// line) or the command runs.
    #[test]
    fn issue_14_no_numeric_flag_value_panics(pick in any::<prop::sample::Index>(), value in number_text()) {
        let server = FakeOpenAi::start(FakeConfig { max_requests: 100, ..FakeConfig::default() }).unwrap();
        let dir = workspace();
        let runs = numeric_flag_runs(&server.base_url());
        let mut args = runs[pick.index(runs.len())].clone();
        let flag = args.pop().expect("each run ends with its flag");
        args.push(format!("{flag}={value}"));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (code, err) = run_for(&args, dir.path(), Duration::from_secs(5));
        prop_assert!(!err.contains("panicked at"), "{args:?}: {err}");
        prop_assert!(matches!(code, Some(0..=2)), "{args:?}: {code:?} {err}");
        if code == Some(2) {
            prop_assert!(err.contains("error:"), "{args:?}: {err}");
        }
    }
}

#[test]
fn issue_14_an_output_that_is_or_overlaps_an_input_is_refused_and_the_input_kept() {
    let dir = workspace();
    let d = dir.path();
    let before = std::fs::read(d.join("t.jsonl")).unwrap();
    let runs: Vec<(Vec<&str>, &[&str])> = vec![
        (
            vec![
                "data",
                "label",
                "--input",
                "t.jsonl",
                "--problems",
                "p.jsonl",
                "--profile",
                "lcb",
                "--out",
                "t.jsonl",
            ],
            &["--out", "same path as", "--input"],
        ),
        (
            vec![
                "data",
                "label",
                "--input",
                "t.jsonl",
                "--problems",
                "p.jsonl",
                "--profile",
                "lcb",
                "--out",
                "./sub/../t.jsonl",
            ],
            &["--out", "--input"],
        ),
        (
            vec![
                "data", "subsets", "--input", "t.jsonl", "--sizes", "5", "--seed", "1", "--out",
                ".",
            ],
            &["--out", "holds", "--input"],
        ),
        (
            vec!["data", "dedup", "--input", "t.jsonl", "--out", "k.jsonl", "--report", "k.jsonl"],
            &["--report", "--out"],
        ),
        (
            vec![
                "data",
                "decontam",
                "--input",
                "t.jsonl",
                "--benchmark",
                "p.jsonl",
                "--out",
                "p.jsonl",
            ],
            &["--out", "--benchmark"],
        ),
        (
            vec![
                "generate",
                "--endpoint",
                "http://127.0.0.1:9/v1",
                "--model",
                "m",
                "--problems",
                "t.jsonl",
                "--out",
                "t.jsonl",
            ],
            &["--out", "--problems"],
        ),
        (vec!["report", "--results", "t.jsonl", "--out", "."], &["--out", "--results"]),
    ];
    for (args, words) in runs {
        let o = valley(&args, d);
        assert_refused(&o, words);
        assert_eq!(std::fs::read(d.join("t.jsonl")).unwrap(), before, "{args:?}");
    }
    // a symbolic link to the input is the input
    std::os::unix::fs::symlink(d.join("t.jsonl"), d.join("link.jsonl")).unwrap();
    let o = valley(&["data", "dedup", "--input", "t.jsonl", "--out", "link.jsonl"], d);
    assert_refused(&o, &["--out", "--input"]);
    assert_eq!(std::fs::read(d.join("t.jsonl")).unwrap(), before);
    let mut names: Vec<_> = std::fs::read_dir(d).unwrap().map(|e| e.unwrap().file_name()).collect();
    names.sort();
    assert_eq!(names, ["c.jsonl", "link.jsonl", "p.jsonl", "t.jsonl"], "nothing else written");
}

#[test]
fn issue_14_an_output_another_run_holds_is_refused() {
    let dir = workspace();
    let d = dir.path();
    // another process's run, as far as the binary can tell: the same lock, held here
    let folder = d.join("subsets");
    let held = ClaimOutputs::new().output("--out", &folder, OutputKind::Folder).claim().unwrap();
    let o = valley(
        &[
            "data", "subsets", "--input", "t.jsonl", "--sizes", "5", "--seed", "1", "--out",
            "subsets",
        ],
        d,
    );
    assert_refused(&o, &["--out", "another run is writing it"]);
    assert_eq!(std::fs::read_dir(&folder).unwrap().count(), 0, "nothing written into it");
    drop(held);
    let o = valley(
        &[
            "data", "subsets", "--input", "t.jsonl", "--sizes", "5", "--seed", "1", "--out",
            "subsets",
        ],
        d,
    );
    assert!(o.status.success(), "{}", stderr(&o));

    let file = d.join("kept.jsonl");
    let held = ClaimOutputs::new().output("--out", &file, OutputKind::File).claim().unwrap();
    let o = valley(&["data", "dedup", "--input", "t.jsonl", "--out", "kept.jsonl"], d);
    assert_refused(&o, &["--out", "another run is writing it"]);
    assert!(!file.exists());
    drop(held);
    let o = valley(&["data", "dedup", "--input", "t.jsonl", "--out", "kept.jsonl"], d);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!d.join(".kept.jsonl.lock").exists(), "the lock file is removed after the run");
}

#[test]
fn issue_14_two_concurrent_subsets_into_one_folder_never_mix_files() {
    let dir = workspace();
    let d = dir.path();
    for trial in 0..4 {
        let out = format!("s{trial}");
        let spawn = |sizes: &str| {
            Command::new(env!("CARGO_BIN_EXE_valley"))
                .args(["data", "subsets", "--input", "t.jsonl", "--seed", "1", "--sizes", sizes])
                .args(["--out", &out])
                .current_dir(d)
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        };
        let (a, b) = (spawn("10,5"), spawn("7,3"));
        let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
        assert!(a.status.success() || b.status.success(), "{} {}", stderr(&a), stderr(&b));
        for o in [&a, &b] {
            assert!(matches!(o.status.code(), Some(0 | 2)), "{}", stderr(o));
        }
        let manifest: Value =
            serde_json::from_slice(&std::fs::read(d.join(&out).join("manifest.json")).unwrap())
                .unwrap();
        let mut listed: Vec<String> = manifest["groups"]
            .as_object()
            .unwrap()
            .values()
            .map(|g| g["path"].as_str().unwrap().to_owned())
            .collect();
        listed.push("manifest.json".into());
        listed.sort();
        let mut present: Vec<String> = std::fs::read_dir(d.join(&out))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        present.sort();
        assert_eq!(present, listed, "trial {trial}: files of two runs side by side");
    }
}

#[test]
fn issue_14_generate_refuses_a_closed_port_or_a_bad_url_at_once_writing_nothing() {
    let dir = workspace();
    let d = dir.path();
    let closed = closed_endpoint();
    let start = Instant::now();
    let o = valley(
        &[
            "generate",
            "--endpoint",
            &closed,
            "--model",
            "m",
            "--problems",
            "p.jsonl",
            "--out",
            "g.jsonl",
        ],
        d,
    );
    assert_refused(&o, &[&closed, "cannot reach"]);
    // the default retries would take 40 s and more; only the probe runs
    assert!(start.elapsed() < Duration::from_secs(20), "{:?}", start.elapsed());
    assert!(!d.join("g.jsonl").exists());
    for url in ["127.0.0.1:8000/v1", "htp://127.0.0.1:8000/v1", "http://"] {
        let o = valley(
            &[
                "generate",
                "--endpoint",
                url,
                "--model",
                "m",
                "--problems",
                "p.jsonl",
                "--out",
                "g.jsonl",
            ],
            d,
        );
        assert_refused(&o, &["invalid endpoint", url]);
        assert!(!d.join("g.jsonl").exists(), "{url}");
    }
    // a settings error is found before the output file is created
    let server = FakeOpenAi::start(FakeConfig::default()).unwrap();
    let o = valley(
        &[
            "generate",
            "--endpoint",
            &server.base_url(),
            "--model",
            "m",
            "--problems",
            "p.jsonl",
            "--out",
            "g.jsonl",
            "--extra-body",
            r#"{"model": "x"}"#,
        ],
        d,
    );
    assert_refused(&o, &["extra body field `model`"]);
    assert!(!d.join("g.jsonl").exists());
    let names: Vec<_> = std::fs::read_dir(d).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names.len(), 3, "nothing left behind: {names:?}");
}

#[test]
fn issue_14_a_column_named_by_field_must_be_there() {
    let dir = workspace();
    let d = dir.path();
    let o = valley(
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
            "--field",
            "code=nosuchcol",
        ],
        d,
    );
    assert_refused(&o, &["c.jsonl:1", "field `code` (column `nosuchcol`)", "missing"]);
    // a candidate whose program sits under another name is not "no code"
    write_jsonl(
        &d.join("s.jsonl"),
        &[json!({"candidate_id": "c1", "question_id": "add", "solution": "print(3)"})],
    );
    let o = valley(
        &[
            "judge",
            "--problems",
            "p.jsonl",
            "--candidates",
            "s.jsonl",
            "--profile",
            "lcb",
            "--out",
            "v.jsonl",
        ],
        d,
    );
    assert_refused(&o, &["s.jsonl:1", "field `code`", "missing", "--field code="]);
    let o = valley(
        &[
            "data",
            "subsets",
            "--input",
            "t.jsonl",
            "--sizes",
            "5",
            "--seed",
            "1",
            "--out",
            "s",
            "--field",
            "difficulty=level",
        ],
        d,
    );
    assert_refused(&o, &["t.jsonl:1", "field `difficulty` (column `level`)"]);
    assert!(!d.join("v.jsonl").exists() && !d.join("s").exists());
}

/// Runs the binary through `sh` with `umask 022` and no `NO_COLOR`, stderr piped.
fn run_plain(args: &[&str], cwd: &Path) -> Output {
    let mut line = format!("umask 022 && exec '{}'", env!("CARGO_BIN_EXE_valley"));
    for a in args {
        line.push_str(&format!(" '{a}'"));
    }
    Command::new("sh")
        .args(["-c", &line])
        .current_dir(cwd)
        .env_remove("NO_COLOR")
        .env_remove("VALLEY_LOG")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn issue_14_outputs_get_the_umask_permissions() {
    use std::os::unix::fs::PermissionsExt;
    let dir = workspace();
    let d = dir.path();
    let o = run_plain(
        &["data", "subsets", "--input", "t.jsonl", "--sizes", "5", "--seed", "1", "--out", "s"],
        d,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run_plain(&["data", "dedup", "--input", "t.jsonl", "--out", "k.jsonl"], d);
    assert!(o.status.success(), "{}", stderr(&o));
    for f in ["s/5.jsonl", "s/manifest.json", "k.jsonl"] {
        let mode = std::fs::metadata(d.join(f)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o644, "{f}: {mode:o}");
    }
}

#[test]
fn issue_14_no_colour_codes_when_stderr_is_not_a_terminal() {
    let dir = workspace();
    let d = dir.path();
    let server = FakeOpenAi::start(FakeConfig::default()).unwrap();
    // a torn last line makes the resume warn
    std::fs::write(d.join("g.jsonl"), "{\"question_id\": \"add\", \"sam").unwrap();
    let o = run_plain(
        &[
            "generate",
            "--endpoint",
            &server.base_url(),
            "--model",
            "m",
            "--problems",
            "p.jsonl",
            "--out",
            "g.jsonl",
        ],
        d,
    );
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("torn last line"), "the warning is there: {err}");
    assert!(!err.contains('\u{1b}'), "colour codes in a pipe: {err:?}");
}

#[test]
fn issue_14_a_duplicate_key_is_refused_naming_both_lines() {
    let dir = workspace();
    let d = dir.path();
    let mut other = lcb_problem();
    other["question_content"] = json!("Another statement.");
    write_jsonl(&d.join("p2.jsonl"), &[lcb_problem(), lcb_problem(), other]);
    let o = valley(
        &[
            "generate",
            "--endpoint",
            &closed_endpoint(),
            "--model",
            "m",
            "--problems",
            "p2.jsonl",
            "--out",
            "g.jsonl",
        ],
        d,
    );
    assert_refused(&o, &["p2.jsonl:2", "duplicate id `add`", "first on p2.jsonl:1"]);
    assert!(!d.join("g.jsonl").exists());
}

/// `judge` arguments with `--problems`, `--candidates` and `--out`.
fn judge_args<'a>(problems: &'a str, candidates: &'a str, out: &'a str) -> Vec<&'a str> {
    vec![
        "judge",
        "--problems",
        problems,
        "--candidates",
        candidates,
        "--profile",
        "lcb",
        "--out",
        out,
    ]
}

#[test]
fn issue_14_judge_and_eval_never_overwrite_what_they_read() {
    let dir = workspace();
    let d = dir.path();
    std::fs::create_dir(d.join("gen")).unwrap();
    write_jsonl(
        &d.join("gen/g.jsonl"),
        &[json!({"question_id": "add", "sample_index": 0, "response": "```python\nprint(3)\n```"})],
    );
    let inputs = ["c.jsonl", "p.jsonl", "gen/g.jsonl"];
    let before: Vec<Vec<u8>> = inputs.iter().map(|f| std::fs::read(d.join(f)).unwrap()).collect();
    let eval = |out: &'static str| {
        vec!["eval", "--problems", "p.jsonl", "--generations", "gen/g.jsonl", "--out", out]
    };
    let runs: Vec<(Vec<&str>, &[&str])> = vec![
        (judge_args("p.jsonl", "c.jsonl", "c.jsonl"), &["--out", "same path as", "--candidates"]),
        (judge_args("p.jsonl", "c.jsonl", "p.jsonl"), &["--out", "same path as", "--problems"]),
        (eval("gen"), &["--out", "holds", "--generations"]),
        (eval("."), &["--out", "holds", "--problems"]),
    ];
    for (args, words) in runs {
        let o = valley(&args, d);
        assert_refused(&o, words);
        for (f, b) in inputs.iter().zip(&before) {
            assert_eq!(&std::fs::read(d.join(f)).unwrap(), b, "{args:?}: {f} changed");
        }
    }
    let mut names: Vec<_> = std::fs::read_dir(d).unwrap().map(|e| e.unwrap().file_name()).collect();
    names.sort();
    assert_eq!(names, ["c.jsonl", "gen", "p.jsonl", "t.jsonl"], "nothing else written");
}

#[test]
fn issue_14_a_judge_that_cannot_start_writes_nothing() {
    let dir = workspace();
    let d = dir.path();
    // an interpreter that runs nothing, and one that is not there
    let broken = d.join("broken-python");
    std::fs::write(&broken, "#!/bin/sh\nexit 1\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&broken, std::fs::Permissions::from_mode(0o755)).unwrap();
    write_jsonl(
        &d.join("g.jsonl"),
        &[json!({"question_id": "add", "sample_index": 0, "response": "```python\nprint(3)\n```"})],
    );
    let broken = broken.to_str().unwrap().to_owned();
    for python in [broken.as_str(), "/nonexistent/python3"] {
        let mut judge = judge_args("p.jsonl", "c.jsonl", "v.jsonl");
        judge.extend(["--python", python]);
        let label = vec![
            "data",
            "label",
            "--input",
            "t.jsonl",
            "--problems",
            "p.jsonl",
            "--profile",
            "lcb",
            "--out",
            "labelled.jsonl",
            "--python",
            python,
        ];
        let eval = vec![
            "eval",
            "--problems",
            "p.jsonl",
            "--generations",
            "g.jsonl",
            "--out",
            "e",
            "--python",
            python,
        ];
        for args in [judge, label, eval] {
            let o = valley(&args, d);
            assert_refused(&o, &["cannot start the judge", python]);
            for out in ["v.jsonl", "labelled.jsonl", "e"] {
                assert!(!d.join(out).exists(), "{args:?}: {out} written");
            }
        }
    }
    let names: Vec<_> = std::fs::read_dir(d).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names.len(), 5, "nothing left behind: {names:?}");
}

#[test]
fn issue_14_duplicate_problem_and_candidate_ids_are_refused_naming_both_lines() {
    let dir = workspace();
    let d = dir.path();
    let mut other = lcb_problem();
    other["question_content"] = json!("Another statement.");
    write_jsonl(&d.join("p2.jsonl"), &[lcb_problem(), other]);
    let o = valley(&judge_args("p2.jsonl", "c.jsonl", "v.jsonl"), d);
    assert_refused(&o, &["p2.jsonl:2", "duplicate id `add`", "first on p2.jsonl:1"]);
    let o =
        valley(&["eval", "--problems", "p2.jsonl", "--generations", "c.jsonl", "--out", "e"], d);
    assert_refused(&o, &["p2.jsonl:2", "duplicate id `add`", "first on p2.jsonl:1"]);
    let c = json!({"candidate_id": "c1", "question_id": "add", "code": "print(3)"});
    let d2 = json!({"candidate_id": "c2", "question_id": "add", "code": "print(4)"});
    write_jsonl(&d.join("c2.jsonl"), &[c.clone(), d2, c]);
    let o = valley(&judge_args("p.jsonl", "c2.jsonl", "v.jsonl"), d);
    assert_refused(&o, &["c2.jsonl:3", "field `candidate_id`", "duplicate id `c1`", "line 1"]);
    assert!(!d.join("v.jsonl").exists() && !d.join("e").exists());
}

/// A TACO call-based problem: `f(list, n)` returns the list's sum plus n.
fn taco_call_problem() -> Value {
    let io = json!({"fn_name": "f", "inputs": [[[1, 2], 3]], "outputs": [6]});
    json!({"question_id": "sum", "input_output": io.to_string()})
}

/// The same problem as LiveCodeBench stores a functional (LeetCode) problem.
fn lcb_call_problem(metadata: &str) -> Value {
    let tests = json!([{"input": "[1, 2]\n3", "output": "6", "testtype": "functional"}]);
    json!({"question_id": "sum", "question_content": "Sum.", "public_test_cases": tests.to_string(),
           "private_test_cases": "", "metadata": metadata})
}

const CALL_SOLUTION: &str =
    "class Solution:\n    def f(self, xs, n):\n        return sum(xs) + n\n";

#[test]
fn issue_14_a_problem_in_a_format_the_profile_cannot_read_is_refused_naming_the_row() {
    let dir = workspace();
    let d = dir.path();
    write_jsonl(
        &d.join("sum.jsonl"),
        &[json!({"candidate_id": "s", "question_id": "sum", "code": CALL_SOLUTION})],
    );
    // a TACO call-based row under --profile lcb: correct code would be RE
    write_jsonl(&d.join("taco.jsonl"), &[lcb_problem(), taco_call_problem()]);
    let o = valley(&judge_args("taco.jsonl", "sum.jsonl", "v.jsonl"), d);
    assert_refused(&o, &["taco.jsonl:2", "lcb grader", "test 0", "--profile taco"]);
    // an LCB functional row whose metadata has no func_name: every candidate would be RE
    write_jsonl(&d.join("nofn.jsonl"), &[lcb_call_problem("{}")]);
    for profile in ["lcb", "taco"] {
        let mut args = judge_args("nofn.jsonl", "sum.jsonl", "v.jsonl");
        args[6] = profile;
        let o = valley(&args, d);
        assert_refused(&o, &["nofn.jsonl:1", "metadata", "func_name"]);
    }
    assert!(!d.join("v.jsonl").exists());
}

#[test]
fn issue_14_lcb_functional_rows_under_taco_are_judged_as_taco_reads_them() {
    let Some(_) = valley_test::judge_python() else { return };
    let dir = workspace();
    let d = dir.path();
    write_jsonl(&d.join("lcb.jsonl"), &[lcb_call_problem(r#"{"func_name": "f"}"#)]);
    write_jsonl(&d.join("taco.jsonl"), &[taco_call_problem()]);
    write_jsonl(
        &d.join("sum.jsonl"),
        &[
            json!({"candidate_id": "right", "question_id": "sum", "code": CALL_SOLUTION}),
            json!({"candidate_id": "wrong", "question_id": "sum",
                   "code": CALL_SOLUTION.replace("+ n", "- n")}),
        ],
    );
    for (problems, profile) in [("lcb.jsonl", "taco"), ("taco.jsonl", "taco"), ("lcb.jsonl", "lcb")]
    {
        let mut args = judge_args(problems, "sum.jsonl", "v.jsonl");
        args[6] = profile;
        let o = valley(&args, d);
        assert!(o.status.success(), "{problems} {profile}: {}", stderr(&o));
        let verdicts: Vec<String> = valley_test::read_jsonl(&d.join("v.jsonl"))
            .iter()
            .map(|r| r["verdict"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(verdicts, ["AC", "WA"], "{problems} under {profile}");
    }
}

#[test]
fn issue_14_jobs_never_start_more_interpreters_than_programs() {
    let Some(_) = valley_test::judge_python() else { return };
    let dir = workspace();
    let d = dir.path();
    let mut args = judge_args("p.jsonl", "c.jsonl", "v.jsonl");
    args.extend(["--jobs", "1000", "--json"]);
    let o = valley(&args, d);
    assert!(o.status.success(), "{}", stderr(&o));
    let summary: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(summary["jobs"], json!(1), "one candidate, one interpreter: {summary}");
}

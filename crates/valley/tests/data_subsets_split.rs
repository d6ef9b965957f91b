//! CLI tests for `valley data subsets` and `valley data split`: exact, nested, disjoint,
//! order-independent, atomic, and clear about bad input.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{Value, json};
use valley_test::write_jsonl as write_rows;

fn valley(args: &[&str], cwd: &Path) -> Output {
    valley_test::run_bin(env!("CARGO_BIN_EXE_valley"), args, cwd)
}

fn trace(i: usize) -> Value {
    let difficulty = ["easy", "medium", "medium_hard", "hard", "very_hard", "unknown"][i % 6];
    json!({
        "id": format!("t{i}"),
        "question": format!("question {i}"),
        "response": format!("<think>r{i}</think>\n```python\nprint({i})\n```"),
        "difficulty": difficulty,
        "correct": !i.is_multiple_of(3),
        "extra_field": [i, "x"],
    })
}

fn ids(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["id"].as_str().unwrap().to_owned())
        .collect()
}

fn manifest(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn subsets_are_nested_exact_and_independent_of_row_order() {
    let tmp = tempfile::tempdir().unwrap();
    let rows: Vec<Value> = (0..500).map(trace).collect();
    write_rows(&tmp.path().join("a.jsonl"), &rows);
    let mut reversed = rows.clone();
    reversed.reverse();
    write_rows(&tmp.path().join("b.jsonl"), &reversed);

    for (input, out) in [("a.jsonl", "A"), ("b.jsonl", "B")] {
        let o = valley(
            &[
                "data",
                "subsets",
                "--input",
                input,
                "--sizes",
                "10,300,100",
                "--seed",
                "7",
                "--out",
                out,
                "--json",
            ],
            tmp.path(),
        );
        assert!(o.status.success(), "{}", stderr(&o));
        let summary: Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(summary["input_rows"], 500);
    }
    let dir = tmp.path().join("A");
    let (s10, s100, s300) =
        (ids(&dir.join("10.jsonl")), ids(&dir.join("100.jsonl")), ids(&dir.join("300.jsonl")));
    assert_eq!((s10.len(), s100.len(), s300.len()), (10, 100, 300));
    assert_eq!(s10[..], s100[..10], "smaller subsets are prefixes of larger ones");
    assert_eq!(s100[..], s300[..100]);
    let unique: std::collections::HashSet<_> = s300.iter().collect();
    assert_eq!(unique.len(), 300, "no row drawn twice");
    // Reading order does not change the draw: files are byte-identical.
    for f in ["10.jsonl", "100.jsonl", "300.jsonl"] {
        assert_eq!(
            std::fs::read(dir.join(f)).unwrap(),
            std::fs::read(tmp.path().join("B").join(f)).unwrap(),
            "{f}"
        );
    }
    // The manifest records the draw and can be checked by hand.
    let m = manifest(&dir);
    assert_eq!(m["seed"], 7);
    assert_eq!(m["groups"]["100"]["count"], 100);
    assert_eq!(m["groups"]["100"]["path"], "100.jsonl");
    let text: String = s100.iter().map(|i| format!("{i}\n")).collect();
    assert_eq!(m["groups"]["100"]["ids_sha256"], sha256_hex(text.as_bytes()));
    assert_eq!(m["input_sha256"], sha256_hex(&std::fs::read(tmp.path().join("a.jsonl")).unwrap()));
    // Rows keep every field.
    let first: Value = serde_json::from_str(
        std::fs::read_to_string(dir.join("10.jsonl")).unwrap().lines().next().unwrap(),
    )
    .unwrap();
    assert!(first["extra_field"].is_array());
    // Another seed draws another subset.
    let o = valley(
        &["data", "subsets", "--input", "a.jsonl", "--sizes", "100", "--seed", "8", "--out", "C"],
        tmp.path(),
    );
    assert!(o.status.success());
    assert_ne!(ids(&tmp.path().join("C/100.jsonl")), s100);
}

fn sha256_hex(bytes: &[u8]) -> String {
    // `sha256sum` is on every Debian machine and keeps this test independent of our code.
    let tmp = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(tmp.path(), bytes).unwrap();
    let out = Command::new("sha256sum").arg(tmp.path()).output().unwrap();
    String::from_utf8(out.stdout).unwrap().split_whitespace().next().unwrap().to_owned()
}

#[test]
fn subsets_refuse_when_input_is_short_and_write_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    write_rows(&tmp.path().join("in.jsonl"), &(0..5).map(trace).collect::<Vec<_>>());
    let o = valley(
        &[
            "data", "subsets", "--input", "in.jsonl", "--sizes", "3,6", "--seed", "1", "--out",
            "out",
        ],
        tmp.path(),
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("error:"));
    assert!(!tmp.path().join("out/3.jsonl").exists());
    assert!(!tmp.path().join("out/manifest.json").exists());
    // One row, one subset of one: fine.
    write_rows(&tmp.path().join("one.jsonl"), &[trace(0)]);
    let o = valley(
        &["data", "subsets", "--input", "one.jsonl", "--sizes", "1", "--seed", "1", "--out", "one"],
        tmp.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(ids(&tmp.path().join("one/1.jsonl")), vec!["t0"]);
    // Empty input: refused.
    std::fs::write(tmp.path().join("empty.jsonl"), "").unwrap();
    let o = valley(
        &["data", "subsets", "--input", "empty.jsonl", "--sizes", "1", "--seed", "1", "--out", "e"],
        tmp.path(),
    );
    assert_eq!(o.status.code(), Some(1));
}

fn check_error(rows: &str, extra: &[&str], want: &[&str]) {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("in.jsonl"), rows).unwrap();
    let mut args = vec![
        "data", "subsets", "--input", "in.jsonl", "--sizes", "1", "--seed", "1", "--out", "out",
    ];
    args.extend_from_slice(extra);
    let o = valley(&args, tmp.path());
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    for w in want {
        assert!(err.contains(w), "stderr lacks {w:?}: {err}");
    }
    assert!(!tmp.path().join("out").join("1.jsonl").exists());
}

#[test]
fn bad_rows_name_file_line_and_field() {
    let good = r#"{"id":"a","question":"q","response":"r"}"#;
    check_error(
        &format!("{good}\n{{\"id\":\"b\",\"question\":\"q\"}}\n"),
        &[],
        &["in.jsonl:2", "`response`", "missing"],
    );
    check_error(
        &format!("{good}\n{{\"id\":\"b\",\"question\":3,\"response\":\"r\"}}\n"),
        &[],
        &["in.jsonl:2", "`question`"],
    );
    check_error(&format!("{good}\n{{not json\n"), &[], &["in.jsonl:2", "malformed JSON"]);
    check_error(&format!("{good}\n[1]\n"), &[], &["in.jsonl:2", "not a JSON object"]);
    check_error(&format!("{good}\n\n{good}\n"), &[], &["in.jsonl:3", "duplicate id `a`", "line 1"]);
    check_error(
        &format!("{good}\n"),
        &["--field", "response=output"],
        &["in.jsonl:1", "response", "column `output`"],
    );
    check_error(&format!("{good}\n"), &["--field", "nonsense"], &["--field"]);
}

#[test]
fn field_mapping_renames_columns() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("in.jsonl"), "{\"uid\":5,\"input\":\"q\",\"output\":\"r\"}\n")
        .unwrap();
    let o = valley(
        &[
            "data",
            "subsets",
            "--input",
            "in.jsonl",
            "--sizes",
            "1",
            "--seed",
            "1",
            "--out",
            "out",
            "--field",
            "id=uid",
            "--field",
            "question=input",
            "--field",
            "response=output",
        ],
        tmp.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let line = std::fs::read_to_string(tmp.path().join("out/1.jsonl")).unwrap();
    assert_eq!(line, "{\"id\":\"5\",\"question\":\"q\",\"response\":\"r\"}\n");
}

#[test]
fn compressed_inputs_give_identical_subsets() {
    let tmp = tempfile::tempdir().unwrap();
    let rows: Vec<Value> = (0..50).map(trace).collect();
    write_rows(&tmp.path().join("in.jsonl"), &rows);
    let text = std::fs::read(tmp.path().join("in.jsonl")).unwrap();
    let mut gz = flate2_writer(tmp.path().join("in.jsonl.gz"));
    std::io::Write::write_all(&mut gz, &text).unwrap();
    drop(gz);
    let status = Command::new("gzip").args(["-t", "in.jsonl.gz"]).current_dir(tmp.path()).status();
    assert!(status.map(|s| s.success()).unwrap_or(true));
    // zstd by the system tool too; the gate names it when it is missing.
    let Some(zstd) = valley_test::gate::command("zstd", "apt-get install zstd") else { return };
    let zst = Command::new(zstd)
        .args(["-q", "in.jsonl", "-o", "in.jsonl.zst"])
        .current_dir(tmp.path())
        .status()
        .unwrap();
    assert!(zst.success());
    let inputs = ["in.jsonl", "in.jsonl.gz", "in.jsonl.zst"];
    let mut outs = Vec::new();
    for (i, input) in inputs.iter().enumerate() {
        let out = format!("o{i}");
        let o = valley(
            &["data", "subsets", "--input", input, "--sizes", "20", "--seed", "3", "--out", &out],
            tmp.path(),
        );
        assert!(o.status.success(), "{input}: {}", stderr(&o));
        outs.push(std::fs::read(tmp.path().join(&out).join("20.jsonl")).unwrap());
    }
    assert!(outs.windows(2).all(|w| w[0] == w[1]));
}

fn flate2_writer(path: PathBuf) -> impl std::io::Write {
    // gzip by the system tool, so the test does not share our writer's code.
    struct Gz(PathBuf, Vec<u8>);
    impl std::io::Write for Gz {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.1.extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    impl Drop for Gz {
        fn drop(&mut self) {
            use std::io::Write as _;
            let mut child = Command::new("gzip")
                .arg("-c")
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            child.stdin.take().unwrap().write_all(&self.1).unwrap();
            let out = child.wait_with_output().unwrap();
            std::fs::write(&self.0, out.stdout).unwrap();
        }
    }
    Gz(path, Vec::new())
}

#[test]
fn split_is_exact_disjoint_and_refuses_short_groups() {
    let tmp = tempfile::tempdir().unwrap();
    let rows: Vec<Value> = (0..600).map(trace).collect();
    write_rows(&tmp.path().join("in.jsonl"), &rows);
    // difficulty: 200 easy/medium, 300 medium_hard/hard/very_hard, 100 unknown
    let o = valley(
        &[
            "data",
            "split",
            "--input",
            "in.jsonl",
            "--by",
            "difficulty",
            "--per-group",
            "150",
            "--seed",
            "2",
            "--out",
            "d",
            "--json",
        ],
        tmp.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let easy = ids(&tmp.path().join("d/easy.jsonl"));
    let hard = ids(&tmp.path().join("d/hard.jsonl"));
    assert_eq!((easy.len(), hard.len()), (150, 150));
    assert!(easy.iter().all(|i| !hard.contains(i)), "groups are disjoint");
    for id in &easy {
        let n: usize = id[1..].parse().unwrap();
        assert!(n % 6 < 2, "{id} is not easy/medium");
    }
    for id in &hard {
        let n: usize = id[1..].parse().unwrap();
        assert!((2..5).contains(&(n % 6)), "{id} is not hard");
    }
    let m = manifest(&tmp.path().join("d"));
    assert_eq!(m["excluded"]["unknown"], 100);
    assert_eq!(m["groups"]["easy"]["available"], 200);

    // correctness: 200 incorrect (i % 3 == 0), 400 correct
    let o = valley(
        &[
            "data",
            "split",
            "--input",
            "in.jsonl",
            "--by",
            "correctness",
            "--per-group",
            "200",
            "--seed",
            "2",
            "--out",
            "c",
        ],
        tmp.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(ids(&tmp.path().join("c/incorrect.jsonl")).len(), 200);
    let o = valley(
        &[
            "data",
            "split",
            "--input",
            "in.jsonl",
            "--by",
            "correctness",
            "--per-group",
            "201",
            "--seed",
            "2",
            "--out",
            "short",
            "--json",
        ],
        tmp.path(),
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("incorrect"));
    assert!(!tmp.path().join("short").join("correct.jsonl").exists());
    assert!(!tmp.path().join("short").join("manifest.json").exists());
}

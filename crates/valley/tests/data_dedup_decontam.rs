//! CLI tests for `valley data dedup`, `data decontam` and `data verify`.

use std::path::Path;
use std::process::Output;

use serde_json::{Value, json};
use valley_test::{read_jsonl as lines, write_jsonl as write};

fn valley(args: &[&str], cwd: &Path) -> Output {
    valley_test::run_bin(env!("CARGO_BIN_EXE_valley"), args, cwd)
}

fn long_text(seed: usize, words: usize) -> String {
    (0..words).map(|i| format!("w{}x{} ", seed, i)).collect()
}

#[test]
fn dedup_removes_exact_and_near_duplicates_and_reports_why() {
    let tmp = tempfile::tempdir().unwrap();
    let base = long_text(1, 120);
    let near = base.replacen("w1x60 ", "CHANGED ", 1);
    let rows = vec![
        json!({"id": "a", "question": base, "response": "r"}),
        json!({"id": "b", "question": base.to_uppercase().replace(' ', "  \n"), "response": "r2"}),
        json!({"id": "c", "question": near, "response": "r3"}),
        json!({"id": "d", "question": long_text(2, 120), "response": "r4"}),
    ];
    write(&tmp.path().join("in.jsonl"), &rows);
    let o = valley(
        &[
            "data",
            "dedup",
            "--input",
            "in.jsonl",
            "--out",
            "out.jsonl",
            "--report",
            "removed.jsonl",
            "--json",
        ],
        tmp.path(),
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let s: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!((s["rows"].as_u64(), s["kept"].as_u64()), (Some(4), Some(2)));
    assert_eq!((s["exact_duplicates"].as_u64(), s["near_duplicates"].as_u64()), (Some(1), Some(1)));
    let kept: Vec<_> =
        lines(&tmp.path().join("out.jsonl")).iter().map(|r| r["id"].clone()).collect();
    assert_eq!(kept, vec![json!("a"), json!("d")]);
    let removed = lines(&tmp.path().join("removed.jsonl"));
    assert_eq!(removed[0]["id"], "b");
    assert_eq!(removed[0]["reason"], "exact");
    assert_eq!(removed[0]["duplicate_of"], "a");
    assert_eq!(removed[1]["id"], "c");
    assert_eq!(removed[1]["reason"], "near");
    assert!(removed[1]["similarity"].as_f64().unwrap() >= 0.8);

    // exact only keeps the near duplicate
    let o = valley(
        &["data", "dedup", "--input", "in.jsonl", "--out", "out2.jsonl", "--exact-only"],
        tmp.path(),
    );
    assert!(o.status.success());
    assert_eq!(lines(&tmp.path().join("out2.jsonl")).len(), 3);
}

#[test]
fn decontam_removes_overlapping_questions() {
    let tmp = tempfile::tempdir().unwrap();
    let bench_text = long_text(7, 40);
    write(
        &tmp.path().join("bench.jsonl"),
        &[
            json!({"question_id": "lcb-1", "question_content": bench_text}),
            json!({"question_id": "lcb-2", "question_content": "short one"}),
        ],
    );
    // shares a 13-gram (words 10..30) with lcb-1
    let copied: String = bench_text.split(' ').skip(10).take(20).collect::<Vec<_>>().join(" ");
    write(
        &tmp.path().join("train.jsonl"),
        &[
            json!({"id": "x", "question": format!("Intro. {copied} outro."), "response": "r"}),
            json!({"id": "y", "question": long_text(8, 40), "response": "r"}),
            json!({"id": "z", "question": "Please solve: SHORT one!", "response": "r"}),
        ],
    );
    let o = valley(
        &[
            "data",
            "decontam",
            "--input",
            "train.jsonl",
            "--benchmark",
            "bench.jsonl",
            "--out",
            "clean.jsonl",
            "--report",
            "rep.jsonl",
            "--json",
        ],
        tmp.path(),
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let kept: Vec<_> =
        lines(&tmp.path().join("clean.jsonl")).iter().map(|r| r["id"].clone()).collect();
    assert_eq!(kept, vec![json!("y")]);
    let rep = lines(&tmp.path().join("rep.jsonl"));
    assert_eq!(rep[0]["id"], "x");
    assert_eq!(rep[0]["benchmark_id"], "lcb-1");
    assert_eq!(rep[0]["shared_ngrams"], 20 - 13 + 1);
    assert_eq!(rep[1]["id"], "z");
    assert_eq!(rep[1]["benchmark_id"], "lcb-2");
    // n-grams of the benchmark's template (in more than one of its problems) are not evidence
    let boiler = "please solve the programming task below using a self contained code snippet in a markdown block";
    let bench: Vec<Value> = (0..30)
        .map(|i| json!({"question_id": format!("b{i}"), "question": format!("{boiler} {}", long_text(100 + i, 30))}))
        .collect();
    write(&tmp.path().join("bench2.jsonl"), &bench);
    write(
        &tmp.path().join("train2.jsonl"),
        &[
            json!({"id": "t1", "question": format!("{boiler} {}", long_text(9, 30)), "response": "r"}),
            json!({"id": "t2", "question": format!("{boiler} {}", long_text(105, 30)), "response": "r"}),
        ],
    );
    let o = valley(
        &[
            "data",
            "decontam",
            "--input",
            "train2.jsonl",
            "--benchmark",
            "bench2.jsonl",
            "--out",
            "clean2.jsonl",
            "--report",
            "rep2.jsonl",
            "--json",
        ],
        tmp.path(),
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let s: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(s["boilerplate_ngrams"].as_u64().unwrap() > 0);
    let kept: Vec<_> =
        lines(&tmp.path().join("clean2.jsonl")).iter().map(|r| r["id"].clone()).collect();
    assert_eq!(kept, vec![json!("t1")]);
    assert_eq!(lines(&tmp.path().join("rep2.jsonl"))[0]["benchmark_id"], "b5");

    // a benchmark row with no statement is an error naming the line
    write(&tmp.path().join("bad.jsonl"), &[json!({"question_id": "q", "nothing": 1})]);
    let o = valley(
        &[
            "data",
            "decontam",
            "--input",
            "train.jsonl",
            "--benchmark",
            "bad.jsonl",
            "--out",
            "c2.jsonl",
        ],
        tmp.path(),
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("bad.jsonl:1"));
    assert!(!tmp.path().join("c2.jsonl").exists());
}

#[test]
fn verify_detects_a_changed_output() {
    let tmp = tempfile::tempdir().unwrap();
    let rows: Vec<Value> =
        (0..30).map(|i| json!({"id": format!("r{i}"), "question": "q", "response": "r"})).collect();
    write(&tmp.path().join("in.jsonl"), &rows);
    let o = valley(
        &["data", "subsets", "--input", "in.jsonl", "--sizes", "5,20", "--seed", "9", "--out", "s"],
        tmp.path(),
    );
    assert!(o.status.success());
    let o = valley(&["data", "verify", "s/manifest.json"], tmp.path());
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let f = tmp.path().join("s/5.jsonl");
    let text = std::fs::read_to_string(&f).unwrap();
    let mut ls: Vec<&str> = text.lines().collect();
    ls.swap(0, 1);
    std::fs::write(&f, ls.join("\n") + "\n").unwrap();
    let o = valley(&["data", "verify", "s/manifest.json", "--json"], tmp.path());
    assert_eq!(o.status.code(), Some(1));
    let s: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(s["mismatched"], json!(["5"]));
}

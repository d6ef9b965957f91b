//! CLI tests for `valley data stats` and `valley data render` on a tiny byte-level tokenizer
//! built here (one token per byte, plus `\n\n`, `<|im_start|>`, `<|im_end|>`).

use std::path::Path;
use std::process::Output;

use serde_json::{Value, json};
use valley_test::{read_jsonl as lines, write_jsonl as write_rows};

fn valley(args: &[&str], cwd: &Path) -> Output {
    valley_test::run_bin(env!("CARGO_BIN_EXE_valley"), args, cwd)
}

/// GPT-2's byte → printable character map used by byte-level BPE vocabularies.
fn byte_char(b: u8) -> char {
    let printable = |b: u8| matches!(b, b'!'..=b'~' | 0xA1..=0xAC | 0xAE..=0xFF);
    if printable(b) {
        return char::from(b);
    }
    let n = (0..b).filter(|x| !printable(*x)).count();
    char::from_u32(256 + u32::try_from(n).unwrap()).unwrap()
}

const TEMPLATE: &str = "{% for m in messages %}{% if m.role == 'user' and m.content == 'FAIL' %}{{ raise_exception('no FAIL please') }}{% endif %}{{ '<|im_start|>' + m.role + '\n' + m.content + '<|im_end|>' + '\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

/// Writes `tok/tokenizer.json` and `tok/tokenizer_config.json` under `dir`.
fn tiny_tokenizer(dir: &Path) {
    let mut vocab = serde_json::Map::new();
    for b in 0..=255u8 {
        vocab.insert(byte_char(b).to_string(), json!(b));
    }
    let nl = byte_char(b'\n').to_string();
    vocab.insert(format!("{nl}{nl}"), json!(256));
    let added: Vec<Value> = ["<|im_start|>", "<|im_end|>"]
        .iter()
        .enumerate()
        .map(|(i, t)| {
            json!({"id": 257 + i, "content": t, "single_word": false, "lstrip": false,
                "rstrip": false, "normalized": false, "special": true})
        })
        .collect();
    let tokenizer = json!({
        "version": "1.0", "truncation": null, "padding": null, "added_tokens": added,
        "normalizer": null,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false},
        "post_processor": null,
        "decoder": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false},
        "model": {"type": "BPE", "dropout": null, "unk_token": null, "continuing_subword_prefix": null,
            "end_of_word_suffix": null, "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
            "vocab": vocab, "merges": [[nl, nl]]}
    });
    let tok = dir.join("tok");
    std::fs::create_dir_all(&tok).unwrap();
    std::fs::write(tok.join("tokenizer.json"), tokenizer.to_string()).unwrap();
    let config = json!({"eos_token": "<|im_end|>", "chat_template": TEMPLATE});
    std::fs::write(tok.join("tokenizer_config.json"), config.to_string()).unwrap();
}

fn setup(rows: &[Value]) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    tiny_tokenizer(tmp.path());
    write_rows(&tmp.path().join("in.jsonl"), rows);
    tmp
}

fn stats_json(dir: &Path, extra: &[&str]) -> Value {
    let mut args = vec!["data", "stats", "--input", "in.jsonl", "--tokenizer", "tok", "--json"];
    args.extend_from_slice(extra);
    let o = valley(&args, dir);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

/// Tokens of "<|im_start|>user\n{q}<|im_end|>\n<|im_start|>assistant\n{r}<|im_end|>\n" when
/// neither text holds "\n\n": four specials, "user\n", "assistant\n", two "\n" and the texts.
fn tokens(q: &str, r: &str) -> u64 {
    (q.len() + r.len() + 21) as u64
}

#[test]
fn stats_counts_lengths_percentiles_and_think_blocks() {
    let rows: Vec<Value> = (0..10)
        .map(|i| {
            let response = match i % 3 {
                0 => format!("<think>r{i}</think>a"),
                1 => format!("<think>r{i}"),
                _ => "plain".to_owned(),
            };
            json!({"id": i, "question": "q".repeat(i * 10), "response": response,
                "difficulty": if i < 5 { "easy" } else { "hard" }})
        })
        .collect();
    let tmp = setup(&rows);
    let s = stats_json(tmp.path(), &["--max-len", "100"]);
    let lens: Vec<u64> = rows
        .iter()
        .map(|r| tokens(r["question"].as_str().unwrap(), r["response"].as_str().unwrap()))
        .collect();
    assert_eq!(s["rows"], 10);
    assert_eq!(s["tokens"]["total"], lens.iter().sum::<u64>());
    assert_eq!(s["tokens"]["max"], lens[9]);
    // Lengths grow with i, so the nearest-rank p50 is row 4 and p90 row 8.
    assert_eq!(s["tokens"]["p50"], lens[4]);
    assert_eq!(s["tokens"]["p90"], lens[8]);
    assert_eq!(s["tokens"]["p99"], lens[9]);
    assert_eq!(s["over_max_len"], lens.iter().filter(|l| **l > 100).count());
    assert_eq!(s["well_formed_think"], 4);
    assert!((s["well_formed_think_share"].as_f64().unwrap() - 0.4).abs() < 1e-12);
    assert_eq!(s["think"]["unclosed"], 3);
    assert_eq!(s["difficulty"]["hard"], 5);

    // A system prompt adds its turn ("<|im_start|>system\nS<|im_end|>\n", 11 tokens) to every row.
    let with_system = stats_json(tmp.path(), &["--system", "S"]);
    assert_eq!(with_system["tokens"]["total"], s["tokens"]["total"].as_u64().unwrap() + 10 * 11);

    let human = valley(&["data", "stats", "--input", "in.jsonl", "--tokenizer", "tok"], tmp.path());
    let text = String::from_utf8(human.stdout).unwrap();
    assert!(
        text.contains("rows: 10") && text.contains("well-formed <think>: 4 (40.00%)"),
        "{text}"
    );
}

#[test]
fn render_writes_text_ids_and_mask_per_row() {
    let tmp = setup(&[
        json!({"id": "a", "question": "q", "output": "ab"}),
        json!({"id": "b", "question": "Q2", "output": "\nx"}),
    ]);
    let o = valley(
        &[
            "data",
            "render",
            "--input",
            "in.jsonl",
            "--tokenizer",
            "tok/tokenizer.json",
            "--field",
            "response=output",
            "--out",
            "out.jsonl",
            "--json",
        ],
        tmp.path(),
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let summary: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(summary["rows"], 2);
    let rows = lines(&tmp.path().join("out.jsonl"));
    assert_eq!(rows[0]["id"], "a");
    assert_eq!(
        rows[0]["text"],
        "<|im_start|>user\nq<|im_end|>\n<|im_start|>assistant\nab<|im_end|>\n"
    );
    let ids: Vec<u64> =
        rows[0]["input_ids"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect();
    let mask: Vec<u64> =
        rows[0]["loss_mask"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect();
    assert_eq!(ids.len(), 24);
    assert_eq!(ids[0], 257);
    // "a", "b", "<|im_end|>" are trained on; the final "\n" is not.
    assert_eq!(&mask[20..], &[1, 1, 1, 0]);
    assert_eq!(mask.iter().sum::<u64>(), 3);
    assert_eq!(&ids[20..], &[u64::from(b'a'), u64::from(b'b'), 258, u64::from(b'\n')]);
    // Row b: the header's "\n" merges with the response's leading "\n"; that token is trained on.
    let mask_b: Vec<u64> =
        rows[1]["loss_mask"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect();
    let ids_b: Vec<u64> =
        rows[1]["input_ids"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect();
    let trained: Vec<u64> =
        ids_b.iter().zip(&mask_b).filter(|(_, m)| **m == 1).map(|(i, _)| *i).collect();
    assert_eq!(trained, [256, u64::from(b'x'), 258]);
    assert_eq!(summary["trained_tokens"], 6);
}

#[test]
fn chat_template_flag_overrides_the_tokenizers() {
    let tmp = setup(&[json!({"id": "a", "question": "q", "response": "r"})]);
    std::fs::write(
        tmp.path().join("t.jinja"),
        "{% for m in messages %}[{{ m.content }}]{% endfor %}",
    )
    .unwrap();
    let o = valley(
        &[
            "data",
            "render",
            "--input",
            "in.jsonl",
            "--tokenizer",
            "tok",
            "--chat-template",
            "t.jinja",
            "--system",
            "s",
            "--out",
            "out.jsonl",
        ],
        tmp.path(),
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(lines(&tmp.path().join("out.jsonl"))[0]["text"], "[s][q][r]");
}

#[test]
fn bad_rows_fail_with_file_line_and_field_and_leave_no_output() {
    let tmp = setup(&[
        json!({"id": "a", "question": "q", "response": "r"}),
        json!({"id": "b", "question": "q"}),
    ]);
    let o = valley(
        &["data", "render", "--input", "in.jsonl", "--tokenizer", "tok", "--out", "out.jsonl"],
        tmp.path(),
    );
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("in.jsonl") && err.contains('2') && err.contains("response"), "{err}");
    assert!(!tmp.path().join("out.jsonl").exists());
    let names: Vec<_> =
        std::fs::read_dir(tmp.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names.len(), 2, "leftovers: {names:?}");

    // The template's raise_exception is an input error naming the row.
    write_rows(
        &tmp.path().join("in.jsonl"),
        &[json!({"id": "z", "question": "FAIL", "response": "r"})],
    );
    let o = valley(&["data", "stats", "--input", "in.jsonl", "--tokenizer", "tok"], tmp.path());
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("in.jsonl:1") && err.contains("`z`") && err.contains("no FAIL please"),
        "{err}"
    );

    let o = valley(&["data", "stats", "--input", "in.jsonl", "--tokenizer", "missing"], tmp.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("missing"));
}

#[test]
fn empty_input_gives_zero_rows() {
    let tmp = setup(&[]);
    let s = stats_json(tmp.path(), &[]);
    assert_eq!((s["rows"].as_u64(), s["tokens"]["p99"].as_u64()), (Some(0), Some(0)));
    let o = valley(
        &["data", "render", "--input", "in.jsonl", "--tokenizer", "tok", "--out", "o.jsonl"],
        tmp.path(),
    );
    assert!(o.status.success());
    assert_eq!(std::fs::read_to_string(tmp.path().join("o.jsonl")).unwrap(), "");
}

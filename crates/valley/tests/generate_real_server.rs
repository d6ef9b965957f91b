//! Issue 4: generate and evaluate end to end against a real OpenAI-compatible server with a real
//! small model (llama.cpp's server with SmolLM2-135M-Instruct, started by
//! `scripts/setup-llm-server.sh`). Runs when `VALLEY_LLM_ENDPOINT` is set (a gated test).

use std::path::Path;
use std::process::{Command, Output};

use serde_json::{Value, json};
use valley_types::Generation;

const LLM_HOW: &str = "scripts/setup-llm-server.sh (a llama.cpp server with \
                       SmolLM2-135M-Instruct), then export what it prints (.ci/run does)";

fn valley(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_valley")).args(args).current_dir(cwd).output().unwrap()
}

#[test]
fn real_server_generate_then_eval() {
    let Some(_) = valley_test::judge_python() else { return };
    let Some(endpoint) = valley_test::gate::env("VALLEY_LLM_ENDPOINT", LLM_HOW) else {
        return;
    };
    let model = std::env::var("VALLEY_LLM_MODEL").unwrap_or_else(|_| "smollm2".into());
    let dir = tempfile::tempdir().unwrap();
    let stdin = |cases: &[(&str, &str)]| {
        let v: Vec<Value> = cases
            .iter()
            .map(|(i, o)| json!({"input": i, "output": o, "testtype": "stdin"}))
            .collect();
        serde_json::to_string(&v).unwrap()
    };
    let problems = [
        json!({"question_id": "echo", "question_content": "Read a line and print it unchanged.",
               "platform": "atcoder", "contest_date": "2024-01-01T00:00:00", "starter_code": "",
               "difficulty": "easy", "public_test_cases": stdin(&[("hello\n", "hello\n")]),
               "private_test_cases": "[]", "metadata": "{}"}),
        json!({"question_id": "sum", "question_content": "Read two integers a and b on one line and print a + b.",
               "platform": "atcoder", "contest_date": "2024-01-01T00:00:00", "starter_code": "",
               "difficulty": "easy", "public_test_cases": stdin(&[("1 2\n", "3\n")]),
               "private_test_cases": "[]", "metadata": "{}"}),
        json!({"question_id": "double", "question_content": "Return twice x.", "platform": "leetcode",
               "contest_date": "2024-01-01T00:00:00",
               "starter_code": "class Solution:\n    def double(self, x: int) -> int:\n        ",
               "difficulty": "medium",
               "public_test_cases": serde_json::to_string(&[json!({"input": "3", "output": "6", "testtype": "functional"})]).unwrap(),
               "private_test_cases": "[]", "metadata": "{\"func_name\": \"double\"}"}),
    ];
    let text: String = problems.iter().map(|p| format!("{p}\n")).collect();
    std::fs::write(dir.path().join("problems.jsonl"), text).unwrap();
    let gen_args = [
        "generate",
        "--endpoint",
        &endpoint,
        "--model",
        &model,
        "--problems",
        "problems.jsonl",
        "--out",
        "gen.jsonl",
        "--n",
        "2",
        "--max-tokens",
        "96",
        "--temperature",
        "0.7",
        "--seed",
        "1",
        "--concurrency",
        "2",
        "--json",
    ];
    let out = valley(&gen_args, dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((summary["planned"].as_u64(), summary["written"].as_u64()), (Some(6), Some(6)));
    let text = std::fs::read_to_string(dir.path().join("gen.jsonl")).unwrap();
    let gens: Vec<Generation> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(gens.len(), 6);
    for g in &gens {
        assert!(!g.response.is_empty(), "{g:?}");
        assert!(matches!(g.finish_reason.as_deref(), Some("stop" | "length")), "{g:?}");
        assert!(g.completion_tokens.is_some_and(|t| t <= 96), "{g:?}");
        assert_eq!(g.model, model);
    }
    // A rerun has nothing left to do.
    let out = valley(&gen_args, dir.path());
    let again: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((again["already_done"].as_u64(), again["written"].as_u64()), (Some(6), Some(0)));

    let out = valley(
        &[
            "eval",
            "--problems",
            "problems.jsonl",
            "--generations",
            "gen.jsonl",
            "--out",
            "ev",
            "--max-tokens",
            "96",
            "--json",
            "--allow-weak-sandbox",
            "-j",
            "2",
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let m: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((m["n_problems"].as_u64(), m["n_samples"].as_u64()), (Some(3), Some(6)));
    let total: u64 = m["verdicts"].as_object().unwrap().values().map(|v| v.as_u64().unwrap()).sum();
    assert_eq!(total, 6);
    for key in ["pass_at_1", "completion_rate", "think_tag_rate", "no_code_rate"] {
        let v = m[key].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&v), "{key} = {v}");
    }
    // What the completion rate says agrees with the finish reasons on file.
    let stopped = gens.iter().filter(|g| g.finish_reason.as_deref() == Some("stop")).count();
    assert_eq!(m["completion_rate"].as_f64().unwrap(), stopped as f64 / 6.0);
    assert!(dir.path().join("ev/report.md").exists());
}

/// The `--api completions` path against the same real server: the prompt is rendered here with
/// SmolLM2's own chat template (the one llama.cpp applies to chat requests, from the GGUF), so
/// the server sees what a chat request would give it; records say which API made them.
#[test]
fn real_server_completions_api() {
    let Some(endpoint) = valley_test::gate::env("VALLEY_LLM_ENDPOINT", LLM_HOW) else {
        return;
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let tokenizers = std::env::var_os("VALLEY_TOKENIZERS_DIR")
        .map_or_else(|| root.join(".cache/tokenizers"), std::path::PathBuf::from);
    // Any tokenizer folder carries the template engine; the template is SmolLM2's.
    let tokenizer = tokenizers.join("qwen2.5");
    if valley_test::gate::path(tokenizer.join("tokenizer.json"), "scripts/fetch-tokenizers.sh")
        .is_none()
    {
        return;
    }
    let template = root.join("fixtures/chat_templates/HuggingFaceTB-SmolLM2-135M-Instruct.jinja");
    let model = std::env::var("VALLEY_LLM_MODEL").unwrap_or_else(|_| "smollm2".into());
    let dir = tempfile::tempdir().unwrap();
    let tests =
        serde_json::to_string(&[json!({"input": "2\n", "output": "4\n", "testtype": "stdin"})])
            .unwrap();
    let problem = json!({"question_id": "twice", "question_content": "Read n and print 2 * n.",
        "platform": "atcoder", "contest_date": "2024-01-01T00:00:00", "starter_code": "",
        "difficulty": "easy", "public_test_cases": tests, "private_test_cases": "[]",
        "metadata": "{}"});
    std::fs::write(dir.path().join("problems.jsonl"), format!("{problem}\n")).unwrap();
    let out = valley(
        &[
            "generate",
            "--endpoint",
            &endpoint,
            "--model",
            &model,
            "--problems",
            "problems.jsonl",
            "--out",
            "gen.jsonl",
            "--api",
            "completions",
            "--tokenizer",
            tokenizer.to_str().unwrap(),
            "--chat-template",
            template.to_str().unwrap(),
            "--n",
            "2",
            "--max-tokens",
            "64",
            "--seed",
            "3",
            "--json",
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let text = std::fs::read_to_string(dir.path().join("gen.jsonl")).unwrap();
    let gens: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(gens.len(), 2);
    for g in &gens {
        assert_eq!(g["api"], "completions", "{g}");
        assert!(g["completion_tokens"].as_u64().is_some_and(|t| (1..=64).contains(&t)), "{g}");
        assert!(matches!(g["finish_reason"].as_str(), Some("stop" | "length")), "{g}");
    }
    let out = valley(
        &[
            "eval",
            "--problems",
            "problems.jsonl",
            "--generations",
            "gen.jsonl",
            "--out",
            "ev",
            "--json",
            "-j",
            "1",
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let m: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(m["n_samples"], 2);
}

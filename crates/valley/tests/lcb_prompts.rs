//! Issue 13: `valley generate` prompts each model as LiveCodeBench's registry does (`--prompt-style
//! auto`), or in the style given; raw-text styles go to the `completions` endpoint unchanged; the
//! style is recorded in every record. The exact wording of each style is checked in
//! `valley-generate`'s prompt tests and against LiveCodeBench's own code by
//! `scripts/check-lcb-prompts.py`; the LLaMa3 text is checked here against Meta-Llama-3's own chat
//! template when the npm tokenizer is there.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use valley_generate::{PromptBody, PromptStyle, lcb_messages, lcb_prompt};
use valley_test::{FakeConfig, FakeOpenAi, fake_response};

fn valley(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_valley")).args(args).current_dir(cwd).output().unwrap()
}

const CONTENT: &str = "Read n and print 2n.";
const STARTER: &str = "class Solution:\n    def twice(self, n: int) -> int:\n        ";

fn problems(dir: &Path) -> PathBuf {
    let rows = [
        serde_json::json!({"question_id": "stdin", "question_content": CONTENT, "starter_code": "", "platform": "atcoder"}),
        serde_json::json!({"question_id": "call", "question_content": CONTENT, "starter_code": STARTER, "platform": "leetcode"}),
    ];
    let path = dir.join("problems.jsonl");
    std::fs::write(&path, rows.iter().map(|r| format!("{r}\n")).collect::<String>()).unwrap();
    path
}

fn dry_run(dir: &Path, model: &str, extra: &[&str]) -> (Option<i32>, Vec<Value>, String) {
    let p = problems(dir);
    let mut args = vec![
        "generate",
        "--endpoint",
        "http://127.0.0.1:9/v1",
        "--model",
        model,
        "--problems",
        p.to_str().unwrap(),
        "--out",
        "never.jsonl",
        "--dry-run",
        "--json",
    ];
    args.extend(extra);
    let o = valley(&args, dir);
    let lines = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (o.status.code(), lines, String::from_utf8_lossy(&o.stderr).into_owned())
}

#[test]
fn the_registry_picks_the_style_from_the_model_name() {
    let dir = tempfile::tempdir().unwrap();
    for (model, style, api) in [
        ("Qwen/Qwen2.5-7B-Instruct", "CodeQwenInstruct", "completions"),
        ("Llama-3.1-8B-Instruct", "LLaMa3", "completions"),
        ("deepseek-ai/DeepSeek-R1-Distill-Qwen-7B", "DeepSeekR1", "completions"),
        ("gpt-4o-2024-08-06", "OpenAIChat", "chat"),
        ("my-student", "OpenAIChat", "chat"),
    ] {
        let (code, reqs, err) = dry_run(dir.path(), model, &[]);
        assert_eq!(code, Some(0), "{model}: {err}");
        assert_eq!(reqs.len(), 2, "{model}");
        for r in &reqs {
            assert_eq!((r["prompt_style"].as_str(), r["api"].as_str()), (Some(style), Some(api)));
        }
        let starter = reqs.iter().find(|r| r["question_id"] == "call").unwrap();
        let want = lcb_prompt(CONTENT, Some(STARTER), style.parse().unwrap());
        match want {
            PromptBody::Text(t) => assert_eq!(starter["prompt"], t, "{model}"),
            PromptBody::Chat(m) => assert_eq!(starter["messages"], serde_json::json!(m)),
        }
    }
    assert!(!dir.path().join("never.jsonl").exists(), "a dry run writes nothing");
}

#[test]
fn a_given_style_wins_and_bad_combinations_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (code, reqs, _) =
        dry_run(dir.path(), "Qwen/Qwen2.5-7B-Instruct", &["--prompt-style", "openai-chat"]);
    assert_eq!(code, Some(0));
    assert_eq!(reqs[0]["prompt_style"], "OpenAIChat");
    assert_eq!(reqs[0]["messages"][0]["role"], "system");
    let (code, _, err) =
        dry_run(dir.path(), "m", &["--prompt-style", "CodeQwenInstruct", "--api", "chat"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--api chat") && err.contains("CodeQwenInstruct"), "{err}");
    let (code, _, err) = dry_run(dir.path(), "m", &["--prompt-style", "Claude3"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--prompt-style") && err.contains("unknown prompt style"), "{err}");
    let (code, _, err) = dry_run(dir.path(), "m", &["--system", "x"]);
    assert_eq!(code, Some(2), "{err}");
}

/// The text style reaches the `completions` endpoint as is, and every record names its style.
#[test]
fn records_carry_their_style_and_the_server_gets_the_text() {
    let dir = tempfile::tempdir().unwrap();
    let server = FakeOpenAi::start(FakeConfig::default()).unwrap();
    let p = problems(dir.path());
    let o = valley(
        &[
            "generate",
            "--endpoint",
            &server.base_url(),
            "--model",
            "Qwen2.5-7B-Instruct",
            "--problems",
            p.to_str().unwrap(),
            "--out",
            "g.jsonl",
            "--n",
            "2",
            "--seed",
            "5",
            "--json",
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let text = std::fs::read_to_string(dir.path().join("g.jsonl")).unwrap();
    let records: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(records.len(), 4);
    for g in &records {
        assert_eq!(
            (g["prompt_style"].as_str(), g["api"].as_str()),
            (Some("CodeQwenInstruct"), Some("completions"))
        );
        let starter = (g["question_id"] == "call").then_some(STARTER);
        let PromptBody::Text(prompt) = lcb_prompt(CONTENT, starter, PromptStyle::CodeQwenInstruct)
        else {
            panic!("CodeQwenInstruct is a text style")
        };
        let seed = 5 + g["sample_index"].as_u64().unwrap();
        assert_eq!(g["response"], fake_response(&prompt, Some(seed)), "{g}");
    }
}

/// LiveCodeBench renders `LLaMa3` through Meta-Llama-3-8B-Instruct's own chat template; the npm
/// Llama-3 tokenizer (`scripts/fetch-tokenizers.sh`, `.cache/tokenizers/llama3`) carries that
/// template, and valley's renderer applies it as transformers does.
#[test]
fn llama3_text_is_meta_llama_3s_template() {
    let root = std::env::var_os("VALLEY_TOKENIZERS_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.cache/tokenizers"),
        PathBuf::from,
    );
    let Some(dir) = valley_test::gate::path(root.join("llama3"), "run scripts/fetch-tokenizers.sh")
    else {
        return;
    };
    let tok = valley_data::chat::ChatTokenizer::load(&dir, None).unwrap();
    for starter in [None, Some(STARTER)] {
        let turns: Vec<valley_data::chat::Message> =
            lcb_messages(&format!("  {CONTENT}\n"), starter, PromptStyle::OpenAIChat)
                .unwrap()
                .into_iter()
                .map(|m| valley_data::chat::Message::new(m.role, m.content))
                .collect();
        let want = tok.render_text(&turns, true).unwrap();
        let PromptBody::Text(got) =
            lcb_prompt(&format!("  {CONTENT}\n"), starter, PromptStyle::LLaMa3)
        else {
            panic!("LLaMa3 is a text style")
        };
        assert_eq!(got, want);
    }
}

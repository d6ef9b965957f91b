//! Issue 5: `valley serve` (valley's own model code, SmolLM2-135M-Instruct from its GGUF) answers
//! `valley generate`, and `valley eval` scores the answers on LCB-format problems. Runs when
//! `VALLEY_SMOLLM2_GGUF` is set (scripts/setup.d/70-smollm2.sh).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

use serde_json::Value;
use valley_types::Generation;

fn valley(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_valley")).args(args).current_dir(cwd).output().unwrap()
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn serve_then_generate_then_eval() {
    let Some(_) = valley_test::judge_python() else { return };
    let Some(gguf) = valley_test::gate::env(
        "VALLEY_SMOLLM2_GGUF",
        "scripts/setup.d/70-smollm2.sh, then source .cache/env.sh",
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let problems: String = std::fs::read_to_string(root.join("examples/data/leetcode-lcb.jsonl"))
        .unwrap()
        .lines()
        .take(3)
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(dir.path().join("problems.jsonl"), problems).unwrap();

    let mut child = Command::new(env!("CARGO_BIN_EXE_valley"))
        .args(["serve", "--model", &gguf, "--port", "0", "--name", "smollm2"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let server = Server(child);
    let mut lines = BufReader::new(stderr).lines();
    let endpoint = loop {
        let line = lines.next().expect("valley serve exited before listening").unwrap();
        if let Some(at) = line.find("http://") {
            break line[at..].trim().to_owned();
        }
    };
    // Keep draining the log so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});

    let out = valley(
        &[
            "generate",
            "--endpoint",
            &endpoint,
            "--model",
            "smollm2",
            "--problems",
            "problems.jsonl",
            "--out",
            "gen.jsonl",
            "--n",
            "1",
            "--max-tokens",
            "96",
            "--temperature",
            "0",
            "--concurrency",
            "2",
            "--json",
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let text = std::fs::read_to_string(dir.path().join("gen.jsonl")).unwrap();
    let gens: Vec<Generation> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(gens.len(), 3);
    for g in &gens {
        assert!(!g.response.is_empty(), "{g:?}");
        assert!(matches!(g.finish_reason.as_deref(), Some("stop" | "length")), "{g:?}");
        assert!(g.completion_tokens.is_some_and(|t| (1..=96).contains(&t)), "{g:?}");
        assert_eq!(
            g.finish_reason.as_deref() == Some("length"),
            g.completion_tokens == Some(96),
            "{g:?}"
        );
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
    assert_eq!((m["n_problems"].as_u64(), m["n_samples"].as_u64()), (Some(3), Some(3)));
    for key in ["pass_at_1", "completion_rate", "no_code_rate"] {
        let v = m[key].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&v), "{key} = {v}");
    }
    let stopped = gens.iter().filter(|g| g.finish_reason.as_deref() == Some("stop")).count();
    assert_eq!(m["completion_rate"].as_f64().unwrap(), stopped as f64 / 3.0);
    drop(server);
}

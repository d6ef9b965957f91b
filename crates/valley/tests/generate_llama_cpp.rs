//! Issue 11 with a real engine: valley itself starts llama.cpp's server (llama-cpp-python's
//! `python -m llama_cpp.server`, built by scripts/setup-llm-server.sh) over SmolLM2-135M-Instruct
//! with two replicas, generates, and leaves no process behind; a replica killed mid-run still
//! leaves every sample on file exactly once; and the example study `examples/llama-cpp.toml`
//! runs end to end. Runs when VALLEY_LLM_PYTHON (and VALLEY_LLM_GGUF or VALLEY_SMOLLM2_GGUF)
//! are set, as scripts/setup.sh does.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use valley_test::{
    assert_nothing_left, processes_mentioning, read_jsonl, sample_keys, write_jsonl,
};

/// One test at a time: each starts two real servers, and a CI machine has two cores.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// (python with llama_cpp.server, SmolLM2 GGUF), or a gated skip naming what is missing.
fn engine() -> Option<(PathBuf, PathBuf)> {
    let how = "scripts/setup-llm-server.sh (run by scripts/setup.sh) builds llama-cpp-python's \
               server and writes them into .cache/env.sh";
    let python = valley_test::gate::path(valley_test::gate::env("VALLEY_LLM_PYTHON", how)?, how)?;
    let gguf = match std::env::var("VALLEY_LLM_GGUF") {
        Ok(g) => g,
        Err(_) => valley_test::gate::env("VALLEY_SMOLLM2_GGUF", how)?,
    };
    Some((python, valley_test::gate::path(gguf, how)?))
}

fn problems(dir: &Path, count: usize) {
    let rows: Vec<Value> = (0..count)
        .map(|i| {
            json!({"question_id": format!("q{i}"),
                   "question_content": format!("Write a Python program that prints the number {i}.")})
        })
        .collect();
    write_jsonl(&dir.join("problems.jsonl"), &rows);
}

fn command(dir: &Path, python: &Path, gguf: &Path, extra: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_valley"));
    c.args([
        "generate",
        "--engine",
        "llama.cpp",
        "--engine-bin",
        python.to_str().unwrap(),
        "--model",
        gguf.to_str().unwrap(),
        "--served-model-name",
        "smollm2",
        "--problems",
        "problems.jsonl",
        "--out",
        "gen.jsonl",
        "--replicas",
        "2",
        "--context-length",
        "1024",
        "--engine-arg=--n_threads",
        "--engine-arg=1",
        "--max-tokens",
        "16",
        "--seed",
        "1",
        "--concurrency",
        "1",
        "--engine-timeout",
        "300",
        "--extra-body",
        r#"{"repeat_penalty": 1.0}"#,
        "--json",
    ])
    .args(extra)
    .current_dir(dir)
    .env("NO_COLOR", "1")
    .env_remove("SLURM_JOB_ID")
    .env_remove("CUDA_VISIBLE_DEVICES");
    c
}

fn ok(out: &Output) -> Value {
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn exactly_once(path: &Path, want: usize) {
    let mut keys = sample_keys(path);
    assert_eq!(keys.len(), want);
    keys.dedup();
    assert_eq!(keys.len(), want, "a sample is on file twice");
    for g in &read_jsonl(path) {
        assert_eq!(g["model"], "smollm2");
        assert!(!g["response"].as_str().unwrap().is_empty(), "{g}");
        assert!(g["completion_tokens"].as_u64().is_some_and(|t| t <= 16), "{g}");
    }
}

#[test]
fn valley_starts_two_llama_cpp_replicas_and_leaves_nothing_behind() {
    let Some((python, gguf)) = engine() else { return };
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let dir = tempfile::tempdir().unwrap();
    problems(dir.path(), 3);
    let v = ok(&command(dir.path(), &python, &gguf, &["--n", "2"]).output().unwrap());
    assert_eq!((v["planned"].as_u64(), v["written"].as_u64()), (Some(6), Some(6)), "{v}");
    let per: Vec<u64> =
        v["per_replica"].as_array().unwrap().iter().map(|x| x.as_u64().unwrap()).collect();
    assert!(per.len() == 2 && per.iter().all(|&c| c > 0), "{per:?}");
    exactly_once(&dir.path().join("gen.jsonl"), 6);
    for i in 0..2 {
        let log = std::fs::read_to_string(dir.path().join(format!("gen.engine/replica-{i}.log")))
            .unwrap();
        assert!(log.contains("llama_cpp.server"), "{log}");
    }
    assert_nothing_left(&[gguf.to_str().unwrap(), dir.path().to_str().unwrap()]);
}

#[test]
fn a_killed_llama_cpp_replica_loses_no_sample() {
    let Some((python, gguf)) = engine() else { return };
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let dir = tempfile::tempdir().unwrap();
    problems(dir.path(), 6);
    let child = command(dir.path(), &python, &gguf, &["--n", "2"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out_file = dir.path().join("gen.jsonl");
    let deadline = Instant::now() + Duration::from_secs(300);
    while std::fs::read_to_string(&out_file).map_or(0, |t| t.lines().count()) < 2 {
        assert!(Instant::now() < deadline, "generation never started");
        std::thread::sleep(Duration::from_millis(50));
    }
    // replica 0's server: the process whose log is replica-0.log
    let log = std::fs::read_to_string(dir.path().join("gen.engine/replica-0.log")).unwrap();
    let port = log
        .lines()
        .find_map(|l| l.strip_prefix("== valley: replica 0, start (port "))
        .and_then(|r| r.split(',').next())
        .unwrap_or_else(|| panic!("{log}"))
        .to_owned();
    let pid = processes_mentioning(&format!("--port {port}"))
        .into_iter()
        .find(|(_, cmd)| cmd.contains("llama_cpp.server"))
        .map(|(pid, _)| pid)
        .expect("replica 0's server is running");
    assert!(Command::new("kill").args(["-KILL", &pid.to_string()]).status().unwrap().success());
    let out = child.wait_with_output().unwrap();
    let v = ok(&out);
    assert_eq!(v["failed"].as_u64(), Some(0), "{v}");
    assert_eq!(v["already_done"].as_u64().unwrap() + v["written"].as_u64().unwrap(), 12, "{v}");
    exactly_once(&out_file, 12);
    assert!(String::from_utf8_lossy(&out.stderr).contains("replica 0's server exited"));
    assert_nothing_left(&[gguf.to_str().unwrap(), dir.path().to_str().unwrap()]);
}

#[test]
fn the_llama_cpp_example_study_runs_end_to_end() {
    let Some((python, _)) = engine() else { return };
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let gguf = root.join(".cache/models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf");
    if valley_test::gate::path(&gguf, "scripts/setup.d/70-smollm2.sh").is_none() {
        return;
    }
    // The example, with its output in a temp folder.
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(root.join("examples/llama-cpp.toml")).unwrap().replace(
        "out = \"../demo-out/llama-cpp\"",
        &format!("out = \"{}\"", dir.path().join("out").display()),
    );
    let spec = root.join("examples").join(format!(".llama-cpp-test-{}.toml", std::process::id()));
    std::fs::write(&spec, text).unwrap();
    let path = format!(
        "{}:{}",
        python.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new(env!("CARGO_BIN_EXE_valley"))
        .args(["study", "run", spec.to_str().unwrap(), "--json"])
        .env("PATH", path)
        .env("NO_COLOR", "1")
        .env_remove("SLURM_JOB_ID")
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&spec);
    let v = ok(&out);
    assert_eq!(
        (v["failed"].as_array().map(Vec::len), v["ran"].as_u64()),
        (Some(0), Some(4)),
        "{v}"
    );
    let out_file = dir.path().join("out/generate/smollm2/base");
    assert_eq!(read_jsonl(&out_file.join("generations.jsonl")).len(), 6);
    assert!(out_file.join("engine/replica-1.log").exists());
    let results = read_jsonl(&dir.path().join("out/results/results.jsonl"));
    assert_eq!(results[0]["n_samples"], 6);
    assert_nothing_left(&[gguf.to_str().unwrap()]);
}

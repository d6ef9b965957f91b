//! Issue 5: `valley train` with the native backend on the tiny example: the loss falls, the
//! checkpoints and the final model are HF folders, and a rerun into the same folder without
//! `--resume` refuses to mix the two runs.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

fn valley(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_valley")).args(args).current_dir(cwd).output().unwrap()
}

#[test]
fn tiny_native_example_trains_and_checkpoints() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap();
    let examples = root.join("examples/train");
    let dir = tempfile::tempdir().unwrap();
    // The example with its relative paths made absolute and its output in the temp dir.
    let spec = std::fs::read_to_string(examples.join("tiny-native.toml"))
        .unwrap()
        .replace("\"../../fixtures/", &format!("\"{}/fixtures/", root.display()))
        .replace("\"data/", &format!("\"{}/data/", examples.display()))
        .replace("\"../../runs/tiny-native\"", "\"run\"");
    std::fs::write(dir.path().join("tiny.toml"), spec).unwrap();

    let out = valley(&["train", "--config", "tiny.toml", "--json"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let record: Value = serde_json::from_slice(&out.stdout).unwrap();
    let outcome = &record["outcome"];
    let (first, last) =
        (outcome["first_loss"].as_f64().unwrap(), outcome["final_loss"].as_f64().unwrap());
    assert!(first > 5.0 && last < first - 1.5, "loss {first} -> {last}");
    assert_eq!(outcome["steps"].as_u64(), record["plan"]["optimizer_steps"].as_u64());
    assert_eq!(outcome["steps"].as_u64(), Some(21));
    // The headline numbers are also at the top level of the summary.
    assert_eq!(record["first_loss"].as_f64(), Some(first));
    assert_eq!(record["final_loss"].as_f64(), Some(last));
    let run = dir.path().join("run");
    for f in [
        "model/config.json",
        "model/model.safetensors",
        "model/tokenizer.json",
        "checkpoint-14/optimizer.safetensors",
        "checkpoint-14/trainer_state.json",
    ] {
        assert!(run.join(f).is_file(), "{f} missing");
    }
    let config: Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("model/config.json")).unwrap())
            .unwrap();
    assert_eq!(config["model_type"], "qwen2");
    assert_eq!(config["architectures"][0], "Qwen2ForCausalLM");

    let again = valley(&["train", "--config", "tiny.toml", "--json"], dir.path());
    assert_eq!(again.status.code(), Some(2), "a second run into the same folder must refuse");
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("--resume"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
}

//! Issue 6: `valley train` with the engine backends: the paper examples' dry runs give the
//! paper's schedule whatever the GPU count, a bad batch split is refused with what would work,
//! and (gated by VALLEY_SLURM) a CPU job submitted through the Slurm launcher completes and its
//! checkpoint loads back into valley's native model with transformers' logits.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn valley(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_valley")).args(args).current_dir(cwd).output().unwrap()
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

/// The example with its output folder moved into `dir`, and `replace` applied.
fn example(name: &str, dir: &Path, replace: &[(&str, &str)]) -> PathBuf {
    let examples = root().join("examples/train");
    let mut text = std::fs::read_to_string(examples.join(name)).unwrap();
    text = text.replace("\"../../", &format!("\"{}/", root().display()));
    text = text.replace(&format!("\"{}/runs/", root().display()), "\"runs/");
    for (from, to) in replace {
        assert!(text.contains(from), "{from} not in {name}");
        text = text.replace(from, to);
    }
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn dry_run(spec: &Path, dir: &Path) -> Value {
    let out = valley(&["train", "--config", spec.to_str().unwrap(), "--dry-run", "--json"], dir);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn paper_examples_dry_run_to_the_papers_schedule() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["paper-qwen2.5-7b-30k.toml", "paper-llama3.1-8b-30k.toml"] {
        let plan = dry_run(&example(name, dir.path(), &[]), dir.path());
        for (key, want) in [
            ("rows", 30_000),
            ("epochs", 5),
            ("global_batch", 128),
            ("max_seq_len", 32_768),
            ("devices", 8),
            ("gradient_accumulation", 16),
            ("steps_per_epoch", 235),
            ("optimizer_steps", 1175),
            ("warmup_steps", 118),
        ] {
            assert_eq!(plan[key].as_u64(), Some(want), "{name}: {key} in {plan}");
        }
        assert_eq!(plan["learning_rate"].as_f64(), Some(8e-5));
        assert_eq!(plan["rows_source"], "declared");
        assert_eq!(plan["memory"]["fits"], true, "{name}: {}", plan["memory"]);
        let files: Vec<&str> =
            plan["engine_files"].as_array().unwrap().iter().map(|f| f.as_str().unwrap()).collect();
        assert!(files.iter().any(|f| f.ends_with("engine/trl.json")), "{files:?}");
        // the launch config carries valley's limit, not TRL's 1024 default
        let trl = files.iter().find(|f| f.ends_with("trl.json")).unwrap();
        let cfg: Value = serde_json::from_str(&std::fs::read_to_string(trl).unwrap()).unwrap();
        assert_eq!(cfg["trl"]["max_length"], 32_768);
        assert_eq!(cfg["trl"]["completion_only_loss"], true);
        assert_eq!(cfg["warmup_steps"], 118);
    }
}

#[test]
fn gpu_count_leaves_batch_and_steps_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let one = example(
        "paper-qwen2.5-7b-30k.toml",
        dir.path(),
        &[("gpus-per-node = 8", "gpus-per-node = 1")],
    );
    let plan = dry_run(&one, dir.path());
    // the same schedule, but a 7B model's states alone overflow one 80 GiB GPU: refused
    assert_eq!(plan["memory"]["fits"], false);
    let out = valley(&["train", "--config", one.to_str().unwrap()], dir.path());
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("memory pre-flight") && err.contains("would fit"), "{err}");
    assert_eq!(plan["gradient_accumulation"].as_u64(), Some(128));
    assert_eq!(plan["optimizer_steps"].as_u64(), Some(1175));
    assert_eq!(plan["global_batch"].as_u64(), Some(128));
    let slurm = example(
        "paper-llama3.1-8b-30k.toml",
        dir.path(),
        &[("nodes = 1", "nodes = 4"), ("launcher = \"torchrun\"", "launcher = \"slurm\"")],
    );
    let plan = dry_run(&slurm, dir.path());
    assert_eq!(plan["devices"].as_u64(), Some(32));
    assert_eq!(plan["gradient_accumulation"].as_u64(), Some(4));
    assert_eq!(plan["optimizer_steps"].as_u64(), Some(1175));
    let sbatch = plan["engine_files"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|f| f.as_str().filter(|f| f.ends_with("train.sbatch")))
        .unwrap()
        .to_owned();
    let script = std::fs::read_to_string(sbatch).unwrap();
    assert!(script.contains("#SBATCH --nodes=4"), "{script}");
    assert!(script.contains("--rdzv-backend=c10d"), "{script}");
}

#[test]
fn indivisible_global_batch_is_refused_with_what_works() {
    let dir = tempfile::tempdir().unwrap();
    let spec = example(
        "paper-qwen2.5-7b-30k.toml",
        dir.path(),
        &[("gpus-per-node = 8", "gpus-per-node = 3")],
    );
    let out = valley(&["train", "--config", spec.to_str().unwrap(), "--dry-run"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("error: "), "{err}");
    assert!(err.contains("paper-qwen2.5-7b-30k.toml:29: field `train.global-batch`"), "{err}");
    assert!(err.contains("would work"), "{err}");
    assert!(!dir.path().join("runs").exists(), "a refused spec wrote files");
}

/// A CPU valley job through the Slurm launcher: sbatch, srun, torchrun with a c10d
/// rendezvous, valley's launcher training a tiny random Qwen2 on 8 traces; the run record holds
/// the loss curve and the final checkpoint.
#[test]
fn slurm_cpu_job_completes() {
    let Some(_) = valley_test::gate::env("VALLEY_SLURM", "scripts/setup.d/70-slurm.sh") else {
        return;
    };
    let Some(python) = valley_test::train_python() else {
        return;
    };
    let Some(tokenizer) = qwen_tokenizer() else { return };
    let dir = tempfile::tempdir().unwrap();
    let gz = root().join("fixtures/traces/leetcode-train.jsonl.gz");
    let traces = dir.path().join("traces.jsonl");
    let head = Command::new("sh")
        .arg("-c")
        .arg(format!("zcat '{}' | head -n 8 > '{}'", gz.display(), traces.display()))
        .status()
        .unwrap();
    assert!(head.success());
    let spec = format!(
        r#"
[model]
name = "tiny-qwen2"
tokenizer = "{tok}"
[model.init]
family = "qwen2"
hidden-size = 16
intermediate-size = 32
num-hidden-layers = 1
num-attention-heads = 2
[data]
train = "{traces}"
over-length = "truncate"
[train]
epochs = 1
global-batch = 4
max-seq-len = 32
learning-rate = 1e-2
precision = "fp32"
gradient-checkpointing = false
[compute]
backend = "trl"
launcher = "slurm"
device = "cpu"
gpus-per-node = 1
python = "{python}"
[output]
dir = "run"
"#,
        tok = tokenizer.display(),
        traces = traces.display(),
    );
    std::fs::write(dir.path().join("slurm.toml"), spec).unwrap();
    let out = valley(&["train", "--config", "slurm.toml", "--json"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let record: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(record["plan"]["optimizer_steps"].as_u64(), Some(2));
    assert_eq!(record["outcome"]["steps"].as_u64(), Some(2));
    assert_eq!(record["outcome"]["loss_curve"].as_array().unwrap().len(), 2);
    let ckpt = PathBuf::from(record["outcome"]["final_checkpoint"].as_str().unwrap());
    assert!(ckpt.join("model.safetensors").is_file() && ckpt.join("config.json").is_file());
    let log = std::fs::read_to_string(dir.path().join("run/logs/train.log")).unwrap();
    assert!(log.contains("valley: rendezvous on"), "{log}");
    assert!(dir.path().join("run/run.json").is_file());
    native_logits_match_transformers(&ckpt, &python, dir.path());
}

/// The engine's checkpoint, loaded back into valley's native model, gives the logits that
/// transformers gives for it (both in f32 on the CPU).
fn native_logits_match_transformers(ckpt: &Path, python: &str, work: &Path) {
    let ids: Vec<u32> = vec![151_644, 872, 198, 3838, 374, 220, 17, 10, 17, 30, 151_645, 198, 9707];
    let raw = work.join("transformers-logits.f32");
    let script = r#"
import sys, torch, transformers
ckpt, out = sys.argv[1], sys.argv[2]
ids = [int(x) for x in sys.argv[3].split(",")]
model = transformers.AutoModelForCausalLM.from_pretrained(ckpt, dtype=torch.float32)
model.eval()
with torch.no_grad():
    logits = model(torch.tensor([ids])).logits[0]
logits.numpy().astype("<f4").tofile(out)
"#;
    let joined: Vec<String> = ids.iter().map(u32::to_string).collect();
    let out = Command::new(python)
        .args(["-c", script, ckpt.to_str().unwrap(), raw.to_str().unwrap(), &joined.join(",")])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let bytes = std::fs::read(&raw).unwrap();
    let theirs: Vec<f32> =
        bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
    let ours_path = work.join("valley-logits.f32");
    let out = valley(
        &[
            "model",
            "logits",
            "--model",
            ckpt.to_str().unwrap(),
            "--ids",
            &joined.join(","),
            "--out",
            ours_path.to_str().unwrap(),
            "--json",
        ],
        work,
    );
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    let vocab = summary["vocab"].as_u64().unwrap() as usize;
    assert_eq!(summary["positions"].as_u64(), Some(ids.len() as u64));
    assert_eq!(summary["argmax"].as_array().unwrap().len(), ids.len());
    let ours: Vec<f32> = std::fs::read(&ours_path)
        .unwrap()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    assert_eq!(ours.len(), ids.len() * vocab);
    assert_eq!(theirs.len(), ours.len(), "transformers' vocabulary differs from valley's");
    let scale = theirs.iter().fold(0f32, |m, v| m.max(v.abs()));
    let diff = ours.iter().zip(&theirs).fold(0f32, |m, (a, b)| m.max((a - b).abs()));
    assert!(scale > 0.0, "transformers gave all-zero logits");
    assert!(diff <= 1e-4 * scale.max(1.0), "max |logit difference| {diff} (largest logit {scale})");
}

/// The data side of a dry run with the real Qwen2.5 tokenizer: the declared row count is
/// checked against the file, and `over-length = "error"` names the first row that is too long.
#[test]
fn dry_run_checks_declared_rows_and_over_length() {
    let Some(tokenizer) = qwen_tokenizer() else { return };
    let dir = tempfile::tempdir().unwrap();
    let gz = root().join("fixtures/traces/leetcode-train.jsonl.gz");
    let head = Command::new("sh")
        .arg("-c")
        .arg(format!("zcat '{}' | head -n 8 > traces.jsonl", gz.display()))
        .current_dir(dir.path())
        .status()
        .unwrap();
    assert!(head.success());
    let spec = |rows: u32, policy: &str| {
        format!(
            "[model]\nname = \"q\"\npath = \"m\"\ntokenizer = \"{}\"\n[data]\ntrain = \"traces.jsonl\"\nrows = {rows}\nover-length = \"{policy}\"\n[train]\nglobal-batch = 4\nmax-seq-len = 512\n[compute]\ngpus-per-node = 1\ndevice = \"cpu\"\n[output]\ndir = \"run\"\n",
            tokenizer.display()
        )
    };
    std::fs::write(dir.path().join("ok.toml"), spec(8, "truncate")).unwrap();
    let plan = dry_run(&dir.path().join("ok.toml"), dir.path());
    assert_eq!(plan["rows"].as_u64(), Some(8));
    assert_eq!(plan["rows_source"], "file");
    assert_eq!(plan["max_tokens"].as_u64(), Some(512));
    assert!(plan["rows_truncated"].as_u64().unwrap() > 0);
    assert!(plan["tokens"].as_u64().unwrap() > plan["trained_tokens"].as_u64().unwrap());

    std::fs::write(dir.path().join("rows.toml"), spec(9, "truncate")).unwrap();
    let out = valley(&["train", "--config", "rows.toml", "--dry-run"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("field `data.rows`: the spec declares 9 rows but"), "{err}");

    std::fs::write(dir.path().join("long.toml"), spec(8, "error")).unwrap();
    let out = valley(&["train", "--config", "long.toml", "--dry-run"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("traces.jsonl:7: trace `lc-train-00006`: 619 tokens"), "{err}");
    assert!(err.contains("exceed train.max-seq-len 512"), "{err}");
}

/// axolotl and LLaMA-Factory read HF datasets: the dry run writes their YAML, the converter and a
/// launch script whose first step converts valley's tokens into the format each engine loads.
#[test]
fn hf_dataset_engines_convert_valleys_tokens_first() {
    for (backend, yaml, module, target, format) in [
        ("axolotl", "axolotl.yaml", "axolotl.cli.train", "axolotl-tokens.jsonl", "jsonl"),
        (
            "llama-factory",
            "llama-factory.yaml",
            "llamafactory.launcher",
            "llama-factory-tokenized",
            "disk",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let spec = example(
            "paper-qwen2.5-7b-30k.toml",
            dir.path(),
            &[("backend = \"trl\"", &format!("backend = \"{backend}\""))],
        );
        let plan = dry_run(&spec, dir.path());
        assert!(plan["launch"].as_str().unwrap().contains(&format!("-m {module} ")), "{plan}");
        let files: Vec<&str> =
            plan["engine_files"].as_array().unwrap().iter().map(|f| f.as_str().unwrap()).collect();
        assert!(files.iter().any(|f| f.ends_with(yaml)), "{files:?}");
        let engine = Path::new(files[0]).parent().unwrap().to_path_buf();
        let launch = std::fs::read_to_string(engine.join("launch.sh")).unwrap();
        let step = launch.lines().find(|l| l.contains("valley_tokens_to_hf.py")).unwrap();
        assert!(step.ends_with(&format!("--format {format}")), "{step}");
        assert!(step.contains(&format!("/{target}")), "{step}");
        assert!(engine.join("valley_tokens_to_hf.py").is_file());
    }
}

/// The real Qwen2.5 tokenizer folder of `.cache/tokenizers`, or a gated skip.
fn qwen_tokenizer() -> Option<PathBuf> {
    let dir = root().join(".cache/tokenizers/qwen2.5");
    valley_test::gate::path(dir.join("tokenizer.json"), "scripts/fetch-tokenizers.sh")?;
    Some(dir)
}

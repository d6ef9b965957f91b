//! `valley model logits` on checkpoints as transformers 5 writes them: the rotary base inside
//! `rope_parameters` (Qwen2.5's 1e6, where an old reader would fall back to 10,000), and
//! Llama-3.1's "llama3" rotary scaling. Each gives transformers' own logits. Gated on
//! VALLEY_TRAIN_PYTHON (a Python with torch and transformers: scripts/setup.d/65-train-engines.sh).

use std::path::Path;
use std::process::Command;

use serde_json::Value;

const MAKE: &str = r#"
import json, sys, torch, transformers
kind, out = sys.argv[1], sys.argv[2]
ids = [int(x) for x in sys.argv[3].split(",")]
common = dict(vocab_size=97, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
              num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256)
if kind == "qwen2":
    config = transformers.Qwen2Config(rope_theta=1e6, **common)
else:
    # original_max_position_embeddings 16: the scaling changes positions this short
    config = transformers.LlamaConfig(rope_theta=10000.0, rope_scaling={
        "rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
        "high_freq_factor": 4.0, "original_max_position_embeddings": 16}, **common)
torch.manual_seed(0)
model = transformers.AutoModelForCausalLM.from_config(config, dtype=torch.float32).eval()
with torch.no_grad():
    for p in model.parameters():
        p.normal_(0.0, 0.5)
model.save_pretrained(out)
with torch.no_grad():
    logits = model(torch.tensor([ids])).logits[0]
logits.numpy().astype("<f4").tofile(out + "/logits.f32")
print(json.dumps(json.load(open(out + "/config.json")).get("rope_parameters")))
"#;

fn read_f32(path: &Path) -> Vec<f32> {
    std::fs::read(path)
        .unwrap()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

#[test]
fn transformers_5_checkpoints_give_transformers_logits() {
    let Some(python) = valley_test::train_python() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let ids: Vec<String> = (0..48u32).map(|i| ((i * 37 + 5) % 97).to_string()).collect();
    let ids = ids.join(",");
    for kind in ["qwen2", "llama3"] {
        let model = dir.path().join(kind);
        let made = Command::new(&python)
            .args(["-c", MAKE, kind, model.to_str().unwrap(), &ids])
            .output()
            .unwrap();
        assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
        let rope: Value = serde_json::from_slice(&made.stdout).unwrap();
        assert!(rope.is_object(), "transformers 5 writes rope_parameters: {rope}");
        let ours = dir.path().join(format!("{kind}.f32"));
        let out = Command::new(env!("CARGO_BIN_EXE_valley"))
            .args(["model", "logits", "--model", model.to_str().unwrap(), "--ids", &ids])
            .args(["--out", ours.to_str().unwrap()])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        let (ours, theirs) = (read_f32(&ours), read_f32(&model.join("logits.f32")));
        assert_eq!(ours.len(), theirs.len());
        let scale = theirs.iter().fold(0f32, |m, v| m.max(v.abs()));
        let diff = ours.iter().zip(&theirs).fold(0f32, |m, (a, b)| m.max((a - b).abs()));
        assert!(
            diff <= 1e-4 * scale.max(1.0),
            "{kind}: max |logit difference| {diff} (largest logit {scale})"
        );
    }
}

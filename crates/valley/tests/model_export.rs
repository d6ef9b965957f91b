//! `valley model export`: a GGUF model as an HF folder; bad inputs are usage errors that leave
//! nothing behind. `valley model logits` gives the GGUF's and the export's logits identically.

use serde_json::Value;
use valley_test::run_bin;

fn valley(args: &[&str], cwd: &std::path::Path) -> std::process::Output {
    run_bin(env!("CARGO_BIN_EXE_valley"), args, cwd)
}

#[test]
fn bad_inputs_are_refused_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("fake.gguf"), b"not a gguf file at all").unwrap();
    let o = valley(&["model", "export", "--model", "fake.gguf", "--out", "hf"], dir.path());
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("fake.gguf") && err.contains("not a GGUF file"), "{err}");
    assert!(!dir.path().join("hf").exists());
    assert!(!dir.path().join(".hf.partial").exists());
    let o = valley(&["model", "export", "--model", "model.bin", "--out", "hf"], dir.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("expected a .gguf file"));
}

#[test]
fn smollm2_exports_to_an_hf_folder() {
    let Some(gguf) = valley_test::gate::env(
        "VALLEY_SMOLLM2_GGUF",
        "scripts/setup.d/70-smollm2.sh, then source .cache/env.sh",
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let o = valley(&["model", "export", "--model", &gguf, "--out", "hf", "--json"], dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let summary: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(summary["model_type"], "llama");
    for f in ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"] {
        assert!(dir.path().join("hf").join(f).is_file(), "{f}");
    }
    let config: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("hf/config.json")).unwrap()).unwrap();
    assert_eq!(config["num_hidden_layers"], 30);
    // `valley model logits`: the GGUF and its export give the same logits, bit for bit; an id
    // outside the vocabulary is refused, naming it.
    let ids = "1,9690,198,2683,314,260,3575,282,4649,47";
    let mut rows = Vec::new();
    for (model, out) in [(gguf.as_str(), "gguf.f32"), ("hf", "hf.f32")] {
        let o = valley(
            &["model", "logits", "--model", model, "--ids", ids, "--out", out, "--json"],
            dir.path(),
        );
        assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
        let s: Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!((s["positions"].as_u64(), s["vocab"].as_u64()), (Some(10), Some(49_152)));
        rows.push((s["argmax"].clone(), std::fs::read(dir.path().join(out)).unwrap()));
    }
    assert_eq!(rows[0].1.len(), 10 * 49_152 * 4);
    assert!(rows[0] == rows[1], "the export's logits differ from the GGUF's");
    let o = valley(
        &["model", "logits", "--model", "hf", "--ids", "1,49152", "--out", "bad.f32"],
        dir.path(),
    );
    assert_ne!(o.status.code(), Some(0));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("token id 49152 is outside the vocabulary of 49152"), "{err}");
    assert!(!dir.path().join("bad.f32").exists());
    // The folder exists now: a second export is refused.
    let o = valley(&["model", "export", "--model", &gguf, "--out", "hf"], dir.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("exists"));
}

//! `hf://` paths against a fake Hub that answers the Hub's routes (valley-test's `FakeHub`):
//! files fetched into the HF cache under `HF_HOME`, the commit in every manifest, offline mode
//! reading the cache and asking nothing, tokens for private repositories, errors named.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use valley_test::{FakeHub, FakeRepo};

const OCR2_COMMIT: &str = "1489cbaa70470b6ffbabea70476a21fa183442f3";
const TACO_COMMIT: &str = "d593ed0a2bec4b0cd5c0f9b83fd5cfe8ed5a0ea8";

fn fixture(name: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/import").join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn hub() -> FakeHub {
    let ocr2 = fixture("ocr2-python.parquet");
    let taco = fixture("taco-test-head.jsonl");
    let mut private = FakeRepo::dataset("acme/private-taco", TACO_COMMIT, &[("test.jsonl", &taco)]);
    private.token = Some("hf_secret".into());
    FakeHub::start(vec![
        FakeRepo::dataset(
            "nvidia/OpenCodeReasoning-2",
            OCR2_COMMIT,
            &[("README.md", b"# OCR2"), ("train/python/train-00000-of-00001.parquet", &ocr2)],
        ),
        FakeRepo::dataset("BAAI/TACO", TACO_COMMIT, &[("ALL/test-00000-of-00001.jsonl", &taco)]),
        private,
    ])
    .unwrap()
}

fn valley(args: &[&str], cwd: &Path, env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_valley"));
    c.args(args).current_dir(cwd).env("NO_COLOR", "1");
    for k in ["HF_ENDPOINT", "HF_TOKEN", "HF_HUB_OFFLINE", "HF_HOME", "HF_HUB_CACHE"] {
        c.env_remove(k);
    }
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

fn ok(out: &Output) -> Value {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn manifest(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn imports_read_the_hub_and_name_the_commit() {
    let server = hub();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let home = d.join("hf-home");
    let endpoint = server.endpoint();
    let env = [("HF_ENDPOINT", endpoint.as_str()), ("HF_HOME", home.to_str().unwrap())];

    ok(&valley(
        &[
            "data",
            "import",
            "taco",
            "--input",
            "hf://datasets/BAAI/TACO@main/ALL/test-*.jsonl",
            "--split",
            "test",
            "--out",
            "taco.jsonl",
            "--json",
        ],
        d,
        &env,
    ));
    let m = manifest(&d.join("taco.manifest.json"));
    assert_eq!(m["hub"][0]["repo"], "BAAI/TACO");
    assert_eq!(m["hub"][0]["revision"], "main");
    assert_eq!(m["hub"][0]["commit"], TACO_COMMIT);
    assert_eq!(m["hub"][0]["files"][0], "ALL/test-00000-of-00001.jsonl");
    // the file sits in the usual cache layout
    let cached = home.join(format!(
        "hub/datasets--BAAI--TACO/snapshots/{TACO_COMMIT}/ALL/test-00000-of-00001.jsonl"
    ));
    assert!(cached.exists(), "{}", cached.display());
    assert!(m["inputs"][0]["path"].as_str().unwrap().contains("datasets--BAAI--TACO"));

    let taco_src =
        format!("taco:test=hf://datasets/BAAI/TACO@{TACO_COMMIT}/ALL/test-00000-of-00001.jsonl");
    let s = ok(&valley(
        &[
            "data",
            "import",
            "ocr2",
            "--input",
            "hf://datasets/nvidia/OpenCodeReasoning-2/train/python/*.parquet",
            "--source",
            &taco_src,
            "--out",
            "ocr2",
            "--dataset",
            "taco",
            "--json",
        ],
        d,
        &env,
    ));
    assert_eq!(s["sources"]["taco"]["questions"], 34);
    let m = manifest(&d.join("ocr2/manifest.json"));
    let hubs = m["hub"].as_array().unwrap();
    assert_eq!(hubs.len(), 2);
    assert_eq!(hubs[0]["commit"], OCR2_COMMIT);
    assert_eq!(hubs[1]["revision"], TACO_COMMIT);
    assert_eq!(hubs[1]["commit"], TACO_COMMIT);

    // offline: the same command reads the cache and sends nothing
    let asked = server.requests();
    let offline = [
        ("HF_ENDPOINT", endpoint.as_str()),
        ("HF_HOME", home.to_str().unwrap()),
        ("HF_HUB_OFFLINE", "1"),
    ];
    ok(&valley(
        &[
            "data",
            "import",
            "taco",
            "--input",
            "hf://datasets/BAAI/TACO/ALL/test-*.jsonl",
            "--split",
            "test",
            "--out",
            "taco2.jsonl",
            "--json",
        ],
        d,
        &offline,
    ));
    assert_eq!(server.requests(), asked, "offline mode must not ask the Hub");
    assert_eq!(
        std::fs::read(d.join("taco.jsonl")).unwrap(),
        std::fs::read(d.join("taco2.jsonl")).unwrap()
    );
    assert_eq!(manifest(&d.join("taco2.manifest.json"))["hub"][0]["commit"], TACO_COMMIT);

    // offline, a file never fetched is an error that says why
    let out = valley(
        &[
            "data",
            "import",
            "taco",
            "--input",
            "hf://datasets/nvidia/OpenCodeReasoning-2/README.md",
            "--split",
            "test",
            "--out",
            "x.jsonl",
        ],
        d,
        &offline,
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("hf://datasets/nvidia/OpenCodeReasoning-2/README.md")
            && err.contains("offline"),
        "{err}"
    );
    assert_eq!(server.requests(), asked);
}

#[test]
fn private_repositories_need_the_token_and_bad_paths_are_named() {
    let server = hub();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let home = d.join("hf-home");
    let endpoint = server.endpoint();
    let env = [("HF_ENDPOINT", endpoint.as_str()), ("HF_HOME", home.to_str().unwrap())];
    let args = [
        "data",
        "import",
        "taco",
        "--input",
        "hf://datasets/acme/private-taco/test.jsonl",
        "--split",
        "test",
        "--out",
        "p.jsonl",
        "--json",
    ];
    let out = valley(&args, d, &env);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("acme/private-taco") && err.contains("refused"), "{err}");
    assert!(!d.join("p.jsonl").exists());

    let with_token = [env[0], env[1], ("HF_TOKEN", "hf_secret")];
    let s = ok(&valley(&args, d, &with_token));
    assert_eq!(s["problems"], 21);

    for (uri, want) in [
        ("hf://datasets/BAAI/TACO/ALL/nothing-*.jsonl", "matches `ALL/nothing-*.jsonl`"),
        ("hf://datasets/BAAI/TACO@v9/ALL/test-*.jsonl", "refused"),
        ("hf://datasets/BAAI", "invalid Hub path"),
    ] {
        let out = valley(
            &["data", "import", "taco", "--input", uri, "--split", "test", "--out", "q.jsonl"],
            d,
            &env,
        );
        assert_eq!(out.status.code(), Some(2), "{uri}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.starts_with("error:") && err.contains(want), "{uri}: {err}");
    }
    // a glob matching several files given to a flag that takes one path
    let out = valley(
        &[
            "data",
            "label",
            "--input",
            "hf://datasets/nvidia/OpenCodeReasoning-2/*",
            "--problems",
            "p.jsonl",
            "--profile",
            "taco",
            "--out",
            "l.jsonl",
        ],
        d,
        &env,
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("matches 2 files, and --input takes one path"), "{err}");
}

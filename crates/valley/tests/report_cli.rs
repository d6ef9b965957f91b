//! Issue 7: `valley report` on the paper-shaped fixtures (fixtures/report, provenance in its
//! PROVENANCE.md): the valley at 1K for both students, the Table 2 layout, paired statistics
//! from inline outcomes and from verdicts files, the manifest, bad input (exit 2 naming
//! file:line:field, nothing written), and the HTML page loaded in headless Chromium.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use sha2::{Digest, Sha256};

fn valley(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_valley")).args(args).current_dir(cwd).output().unwrap()
}

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/report")
}

fn report(results: &Path, out: &Path, cwd: &Path) -> Value {
    let o = valley(
        &[
            "report",
            "--results",
            results.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--json",
        ],
        cwd,
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn sha256(path: &Path) -> String {
    hex::encode(Sha256::digest(std::fs::read(path).unwrap()))
}

#[test]
fn paper_results_give_the_valley_table_2_and_a_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let results = fixtures().join("paper/results.jsonl");
    let out = dir.path().join("report");
    let summary = report(&results, &out, dir.path());
    assert_eq!(summary["runs"], 16);
    for s in summary["students"].as_array().unwrap() {
        assert_eq!(s["valley_detected"], true, "{s}");
        assert_eq!(s["min_size"], 1000, "{s}");
    }
    let fit = read_json(&out.join("fit.json"));
    let students = fit["students"].as_array().unwrap();
    assert_eq!(students.len(), 2);
    assert_eq!(students[0]["label"], "Qwen 2.5");
    assert!((students[0]["depth_ratio"].as_f64().unwrap() - 0.058 / 0.126).abs() < 1e-9);
    assert!(students[1]["slope_per_decade"].as_f64().unwrap() > 0.0);
    assert_eq!(fit["provenance"]["results_sha256"], sha256(&results));

    // Table 2's correct 0.185 against incorrect 0.182 is within noise over 279 problems
    let noise = summary["within_noise"].as_array().unwrap();
    assert!(
        noise.iter().any(|w| w
            .as_str()
            .unwrap()
            .starts_with("Qwen 2.5: correct − incorrect = +0.003 is within noise")),
        "{noise:?}"
    );
    // (even easy − hard, +0.042, is: one sample on each of 279 problems cannot resolve it)
    assert!(noise.iter().any(|w| w.as_str().unwrap().starts_with("Qwen 2.5: easy − hard")));
    // 0.352 against the 30K checkpoint's 0.264 is not
    assert!(
        noise.iter().all(|w| !w.as_str().unwrap().starts_with("Qwen 2.5-30K: easy − baseline")),
        "{noise:?}"
    );
    let splits = std::fs::read_to_string(out.join("splits.md")).unwrap();
    assert!(splits.contains("## Within noise\n\n- **Warning**: Qwen 2.5: correct − baseline"));
    assert!(
        splits.contains("- **Warning**: Qwen 2.5: correct − incorrect = +0.003 is within noise"),
        "{splits}"
    );
    assert!(splits.contains(
        "| Dataset | Qwen 2.5 | Qwen 2.5-30K |\n| --- | ---: | ---: |\n| Baseline | 0.126 | 0.264 |\n| Correct 6K | 0.185 | 0.347 |\n| Incorrect 6K | 0.182 | 0.350 |\n| Hard 4K | 0.137 | 0.296 |\n| Easy 4K | 0.179 | 0.352 |\n"
    ), "{splits}");

    // the manifest names every file with its hash, and the input's
    let manifest = read_json(&out.join("manifest.json"));
    assert_eq!(manifest["inputs"][0]["sha256"], sha256(&results));
    let artifacts = manifest["artifacts"].as_array().unwrap();
    assert!(artifacts.len() >= 14);
    for a in artifacts {
        let path = out.join(a["path"].as_str().unwrap());
        assert_eq!(a["sha256"], sha256(&path), "{}", path.display());
    }
    let png = std::fs::read(out.join("valley-qwen-2-5.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    // no temporary file left behind
    for e in std::fs::read_dir(&out).unwrap() {
        let name = e.unwrap().file_name().into_string().unwrap();
        assert!(!name.starts_with('.'), "{name}");
    }

    // the same input gives the same bytes
    let again = dir.path().join("again");
    report(&results, &again, dir.path());
    for a in artifacts {
        let name = a["path"].as_str().unwrap();
        assert_eq!(sha256(&again.join(name)), a["sha256"], "{name} differs between runs");
    }
}

/// Issue 13: where the samples ended, across data sizes, as a table and a figure.
#[test]
fn paper_results_show_the_failure_decomposition() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report");
    report(&fixtures().join("paper/results.jsonl"), &out, dir.path());
    let md = std::fs::read_to_string(out.join("decomposition.md")).unwrap();
    assert!(
        md.contains(
            "## Qwen 2.5\n\n| Data | pass@1 | pass@1 after-think | Passed | Not finished | No code | Failed | Completion rate |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n| Baseline | 0.126 | — | — | — | — | — | — |\n| 1K | 0.058 | — | 0.0580 | 0.8158 | 0.0252 | 0.1010 | 0.1842 |\n"
        ),
        "{md}"
    );
    assert!(
        md.contains(
            "At the lowest point (1K), 87% of the samples that did not pass never finished"
        ),
        "{md}"
    );
    let csv = std::fs::read_to_string(out.join("decomposition.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 6, "{csv}");
    assert!(csv.contains("Llama-3.1-8B-Instruct,Llama 3.1,llama3.1-30k,30000,0.3,,0.3,0.292,0.0816,0.3264,0.708\n"), "{csv}");
    for student in ["qwen-2-5", "llama-3-1"] {
        let svg =
            std::fs::read_to_string(out.join(format!("decomposition-{student}.svg"))).unwrap();
        // one bar segment per share per sized run, and the baseline marked as not given
        assert_eq!(svg.matches("<rect x=").count() - 4, 3 * 4, "{svg}");
        assert!(svg.contains("not given"), "{svg}");
        let png = std::fs::read(out.join(format!("decomposition-{student}.png"))).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    }
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(html.contains("<table id=\"decomposition-0\""), "{html}");
    assert!(html.contains("src=\"decomposition-llama-3-1.svg\""), "{html}");
    // runs without a decomposition: no table, no figure
    let plain = dir.path().join("plain");
    report(&fixtures().join("controls/results.jsonl"), &plain, dir.path());
    assert!(!plain.join("decomposition.md").exists());
    assert!(!std::fs::read_to_string(plain.join("index.html")).unwrap().contains("decomposition"));
}

#[test]
fn controls_give_no_valley() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r");
    let summary = report(&fixtures().join("controls/results.jsonl"), &out, dir.path());
    for s in summary["students"].as_array().unwrap() {
        assert_eq!(s["valley_detected"], false, "{s}");
    }
    assert!(!out.join("splits.md").exists(), "no split runs, no split table");
}

#[test]
fn per_problem_outcomes_give_paired_statistics() {
    let dir = tempfile::tempdir().unwrap();
    let src = fixtures().join("paired");
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    for e in std::fs::read_dir(&src).unwrap() {
        let e = e.unwrap();
        if e.file_name().to_string_lossy().ends_with(".jsonl") {
            std::fs::copy(e.path(), data.join(e.file_name())).unwrap();
        }
    }
    let out = dir.path().join("r");
    // relative --results: verdicts paths resolve against its folder
    report(Path::new("data/results.jsonl"), &out, dir.path());
    let fit = read_json(&out.join("fit.json"));
    let s = &fit["students"][0];
    assert_eq!(s["valley_detected"], true, "{s}");
    assert_eq!(s["min_size"], 1000);
    assert_eq!(s["depth"]["method"], "paired_bootstrap");
    assert_eq!(s["depth"]["n_common"], 120);
    assert!(s["depth"]["mcnemar_p"].as_f64().unwrap() < 0.05);
    // 1K and 10K give outcomes inline and as verdicts: the slope bootstrap needs them all
    assert_eq!(s["slope_ci95_method"], "bootstrap_over_problems");
    let ci = s["slope_ci95"].as_array().unwrap();
    let slope = s["slope_per_decade"].as_f64().unwrap();
    assert!(ci[0].as_f64().unwrap() < slope && slope < ci[1].as_f64().unwrap());

    let splits = read_json(&out.join("splits.json"));
    let cmp = splits["splits"]["comparisons"].as_array().unwrap();
    let easy_hard = cmp.iter().find(|c| c["a"] == "easy" && c["b"] == "hard").unwrap();
    assert_eq!(easy_hard["method"], "paired_bootstrap");
    let p = &easy_hard["paired"];
    assert_eq!(p["n_common"], 120);
    let (a_better, b_better) = (p["a_better"].as_u64().unwrap(), p["b_better"].as_u64().unwrap());
    assert!(a_better + b_better <= 120 && a_better > b_better);
    let mp = p["mcnemar_p"].as_f64().unwrap();
    assert!(mp > 0.0 && mp <= 1.0);
    assert!(p["cohens_dz"].as_f64().is_some() && easy_hard["cohens_h"].as_f64().unwrap() > 0.0);
    let csv = std::fs::read_to_string(out.join("comparisons.csv")).unwrap();
    assert!(csv.lines().any(|l| l.starts_with("Tiny student,easy,hard,")), "{csv}");
    let manifest = read_json(&out.join("manifest.json"));
    let verdict_inputs: Vec<&Value> =
        manifest["inputs"].as_array().unwrap().iter().filter(|i| i["role"] == "verdicts").collect();
    assert_eq!(verdict_inputs.len(), 4);
}

/// One bad record: exit 2, one `error:` line naming file, line and field, and no output folder.
fn check_bad(lines: &[&str], expect: &str) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("results.jsonl"), lines.join("\n") + "\n").unwrap();
    let o = valley(&["report", "--results", "results.jsonl", "--out", "out"], dir.path());
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(errors[0].contains(expect), "expected `{expect}` in: {stderr}");
    assert!(!dir.path().join("out").exists(), "output written despite the error");
}

#[test]
fn bad_input_names_file_line_and_field() {
    let ok =
        r#"{"run":"a","model":"m","data_size":0,"pass_at_1":0.1,"n_problems":10,"n_samples":10}"#;
    check_bad(
        &[
            ok,
            r#"{"run":"b","model":"m","data_size":1000,"pass_at_1":"high","n_problems":10,"n_samples":10}"#,
        ],
        "results.jsonl:2: field `pass_at_1`",
    );
    check_bad(
        &[ok, ok.replace("\"a\"", "\"c\"").replace("0.1", "1.5").as_str()],
        "results.jsonl:2: field `pass_at_1`: 1.5 is outside [0, 1]",
    );
    check_bad(
        &[ok, r#"{"run":"b","model":"m","pass_at_1":0.1,"n_problems":10,"n_samples":10}"#],
        "results.jsonl:2: field `data_size`",
    );
    check_bad(&[ok, "", ok], "results.jsonl:3: field `run`");
    check_bad(
        &[ok, r#"{"run":"b","model":"m","data_size":1000,"pass_at_1":0.1,"n_problems":10}"#],
        "results.jsonl:2: field `n_samples`: missing",
    );
    check_bad(
        &[
            ok,
            r#"{"run":"b","model":"m","split":"easy","base":"nope","pass_at_1":0.1,"n_problems":10,"n_samples":10}"#,
        ],
        "results.jsonl:2: field `base`: no run named `nope`",
    );
    check_bad(
        &[
            ok,
            r#"{"run":"b","model":"m","data_size":5,"pass_at_1":0.1,"n_problems":10,"n_samples":10,"verdicts":"missing.jsonl"}"#,
        ],
        "results.jsonl:2: field `verdicts`",
    );
    check_bad(
        &[
            r#"{"run":"a","model":"m","data_size":0,"pass_at_1":0.1,"n_problems":10,"n_samples":10,"extra":1}"#,
        ],
        "results.jsonl:1: field `extra`",
    );
    check_bad(&[], "results.jsonl: no run records");
}

#[test]
fn html_page_loads_in_headless_chromium() {
    let Some(chromium) = chromium() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r");
    report(&fixtures().join("paper/results.jsonl"), &out, dir.path());
    let profile = dir.path().join("chromium-profile");
    let url = format!("file://{}", out.join("index.html").display());
    let o = Command::new(&chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            &format!("--user-data-dir={}", profile.display()),
            "--virtual-time-budget=5000",
            "--dump-dom",
            &url,
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let dom = String::from_utf8_lossy(&o.stdout);
    for id in [
        "fits",
        "scaling-0",
        "scaling-1",
        "decomposition-0",
        "decomposition-1",
        "splits",
        "comparisons",
        "runs",
        "provenance",
    ] {
        assert!(dom.contains(&format!("<table id=\"{id}\"")), "table {id} missing:\n{dom}");
    }
    for img in [
        "valley-qwen-2-5.svg",
        "valley-llama-3-1.svg",
        "rates-qwen-2-5.svg",
        "rates-llama-3-1.svg",
        "decomposition-qwen-2-5.svg",
        "decomposition-llama-3-1.svg",
    ] {
        assert!(dom.contains(&format!("<img src=\"{img}\"")), "{img} missing");
    }
    // the page's own script counts the images the browser decoded
    assert!(dom.contains("data-images-loaded=\"6\""), "figures did not load:\n{dom}");
    assert!(dom.contains("<div id=\"noise\" class=\"warning\">"), "{dom}");
    assert!(dom.contains("<td>Easy 4K</td><td>0.179</td><td>0.352</td>"), "{dom}");
}

/// `$VALLEY_CHROMIUM`, else a Chromium on PATH, else a gated skip.
fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("VALLEY_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let names = ["chromium", "chromium-browser", "google-chrome"];
    let found = std::env::var_os("PATH").and_then(|path| {
        names
            .iter()
            .flat_map(|name| std::env::split_paths(&path).map(move |d| d.join(name)))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        valley_test::gate::skip(
            format_args!("no {} on PATH and $VALLEY_CHROMIUM unset", names.join(", ")),
            "scripts/setup.d/60-chromium.sh (Debian's chromium)",
        );
    }
    found
}

//! Issue 7: `valley study run|status|verify` on a tiny real study — nested subsets of the shipped
//! traces, a baseline sampled from the fake OpenAI server, judged on real benchmark problems —
//! run, rerun (nothing recomputed), changed (only dependents rerun), killed with SIGKILL and
//! resumed, verified and tampered with; the Slurm backend when a cluster is there.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use valley_test::{FakeConfig, FakeOpenAi, read_jsonl};

fn valley(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_valley"))
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A study over the shipped fixtures: subsets 5 ⊂ 20 of the traces, the untrained `tiny`
/// student sampled `n` times on the first 3 benchmark problems, judged, collected.
fn write_spec(dir: &Path, endpoint: &str, extra: &str) -> PathBuf {
    std::fs::create_dir_all(dir.join("model")).unwrap();
    std::fs::write(dir.join("model/weights.bin"), b"not really weights").unwrap();
    let r = repo();
    let text = format!(
        r#"baselines = ["tiny"]

[study]
name = "tiny"
out = "out"
jobs = 2
{study_extra}

[benchmark]
problems = "{bench}"
limit = 3

[students.tiny]
path = "model"

[datasets.scaling]
traces = "{traces}"
sizes = [5, 20]
seed = {seed}

[generate]
endpoint = "{endpoint}"
n = {n}
max-tokens = 64
temperature = {temperature}
concurrency = 1

[eval]
{eval_extra}

[report]
enabled = false
"#,
        bench = r.join("examples/data/leetcode-lcb.jsonl").display(),
        traces = r.join("fixtures/traces/leetcode-train.jsonl.gz").display(),
        seed = pick(extra, "seed", "1"),
        n = pick(extra, "n", "2"),
        temperature = pick(extra, "temperature", "0.2"),
        eval_extra = pick(extra, "eval", ""),
        study_extra = pick(extra, "study", ""),
    );
    let path = dir.join("study.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// `extra` is `key=value;key=value`; the value of `key`, or `default`.
fn pick(extra: &str, key: &str, default: &str) -> String {
    extra
        .split(';')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == key)
        .map_or(default.to_owned(), |(_, v)| v.replace("\\n", "\n"))
}

fn json_of(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

fn run(dir: &Path) -> Value {
    json_of(&valley(&["study", "run", "study.toml", "--json"], dir))
}

fn ran(summary: &Value) -> u64 {
    summary["ran"].as_u64().unwrap()
}

#[test]
fn tiny_study_runs_then_reruns_only_what_changed() {
    let Some(_) = valley_test::judge_python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let server = FakeOpenAi::start(FakeConfig::default()).unwrap();
    let url = server.base_url();
    write_spec(dir.path(), &url, "");

    let first = run(dir.path());
    assert_eq!(first["steps"], 4, "{first}");
    assert_eq!((ran(&first), first["cached"].as_u64()), (4, Some(0)), "{first}");
    assert_eq!(server.completions(), 6);

    let out = dir.path().join("out");
    let subsets = out.join("data/scaling");
    assert_eq!(read_jsonl(&subsets.join("5.jsonl")).len(), 5);
    assert_eq!(read_jsonl(&subsets.join("20.jsonl")).len(), 20);
    let gens = read_jsonl(&out.join("generate/tiny/base/generations.jsonl"));
    assert_eq!(gens.len(), 6);
    let results = read_jsonl(&out.join("results/results.jsonl"));
    assert_eq!(results.len(), 1);
    let r = &results[0];
    assert_eq!((r["run"].as_str(), r["data_size"].as_u64()), (Some("tiny/base"), Some(0)));
    assert_eq!((r["n_problems"].as_u64(), r["n_samples"].as_u64()), (Some(3), Some(6)));
    // The fake server's answers print a digest: wrong on every problem.
    assert_eq!(r["pass_at_1"].as_f64(), Some(0.0));
    assert!(out.join("results").join(r["verdicts"].as_str().unwrap()).exists());

    // Every step carries its provenance.
    let m: Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("data/scaling/provenance.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(m["seeds"]["seed"], 1);
    assert_eq!(m["inputs"][0]["field"], "datasets.scaling.traces");
    assert!(m["data_manifest_sha256"].as_str().is_some_and(|h| h.len() == 64));
    assert!(m["git_revision"].as_str().is_some_and(|g| !g.is_empty()));
    assert!(m["hardware"]["cpus"].as_u64().unwrap() >= 1);
    let names: Vec<&str> =
        m["outputs"].as_array().unwrap().iter().map(|o| o["path"].as_str().unwrap()).collect();
    assert_eq!(names, ["20.jsonl", "5.jsonl", "manifest.json"]);

    // Status: every step done, with duration and outputs.
    let st = json_of(&valley(&["study", "status", "study.toml", "--json"], dir.path()));
    assert_eq!(st["counts"]["done"], 4, "{st}");
    let steps = st["steps"].as_array().unwrap();
    let ids: Vec<&str> = steps.iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["data/scaling", "generate/tiny/base", "eval/tiny/base", "results"]);
    for s in steps {
        assert_eq!(s["state"], "done", "{s}");
        assert!(s["duration_s"].as_f64().unwrap() >= 0.0);
    }
    let eval_outputs: Vec<&str> =
        steps[2]["outputs"].as_array().unwrap().iter().map(|o| o.as_str().unwrap()).collect();
    assert!(
        eval_outputs.contains(&"metrics.json") && eval_outputs.contains(&"verdicts.jsonl"),
        "{eval_outputs:?}"
    );
    assert_eq!(steps[2]["deps"][0], "generate/tiny/base");

    let v = json_of(&valley(&["study", "verify", "study.toml", "--json"], dir.path()));
    assert_eq!((v["ok"].as_u64(), v["mismatched"].as_u64()), (Some(4), Some(0)), "{v}");

    // Unchanged: nothing recomputed, no request sent.
    let again = run(dir.path());
    assert_eq!((ran(&again), again["cached"].as_u64()), (0, Some(4)), "{again}");
    assert_eq!(server.completions(), 6);

    // A judge setting changes eval and what reads it, not generation or data.
    write_spec(dir.path(), &url, "eval=timeout = 5");
    let s = run(dir.path());
    assert_eq!(ran(&s), 2, "{s}");
    assert_eq!(server.completions(), 6);

    // A sampling setting: generate, eval, results.
    write_spec(dir.path(), &url, "eval=timeout = 5;temperature=0.7");
    let s = run(dir.path());
    assert_eq!(ran(&s), 3, "{s}");
    assert_eq!(server.completions(), 12);
    assert_eq!(read_jsonl(&out.join("generate/tiny/base/generations.jsonl")).len(), 6);

    // The data seed: only the subsets (nothing reads them without a train step).
    write_spec(dir.path(), &url, "eval=timeout = 5;temperature=0.7;seed=2");
    let s = run(dir.path());
    assert_eq!(ran(&s), 1, "{s}");

    // Tampering with an output is caught.
    let metrics = out.join("eval/tiny/base/metrics.json");
    let text = std::fs::read_to_string(&metrics).unwrap().replacen(
        "\"pass_at_1\": 0.0",
        "\"pass_at_1\": 0.9",
        1,
    );
    std::fs::write(&metrics, text).unwrap();
    let v = valley(&["study", "verify", "study.toml"], dir.path());
    assert_eq!(v.status.code(), Some(1), "{}", String::from_utf8_lossy(&v.stderr));
    let stderr = String::from_utf8_lossy(&v.stderr);
    assert!(
        stderr.contains("eval/tiny/base") && stderr.contains("metrics.json: content changed"),
        "{stderr}"
    );
    // So is a changed spec: the existing outputs are stale.
    write_spec(dir.path(), &url, "eval=timeout = 5;temperature=0.7;seed=3");
    let v = json_of(&valley(&["study", "status", "study.toml", "--json"], dir.path()));
    assert_eq!(v["steps"][0]["state"], "pending", "{v}");
}

/// A fake server slow enough (150-250 ms a request) for a study to be interrupted mid-step.
fn slow_server() -> FakeOpenAi {
    FakeOpenAi::start(FakeConfig {
        min_latency: Duration::from_millis(150),
        max_latency: Duration::from_millis(250),
        ..FakeConfig::default()
    })
    .unwrap()
}

#[test]
fn a_study_killed_with_sigkill_resumes_and_completes() {
    let Some(_) = valley_test::judge_python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let server = slow_server();
    write_spec(dir.path(), &server.base_url(), "n=4");
    let mut child = Command::new(env!("CARGO_BIN_EXE_valley"))
        .args(["study", "run", "study.toml"])
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Kill it once generation is under way (some samples written, not all).
    let partial = dir.path().join("out/generate/tiny/.base.partial/generations.jsonl");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let lines = std::fs::read_to_string(&partial).map_or(0, |t| t.lines().count());
        if lines >= 2 {
            break;
        }
        assert!(Instant::now() < deadline, "generation never started");
        assert!(
            child.try_wait().unwrap().is_none(),
            "the study finished before it could be killed"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();

    let st = json_of(&valley(&["study", "status", "study.toml", "--json"], dir.path()));
    assert_eq!(st["steps"][0]["state"], "done", "{st}");
    assert_ne!(st["steps"][1]["state"], "done", "{st}");
    assert_eq!(st["counts"]["done"], 1, "{st}");

    let out = valley(&["study", "run", "study.toml", "--json"], dir.path());
    let summary = json_of(&out);
    assert_eq!(summary["cached"], 1, "{summary}");
    assert_eq!(ran(&summary), 3, "{summary}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("stale   generate/tiny/base"), "{stderr}");

    // Every sample exactly once, and the samples written before the kill were kept: at most the
    // one request in flight was sent twice.
    let gens = read_jsonl(&dir.path().join("out/generate/tiny/base/generations.jsonl"));
    let mut keys: Vec<(String, u64)> = gens
        .iter()
        .map(|g| {
            (g["question_id"].as_str().unwrap().to_owned(), g["sample_index"].as_u64().unwrap())
        })
        .collect();
    keys.sort();
    keys.dedup();
    assert_eq!((gens.len(), keys.len()), (12, 12));
    assert!(
        server.completions() <= 13,
        "{} completions: the resumed step started over",
        server.completions()
    );
    let st = json_of(&valley(&["study", "status", "study.toml", "--json"], dir.path()));
    assert_eq!(st["counts"]["done"], 4, "{st}");
    let v = json_of(&valley(&["study", "verify", "study.toml", "--json"], dir.path()));
    assert_eq!(v["mismatched"], 0, "{v}");
    assert!(!dir.path().join("out/generate/tiny/.base.partial").exists());
}

#[test]
fn bad_specs_are_refused_naming_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    write_spec(dir.path(), "http://127.0.0.1:9/v1", "eval=bogus-key = 1");
    let out = valley(&["study", "run", "study.toml"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("error: ")
            && stderr.contains("study.toml:29")
            && stderr.contains("bogus-key"),
        "{stderr}"
    );
    assert!(!dir.path().join("out").exists());

    write_spec(dir.path(), "http://127.0.0.1:9/v1", "");
    let spec = std::fs::read_to_string(dir.path().join("study.toml")).unwrap();
    std::fs::write(
        dir.path().join("study.toml"),
        spec.replace("path = \"model\"", "path = \"no-such-model\""),
    )
    .unwrap();
    let out = valley(&["study", "run", "study.toml"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("students.tiny.path") && stderr.contains("no-such-model"), "{stderr}");
}

#[test]
fn paper_dry_run_prints_its_steps_and_estimates() {
    let spec = repo().join("examples/paper.toml");
    let out = valley(&["study", "run", spec.to_str().unwrap(), "--dry-run", "--json"], &repo());
    let est = json_of(&out);
    assert_eq!(est["steps"].as_array().unwrap().len(), 61);
    assert_eq!(est["counts"]["train"], 14);
    assert_eq!(
        (est["counts"]["teacher"].as_u64(), est["counts"]["import"].as_u64()),
        (Some(2), Some(3))
    );
    assert!(est["gpu_hours"].as_f64().unwrap() > 0.0);
    // issue 13: the benchmark window and its counts (the LiveCodeBench files are not in the
    // repository: the count is [estimate]'s)
    let b = &est["benchmark"];
    assert_eq!(b["release"], "release_v5");
    assert_eq!((b["problems"].as_u64(), b["samples_per_problem"].as_u64()), (Some(279), Some(10)));
    assert_eq!(b["problems_source"], "estimate");
    let human = valley(&["study", "run", spec.to_str().unwrap(), "--dry-run"], &repo());
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(
        text.contains("train/qwen2.5/scaling-30000+correctness-correct")
            && text.contains("GPU-hours"),
        "{text}"
    );
    assert!(
        text.contains(
            "benchmark: LiveCodeBench release_v5, contest_date in [2024-08-01, 2025-02-01]: 279 problems (from [estimate] problems: "
        ) && text.contains(" is not there to count) x 10 samples = 2790 samples per run, 44640 over 16 generate steps"),
        "{text}"
    );
    for step in ["distill/questions", "distill/teacher/kat-v1-40b", "distill/taco-problems"] {
        assert!(text.contains(step), "{step} not listed: {text}");
    }
}

/// Issue 13: with the LiveCodeBench files there, the dry run counts the window's problems as
/// `generate` and `eval` read them, the estimate samples that many, and an `[estimate] problems`
/// that disagrees is called out.
#[test]
fn the_dry_run_counts_the_benchmark_window() {
    let dir = tempfile::tempdir().unwrap();
    let lcb = dir.path().join("lcb");
    std::fs::create_dir_all(&lcb).unwrap();
    let row = |id: &str, date: &str| {
        serde_json::json!({"question_id": id, "contest_date": format!("{date}T00:00:00"),
            "platform": "atcoder", "public_test_cases": "[]", "private_test_cases": "[]",
            "metadata": "{}"})
        .to_string()
    };
    // release_v2 is test.jsonl and test2.jsonl; test3.jsonl is not read
    let write = |name: &str, rows: &[String]| {
        std::fs::write(lcb.join(name), rows.join("\n") + "\n").unwrap();
    };
    write("test.jsonl", &[row("a", "2023-05-01"), row("b", "2023-09-02")]);
    write("test2.jsonl", &[row("c", "2023-12-01"), row("d", "2024-02-01")]);
    write("test3.jsonl", &[row("e", "2023-10-01")]);
    let paper = std::fs::read_to_string(repo().join("examples/paper.toml")).unwrap();
    let spec = paper
        .replace("problems = \"../data/livecodebench\"", "problems = \"lcb\"")
        .replace("release = \"release_v5\"", "release = \"release_v2\"")
        .replace("start-date = \"2024-08-01\"", "start-date = \"2023-09-01\"")
        .replace("end-date = \"2025-02-01\"", "end-date = \"2024-01-31\"");
    for set in ["\"lcb\"", "\"release_v2\"", "\"2023-09-01\"", "\"2024-01-31\""] {
        assert!(spec.contains(set), "examples/paper.toml changed: no {set}");
    }
    std::fs::write(dir.path().join("paper.toml"), &spec).unwrap();
    let est = json_of(&valley(&["study", "run", "paper.toml", "--dry-run", "--json"], dir.path()));
    let b = &est["benchmark"];
    assert_eq!((b["counted"].as_u64(), b["declared"].as_u64()), (Some(2), Some(279)), "{b}");
    assert_eq!(
        (b["problems_source"].as_str(), b["samples_total"].as_u64()),
        (Some("counted"), Some(2 * 10 * 16))
    );
    let g = est["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "generate/qwen2.5/base")
        .unwrap();
    assert_eq!(g["generate_tokens"], serde_json::json!(2.0 * 10.0 * (600.0 + 16000.0)));
    let text = valley(&["study", "run", "paper.toml", "--dry-run"], dir.path());
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("2 problems (counted in its files) x 10 samples"), "{text}");
    assert!(
        text.contains(
            "warning: the benchmark window holds 2 problems but [estimate] problems says 279"
        ),
        "{text}"
    );
    // the count agrees with [estimate]: no warning
    std::fs::write(dir.path().join("paper.toml"), spec.replace("problems = 279", "problems = 2"))
        .unwrap();
    let text = valley(&["study", "run", "paper.toml", "--dry-run"], dir.path());
    assert!(!String::from_utf8_lossy(&text.stdout).contains("warning"));
    // the same sampling without its seed: a rerun would draw other samples, and the dry run says so
    let seeded = spec.replace("problems = 279", "problems = 2");
    let unseeded = seeded.replace("seed = 2025\n# Requests in flight", "# Requests in flight");
    assert_ne!(seeded, unseeded, "examples/paper.toml changed: no [generate] seed");
    std::fs::write(dir.path().join("paper.toml"), unseeded).unwrap();
    let text = valley(&["study", "run", "paper.toml", "--dry-run"], dir.path());
    assert!(
        String::from_utf8_lossy(&text.stdout).contains(
            "warning: [generate] samples at temperature 0.2 without a seed: a rerun of the study"
        ),
        "{}",
        String::from_utf8_lossy(&text.stdout)
    );
    std::fs::write(dir.path().join("paper.toml"), seeded).unwrap();
    // a row the window cannot read is an error naming its file and line
    write("test2.jsonl", &[row("c", "2023-12-01"), "{\"question_id\": \"x\"}".into()]);
    let out = valley(&["study", "run", "paper.toml", "--dry-run"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("test2.jsonl:2: field `contest_date`"), "{stderr}");
}

/// Issue 15: the estimate trains for the epochs `valley train` will (its default, 5, when the
/// spec's `[train.train]` leaves `epochs` out), not for a default of its own.
#[test]
fn the_estimate_takes_its_epochs_from_the_train_plan() {
    let dir = tempfile::tempdir().unwrap();
    let paper = std::fs::read_to_string(repo().join("examples/paper.toml")).unwrap();
    assert_eq!(paper.matches("\nepochs = 5\n").count(), 1, "examples/paper.toml changed");
    let estimate = |name: &str, text: String| -> Value {
        let folder = dir.path().join(name);
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::write(folder.join("paper.toml"), text).unwrap();
        json_of(&valley(&["study", "run", "paper.toml", "--dry-run", "--json"], &folder))
    };
    let five = estimate("five", paper.clone());
    let unsaid = estimate("unsaid", paper.replace("\nepochs = 5\n", "\n"));
    let one = estimate("one", paper.replace("\nepochs = 5\n", "\nepochs = 1\n"));
    // (why the benchmark was not counted names each spec's own folder)
    let without_folder = |mut e: Value| {
        let why = e["benchmark"]["not_counted"].take();
        assert!(
            why.as_str().unwrap().ends_with("data/livecodebench is not there to count"),
            "{why}"
        );
        e
    };
    assert_eq!(without_folder(unsaid), without_folder(five.clone()));
    let tokens = |e: &Value| e["train_tokens"].as_f64().unwrap();
    assert!(tokens(&one) > 0.0);
    assert!((tokens(&five) - 5.0 * tokens(&one)).abs() < 1e-6 * tokens(&five), "{five}\n{one}");
    // A train config `valley train` would refuse is refused before anything runs.
    let bad = dir.path().join("bad");
    std::fs::create_dir_all(&bad).unwrap();
    std::fs::write(bad.join("paper.toml"), paper.replace("\nepochs = 5\n", "\nepochs = 0\n"))
        .unwrap();
    let out = valley(&["study", "run", "paper.toml", "--dry-run"], &bad);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("train/") && stderr.contains("epochs"), "{stderr}");
}

#[test]
fn slurm_backend_runs_a_tiny_study() {
    let Some(_) = valley_test::judge_python() else { return };
    if valley_test::gate::env("VALLEY_SLURM", "scripts/setup.d/70-slurm.sh (a one-node cluster)")
        .is_none()
    {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let server = FakeOpenAi::start(FakeConfig::default()).unwrap();
    write_spec(
        dir.path(),
        &server.base_url(),
        "study=backend = \"slurm\"\\n[slurm]\\npoll-seconds = 0.5",
    );
    let first = run(dir.path());
    assert_eq!((ran(&first), first["backend"].as_str()), (4, Some("slurm")), "{first}");
    let st = json_of(&valley(&["study", "status", "study.toml", "--json"], dir.path()));
    assert_eq!(st["counts"]["done"], 4, "{st}");
    assert!(st["steps"].as_array().unwrap().iter().all(|s| s["job_id"].as_str().is_some()), "{st}");
    let again = run(dir.path());
    assert_eq!(ran(&again), 0, "{again}");
    assert_eq!(server.completions(), 6);
}

#[test]
fn ctrl_c_stops_the_running_steps_and_a_rerun_finishes() {
    let Some(_) = valley_test::judge_python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let server = slow_server();
    write_spec(dir.path(), &server.base_url(), "n=4");
    let child = Command::new(env!("CARGO_BIN_EXE_valley"))
        .args(["study", "run", "study.toml"])
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let partial = dir.path().join("out/generate/tiny/.base.partial/generations.jsonl");
    let deadline = Instant::now() + Duration::from_secs(120);
    while std::fs::read_to_string(&partial).map_or(0, |t| t.lines().count()) < 1 {
        assert!(Instant::now() < deadline, "generation never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    let killed = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("interrupted"), "{stderr}");
    // The step was stopped, not left running behind the user's back.
    let st = json_of(&valley(&["study", "status", "study.toml", "--json"], dir.path()));
    assert_eq!(st["steps"][1]["state"], "pending", "{st}");
    assert_eq!(st["counts"]["running"], 0, "{st}");
    let summary = run(dir.path());
    assert_eq!(ran(&summary), 3, "{summary}");
    assert_eq!(read_jsonl(&dir.path().join("out/generate/tiny/base/generations.jsonl")).len(), 12);
}

/// A randomly initialised tiny Qwen2-shaped student (byte-level tokenizer) trained natively on 4
/// traces, then trained further from that checkpoint (the paper's continued stage), each served
/// by `valley serve`, sampled, judged, collected and reported: every kind of step, for real.
#[test]
fn tiny_native_student_trains_continues_serves_and_reports() {
    let Some(_) = valley_test::judge_python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let r = repo();
    let text = format!(
        r#"[study]
name = "tiny-train"
out = "out"

[benchmark]
problems = "{bench}"
limit = 2

[students.tiny]
tokenizer = "{tok}"
init = {{ family = "qwen2", hidden-size = 32, intermediate-size = 64, num-hidden-layers = 1, num-attention-heads = 2, num-key-value-heads = 1 }}

[datasets.scaling]
traces = "{traces}"
sizes = [4]
seed = 1

[[runs]]
students = ["tiny"]
data = ["scaling/4"]
from = ["base", "tiny/scaling-4"]

[train.train]
epochs = 1
global-batch = 4
micro-batch = 4
learning-rate = 3e-3
max-seq-len = 1024
gradient-checkpointing = false
precision = "fp32"

[train.data]
over-length = "truncate"

[train.compute]
backend = "native"
device = "cpu"
gpus-per-node = 1
sharding = "none"

[generate]
serve = true
n = 1
max-tokens = 8
"#,
        bench = r.join("examples/data/leetcode-lcb.jsonl").display(),
        tok = r.join("fixtures/tokenizers/byte-chatml").display(),
        traces = r.join("examples/train/data/tiny-traces.jsonl").display(),
    );
    std::fs::write(dir.path().join("study.toml"), text).unwrap();
    let s = run(dir.path());
    // data, 2 x (train, generate, eval), results, report
    assert_eq!((s["steps"].as_u64(), ran(&s)), (Some(9), 9), "{s}");
    let out = dir.path().join("out");
    let cfg =
        std::fs::read_to_string(out.join("train/tiny/scaling-4+scaling-4/train.toml")).unwrap();
    let init = cfg.lines().find(|l| l.starts_with("path = ")).unwrap_or_else(|| panic!("{cfg}"));
    // The first run's final checkpoint, in its published folder (not where it was trained).
    assert!(init.contains("/train/tiny/scaling-4/run/") && !init.contains(".partial"), "{init}");
    assert!(!cfg.contains("[model.init]"), "{cfg}");
    let results = read_jsonl(&out.join("results/results.jsonl"));
    assert_eq!(results.len(), 2);
    assert_eq!(results[1]["base"], "tiny/scaling-4");
    assert!(out.join("report/fit.json").exists());
    let again = run(dir.path());
    assert_eq!(ran(&again), 0, "{again}");
    let v = json_of(&valley(&["study", "verify", "study.toml", "--json"], dir.path()));
    assert_eq!((v["ok"].as_u64(), v["mismatched"].as_u64()), (Some(9), Some(0)), "{v}");
}

/// Issue 11: `[generate] engine = "vllm"` — the generate step starts the engine's servers on the
/// run's checkpoint (a stand-in `vllm` on PATH), two replicas, passes the engine flags through,
/// keeps their logs in the step's folder and leaves no server running.
fn engine_study(dir: &Path, extra_study: &str) -> (PathBuf, Vec<(String, String)>) {
    let bin = dir.join("bin");
    valley_test::install_fake_engine(&bin, &["vllm"]);
    write_spec(dir, "unused", &format!("study={extra_study}"));
    let spec = dir.join("study.toml");
    let text = std::fs::read_to_string(&spec).unwrap().replace(
        "endpoint = \"unused\"",
        "engine = \"vllm\"\nreplicas = 2\ncontext-length = 4096\nengine-args = [\"--gpu-memory-utilization\", \"0.5\"]",
    );
    std::fs::write(&spec, text).unwrap();
    let env = vec![
        (
            "PATH".to_owned(),
            format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default()),
        ),
        ("FAKE_ENGINE_RECORD".to_owned(), dir.join("argv.jsonl").display().to_string()),
        ("FAKE_ENGINE_LIFETIME_S".to_owned(), "300".to_owned()),
        ("FAKE_ENGINE_CHILD".to_owned(), "1".to_owned()),
    ];
    (spec, env)
}

fn run_with(dir: &Path, env: &[(String, String)]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_valley"))
        .args(["study", "run", "study.toml", "--json"])
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("CUDA_VISIBLE_DEVICES")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .unwrap();
    json_of(&out)
}

fn nothing_left(dir: &Path) {
    valley_test::assert_nothing_left(&[dir.to_str().unwrap()]);
}

#[test]
fn a_study_generates_through_an_engine_it_starts() {
    let Some(_) = valley_test::judge_python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (_, env) = engine_study(dir.path(), "");
    let first = run_with(dir.path(), &env);
    assert_eq!(ran(&first), 4, "{first}");
    let out = dir.path().join("out");
    assert_eq!(read_jsonl(&out.join("generate/tiny/base/generations.jsonl")).len(), 6);
    let argv = read_jsonl(&dir.path().join("argv.jsonl"));
    assert_eq!(argv.len(), 2, "{argv:?}");
    let words: Vec<&str> =
        argv[0]["argv"].as_array().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
    let line = words.join(" ");
    assert!(words[0] == "serve" && words[1].ends_with("/model"), "{line}");
    assert!(
        line.contains("--served-model-name tiny/base")
            && line.contains("--max-model-len 4096")
            && line.ends_with("--gpu-memory-utilization 0.5"),
        "{line}"
    );
    for i in 0..2 {
        let log = out.join(format!("generate/tiny/base/engine/replica-{i}.log"));
        assert!(std::fs::read_to_string(&log).unwrap().contains("fake engine: serving"));
    }
    nothing_left(dir.path());
    let again = run_with(dir.path(), &env);
    assert_eq!(ran(&again), 0, "{again}");
    assert_eq!(
        read_jsonl(&dir.path().join("argv.jsonl")).len(),
        2,
        "a cached step started servers"
    );
}

#[test]
fn slurm_generate_step_starts_the_engine_inside_its_job() {
    let Some(_) = valley_test::judge_python() else { return };
    if valley_test::gate::env("VALLEY_SLURM", "scripts/setup.d/70-slurm.sh (a one-node cluster)")
        .is_none()
    {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (_, env) = engine_study(dir.path(), "backend = \"slurm\"\\n[slurm]\\npoll-seconds = 0.5");
    let first = run_with(dir.path(), &env);
    assert_eq!((ran(&first), first["backend"].as_str()), (4, Some("slurm")), "{first}");
    let out = dir.path().join("out");
    assert_eq!(read_jsonl(&out.join("generate/tiny/base/generations.jsonl")).len(), 6);
    // each replica ran as a job step of the generate step's job
    let argv = read_jsonl(&dir.path().join("argv.jsonl"));
    assert_eq!(argv.len(), 2, "{argv:?}");
    assert!(argv.iter().all(|a| a["slurm_step_id"].as_str().is_some()), "{argv:?}");
    let log = std::fs::read_to_string(out.join("generate/tiny/base/engine/replica-0.log")).unwrap();
    assert!(log.contains("srun --nodes=1 --ntasks=1"), "{log}");
    nothing_left(dir.path());
}

#[test]
fn a_study_whose_judge_lacks_numpy_stops_before_any_step() {
    let Some((_env, python)) = valley_test::python_without_numpy() else { return };
    let dir = tempfile::tempdir().unwrap();
    write_spec(dir.path(), "http://127.0.0.1:9/v1", "");
    let out = Command::new(env!("CARGO_BIN_EXE_valley"))
        .args(["study", "run", "study.toml"])
        .current_dir(dir.path())
        .env(valley_test::JUDGE_PYTHON_ENV, &python)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("cannot import numpy") && stderr.contains(&python), "{stderr}");
    assert!(stderr.contains("lcb steps"), "{stderr}");
    // Nothing ran: no step folder was made.
    for kind in ["data", "generate", "eval"] {
        assert!(!dir.path().join("out").join(kind).exists(), "{kind} ran");
    }
}

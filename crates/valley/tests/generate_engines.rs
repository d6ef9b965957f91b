//! Issue 11: `valley generate --engine …` starts the engine's own servers (here a stand-in
//! engine on PATH that records its command line and serves a fake OpenAI API), spreads the
//! samples over the replicas, survives a replica's death with each sample once, reports a server
//! that fails to start with the end of its log, and leaves no process behind — on success,
//! failure or SIGTERM.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use valley_test::{assert_nothing_left, install_fake_engine, read_jsonl, sample_keys, write_jsonl};

struct Setup {
    dir: tempfile::TempDir,
    bin: PathBuf,
}

impl Setup {
    fn new(problems: usize) -> Setup {
        let dir = tempfile::tempdir().unwrap();
        install_fake_engine(&dir.path().join("bin"), &["vllm"]);
        let rows: Vec<Value> = (0..problems)
            .map(|i| json!({"question_id": format!("q{i}"), "question_content": format!("Problem {i}: print {i}.")}))
            .collect();
        write_jsonl(&dir.path().join("problems.jsonl"), &rows);
        std::fs::create_dir_all(dir.path().join("model")).unwrap();
        let bin = dir.path().join("bin");
        Setup { dir, bin }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn command(&self, args: &[&str], env: &[(&str, &str)]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_valley"));
        let path = format!("{}:{}", self.bin.display(), std::env::var("PATH").unwrap_or_default());
        c.args(args)
            .current_dir(self.path())
            .env("NO_COLOR", "1")
            .env("PATH", path)
            .env("FAKE_ENGINE_RECORD", self.path().join("argv.jsonl"))
            .env("FAKE_ENGINE_LIFETIME_S", "120")
            .env_remove("SLURM_JOB_ID")
            .env_remove("CUDA_VISIBLE_DEVICES");
        for (k, v) in env {
            c.env(k, v);
        }
        c
    }

    fn valley(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        self.command(args, env).output().unwrap()
    }

    fn argv(&self) -> Vec<Value> {
        let p = self.path().join("argv.jsonl");
        if p.exists() { read_jsonl(&p) } else { vec![] }
    }

    /// Nothing started from this test's folder is still running.
    fn assert_nothing_left(&self) {
        assert_nothing_left(&[self.path().to_str().unwrap()]);
    }
}

fn ok(out: &Output) -> Value {
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

/// (question, sample) pairs on file, each once.
fn exactly_once(path: &Path, problems: usize, n: u64) {
    let want: Vec<(String, u64)> =
        (0..problems).flat_map(|i| (0..n).map(move |s| (format!("q{i}"), s))).collect();
    let mut want = want;
    want.sort();
    assert_eq!(sample_keys(path), want);
}

const BASE: [&str; 11] = [
    "generate",
    "--engine",
    "vllm",
    "--model",
    "model",
    "--problems",
    "problems.jsonl",
    "--out",
    "gen.jsonl",
    "--max-tokens",
    "64",
];

#[test]
fn dry_run_prints_each_replicas_command_line_and_gpus() {
    let s = Setup::new(1);
    let mut args = BASE.to_vec();
    args.extend([
        "--replicas",
        "2",
        "--tensor-parallel",
        "2",
        "--gpus",
        "4,5,6,7",
        "--served-model-name",
        "run-1",
        "--context-length",
        "40960",
        "--engine-arg=--gpu-memory-utilization",
        "--engine-arg",
        "0.9",
        "--dry-run",
        "--json",
    ]);
    let v = ok(&s.valley(&args, &[]));
    let r = v["replicas"].as_array().unwrap();
    assert_eq!(r.len(), 2);
    assert_eq!(r[1]["env"]["CUDA_VISIBLE_DEVICES"], "6,7");
    let cmd: Vec<&str> =
        r[0]["command"].as_array().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
    assert_eq!(
        cmd.join(" "),
        "vllm serve model --host 127.0.0.1 --port {port} --served-model-name run-1 \
         --tensor-parallel-size 2 --max-model-len 40960 --gpu-memory-utilization 0.9"
    );
    assert!(s.argv().is_empty(), "a dry run started something");
    // too few GPUs, or a flag valley sets itself: refused before anything starts
    let mut bad = BASE.to_vec();
    bad.extend(["--replicas", "3", "--tensor-parallel", "2", "--gpus", "0,1,2,3", "--dry-run"]);
    let out = s.valley(&bad, &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs 6 GPUs; 4 available"));
    let mut bad = BASE.to_vec();
    bad.extend(["--engine-arg=--port", "--engine-arg=1", "--dry-run"]);
    let out = s.valley(&bad, &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--engine-arg --port"));
    // engine flags without --engine
    let out = s.valley(
        &[
            "generate",
            "--endpoint",
            "http://127.0.0.1:9/v1",
            "--model",
            "m",
            "--problems",
            "problems.jsonl",
            "--out",
            "g.jsonl",
            "--replicas",
            "2",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn two_replicas_share_the_work_and_nothing_is_left_running() {
    let s = Setup::new(6);
    let mut args = BASE.to_vec();
    args.extend(["--replicas", "2", "--gpus", "0,1", "--n", "2", "--concurrency", "2", "--json"]);
    let v = ok(&s.valley(&args, &[("FAKE_ENGINE_TOKEN_MS", "5"), ("FAKE_ENGINE_CHILD", "1")]));
    assert_eq!((v["planned"].as_u64(), v["written"].as_u64()), (Some(12), Some(12)), "{v}");
    let per: Vec<u64> =
        v["per_replica"].as_array().unwrap().iter().map(|x| x.as_u64().unwrap()).collect();
    assert_eq!(per.len(), 2);
    assert!(per.iter().all(|&c| c > 0), "one replica did all the work: {per:?}");
    exactly_once(&s.path().join("gen.jsonl"), 6, 2);
    // each replica was started as `vllm serve` on its own GPU and port
    let argv = s.argv();
    assert_eq!(argv.len(), 2);
    let gpus: Vec<&str> =
        argv.iter().map(|a| a["cuda_visible_devices"].as_str().unwrap()).collect();
    assert_eq!(gpus.iter().collect::<std::collections::BTreeSet<_>>().len(), 2, "{gpus:?}");
    assert_ne!(argv[0]["port"], argv[1]["port"]);
    assert_eq!(argv[0]["argv"][0], "serve");
    // the servers' logs are in the run's folder
    let log = std::fs::read_to_string(s.path().join("gen.engine/replica-0.log")).unwrap();
    assert!(
        log.contains("== valley: replica 0, start") && log.contains("fake engine: serving"),
        "{log}"
    );
    s.assert_nothing_left();
    // a rerun has nothing to send and starts no server
    let v = ok(&s.valley(&args, &[]));
    assert_eq!((v["already_done"].as_u64(), v["written"].as_u64()), (Some(12), Some(0)));
}

#[test]
fn a_replica_killed_mid_run_loses_no_sample() {
    let s = Setup::new(10);
    let mut args = BASE.to_vec();
    args.extend(["--replicas", "2", "--n", "3", "--concurrency", "2", "--json"]);
    let child = s
        .command(&args, &[("FAKE_ENGINE_TOKEN_MS", "10")])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // once some samples are on file, kill replica 0's server outright
    let out_file = s.path().join("gen.jsonl");
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::fs::read_to_string(&out_file).map_or(0, |t| t.lines().count()) < 4 {
        assert!(Instant::now() < deadline, "generation never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    let first = s.argv()[0]["pid"].as_u64().unwrap();
    assert!(Command::new("kill").args(["-KILL", &first.to_string()]).status().unwrap().success());
    let out = child.wait_with_output().unwrap();
    let v = ok(&out);
    assert_eq!((v["planned"].as_u64(), v["failed"].as_u64()), (Some(30), Some(0)), "{v}");
    exactly_once(&out_file, 10, 3);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("'s server exited"), "{stderr}");
    // it was restarted (the restart is in its log)
    let logs: String = (0..2)
        .map(|i| {
            std::fs::read_to_string(s.path().join(format!("gen.engine/replica-{i}.log"))).unwrap()
        })
        .collect();
    assert!(logs.contains(", restart 1 (port"), "{logs}");
    s.assert_nothing_left();
}

#[test]
fn a_server_that_fails_to_start_gives_exit_2_with_its_log() {
    let s = Setup::new(2);
    let mut args = BASE.to_vec();
    args.extend(["--replicas", "2"]);
    let out = s.valley(&args, &[("FAKE_ENGINE_MODE", "exit")]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("\nerror: ")
            && stderr.contains("exited")
            && stderr.contains("CUDA out of memory"),
        "{stderr}"
    );
    assert!(
        !s.path().join("gen.jsonl").exists() || read_jsonl(&s.path().join("gen.jsonl")).is_empty()
    );
    s.assert_nothing_left();

    // never healthy within the limit
    let mut args = BASE.to_vec();
    args.extend(["--engine-timeout", "1"]);
    let out = s.valley(&args, &[("FAKE_ENGINE_MODE", "hang"), ("FAKE_ENGINE_CHILD", "1")]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("did not answer /health within 1s") && stderr.contains("fake engine: pid"),
        "{stderr}"
    );
    s.assert_nothing_left();

    // a port taken at start is retried on another port
    let marker = s.path().join("clashed");
    let mode = format!("clash-once:{}", marker.display());
    let mut args = BASE.to_vec();
    args.extend(["--n", "1", "--json"]);
    let v = ok(&s.valley(&args, &[("FAKE_ENGINE_MODE", &mode)]));
    assert_eq!(v["written"], 2, "{v}");
    let ports: Vec<u64> =
        s.argv().iter().rev().take(2).map(|a| a["port"].as_u64().unwrap()).collect();
    assert_ne!(ports[0], ports[1]);
    s.assert_nothing_left();
}

#[test]
fn sigterm_stops_every_server() {
    let s = Setup::new(10);
    let mut args = BASE.to_vec();
    args.extend(["--replicas", "2", "--n", "4", "--concurrency", "1"]);
    let mut child = s
        .command(&args, &[("FAKE_ENGINE_TOKEN_MS", "20"), ("FAKE_ENGINE_CHILD", "1")])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out_file = s.path().join("gen.jsonl");
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::fs::read_to_string(&out_file).map_or(0, |t| t.lines().count()) < 2 {
        assert!(Instant::now() < deadline, "generation never started");
        assert!(child.try_wait().unwrap().is_none(), "finished before the signal");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap().success()
    );
    let status = child.wait().unwrap();
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    s.assert_nothing_left();
    // what was written is kept, and a rerun finishes the job
    let mut args = args.clone();
    args.push("--json");
    let v = ok(&s.valley(&args, &[]));
    assert!(v["already_done"].as_u64().unwrap() >= 2, "{v}");
    exactly_once(&out_file, 10, 4);
    s.assert_nothing_left();
}

#[test]
fn several_endpoints_share_the_work() {
    let servers: Vec<_> = (0..2)
        .map(|_| valley_test::FakeOpenAi::start(valley_test::FakeConfig::default()).unwrap())
        .collect();
    let s = Setup::new(8);
    let out = s.valley(
        &[
            "generate",
            "--endpoint",
            &servers[0].base_url(),
            "--endpoint",
            &servers[1].base_url(),
            "--model",
            "m",
            "--problems",
            "problems.jsonl",
            "--out",
            "gen.jsonl",
            "--n",
            "2",
            "--concurrency",
            "2",
            "--json",
        ],
        &[],
    );
    let v = ok(&out);
    assert_eq!(v["written"], 16, "{v}");
    assert!(servers.iter().all(|s| s.completions() > 0));
    // (a straggler may have been sent twice; it is on file once)
    assert!(servers.iter().map(valley_test::FakeOpenAi::completions).sum::<u64>() >= 16);
    exactly_once(&s.path().join("gen.jsonl"), 8, 2);
}

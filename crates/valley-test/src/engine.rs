//! A stand-in inference engine (`python/fake_engine.py`): installed into a folder under the
//! names valley looks up (`vllm`, …), it records its command line and serves a fake OpenAI API
//! with a fixed per-token latency; and a check that no process of a test is left behind.

use std::path::{Path, PathBuf};

/// The stand-in's source.
pub const FAKE_ENGINE: &str = include_str!("../python/fake_engine.py");

/// Writes the stand-in engine into `dir` as `fake-engine` and under each of `names` (such as
/// `vllm`), executable, run by the `python3` found on `PATH` now; returns `dir/fake-engine`.
pub fn install_fake_engine(dir: &Path, names: &[&str]) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let python = which("python3").unwrap_or_else(|| PathBuf::from("/usr/bin/python3"));
    let text =
        FAKE_ENGINE.replacen("#!/usr/bin/env python3", &format!("#!{}", python.display()), 1);
    std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let main = dir.join("fake-engine");
    for name in std::iter::once("fake-engine").chain(names.iter().copied()) {
        let path = dir.join(name);
        std::fs::write(&path, &text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
    main
}

/// An executable on `PATH`.
pub fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file())
}

/// Processes (pid, command line) whose command line mentions `marker` (a test's temp folder),
/// zombies excluded.
pub fn processes_mentioning(marker: &str) -> Vec<(u32, String)> {
    let Ok(dir) = std::fs::read_dir("/proc") else { return vec![] };
    let me = std::process::id();
    dir.filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()))
        .filter(|&pid| pid != me)
        .filter_map(|pid| {
            let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
            let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
            let stat = Stat::read(pid)?;
            (cmd.contains(marker) && stat.state != "Z").then_some((pid, cmd))
        })
        .collect()
}

/// What `/proc/<pid>/stat` says of a process: its state and when it started (clock ticks after
/// boot).
struct Stat {
    state: String,
    start: u64,
}

impl Stat {
    fn read(pid: u32) -> Option<Self> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // after the command name in parentheses: state (field 3) … starttime (field 22)
        let fields: Vec<&str> = stat[stat.rfind(')')? + 1..].split_whitespace().collect();
        Some(Self { state: fields.first()?.to_string(), start: fields.get(19)?.parse().ok()? })
    }
}

/// Processes mentioning `marker` that started after this test process did: the ones a test can
/// have started. A server the setup left running on the same model file is not one of them.
fn processes_started_since_me(marker: &str) -> Vec<(u32, String)> {
    let me = Stat::read(std::process::id()).map_or(0, |s| s.start);
    processes_mentioning(marker)
        .into_iter()
        .filter(|(pid, _)| Stat::read(*pid).is_some_and(|s| s.start >= me))
        .collect()
}

/// Panics unless, within 10 seconds, no process that started after this test process mentions
/// any of `markers` (a test's temp folder, a model file): what "leaves no process behind" means
/// in a test. Processes older than the test (a server the setup started on the same model) are
/// not the test's.
pub fn assert_nothing_left(markers: &[&str]) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let left: Vec<(u32, String)> =
            markers.iter().flat_map(|m| processes_started_since_me(m)).collect();
        if left.is_empty() {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "left running: {left:?}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// The (question_id, sample_index) keys of a generations file, sorted, duplicates kept.
pub fn sample_keys(path: &Path) -> Vec<(String, u64)> {
    let mut keys: Vec<(String, u64)> = crate::read_jsonl(path)
        .iter()
        .map(|g| {
            let q = g["question_id"].as_str().unwrap_or_else(|| panic!("no question_id: {g}"));
            let i = g["sample_index"].as_u64().unwrap_or_else(|| panic!("no sample_index: {g}"));
            (q.to_owned(), i)
        })
        .collect();
    keys.sort();
    keys
}

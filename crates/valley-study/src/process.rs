//! Process identity and cleanup without `unsafe`: a pid together with its start time (field 22
//! of `/proc/<pid>/stat`, clock ticks since boot) names one process even after the pid is
//! reused, so a `running` state left by a killed `valley study run` is told apart from a live
//! one. Signals go through `nix` (`killpg`), not a `kill` subprocess.

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

/// The start time of process `pid`, or `None` when it does not exist (or is a zombie).
pub(crate) fn start_time(pid: u32) -> Option<i64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: split after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state); field 22 is at index 19.
    if fields.first() == Some(&"Z") {
        return None;
    }
    fields.get(19)?.parse().ok()
}

/// Whether the process `pid` that started at `start` is still alive.
pub(crate) fn alive(pid: u32, start: i64) -> bool {
    start_time(pid) == Some(start)
}

/// Stops the process group `pgid` (each step runs in a group of its own, so its children — the
/// judge's interpreters, a `valley generate` — go with it): SIGTERM first, so that a `valley
/// generate` stops the engine servers it started (they run in process groups of their own),
/// then SIGKILL once the whole group has exited or `grace` has passed. The caller reaps the
/// leader only after, so the group's id cannot have been reused in between.
pub(crate) fn stop_group(pgid: u32, grace: std::time::Duration) {
    signal_group(Signal::SIGTERM, pgid);
    let deadline = std::time::Instant::now() + grace;
    while group_alive(pgid) && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    signal_group(Signal::SIGKILL, pgid);
}

/// Whether a process of group `pgid` is still running (zombies aside).
fn group_alive(pgid: u32) -> bool {
    let Ok(dir) = std::fs::read_dir("/proc") else { return false };
    dir.filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()))
        .any(|pid| {
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                return false;
            };
            let Some(at) = stat.rfind(')') else { return false };
            let mut f = stat[at + 1..].split_whitespace();
            let state = f.next().unwrap_or("Z");
            let pgrp = f.nth(1).and_then(|g| g.parse::<u32>().ok());
            pgrp == Some(pgid) && state != "Z" && state != "X"
        })
}

fn signal_group(signal: Signal, pgid: u32) {
    let Ok(pgid) = i32::try_from(pgid) else { return };
    // The group may be gone already (ESRCH): nothing is left to signal.
    let _ = killpg(Pid::from_raw(pgid), signal);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_a_made_up_start_is_not() {
        let me = std::process::id();
        let start = start_time(me).expect("own /proc entry");
        assert!(alive(me, start));
        assert!(!alive(me, start + 1));
    }

    #[test]
    fn a_killed_group_dies() {
        use std::os::unix::process::CommandExt;
        let mut child =
            std::process::Command::new("sleep").arg("30").process_group(0).spawn().unwrap();
        let pid = child.id();
        let start = start_time(pid).unwrap();
        stop_group(pid, std::time::Duration::from_secs(5));
        let status = child.wait().unwrap();
        assert!(!status.success());
        assert!(!alive(pid, start));
    }
}

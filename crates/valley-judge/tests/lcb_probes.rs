//! The `lcb` profile against the reference grader's verdicts on our probes of every idiom in
//! research/judge-spec.md §1 (fixtures/lcb_probes.jsonl; expected verdicts produced by running
//! nvidia-livecodebench 26.3 through tools/lcb-baseline/run_baseline.py), under the judge's
//! declared environment (`VALLEY_JUDGE_PYTHON`, made by setup; LCB's own has numpy).

use valley_judge::{
    Judge, JudgeConfig, JudgeError, Profile, Task, lcb_reference_class, parse_problem,
};

/// A judge under the declared environment, or `None` (a gated skip naming what is missing)
/// where there is none or this machine cannot sandbox.
pub fn judge(config: JudgeConfig) -> Option<Judge> {
    let python = valley_test::judge_python()?;
    match (JudgeConfig { python, ..config }).init() {
        Ok(j) => Some(j),
        Err(e @ JudgeError::Sandbox(_)) => {
            valley_test::gate::skip(e, JUDGE_HOW);
            None
        }
        Err(e) => panic!("judge failed to start: {e}"),
    }
}

const JUDGE_HOW: &str = "the tests run as root on a Linux kernel that allows user, PID, mount \
                         and network namespaces";

#[test]
fn lcb_profile_agrees_with_the_reference_on_every_probe() {
    check_expected_verdicts(include_str!("fixtures/lcb_probes.jsonl"));
}

/// `tools/lcb-baseline/sample.jsonl` of the shared folder (not copied here: no license stated):
/// `VALLEY_SHARED`, else `../shared` beside the repository (where CI has it); a gated test.
#[test]
fn lcb_profile_agrees_with_the_reference_on_the_baseline_sample() {
    let shared = std::env::var_os("VALLEY_SHARED").map_or_else(
        || std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"),
        std::path::PathBuf::from,
    );
    let Some(sample) = valley_test::gate::path(
        shared.join("tools/lcb-baseline/sample.jsonl"),
        "the project's shared folder beside the repository, or set $VALLEY_SHARED to it",
    ) else {
        return;
    };
    check_expected_verdicts(&std::fs::read_to_string(sample).unwrap());
}

fn check_expected_verdicts(jsonl: &str) {
    let Some(judge) = judge(JudgeConfig { profile: Profile::Lcb, jobs: 2, ..Default::default() })
    else {
        return;
    };
    let rows: Vec<serde_json::Value> =
        jsonl.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let problems: Vec<_> = rows.iter().map(|r| parse_problem(r, None).unwrap()).collect();
    let tasks: Vec<Task<'_>> = rows
        .iter()
        .zip(&problems)
        .map(|(r, p)| Task {
            candidate_id: r["candidate_id"].as_str().unwrap().into(),
            code: Some(r["code"].as_str().unwrap().into()),
            problem: p,
        })
        .collect();
    let records = judge.run(&tasks, &|_| {});
    let mut mismatches = Vec::new();
    for (r, rec) in rows.iter().zip(&records) {
        let want = r["expected_verdict"].as_str().unwrap();
        let got = lcb_reference_class(rec);
        if got != want {
            mismatches.push(format!(
                "{}: reference {want}, ours {got} ({:?})",
                rec.candidate_id, rec.first_failure
            ));
        }
    }
    assert!(mismatches.is_empty(), "{} mismatches:\n{}", mismatches.len(), mismatches.join("\n"));
    assert!(records.iter().all(|r| r.profile == "lcb" && r.python.starts_with('3')));
}

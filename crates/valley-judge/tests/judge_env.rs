//! The judge's declared Python environment (issue 13): an interpreter without numpy cannot judge
//! the lcb or taco profiles (an error naming numpy before any program runs, never a verdict
//! blamed on a candidate); any interpreter path works, a virtual environment under /tmp
//! included (the sandbox's private /tmp must not hide it); and under the declared environment a
//! program using numpy passes while one importing a module that is not installed fails as it
//! does under the reference graders.

use std::path::Path;

use valley_judge::{JudgeConfig, JudgeError, Profile, Task};
use valley_types::{Problem, ProblemFormat, TestCase, TestStyle, Verdict};

fn add_problem() -> Problem {
    Problem {
        question_id: "add".into(),
        style: TestStyle::Stdin,
        tests: vec![
            TestCase { input: "1 2\n".into(), output: "3\n".into() },
            TestCase { input: "5 5\n".into(), output: "10\n".into() },
        ],
        difficulty: None,
        platform: None,
        contest_date: None,
        format: ProblemFormat::Lcb,
    }
}

fn skip(e: &JudgeError) {
    valley_test::gate::skip(
        e,
        "the tests run as root on a Linux kernel that allows user, PID, mount and network \
         namespaces",
    );
}

#[test]
fn an_interpreter_without_numpy_cannot_judge_lcb_or_taco_and_the_error_names_numpy() {
    let Some((_dir, python)) = valley_test::python_without_numpy() else { return };
    for profile in [Profile::Lcb, Profile::Taco, Profile::TacoStrict] {
        let config = JudgeConfig { profile, jobs: 1, python: python.clone(), ..Default::default() };
        match config.init() {
            Err(JudgeError::MissingModule { module, profile: p, python: py, reason, .. }) => {
                assert_eq!(module, "numpy");
                assert_eq!((p.as_str(), py.as_str()), (profile.name(), python.as_str()));
                assert!(reason.contains("No module named 'numpy'"), "{reason}");
            }
            other => panic!("{profile}: expected a missing-numpy error, got {other:?}"),
        }
    }
    let err = JudgeConfig { profile: Profile::Taco, python: python.clone(), ..Default::default() }
        .init()
        .unwrap_err()
        .to_string();
    assert!(err.contains("cannot import numpy, which the taco profile needs"), "{err}");
}

#[test]
fn a_virtual_environment_under_tmp_judges_inside_the_sandbox() {
    let Some((_dir, python)) = valley_test::python_without_numpy() else { return };
    assert!(Path::new(&python).starts_with("/tmp"));
    // strict needs nothing beyond the standard library, so this interpreter may judge it.
    let config = JudgeConfig { profile: Profile::Strict, jobs: 1, python, ..Default::default() };
    let judge = match config.init() {
        Ok(j) => j,
        Err(e @ JudgeError::Sandbox(_)) => return skip(&e),
        Err(e) => panic!("{e}"),
    };
    let problem = add_problem();
    let task = |id: &str, code: &str| Task {
        candidate_id: id.into(),
        code: Some(code.into()),
        problem: &problem,
    };
    let tasks = [
        task("litter", "import os\nopen('/tmp/left-behind', 'w').write('x')\nprint(3)"),
        task("ok", "a, b = map(int, input().split())\nprint(a + b)"),
        task("wa", "print(3)"),
        task("ok-again", "import sys\nprint(sum(map(int, sys.stdin.read().split())))"),
    ];
    let records = judge.run(&tasks, &|_| {});
    let verdicts: Vec<Verdict> = records.iter().map(|r| r.verdict).collect();
    assert_eq!(
        verdicts,
        [Verdict::WrongAnswer, Verdict::Accepted, Verdict::WrongAnswer, Verdict::Accepted],
        "{records:#?}"
    );
    assert!(judge.environment().packages.iter().any(|p| p.module == "numpy" && p.found.is_none()));
}

/// An interpreter reached through a linked folder (a checkout or home directory behind a
/// symlink, common on clusters) starts inside the sandbox, which binds only canonical paths.
#[test]
fn a_virtual_environment_behind_a_linked_folder_judges_inside_the_sandbox() {
    let Some((dir, python)) = valley_test::python_without_numpy() else { return };
    let links = tempfile::tempdir().unwrap();
    let link = links.path().join("linked");
    std::os::unix::fs::symlink(dir.path(), &link).unwrap();
    let via = link.join(Path::new(&python).strip_prefix(dir.path()).unwrap());
    let python = via.to_str().unwrap().to_owned();
    let config = JudgeConfig { profile: Profile::Strict, jobs: 1, python, ..Default::default() };
    let judge = match config.init() {
        Ok(j) => j,
        Err(e @ JudgeError::Sandbox(_)) => return skip(&e),
        Err(e) => panic!("{e}"),
    };
    let problem = add_problem();
    let task = Task {
        candidate_id: "ok".into(),
        code: Some("a, b = map(int, input().split())\nprint(a + b)".into()),
        problem: &problem,
    };
    let records = judge.run(&[task], &|_| {});
    assert_eq!(records[0].verdict, Verdict::Accepted, "{records:#?}");
}

#[test]
fn under_the_declared_environment_numpy_programs_pass_and_missing_modules_stay_failures() {
    let Some(python) = valley_test::judge_python() else { return };
    let problem = add_problem();
    let numpy = "import numpy as np\na, b = map(int, input().split())\nprint(int(np.int64(a) + b))";
    let missing = "import valley_no_such_module\nprint(3)";
    for (profile, missing_verdict) in
        [(Profile::Lcb, Verdict::RuntimeError), (Profile::Taco, Verdict::CompileError)]
    {
        let config = JudgeConfig { profile, jobs: 1, python: python.clone(), ..Default::default() };
        let judge = match config.init() {
            Ok(j) => j,
            Err(e @ JudgeError::Sandbox(_)) => return skip(&e),
            Err(e) => panic!("{profile}: {e}"),
        };
        let env = judge.environment();
        assert!(
            env.off_pin().is_empty(),
            "{profile}: the declared environment is off its pins: {env:?}"
        );
        let tasks = [
            Task { candidate_id: "numpy".into(), code: Some(numpy.into()), problem: &problem },
            Task { candidate_id: "missing".into(), code: Some(missing.into()), problem: &problem },
        ];
        let records = judge.run(&tasks, &|_| {});
        assert_eq!(records[0].verdict, Verdict::Accepted, "{profile}: {:?}", records[0]);
        assert_eq!(records[1].verdict, missing_verdict, "{profile}: {:?}", records[1]);
        let reason = &records[1].first_failure.as_ref().unwrap().reason;
        assert!(reason.contains("valley_no_such_module"), "{profile}: {reason}");
    }
}

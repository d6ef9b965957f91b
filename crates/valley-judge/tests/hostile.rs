//! The hostile-program suite: fork and memory bombs, disk fill, output flood, sleeping and
//! spinning forever, network, writing outside, reading secrets, killing the parent, daemons.
//! In every profile each gets its verdict, the host is untouched, and the next program (the
//! correct one, judged last on the same worker) is judged normally. Runs under the judge's
//! declared environment (`VALLEY_JUDGE_PYTHON`, made by setup).

use std::io::ErrorKind;
use std::net::TcpListener;

use valley_judge::{JudgeConfig, JudgeError, Profile, Task};
use valley_types::{Problem, ProblemFormat, TestCase, TestStyle, Verdict};

const PROGRAMS: [(&str, &str); 13] = [
    ("fork_bomb", include_str!("fixtures/hostile/fork_bomb.py")),
    ("memory_bomb", include_str!("fixtures/hostile/memory_bomb.py")),
    ("disk_fill", include_str!("fixtures/hostile/disk_fill.py")),
    ("output_flood", include_str!("fixtures/hostile/output_flood.py")),
    ("sleep_forever", include_str!("fixtures/hostile/sleep_forever.py")),
    ("spin_forever", include_str!("fixtures/hostile/spin_forever.py")),
    ("network", include_str!("fixtures/hostile/network.py")),
    ("write_outside", include_str!("fixtures/hostile/write_outside.py")),
    ("read_secret", include_str!("fixtures/hostile/read_secret.py")),
    ("read_env", include_str!("fixtures/hostile/read_env.py")),
    ("kill_parent", include_str!("fixtures/hostile/kill_parent.py")),
    ("daemonize", include_str!("fixtures/hostile/daemonize.py")),
    ("correct", include_str!("fixtures/hostile/correct.py")),
];

const SECRET: &str = "valley-secret-7f3a";

const SANDBOX_HOW: &str = "the tests run as root on a Linux kernel that allows user, PID, mount \
                           and network namespaces";

fn problem(name: &str, expected: &str) -> Problem {
    Problem {
        question_id: name.into(),
        style: TestStyle::Stdin,
        tests: vec![TestCase { input: "ok\n".into(), output: format!("{expected}\n").into() }],
        difficulty: None,
        platform: None,
        contest_date: None,
        format: ProblemFormat::Lcb,
    }
}

/// Verdicts allowed by the program's first line, `# expect: V [V…]`.
fn expected(src: &str) -> Vec<Verdict> {
    let line = src.lines().next().unwrap();
    let codes = line.strip_prefix("# expect:").expect("first line names the verdict");
    codes.split_whitespace().map(|c| Verdict::from_code(c).unwrap()).collect()
}

#[test]
fn hostile_programs_fail_and_leave_the_host_untouched_in_every_profile() {
    let Some(python) = valley_test::judge_python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret.txt");
    std::fs::write(&secret, SECRET).unwrap();
    let outside = dir.path().join("escaped.txt");
    // A variable of the judge's own environment that must not reach graded programs.
    let sandbox_vars = ["PATH", "HOME", "TMPDIR", "LANG", "PWD", "OLDPWD", "SHLVL", "_"];
    let (env_name, env_value) = std::env::vars()
        .find(|(k, v)| {
            !sandbox_vars.contains(&k.as_str())
                && !k.starts_with("VALLEY_JUDGE")
                && !k.contains("THREADS")
                && !v.trim().is_empty()
                && !v.contains('\n')
                && v.trim() == v
        })
        .expect("the test runs with some environment variable");
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let marker = format!("valley-hostile-daemon-{}", std::process::id());
    let fill = |src: &str| {
        src.replace("{SECRET_PATH}", &secret.display().to_string())
            .replace("{PORT}", &port)
            .replace("{OUTSIDE}", &outside.display().to_string())
            .replace("{MARKER}", &marker)
            .replace("{ENV_NAME}", &env_name)
    };
    let problems: Vec<Problem> = PROGRAMS
        .iter()
        .map(|(name, _)| {
            let expected = match *name {
                "read_secret" => SECRET,
                "read_env" => env_value.as_str(),
                _ => "ok",
            };
            problem(name, expected)
        })
        .collect();
    for profile in [Profile::Lcb, Profile::Taco, Profile::Strict] {
        let config = JudgeConfig {
            profile,
            jobs: 1,
            timeout: Some(2.0),
            memory_mb: Some(512),
            python: python.clone(),
            ..Default::default()
        };
        let judge = match config.init() {
            Ok(j) => j,
            Err(e @ JudgeError::Sandbox(_)) => {
                valley_test::gate::skip(e, SANDBOX_HOW);
                return;
            }
            Err(e) => panic!("{e}"),
        };
        let tasks: Vec<Task<'_>> = PROGRAMS
            .iter()
            .zip(&problems)
            .map(|((name, src), p)| Task {
                candidate_id: (*name).into(),
                code: Some(fill(src)),
                problem: p,
            })
            .collect();
        let records = judge.run(&tasks, &|_| {});
        let mut wrong = Vec::new();
        for ((name, src), r) in PROGRAMS.iter().zip(&records) {
            let allowed = expected(src);
            if !allowed.contains(&r.verdict) {
                wrong.push(format!(
                    "{profile}/{name}: {} ({:?}), expected {allowed:?}",
                    r.verdict, r.first_failure
                ));
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
        assert!(!outside.exists(), "{profile}: a program wrote outside the sandbox");
        assert_eq!(
            listener.accept().map(|_| ()).unwrap_err().kind(),
            ErrorKind::WouldBlock,
            "{profile}: network reached"
        );
        let ps = std::process::Command::new("ps").args(["-eo", "args"]).output().unwrap();
        assert!(
            !String::from_utf8_lossy(&ps.stdout).contains(&marker),
            "{profile}: a daemon outlived its record"
        );
    }
}

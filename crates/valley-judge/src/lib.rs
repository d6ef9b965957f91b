//! Judges candidate programs against a problem's tests, inside `valley-sandbox`.
//!
//! Profiles reproduce the graders the study is compared with: [`Profile::Lcb`] gives
//! LiveCodeBench's verdicts (nvidia-livecodebench 26.3) verdict for verdict, [`Profile::Taco`]
//! TACO's labelling rules, [`Profile::Strict`] a DMOJ-style judge with CPU and memory limits.
//! Programs run in a warm Python interpreter (the "zygote", `python/zygote.py`) that forks one
//! grading child per record and runs all of the record's tests in it; one zygote per worker, each
//! in its own sandbox.
//!
//! The main types: [`JudgeConfig`] (settings) builds a [`Judge`]; [`Task`] is one candidate on
//! one problem; [`parse_problem`] reads LiveCodeBench, TACO and assert-style rows; [`env`](mod@env) is the
//! judge's declared Python environment (pinned packages, the check every judge runs at start,
//! and making a virtual environment that holds them).
//!
//! ```no_run
//! use valley_judge::{Judge, JudgeConfig, Profile, Task, parse_problem};
//! let row = serde_json::json!({"question_id": "add", "public_test_cases": "[{\"input\": \"1 2\\n\", \"output\": \"3\\n\", \"testtype\": \"stdin\"}]", "metadata": "{}"});
//! let problem = parse_problem(&row, None)?;
//! let judge = JudgeConfig { profile: Profile::Lcb, ..Default::default() }.init()?;
//! let code = "a, b = map(int, input().split())\nprint(a + b)".to_string();
//! let task = Task { candidate_id: "c1".into(), code: Some(code), problem: &problem };
//! let records = judge.run(&[task], &|_| {});
//! assert!(records[0].correct());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod admit;
pub mod env;
mod error;
mod interpreter;
mod judge;
mod parse;
mod pickle;
mod profile;
mod protocol;
mod python;
mod worker;

pub use admit::AdmitProblemError;
pub use error::{JudgeError, ParseProblemError};
pub use interpreter::Interpreter;
pub use judge::{Judge, JudgeConfig, Task, lcb_reference_class};
pub use parse::{decode_test_list, parse_problem, problem_id};
pub use profile::Profile;
pub use valley_sandbox::{Protection, Protections};

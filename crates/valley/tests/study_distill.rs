//! Issue 12: a scaled-down copy of examples/paper.toml's `[distill]` data run for real — the
//! OCR2-shaped fixture with its TACO, CodeContests and Codeforces rows, one teacher of a recipe
//! served by the fake OpenAI server (which solves three TACO problems), traces through the named
//! filter, decontaminated against the benchmark, TACO problems, labels and splits — then rerun
//! with nothing recomputed. The run labels traces, so it needs the judge's declared environment
//! (`VALLEY_JUDGE_PYTHON`; a gated skip without it).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use valley_test::{FakeConfig, FakeOpenAi, read_jsonl};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn fixture(name: &str) -> String {
    repo().join("fixtures/import").join(name).display().to_string()
}

fn valley(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_valley"))
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn json_of(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The fake teacher answers the TACO questions at these positions with the code that solves
/// them (the fixture's own responses, accepted on the questions' sample tests), and every other
/// question with `fake_response`'s.
const SOLVED: [u64; 3] = [0, 1, 8];

fn teacher() -> FakeOpenAi {
    let taco = read_jsonl(Path::new(&fixture("taco-test-head.jsonl")));
    let ocr2 = read_jsonl(Path::new(&fixture("ocr2-python.jsonl")));
    let answers = SOLVED
        .iter()
        .map(|&i| {
            let question = taco[i as usize]["question"].as_str().unwrap();
            let needle: String = question.chars().take(120).collect();
            let row = ocr2
                .iter()
                .find(|r| {
                    r["dataset"] == "taco"
                        && r["index"].as_str().and_then(|s| s.parse::<u64>().ok()) == Some(i)
                })
                .unwrap();
            (needle, row["r1_generation"].as_str().unwrap().to_owned())
        })
        .collect();
    FakeOpenAi::start(FakeConfig { answers, ..FakeConfig::default() }).unwrap()
}

fn write_spec(dir: &Path, url: &str) {
    std::fs::create_dir_all(dir.join("model")).unwrap();
    std::fs::write(dir.join("model/weights.bin"), b"not really weights").unwrap();
    std::fs::write(
        dir.join("teachers.toml"),
        "[teachers.fake-r1]\nmodel = \"fake/R1\"\ntemperature = 0.6\ntop-p = 0.95\nmax-tokens = 4096\nn = 2\n",
    )
    .unwrap();
    let bench = repo().join("examples/data/leetcode-lcb.jsonl");
    let text = format!(
        r#"baselines = ["tiny"]

[study]
name = "distill"
out = "out"
jobs = 2

[benchmark]
problems = "{bench}"
limit = 2

[students.tiny]
path = "model"

[distill]
ocr2 = ["{ocr2}"]
sources = ["taco:test={taco}", "code_contests:test={cc}", "open-r1/codeforces:test={cf}"]
recipe = "teachers.toml"
taco = ["{taco}"]
taco-split = "test"

[distill.teachers.fake-r1]
endpoint = "{url}"
concurrency = 4

[datasets.scaling]
traces = "distill:traces"
sizes = [10, 40]
seed = 1

[datasets.correctness]
traces = "distill:taco-traces"
label = {{ problems = "distill:taco-problems", profile = "taco" }}
split = "correctness"
per-group = 2
seed = 1

[generate]
endpoint = "{url}"
n = 1
max-tokens = 64

[report]
enabled = false
"#,
        bench = bench.display(),
        ocr2 = fixture("ocr2-python.parquet"),
        taco = fixture("taco-test-head.jsonl"),
        cc = fixture("code_contests-test-head.jsonl"),
        cf = fixture("codeforces-test-head.jsonl"),
    );
    std::fs::write(dir.join("study.toml"), text).unwrap();
}

#[test]
fn scaled_down_paper_data_runs_from_its_sources() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let server = teacher();
    write_spec(d, &server.base_url());

    let plan = json_of(&valley(&["study", "run", "study.toml", "--dry-run", "--json"], d));
    let ids: Vec<&str> =
        plan["steps"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids[..7],
        [
            "distill/questions",
            "distill/teacher/fake-r1",
            "distill/traces",
            "distill/decontam",
            "distill/taco-traces",
            "distill/taco-decontam",
            "distill/taco-problems",
        ]
    );

    // Running it labels TACO traces: under the judge's declared environment.
    let Some(_) = valley_test::judge_python() else { return };
    let first = json_of(&valley(&["study", "run", "study.toml", "--json"], d));
    assert_eq!(first["steps"], 13, "{first}");
    assert_eq!(first["ran"], 13, "{first}");
    let out = d.join("out");

    assert_eq!(read_jsonl(&out.join("distill/questions/questions.jsonl")).len(), 46);
    let generations = read_jsonl(&out.join("distill/teacher/fake-r1/generations.jsonl"));
    assert_eq!(generations.len(), 92, "46 questions x n = 2 of the recipe");
    assert_eq!(generations[0]["params"]["temperature"], 0.6);
    assert_eq!(generations[0]["model"], "fake/R1", "the recipe's model when the spec names none");
    let manifest = std::fs::read_to_string(out.join("distill/traces/traces.manifest.json"));
    let traces = read_jsonl(&out.join("distill/traces/traces.jsonl"));
    assert_eq!(traces.len(), 92, "every sample finished with a closed <think>: {manifest:?}");
    let report = std::fs::read_to_string(out.join("distill/decontam/report.jsonl"));
    let traces = read_jsonl(&out.join("distill/decontam/traces.jsonl"));
    assert_eq!(traces.len(), 92, "no question overlaps the benchmark: {report:?}");
    assert!(traces.iter().all(|t| t["teacher"] == "fake-r1" && t["finish_reason"] == "stop"));
    assert!(
        out.join("distill/decontam/report.jsonl").exists(),
        "the decontamination report is kept"
    );
    assert_eq!(read_jsonl(&out.join("distill/taco-decontam/traces.jsonl")).len(), 68);
    assert_eq!(read_jsonl(&out.join("distill/taco-problems/problems.jsonl")).len(), 21);

    let labelled = read_jsonl(&out.join("label/correctness/labelled.jsonl"));
    assert_eq!(labelled.len(), 42, "the traces of the 21 TACO problems with tests");
    let correct: Vec<&str> = labelled
        .iter()
        .filter(|t| t["correct"] == true)
        .map(|t| t["question_id"].as_str().unwrap())
        .collect();
    assert_eq!(correct.len(), 6, "{correct:?}");
    for i in SOLVED {
        assert!(correct.contains(&format!("taco/test/{i}").as_str()), "{correct:?}");
    }
    assert_eq!(read_jsonl(&out.join("data/correctness/correct.jsonl")).len(), 2);
    assert_eq!(read_jsonl(&out.join("data/correctness/incorrect.jsonl")).len(), 2);
    assert_eq!(read_jsonl(&out.join("data/scaling/40.jsonl")).len(), 40);

    let requests = server.requests();
    let again = json_of(&valley(&["study", "run", "study.toml", "--json"], d));
    assert_eq!(again["ran"], 0, "{again}");
    assert_eq!(server.requests(), requests, "a rerun asks the teacher nothing");
}

//! The paper's grid (examples/paper.toml): its expansion, the continued-training dependency and
//! the dry-run estimate.

use std::path::PathBuf;

use valley_study::{
    Action, ProblemsSource, StepKind, Study, TrainPlanner, count_by_kind, estimate,
};

fn paper() -> Study {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/paper.toml");
    Study::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn paper_grid_expands_into_its_61_steps() {
    let study = paper();
    let counts = count_by_kind(&study.plan);
    let want = [
        ("decontam", 2),
        ("eval", 16),
        ("generate", 16),
        ("import", 3),
        ("label", 1),
        ("report", 1),
        ("results", 1),
        ("split", 2),
        ("subsets", 1),
        ("teacher", 2),
        ("traces", 2),
        ("train", 14),
    ];
    assert_eq!(counts.into_iter().collect::<Vec<_>>(), want);
    assert_eq!(study.plan.steps.len(), 61);
    assert_eq!(study.plan.runs.len(), 16);
    // Every dependency points backwards: the steps are in an order that can run.
    for (i, s) in study.plan.steps.iter().enumerate() {
        assert!(s.deps.iter().all(|&d| d < i), "{} depends on a later step", s.id);
    }
    let ids: Vec<&str> = study.plan.steps.iter().map(|s| s.id.as_str()).collect();
    for id in [
        "distill/benchmark",
        "distill/questions",
        "distill/teacher/deepseek-r1-0528",
        "distill/teacher/kat-v1-40b",
        "distill/traces",
        "distill/decontam",
        "distill/taco-traces",
        "distill/taco-decontam",
        "distill/taco-problems",
        "data/scaling",
        "label/correctness",
        "data/correctness",
        "data/difficulty",
        "train/qwen2.5/scaling-1000",
        "train/llama3.1/scaling-30000",
        "train/qwen2.5/correctness-correct",
        "train/qwen2.5/scaling-30000+difficulty-hard",
        "generate/qwen2.5/base",
        "eval/llama3.1/base",
        "results",
        "report",
    ] {
        assert!(ids.contains(&id), "no step {id} in {ids:?}");
    }
}

#[test]
fn the_data_comes_from_ocr2_its_sources_and_the_teachers() {
    let study = paper();
    let plan = &study.plan;
    let step = |id: &str| &plan.steps[plan.index(id).unwrap_or_else(|| panic!("no step {id}"))];
    let args = |id: &str| match &step(id).action {
        Action::Valley { args } => args.join(" "),
        other => panic!("{id}: {other:?}"),
    };
    let q = args("distill/questions");
    assert!(
        q.starts_with("data import ocr2 --input hf://datasets/nvidia/OpenCodeReasoning-2/"),
        "{q}"
    );
    assert!(q.contains("--source taco:train=hf://datasets/BAAI/TACO/ALL/train-*.parquet"), "{q}");
    assert!(q.contains("--source open-r1/codeforces:train="), "{q}");
    let r1 = args("distill/teacher/deepseek-r1-0528");
    assert!(r1.contains("--teacher deepseek-r1-0528") && r1.contains("--recipe "), "{r1}");
    assert!(r1.contains("--model deepseek-ai/DeepSeek-R1-0528"), "the recipe's model: {r1}");
    assert!(r1.contains("--endpoint http://deepseek-r1-0528:8000/v1"), "{r1}");
    assert!(step("distill/teacher/kat-v1-40b").resumable);
    let t = args("distill/taco-traces");
    assert!(
        t.contains("--generations deepseek-r1-0528=") && t.contains("--generations kat-v1-40b="),
        "{t}"
    );
    assert!(t.contains("--dataset taco"), "{t}");
    // decontaminated against the benchmark's window, imported from LiveCodeBench's files
    let b = args("distill/benchmark");
    assert!(
        b.starts_with("data import lcb --input ")
            && b.contains("--release release_v5 --start-date 2024-08-01 --end-date 2025-02-01"),
        "{b}"
    );
    let d = args("distill/decontam");
    assert!(
        d.contains("--benchmark ")
            && d.contains("distill/benchmark/problems.jsonl")
            && d.contains("--report"),
        "{d}"
    );
    assert!(step("distill/decontam").deps.contains(&plan.index("distill/benchmark").unwrap()));
    // the datasets read the distilled traces, and the label step judges them on TACO's problems
    let subsets = step("data/scaling");
    assert_eq!(subsets.deps, vec![plan.index("distill/decontam").unwrap()]);
    let label = step("label/correctness");
    let want = [
        plan.index("distill/taco-decontam").unwrap(),
        plan.index("distill/taco-problems").unwrap(),
    ];
    assert_eq!(label.deps, want);
    let l = args("label/correctness");
    assert!(
        l.contains("distill/taco-problems/problems.jsonl") && l.contains("--skip-unmatched"),
        "{l}"
    );
    assert!(label.inputs.is_empty(), "{:?}", label.inputs);
    // hf:// paths are named in the settings, not hashed as local inputs
    assert!(step("distill/questions").inputs.is_empty());
    assert_eq!(step("distill/questions").settings["hub"].as_array().unwrap().len(), 8);
}

#[test]
fn continued_training_starts_from_the_30k_checkpoint() {
    let study = paper();
    let plan = &study.plan;
    let t30k = plan.index("train/qwen2.5/scaling-30000").unwrap();
    for part in
        ["correctness-correct", "correctness-incorrect", "difficulty-easy", "difficulty-hard"]
    {
        let cont = plan.index(&format!("train/qwen2.5/scaling-30000+{part}")).unwrap();
        assert!(plan.steps[cont].deps.contains(&t30k), "{part} does not wait for the 30K run");
        let Action::Train { config } = &plan.steps[cont].action else { panic!("not a train step") };
        let init = config["model"]["path"].as_str().unwrap();
        assert!(init.ends_with("train/qwen2.5/scaling-30000/run"), "{init}");
        let from_base = plan.index(&format!("train/qwen2.5/{part}")).unwrap();
        assert!(!plan.steps[from_base].deps.contains(&t30k));
        let Action::Train { config } = &plan.steps[from_base].action else { panic!() };
        assert!(config["model"]["path"].as_str().unwrap().ends_with("models/Qwen2.5-7B-Instruct"));
        assert_eq!(config["train"]["learning-rate"].as_float(), Some(8e-5));
        assert_eq!(config["compute"]["backend"].as_str(), Some("torchtune"));
    }
    let run = plan.runs.iter().find(|r| r.id == "qwen2.5/scaling-30000+difficulty-easy").unwrap();
    assert_eq!(run.base.as_deref(), Some("qwen2.5/scaling-30000"));
    assert_eq!((run.data_size, run.split.as_deref()), (4000, Some("easy")));
    let base = plan.runs.iter().find(|r| r.id == "llama3.1/base").unwrap();
    assert_eq!(base.data_size, 0);
}

/// The epochs a train config sets (paper.toml sets them; the binary's planner is `valley train`'s
/// own reading of the config, defaults included).
struct ConfigEpochs;

impl TrainPlanner for ConfigEpochs {
    fn epochs(&self, step: &str, config: &str) -> Result<u32, String> {
        let table: toml::Table = toml::from_str(config).map_err(|e| e.to_string())?;
        let epochs = table.get("train").and_then(|t| t.get("epochs")).and_then(|e| e.as_integer());
        epochs.and_then(|e| u32::try_from(e).ok()).ok_or_else(|| format!("{step}: no epochs"))
    }
}

#[test]
fn dry_run_estimates_follow_six_n_d() {
    let study = paper();
    let not_there = || Err("the LiveCodeBench files are not there".to_owned());
    let est = estimate(&study, &ConfigEpochs, not_there()).unwrap();
    let s = est.steps.iter().find(|s| s.id == "train/qwen2.5/scaling-1000").unwrap();
    // 1,000 examples x 12,000 tokens x 5 epochs.
    assert_eq!(s.train_tokens, Some(6.0e7));
    let flops = 6.0 * 7.6e9 * 6.0e7;
    assert!((s.flops.unwrap() - flops).abs() / flops < 1e-12);
    let hours = flops / (989e12 * 0.4) / 3600.0;
    assert!((s.gpu_hours.unwrap() - hours).abs() / hours < 1e-12);
    let g = est.steps.iter().find(|s| s.id == "generate/qwen2.5/base").unwrap();
    // the window's 279 problems (from [estimate]: the files are not here) x 10 samples each
    assert_eq!(g.generate_tokens, Some(279.0 * 10.0 * (600.0 + 16000.0)));
    let b = &est.benchmark;
    assert_eq!(b.release.as_deref(), Some("release_v5"));
    assert_eq!(b.window, "contest_date in [2024-08-01, 2025-02-01]");
    assert_eq!((b.problems, b.problems_source), (Some(279), ProblemsSource::Estimate));
    assert_eq!(b.not_counted.as_deref(), Some("the LiveCodeBench files are not there"));
    assert_eq!((b.samples_per_problem, b.samples_per_run), (10, Some(2790)));
    assert_eq!((b.generate_steps, b.samples_total), (16, Some(16 * 2790)));
    assert_eq!(b.mismatch, None);
    // counted in the files, the count wins and a different [estimate] is called out
    let counted = estimate(&study, &ConfigEpochs, Ok(270)).unwrap().benchmark;
    assert_eq!((counted.problems, counted.problems_source), (Some(270), ProblemsSource::Counted));
    assert_eq!(counted.samples_total, Some(16 * 2700));
    let m = counted.mismatch.unwrap();
    assert!(m.contains("holds 270 problems but [estimate] problems says 279"), "{m}");
    assert_eq!(estimate(&study, &ConfigEpochs, Ok(279)).unwrap().benchmark.mismatch, None);
    // 30K is 30x the 1K run's cost; the total adds up the steps.
    let s30 = est.steps.iter().find(|s| s.id == "train/qwen2.5/scaling-30000").unwrap();
    assert!((s30.gpu_hours.unwrap() / s.gpu_hours.unwrap() - 30.0).abs() < 1e-9);
    let sum: f64 = est.steps.iter().filter_map(|s| s.gpu_hours).sum();
    assert!((est.gpu_hours - sum).abs() < 1e-9);
}

/// `[generate] extra-body` reaches every generate step's command line and settings; without it
/// the settings (and so the keys of existing studies) are as before.
#[test]
fn extra_body_goes_to_every_generate_step() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/paper.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let with = text.replace("[generate]\n", "[generate]\nextra-body = { repeat_penalty = 1.0 }\n");
    assert_ne!(with, text);
    let plan =
        valley_study::expand(&valley_study::LoadedSpec::parse(&path, &with).unwrap()).unwrap();
    let plain = paper().plan;
    let mut generates = 0;
    for (a, b) in plan.steps.iter().zip(&plain.steps) {
        let (StepKind::Generate, Action::Valley { args }) = (a.kind, &a.action) else {
            continue;
        };
        generates += 1;
        let at = args.iter().position(|x| x == "--extra-body").expect("--extra-body");
        assert_eq!(args[at + 1], r#"{"repeat_penalty":1.0}"#);
        assert_eq!(a.settings["extra_body"]["repeat_penalty"], 1.0);
        assert!(b.settings.get("extra_body").is_none(), "{}", b.settings);
    }
    assert_eq!(generates, 16);
}

/// Issue 13: each student is prompted in its LiveCodeBench style (Qwen2.5 instruct:
/// CodeQwenInstruct, Llama-3.1 instruct: LLaMa3), its baseline and every run trained from it;
/// `[generate] prompt-style` sets one for all, recorded as the spec gives it.
#[test]
fn each_student_gets_its_lcb_prompt_style() {
    let style_of = |plan: &valley_study::Plan, id: &str| {
        let step = &plan.steps[plan.index(id).unwrap()];
        let Action::Valley { args } = &step.action else { panic!("{id} is no valley step") };
        let at = args.iter().position(|a| a == "--prompt-style").expect("--prompt-style");
        (args[at + 1].clone(), step.settings["prompt_style"].clone())
    };
    let plan = paper().plan;
    for (id, style) in [
        ("generate/qwen2.5/base", "CodeQwenInstruct"),
        ("generate/qwen2.5/scaling-30000+difficulty-easy", "CodeQwenInstruct"),
        ("generate/llama3.1/base", "LLaMa3"),
        ("generate/llama3.1/scaling-1000", "LLaMa3"),
    ] {
        assert_eq!(style_of(&plan, id), (style.to_owned(), serde_json::json!(style)), "{id}");
    }
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/paper.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let with = text.replace("[generate]\n", "[generate]\nprompt-style = \"openai-chat\"\n");
    assert_ne!(with, text);
    let plan =
        valley_study::expand(&valley_study::LoadedSpec::parse(&path, &with).unwrap()).unwrap();
    assert_eq!(
        style_of(&plan, "generate/llama3.1/base"),
        ("OpenAIChat".to_owned(), serde_json::json!("openai-chat"))
    );
}

/// Issue 13: the eval steps grade by the profile's rule (LiveCodeBench's), not after-think as
/// before, so their keys say so; an explicit `[eval] extract` keeps its old key.
#[test]
fn eval_steps_grade_by_the_profiles_rule() {
    let plan = paper().plan;
    let step = &plan.steps[plan.index("eval/qwen2.5/base").unwrap()];
    let Action::Valley { args } = &step.action else { panic!("not a valley step") };
    assert!(!args.contains(&"--extract".to_owned()), "{args:?}");
    assert_eq!(step.settings["default_extract"], 2);
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/paper.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let with = text.replace("[eval]\n", "[eval]\nextract = \"after-think\"\n");
    let plan =
        valley_study::expand(&valley_study::LoadedSpec::parse(&path, &with).unwrap()).unwrap();
    let step = &plan.steps[plan.index("eval/qwen2.5/base").unwrap()];
    assert!(step.settings.get("default_extract").is_none(), "{}", step.settings);
}

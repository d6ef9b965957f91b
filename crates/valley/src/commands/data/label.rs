//! `valley data label`: judge each trace's final code and write the traces back with `correct`.

use anyhow::{Context, bail};
use serde_json::json;
use valley_data::io::{FieldMap, RowReader, StagedFile, decode_row};
use valley_judge::Task;
use valley_types::{Trace, extract_code};

use crate::args::LabelArgs;
use crate::commands::judge::{Settings, Summary, judge_all, load_problems};
use crate::printer;

pub(crate) fn run(args: LabelArgs) -> anyhow::Result<u8> {
    let settings = Settings::parse(&args.judge)?;
    let problems = load_problems(&args.judge.problems, settings.format)?;
    let fields =
        FieldMap::parse(&args.input.fields).map_err(|e| anyhow::anyhow!("--field: {e}"))?;
    let path = &args.input.input;
    let mut traces: Vec<Trace> = Vec::new();
    for row in RowReader::open(path).with_context(|| format!("cannot read {}", path.display()))? {
        let row = row?;
        let trace: Trace = decode_row(path, &row, &fields)?;
        let Some(qid) = trace.question_id.as_deref() else {
            bail!(
                "{}:{}: field `{}`: missing (a trace needs its problem's id to be judged)",
                path.display(),
                row.line,
                fields.describe("question_id")
            );
        };
        if !problems.contains_key(qid) {
            bail!(
                "{}:{}: field `{}`: no problem `{qid}` in {}",
                path.display(),
                row.line,
                fields.describe("question_id"),
                args.judge.problems.display()
            );
        }
        traces.push(trace);
    }
    let tasks: Vec<Task<'_>> = traces
        .iter()
        .map(|t| Task {
            candidate_id: t.id.clone(),
            code: extract_code(&t.response, settings.extract),
            problem: &problems[t.question_id.as_deref().expect("checked above")],
        })
        .collect();
    let judge = settings.init(args.judge.jobs)?;
    let (records, wall) = judge_all(&judge, &tasks)?;
    let mut out = StagedFile::create(&args.out)?;
    for (mut trace, r) in traces.into_iter().zip(&records) {
        trace.correct = Some(r.correct());
        trace.extra.insert("verdict".into(), json!(r.verdict));
        trace.extra.insert(
            "verdict_detail".into(),
            json!({
                "profile": r.profile,
                "passed": r.passed,
                "total": r.total,
                "first_failure": r.first_failure,
                "python": r.python,
            }),
        );
        out.write_record(&trace)?;
    }
    out.commit()?;
    let summary = Summary::new(&judge, &records, wall, &args.out);
    printer::summary(args.json, &summary.json(), &summary.human())?;
    summary.exit_code()
}

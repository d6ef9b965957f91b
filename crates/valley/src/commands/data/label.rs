//! `valley data label`: judge each trace's final code and write the traces back with `correct`.

use valley_data::io::{ClaimOutputs, FieldMap, OutputKind, StagedFile};
use valley_eval::{JudgeSummary, ReadInputError, label_traces, load_problems, read_traces};

use crate::args::LabelArgs;
use crate::commands::judge::{Settings, exit_code, human, with_progress};
use crate::exit::Hint;
use crate::printer;

pub(crate) fn run(args: LabelArgs) -> anyhow::Result<u8> {
    let _claim = ClaimOutputs::new()
        .input("--input", &args.input.input)
        .input("--problems", &args.judge.problems)
        .output("--out", &args.out, OutputKind::File)
        .claim()?;
    let settings = Settings::parse(&args.judge)?;
    let problems = load_problems(&args.judge.problems, settings.format, settings.profile())?;
    let fields =
        FieldMap::parse(&args.input.fields).map_err(|e| anyhow::anyhow!("--field: {e}"))?;
    let (traces, unmatched) = read_traces(
        &args.input.input,
        &fields,
        &problems,
        &args.judge.problems,
        args.skip_unmatched,
    )
    .map_err(|e| {
        let hint = matches!(e, ReadInputError::UnknownProblem { .. }).then(|| Hint {
            message: "a trace has no problem".into(),
            hint: "--skip-unmatched leaves such traces out and counts them".into(),
        });
        let e = anyhow::Error::new(e);
        match hint {
            Some(h) => e.context(h),
            None => e,
        }
    })?;
    if let Some(first) = unmatched.examples.first() {
        tracing::warn!(
            "{} traces left out: their question has no problem (first: {first})",
            unmatched.rows
        );
    }
    let judge = settings.init(args.judge.jobs, traces.len())?;
    let (labelled, judged) = with_progress(traces.len(), |progress| {
        label_traces(&judge, &problems, traces, settings.extract, progress)
    });
    judged.require_judged()?;
    let mut out = StagedFile::create(&args.out)?;
    for trace in &labelled {
        out.write_record(trace)?;
    }
    out.commit()?;
    let summary = JudgeSummary::new(&judge, &judged, &args.out);
    let mut text = human(&summary);
    if let Some(first) = unmatched.examples.first() {
        text.push_str(&format!(
            "\n{} traces left out, no problem for their question (first: {first})",
            unmatched.rows
        ));
    }
    if args.skip_unmatched {
        let mut json = serde_json::to_value(&summary)?;
        json["unmatched"] = serde_json::to_value(&unmatched)?;
        printer::summary(args.json, &json, &text)?;
    } else {
        printer::summary(args.json, &summary, &text)?;
    }
    exit_code(&summary)
}

//! `valley data label`: judge each trace's final code and write the traces back with `correct`.

use valley_data::io::{ClaimOutputs, FieldMap, OutputKind, StagedFile};
use valley_eval::{JudgeSummary, label_traces, load_problems, read_traces};

use crate::args::LabelArgs;
use crate::commands::judge::{Settings, exit_code, human, with_progress};
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
    let traces = read_traces(&args.input.input, &fields, &problems, &args.judge.problems)?;
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
    printer::summary(args.json, &summary, &human(&summary))?;
    exit_code(&summary)
}

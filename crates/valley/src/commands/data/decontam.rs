//! `valley data decontam`: remove traces that overlap a benchmark, with a report.

use anyhow::Context;
use valley_data::decontam::{self, DecontamConfig};
use valley_data::io::{ClaimOutputs, OutputKind};

use crate::args::DecontamArgs;
use crate::{exit, printer};

pub(crate) fn run(args: DecontamArgs) -> anyhow::Result<u8> {
    let _claim = ClaimOutputs::new()
        .input("--input", &args.input.input)
        .input("--benchmark", &args.benchmark)
        .output("--out", &args.out, OutputKind::File)
        .output_opt("--report", args.report.as_deref(), OutputKind::File)
        .claim()?;
    let config = DecontamConfig {
        fields: super::field_map(&args.input.fields)?,
        input: args.input.input,
        benchmark: args.benchmark,
        out: args.out,
        report: args.report,
        ngram: args.ngram,
        min_overlap: args.min_overlap,
        max_problems: args.max_problems,
        min_coverage: args.min_coverage,
    };
    let s = decontam::run(&config).context("cannot decontaminate")?;
    let human = format!(
        "kept {} of {} traces; removed {} that overlap {} of {} benchmark problems \
         ({}-gram overlap >= {}; {} boilerplate n-grams ignored) -> {}{}",
        s.kept,
        s.rows,
        s.removed,
        s.problems_hit,
        s.benchmark_problems,
        config.ngram,
        config.min_overlap,
        s.boilerplate_ngrams,
        config.out.display(),
        config.report.as_ref().map(|r| format!(" (report: {})", r.display())).unwrap_or_default()
    );
    printer::summary(args.json, &s, &human)?;
    Ok(exit::SUCCESS)
}

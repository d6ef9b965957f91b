//! `valley data dedup`: exact and near-duplicate removal with a report.

use anyhow::Context;
use valley_data::dedup::{self, DedupConfig, DedupKey};
use valley_data::io::{ClaimOutputs, OutputKind};

use crate::args::{DedupArgs, DedupKeyArg};
use crate::{exit, printer};

pub(crate) fn run(args: DedupArgs) -> anyhow::Result<u8> {
    let _claim = ClaimOutputs::new()
        .input("--input", &args.input.input)
        .output("--out", &args.out, OutputKind::File)
        .output_opt("--report", args.report.as_deref(), OutputKind::File)
        .claim()?;
    let mut config = DedupConfig::new(args.input.input, args.out);
    config.fields = super::field_map(&args.input.fields)?;
    config.report = args.report;
    config.key = match args.key {
        DedupKeyArg::Question => DedupKey::Question,
        DedupKeyArg::Response => DedupKey::Response,
        DedupKeyArg::Pair => DedupKey::Pair,
    };
    config.near_threshold = (!args.exact_only).then_some(args.near_threshold);
    config.shingle = args.shingle;
    let s = dedup::run(&config).context("cannot deduplicate")?;
    let human = format!(
        "kept {} of {} rows: {} exact and {} near duplicates removed -> {}{}",
        s.kept,
        s.rows,
        s.exact_duplicates,
        s.near_duplicates,
        config.out.display(),
        config.report.as_ref().map(|r| format!(" (report: {})", r.display())).unwrap_or_default()
    );
    printer::summary(args.json, &s, &human)?;
    Ok(exit::SUCCESS)
}

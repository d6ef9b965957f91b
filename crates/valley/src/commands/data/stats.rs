//! `valley data stats`: token-length percentiles of the rendered conversations, the share over
//! `--max-len`, and the shapes of the responses' `<think>` blocks.

use std::fmt::Write as _;
use std::time::Instant;

use valley_data::stats::{StatsSummary, TraceStats};

use crate::args::StatsArgs;
use crate::commands::data::tokenize::Pipeline;
use crate::{exit, printer};

pub(crate) fn run(args: StatsArgs) -> anyhow::Result<u8> {
    let pipeline = Pipeline::new(&args.input, &args.tokenizer)?;
    let start = Instant::now();
    let mut stats = TraceStats::new();
    pipeline.run(
        &args.input.input,
        |_, trace| Ok(pipeline.tokenizer.count_tokens(&pipeline.conversation(trace))?),
        |trace, tokens| {
            stats.add(tokens, &trace.response, trace.difficulty.as_deref(), trace.correct);
            Ok(())
        },
    )?;
    let seconds = start.elapsed().as_secs_f64();
    let summary = stats.summary(args.max_len);
    let tokens_per_second = if seconds > 0.0 { summary.tokens.total as f64 / seconds } else { 0.0 };
    let output = Output { summary: &summary, seconds, tokens_per_second };
    printer::summary(args.json, &output, &human(&summary, seconds, tokens_per_second))?;
    Ok(exit::SUCCESS)
}

#[derive(serde::Serialize)]
struct Output<'a> {
    #[serde(flatten)]
    summary: &'a StatsSummary,
    seconds: f64,
    tokens_per_second: f64,
}

fn human(s: &StatsSummary, seconds: f64, tps: f64) -> String {
    let mut out = String::new();
    let t = &s.tokens;
    let _ = writeln!(out, "rows: {}", s.rows);
    let _ = writeln!(
        out,
        "tokens: total {} mean {:.1} p50 {} p90 {} p99 {} max {}",
        t.total, t.mean, t.p50, t.p90, t.p99, t.max
    );
    let _ = writeln!(
        out,
        "over --max-len {}: {} ({:.2}%)",
        s.max_len,
        s.over_max_len,
        100.0 * s.over_max_len_share
    );
    let _ = writeln!(
        out,
        "well-formed <think>: {} ({:.2}%)",
        s.well_formed_think,
        100.0 * s.well_formed_think_share
    );
    let shapes: Vec<String> = s.think.iter().map(|(k, v)| format!("{k} {v}")).collect();
    let _ = writeln!(out, "think blocks: {}", shapes.join(", "));
    let labels: Vec<String> = s.difficulty.iter().map(|(k, v)| format!("{k} {v}")).collect();
    let _ = writeln!(out, "difficulty: {}", labels.join(", "));
    let labels: Vec<String> = s.correct.iter().map(|(k, v)| format!("{k} {v}")).collect();
    let _ = writeln!(out, "correct: {}", labels.join(", "));
    let _ = write!(out, "time: {seconds:.2} s ({tps:.0} tokens/s)");
    out
}

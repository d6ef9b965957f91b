//! `valley data render`: each trace as the student sees it in training: the chat template's
//! text, its token ids and the loss mask.

use std::time::Instant;

use anyhow::Context as _;
use valley_data::io::{ClaimOutputs, OutputKind, StagedFile};

use crate::args::RenderArgs;
use crate::commands::data::tokenize::Pipeline;
use crate::{exit, printer};

#[derive(serde::Serialize)]
struct Record<'a> {
    id: &'a str,
    text: &'a str,
    input_ids: &'a [u32],
    loss_mask: &'a [u8],
}

#[derive(serde::Serialize)]
struct Summary {
    rows: u64,
    tokens: u64,
    trained_tokens: u64,
    max_tokens: usize,
    out: String,
    seconds: f64,
}

pub(crate) fn run(args: RenderArgs) -> anyhow::Result<u8> {
    let _claim = ClaimOutputs::new()
        .input("--input", &args.input.input)
        .input("--tokenizer", &args.tokenizer.tokenizer)
        .input_opt("--chat-template", args.tokenizer.chat_template.as_deref())
        .output("--out", &args.out, OutputKind::File)
        .claim()?;
    let pipeline = Pipeline::new(&args.input, &args.tokenizer)?;
    let start = Instant::now();
    let mut out = StagedFile::create(&args.out)?;
    let (mut tokens, mut trained, mut max_tokens) = (0u64, 0u64, 0usize);
    pipeline.run(
        &args.input.input,
        |_, trace| Ok(pipeline.tokenizer.render(&pipeline.conversation(trace))?),
        |trace, r| {
            tokens += r.input_ids.len() as u64;
            trained += r.loss_mask.iter().map(|m| u64::from(*m)).sum::<u64>();
            max_tokens = max_tokens.max(r.input_ids.len());
            let record = Record {
                id: &trace.id,
                text: &r.text,
                input_ids: &r.input_ids,
                loss_mask: &r.loss_mask,
            };
            out.write_record(&record)?;
            Ok(())
        },
    )?;
    let rows = out.rows();
    let path = out.commit().with_context(|| format!("cannot write {}", args.out.display()))?;
    let summary = Summary {
        rows,
        tokens,
        trained_tokens: trained,
        max_tokens,
        out: path.display().to_string(),
        seconds: start.elapsed().as_secs_f64(),
    };
    let human = format!(
        "rendered {rows} rows to {}: {tokens} tokens, {trained} trained on (loss mask 1), longest {max_tokens}",
        summary.out
    );
    printer::summary(args.json, &summary, &human)?;
    Ok(exit::SUCCESS)
}

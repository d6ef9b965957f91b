//! `valley model export`: a GGUF model as an HF folder (valley-native's loader writes it).
//! `valley model logits`: a model's logits on given tokens, from valley-native's f32 forward pass
//! (or, `--quantized`, its serving engine's quantised kernels).

use anyhow::{Context, bail};

use serde::Serialize;
use valley_data::io::{ClaimOutputs, OutputKind, OutputSet};

use crate::args::{ModelExportArgs, ModelLogitsArgs};
use crate::printer;

pub(crate) fn export(args: ModelExportArgs) -> anyhow::Result<u8> {
    if args.model.extension().is_none_or(|e| e != "gguf") {
        bail!("--model {}: expected a .gguf file", args.model.display());
    }
    let _claim = ClaimOutputs::new()
        .input("--model", &args.model)
        .output("--out", &args.out, OutputKind::NewFolder)
        .claim()?;
    let summary = valley_native::export::export_gguf_to_hf(&args.model, &args.out)
        .with_context(|| format!("cannot export {}", args.model.display()))?;
    let human = format!(
        "{} ({}, {} tensors, {} parameters) -> {}\n",
        args.model.display(),
        summary.model_type,
        summary.tensors,
        summary.parameters,
        summary.out.display()
    );
    printer::summary(args.json, &summary, &human)?;
    Ok(crate::exit::SUCCESS)
}

#[derive(Serialize)]
struct LogitsSummary {
    positions: usize,
    vocab: usize,
    argmax: Vec<usize>,
    out: std::path::PathBuf,
}

pub(crate) fn logits(args: ModelLogitsArgs) -> anyhow::Result<u8> {
    let _claim = ClaimOutputs::new()
        .input("--model", &args.model)
        .output("--out", &args.out, OutputKind::File)
        .claim()?;
    let (values, vocab) = if args.quantized {
        valley_native::engine::cpu_logits(&args.model, &args.ids)
    } else {
        valley_native::weights::cpu_logits(&args.model, &args.ids)
    }
    .with_context(|| format!("cannot run {}", args.model.display()))?;
    let argmax: Vec<usize> = values
        .chunks(vocab)
        .map(|row| {
            row.iter().enumerate().fold(0, |best, (i, v)| if *v > row[best] { i } else { best })
        })
        .collect();
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    let mut out = OutputSet::new();
    out.write(&args.out, &bytes)?;
    out.commit()?;
    let summary = LogitsSummary { positions: args.ids.len(), vocab, argmax, out: args.out };
    let human = format!(
        "{} positions x {} logits -> {} (argmax {:?})\n",
        summary.positions,
        summary.vocab,
        summary.out.display(),
        summary.argmax
    );
    printer::summary(args.json, &summary, &human)?;
    Ok(crate::exit::SUCCESS)
}

//! `valley model export`: a GGUF model as an HF folder (valley-native's loader writes it).

use anyhow::{Context, bail};

use crate::args::ModelExportArgs;
use crate::printer;

pub(crate) fn export(args: ModelExportArgs) -> anyhow::Result<u8> {
    if args.model.extension().is_none_or(|e| e != "gguf") {
        bail!("--model {}: expected a .gguf file", args.model.display());
    }
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

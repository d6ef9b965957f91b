//! `valley data verify`: recompute a manifest's id hashes from its files.

use anyhow::Context;
use serde_json::json;

use crate::args::VerifyArgs;
use crate::exit::{self, CheckFailed};
use crate::printer;

pub(crate) fn run(args: VerifyArgs) -> anyhow::Result<u8> {
    let bad = valley_data::select::verify_manifest(&args.manifest)
        .with_context(|| format!("cannot verify {}", args.manifest.display()))?;
    let summary = json!({"manifest": args.manifest, "ok": bad.is_empty(), "mismatched": bad});
    let human = if bad.is_empty() {
        format!("{}: every output holds exactly the rows recorded", args.manifest.display())
    } else {
        format!("{}: outputs differ from the manifest: {}", args.manifest.display(), bad.join(", "))
    };
    printer::summary(args.json, &summary, &human)?;
    if bad.is_empty() {
        Ok(exit::SUCCESS)
    } else {
        Err(anyhow::Error::new(CheckFailed(format!("{} output(s) changed", bad.len()))))
    }
}

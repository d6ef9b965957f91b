//! `valley data split`: balanced, disjoint groups by correctness or difficulty.

use anyhow::Context;
use serde_json::json;
use valley_data::io::{ClaimOutputs, OutputKind};
use valley_data::split::{self, SplitBy, SplitConfig, SplitError};

use crate::args::{self, SplitArgs};
use crate::exit::{self, CheckFailed};
use crate::printer;

pub(crate) fn run(args: SplitArgs) -> anyhow::Result<u8> {
    let _claim = ClaimOutputs::new()
        .input("--input", &args.input.input)
        .output("--out", &args.out, OutputKind::Folder)
        .claim()?;
    let config = SplitConfig {
        fields: super::field_map(&args.input.fields)?,
        input: args.input.input,
        by: match args.by {
            args::SplitBy::Correctness => SplitBy::Correctness,
            args::SplitBy::Difficulty => SplitBy::Difficulty,
        },
        per_group: args.per_group,
        seed: args.seed,
        out: args.out,
        hub: crate::hub::sources(),
    };
    let manifest = match split::run(&config) {
        Ok(m) => m,
        Err(e @ SplitError::ShortGroup { .. }) => {
            if args.json
                && let SplitError::ShortGroup { counts, .. } = &e
            {
                let summary = json!({"ok": false, "error": e.to_string(), "available": counts});
                printer::summary(true, &summary, "")?;
            }
            return Err(anyhow::Error::new(CheckFailed(e.to_string())))
                .context("split refused, nothing was written");
        }
        Err(e) => return Err(e).context("cannot split"),
    };
    let mut human = format!(
        "split {} rows (seed {}) into {}\n",
        manifest.input_rows,
        manifest.seed,
        config.out.display()
    );
    for (name, g) in &manifest.groups {
        human.push_str(&format!(
            "  {name:<10} {:>8} of {:>8} available  {}\n",
            g.count,
            g.available.unwrap_or(g.count),
            g.path
        ));
    }
    for (label, n) in &manifest.excluded {
        human.push_str(&format!("  left out: {label} ({n} rows)\n"));
    }
    let summary = json!({
        "ok": true,
        "out": config.out,
        "input_rows": manifest.input_rows,
        "input_sha256": manifest.input_sha256,
        "seed": manifest.seed,
        "groups": manifest.groups,
        "excluded": manifest.excluded,
    });
    printer::summary(args.json, &summary, &human)?;
    Ok(exit::SUCCESS)
}

//! `valley data subsets`: nested random subsets with a manifest.

use anyhow::Context;
use serde_json::json;
use valley_data::io::{ClaimOutputs, OutputKind};
use valley_data::subsets::{self, SubsetsConfig, SubsetsError};

use crate::args::SubsetsArgs;
use crate::exit::{self, CheckFailed};
use crate::printer;

pub(crate) fn run(args: SubsetsArgs) -> anyhow::Result<u8> {
    let _claim = ClaimOutputs::new()
        .input("--input", &args.input.input)
        .output("--out", &args.out, OutputKind::Folder)
        .claim()?;
    let config = SubsetsConfig {
        fields: super::field_map(&args.input.fields)?,
        input: args.input.input,
        sizes: args.sizes,
        seed: args.seed,
        out: args.out,
        hub: crate::hub::sources(),
    };
    let outcome = match subsets::run(&config) {
        Ok(o) => o,
        Err(e @ SubsetsError::TooFewRows { .. }) => {
            return Err(anyhow::Error::new(CheckFailed(e.to_string())))
                .context("nothing was written");
        }
        Err(e) => return Err(e).context("cannot draw subsets"),
    };
    let m = &outcome.manifest;
    let mut human = format!(
        "drew {} nested subsets from {} rows (seed {}) into {}\n",
        m.groups.len(),
        m.input_rows,
        m.seed,
        config.out.display()
    );
    let mut sizes: Vec<_> = m.groups.values().collect();
    sizes.sort_by_key(|g| std::cmp::Reverse(g.count));
    for g in &sizes {
        human.push_str(&format!("  {:>10}  {}  ids sha256 {}\n", g.count, g.path, g.ids_sha256));
    }
    human.push_str(&format!("manifest: {}", outcome.manifest_path.display()));
    let summary = json!({
        "out": config.out,
        "manifest": outcome.manifest_path,
        "input_rows": m.input_rows,
        "input_sha256": m.input_sha256,
        "seed": m.seed,
        "sizes": m.groups,
    });
    printer::summary(args.json, &summary, &human)?;
    Ok(exit::SUCCESS)
}

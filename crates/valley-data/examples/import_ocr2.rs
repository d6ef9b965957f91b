//! `valley data import ocr2` without the rest of the binary: the same library call, for
//! `bench/import_ocr2.sh` on machines where a release build of the whole `valley` binary (the
//! native training backend included) is too slow to make. Prints the manifest's counts as JSON.
//!
//! ```text
//! cargo run --release -p valley-data --example import_ocr2 -- \
//!     --input OCR2.parquet --source taco:train=F … --out DIR [--traces]
//! ```

use std::path::PathBuf;

use valley_data::import::{Ocr2Config, SourceSpec, import_ocr2};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut config = Ocr2Config {
        inputs: Vec::new(),
        sources: Vec::new(),
        out: PathBuf::new(),
        traces: false,
        datasets: Vec::new(),
        hub: Vec::new(),
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--input" => config.inputs.push(it.next().ok_or("--input FILE")?.into()),
            "--source" => {
                config.sources.push(it.next().ok_or("--source SPEC")?.parse::<SourceSpec>()?)
            }
            "--out" => config.out = it.next().ok_or("--out DIR")?.into(),
            "--traces" => config.traces = true,
            other => return Err(format!("unknown argument `{other}`").into()),
        }
    }
    let outcome = import_ocr2(&config)?;
    let m = &outcome.manifest;
    let summary = serde_json::json!({
        "input_rows": m.input_rows,
        "questions": m.outputs.get("questions").map(|o| o.rows),
        "traces": m.outputs.get("traces").map(|o| o.rows),
        "sources": m.sources,
        "left_out": m.left_out,
    });
    #[expect(clippy::print_stdout, reason = "the counts are the tool's output")]
    {
        println!("{summary}");
    }
    Ok(())
}

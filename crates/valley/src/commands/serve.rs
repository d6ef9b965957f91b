//! `valley serve`: an OpenAI-compatible server over valley's native model (valley-native).

use std::net::TcpListener;

use anyhow::{Context, bail};
use valley_native::quant::GgmlType;
use valley_native::serve::{DeviceKind, ServeOptions, run_server};

use crate::args::ServeArgs;

#[expect(clippy::print_stderr, reason = "the server logs to stderr")]
pub(crate) fn run(args: ServeArgs) -> anyhow::Result<u8> {
    let device = match args.device.as_str() {
        "cpu" => DeviceKind::Cpu,
        "cuda" => DeviceKind::Cuda,
        other => bail!("--device: {other:?} is not cpu or cuda"),
    };
    if args.parallel == 0 {
        bail!("--parallel: must be at least 1");
    }
    if args.threads == Some(0) {
        bail!("--threads: must be at least 1");
    }
    let quantize = args
        .quantize
        .as_deref()
        .map(GgmlType::quantize_target)
        .transpose()
        .map_err(|e| anyhow::anyhow!("--quantize: {e}"))?;
    let name = args.name.clone().unwrap_or_else(|| {
        args.model
            .file_stem()
            .map_or_else(|| "model".to_owned(), |n| n.to_string_lossy().into_owned())
    });
    let listener = TcpListener::bind((args.host.as_str(), args.port))
        .with_context(|| format!("--host/--port: cannot listen on {}:{}", args.host, args.port))?;
    let addr = listener.local_addr()?;
    let mut opts = ServeOptions::new(args.model.clone(), name.clone());
    opts.tokenizer = args.tokenizer.clone();
    opts.chat_template = args.chat_template.clone();
    opts.device = device;
    opts.threads = args.threads.unwrap_or(0);
    opts.batch.max_sequences = args.parallel;
    opts.quantize = quantize;
    run_server(
        &opts,
        listener,
        |info| {
            let engine = match info.isa {
                Some(isa) => {
                    let types: Vec<String> = info
                        .weight_types
                        .iter()
                        .map(|(t, n)| format!("{n} {}", t.name()))
                        .collect();
                    format!(
                        "; {isa:?} kernels, {} threads, weights {}",
                        info.threads,
                        types.join(", ")
                    )
                }
                None => String::new(),
            };
            eprintln!(
                "serving {name} ({:?}, {} parameters, stop ids {:?}{engine}) at http://{addr}/v1",
                info.family, info.parameters, info.stop_ids
            );
        },
        |line| eprintln!("{line}"),
    )
    .with_context(|| format!("--model {}", args.model.display()))?;
    Ok(crate::exit::SUCCESS)
}

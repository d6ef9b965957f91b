//! `valley serve`: an OpenAI-compatible server over valley's native model (valley-native).

use std::net::TcpListener;

use anyhow::{Context, bail};
use valley_native::serve::{DeviceKind, ServeOptions, run_server};

use crate::args::ServeArgs;

#[expect(clippy::print_stderr, reason = "the server logs to stderr")]
pub(crate) fn run(args: ServeArgs) -> anyhow::Result<u8> {
    let device = match args.device.as_str() {
        "cpu" => DeviceKind::Cpu,
        "cuda" => DeviceKind::Cuda,
        other => bail!("--device: {other:?} is not cpu or cuda"),
    };
    let name = args.name.clone().unwrap_or_else(|| {
        args.model
            .file_stem()
            .map_or_else(|| "model".to_owned(), |n| n.to_string_lossy().into_owned())
    });
    let listener = TcpListener::bind((args.host.as_str(), args.port))
        .with_context(|| format!("--host/--port: cannot listen on {}:{}", args.host, args.port))?;
    let addr = listener.local_addr()?;
    let opts = ServeOptions {
        model: args.model.clone(),
        tokenizer: args.tokenizer.clone(),
        chat_template: args.chat_template.clone(),
        name: name.clone(),
        device,
    };
    run_server(
        &opts,
        listener,
        |info| {
            eprintln!(
                "serving {name} ({:?}, {} parameters, stop ids {:?}) at http://{addr}/v1",
                info.family, info.parameters, info.stop_ids
            );
        },
        |line| eprintln!("{line}"),
    )
    .with_context(|| format!("--model {}", args.model.display()))?;
    Ok(crate::exit::SUCCESS)
}

//! The `valley` command-line tool: a thin layer that parses arguments, calls the library crates,
//! prints results and picks the exit code.

use std::process::ExitCode;

use clap::Parser;

mod args;
mod commands;
mod exit;
mod hub;
mod printer;

fn main() -> ExitCode {
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let cli = match args::Cli::try_parse_from(&argv) {
        Ok(cli) => cli,
        Err(e) => return usage(&e),
    };
    init_logging(cli.global.verbose, cli.global.quiet);
    // `hf://` paths are fetched once the command line is known to be valid, then parsed again
    // with their local paths.
    let cli = if hub::mentions_hub(&argv) {
        match hub::resolve_args(argv).map(args::Cli::try_parse_from) {
            Ok(Ok(cli)) => cli,
            Ok(Err(e)) => return usage(&e),
            Err(err) => return ExitCode::from(exit::report(&err)),
        }
    } else {
        cli
    };
    match commands::run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(err) => ExitCode::from(exit::report(&err)),
    }
}

/// Colours only for a person at a terminal: never into a file or a pipe, and never with
/// `NO_COLOR` set (issue 14).
fn colour_on_stderr() -> bool {
    std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

fn usage(e: &clap::Error) -> ExitCode {
    let code = if e.use_stderr() { exit::USAGE } else { exit::SUCCESS };
    let _ = e.print();
    ExitCode::from(code)
}

fn init_logging(verbose: u8, quiet: bool) {
    let level = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, _) => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("VALLEY_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(colour_on_stderr())
        .without_time()
        .init();
}

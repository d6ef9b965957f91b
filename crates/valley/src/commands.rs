//! One module per subcommand; each validates its arguments, calls the libraries and returns the
//! exit code.

use crate::args::{
    Cli, Command, DataCommand, ImportCommand, JudgeArgs, JudgeCommand, JudgeEnvCommand,
    ModelCommand, StudyCommand,
};

mod benchmark;
mod data;
mod eval;
mod generate;
mod judge;
mod judge_env;
mod model;
mod report;
mod serve;
mod study;
mod train;

/// Runs the parsed command line.
pub(crate) fn run(cli: Cli) -> anyhow::Result<u8> {
    match cli.command {
        Command::Data(DataCommand::Subsets(args)) => data::subsets::run(args),
        Command::Data(DataCommand::Split(args)) => data::split::run(args),
        Command::Data(DataCommand::Label(args)) => data::label::run(args),
        Command::Judge(args) => match (args.command, args.settings, args.run) {
            (Some(JudgeCommand::Env(JudgeEnvCommand::Create(a))), ..) => judge_env::create(a),
            (Some(JudgeCommand::Env(JudgeEnvCommand::Check(a))), ..) => judge_env::check(a),
            (None, Some(settings), Some(run)) => judge::run(JudgeArgs { judge: settings, ..run }),
            (None, ..) => {
                anyhow::bail!("bug: `valley judge` parsed without its flags; please report it")
            }
        },
        Command::Generate(args) => generate::run(*args),
        Command::Eval(args) => eval::run(args),
        Command::Report(args) => report::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Model(ModelCommand::Export(args)) => model::export(args),
        Command::Model(ModelCommand::Logits(args)) => model::logits(args),
        Command::Train(args) => train::run(args),
        Command::Study(StudyCommand::Run(args)) => study::run(args),
        Command::Study(StudyCommand::Status(args)) => study::status(args),
        Command::Study(StudyCommand::Verify(args)) => study::verify(args),
        Command::Study(StudyCommand::Exec(args)) => study::exec(args),
        Command::Data(DataCommand::Stats(args)) => data::stats::run(args),
        Command::Data(DataCommand::Render(args)) => data::render::run(args),
        Command::Data(DataCommand::Dedup(args)) => data::dedup::run(args),
        Command::Data(DataCommand::Decontam(args)) => data::decontam::run(args),
        Command::Data(DataCommand::Verify(args)) => data::verify::run(args),
        Command::Data(DataCommand::Import(ImportCommand::Ocr2(args))) => data::import::ocr2(args),
        Command::Data(DataCommand::Import(ImportCommand::Taco(args))) => data::import::taco(args),
        Command::Data(DataCommand::Import(ImportCommand::Lcb(args))) => data::import::lcb(args),
        Command::Data(DataCommand::Traces(args)) => data::traces::run(args),
    }
}

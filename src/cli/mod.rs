//! Command-line glue: global options, dispatch to one module per subcommand, exit codes (decided
//! here alone, from a command's [`CliError`]).
//! Exit codes: 0 success, 1 error (not found, invalid input, refused), 2 usage.

mod allocator;
mod commands;
mod context;
mod error;
mod output;
mod report;
mod review;
mod table;
mod written;

use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use context::Context;
pub use error::CliError;

/// A prompt registry in a Git repository: versioned, immutable, promotable LLM prompts.
#[derive(Parser, Debug)]
#[command(name = "promptreg", version, about, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub global: context::GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    Init(commands::init::Args),
    Create(commands::create::Args),
    Fetch(commands::fetch::Args),
    Versions(commands::versions::Args),
    List(commands::list::Args),
    Promote(commands::promote::Args),
    Results(commands::results::Args),
    History(commands::history::Args),
    Rollback(commands::rollback::Args),
    Split(commands::split::Args),
    Audit(commands::audit::Args),
    Doctor(commands::doctor::Args),
    Validate(commands::validate::Args),
    Render(commands::render::Args),
    Diff(commands::diff::Args),
    Schema(commands::schema::Args),
    Completions(commands::completions::Args),
    Serve(commands::serve::Args),
    Export(commands::export::Args),
    Import(commands::import::Args),
    Access(commands::access::Args),
    Archive(commands::archive::Args),
    #[command(name = commands::template_worker::NAME, hide = true)]
    TemplateWorker(commands::template_worker::Args),
}

/// Runs the CLI and turns the outcome into an exit code.
pub fn main() -> ExitCode {
    allocator::keep_freed_memory();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let context = Context::new(&cli.global);
    let reads_each_object_once = match &cli.command {
        Command::Validate(_) => true,
        Command::History(args) => args.every_prompt(),
        _ => false,
    };
    if reads_each_object_once {
        // These read each object about once: what the cache keeps would only be memory (see
        // `disable_object_cache`). The others keep it: a walk over commits reads each commit
        // twice, as a commit and as its child's parent.
        promptreg::store::disable_object_cache();
    }
    if !matches!(cli.command, Command::TemplateWorker(_)) {
        // Every template render from here on runs in a memory-capped worker process.
        if let Some(worker) = commands::template_worker::isolation() {
            promptreg::model::template::isolate_in(worker);
        }
    }
    let result = match &cli.command {
        Command::Init(args) => commands::init::run(&context, args),
        Command::Create(args) => commands::create::run(&context, args),
        Command::Fetch(args) => commands::fetch::run(&context, args),
        Command::Versions(args) => commands::versions::run(&context, args),
        Command::List(args) => commands::list::run(&context, args),
        Command::Promote(args) => commands::promote::run(&context, args),
        Command::History(args) => commands::history::run(&context, args),
        Command::Rollback(args) => commands::rollback::run(&context, args),
        Command::Split(args) => commands::split::run(&context, args),
        Command::Audit(args) => commands::audit::run(&context, args),
        Command::Doctor(args) => commands::doctor::run(&context, args),
        Command::Validate(args) => commands::validate::run(&context, args),
        Command::Render(args) => commands::render::run(&context, args),
        Command::Diff(args) => commands::diff::run(&context, args),
        Command::Schema(args) => commands::schema::run(&context, args),
        Command::Completions(args) => commands::completions::run(&context, args),
        Command::Serve(args) => commands::serve::run(&context, args),
        Command::Export(args) => commands::export::run(&context, args),
        Command::Import(args) => commands::import::run(&context, args),
        Command::Results(args) => commands::results::run(&context, args),
        Command::Access(args) => commands::access::run(&context, args),
        Command::Archive(args) => commands::archive::run(&context, args),
        Command::TemplateWorker(args) => commands::template_worker::run(&context, args),
    };
    let status = match result {
        Ok(()) => 0,
        Err(error) => {
            report::report(&context, &error);
            exit_status(&error)
        }
    };
    // Everything a command printed reaches the reader before the process ends.
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    ExitCode::from(status)
}

/// The exit status a failed command ends with: 0 when stdout was closed under it (a reader
/// that has seen enough is no failure), the status a [`CliError`] names, else 1.
fn exit_status(error: &anyhow::Error) -> u8 {
    if report::is_broken_pipe(error) {
        return 0;
    }
    error.downcast_ref::<CliError>().map_or(1, CliError::code)
}

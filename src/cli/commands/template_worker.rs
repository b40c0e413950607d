//! `promptreg __template-worker`: the process renders run in when the binary isolates them
//! (see `promptreg::model::template::isolate_in`). Hidden: only promptreg itself starts it.

use anyhow::Result;

use crate::cli::Context;

/// The name [`isolation`] starts the worker with.
pub const NAME: &str = "__template-worker";

/// Render templates sent on stdin, one JSON job a line, in a memory-capped process
#[derive(clap::Args, Debug)]
pub struct Args {}

pub fn run(_context: &Context, _args: &Args) -> Result<()> {
    let stdin = std::io::stdin().lock();
    let stdout = std::io::stdout().lock();
    promptreg::model::template::serve_worker(stdin, stdout)?;
    Ok(())
}

/// How to start a worker: this very binary, so that parent and worker agree on the protocol.
/// `None` when the running binary cannot be found; renders then stay in-process.
pub fn isolation() -> Option<promptreg::model::template::WorkerCommand> {
    let program = std::env::current_exe().ok()?;
    Some(promptreg::model::template::WorkerCommand {
        program,
        args: vec![NAME.into()],
    })
}

//! `promptreg promote`

use anyhow::Result;
use promptreg::ops::promote::{promote, PromoteRequest, Promoted};
use promptreg::{PromptName, Version};

use crate::cli::Context;

/// Point an environment at a version (a commit of registry.yaml alone)
///
/// The first environment of the pipeline accepts any released version; each later one only the
/// version the environment before it holds now. An environment with a gate (`policy:` in
/// registry.yaml) also needs the version's recorded test results to meet it.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Example:\n  promptreg promote support/refund-agent 1.1.0 --to staging --reason \"QA passed\""
)]
pub struct Args {
    /// The prompt
    name: String,
    /// The version to promote
    version: String,
    /// The environment to point at it
    #[arg(long, value_name = "ENV")]
    to: String,
    /// Why (recorded in the commit message)
    #[arg(long, value_name = "TEXT")]
    reason: String,
    /// Override the pipeline rule and the environment's gate (recorded in the commit)
    #[arg(long)]
    force: bool,
}

pub fn run(context: &Context, args: &Args) -> Result<()> {
    let (store, signatures) = context.writer("promote")?;
    let request = PromoteRequest {
        name: PromptName::parse(&args.name)?,
        version: Version::parse(&args.version)?,
        environment: args.to.clone(),
        reason: args.reason.clone(),
        force: args.force,
    };
    match promote(&store, &request, &signatures)? {
        Promoted::AlreadyThere => context.status(&format!(
            "{} {} is already in {}; nothing to do",
            request.name, request.version, request.environment
        )),
        Promoted::Moved { from, commit } => context.status(&format!(
            "promoted {} {} to {}{} (commit {})",
            request.name,
            request.version,
            request.environment,
            from.map(|v| format!(" (was {v})")).unwrap_or_default(),
            super::init::short(&commit.to_string())
        )),
    }
    Ok(())
}

//! `promptreg rollback`

use anyhow::Result;
use promptreg::ops::rollback::{rollback, RollbackRequest};
use promptreg::{PromptName, Version};

use crate::cli::Context;

/// Move an environment back to the version it held before (recorded as `reverted`)
///
/// Without --to, the environment goes back to the version it held before the current one,
/// as the audit trail records it; with --to, to any version it held at some point.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Example:\n  promptreg rollback support/refund-agent --env production --reason \"refund errors in prod\""
)]
pub struct Args {
    /// The prompt
    name: String,
    /// The environment to roll back
    #[arg(long, value_name = "ENV")]
    env: String,
    /// A version the environment held before (default: the one before the current)
    #[arg(long, value_name = "X.Y.Z")]
    to: Option<String>,
    /// Why (recorded in the commit message)
    #[arg(long, value_name = "TEXT")]
    reason: String,
}

pub fn run(context: &Context, args: &Args) -> Result<()> {
    let (store, signatures) = context.writer("rollback")?;
    let request = RollbackRequest {
        name: PromptName::parse(&args.name)?,
        environment: args.env.clone(),
        to: args.to.as_deref().map(Version::parse).transpose()?,
        reason: args.reason.clone(),
    };
    let done = rollback(&store, &request, &signatures)?;
    context.status(&format!(
        "rolled back {} in {} from {} to {} (commit {})",
        request.name,
        request.environment,
        done.from,
        done.to,
        super::init::short(&done.commit.to_string())
    ));
    Ok(())
}

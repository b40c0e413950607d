//! `promptreg rollback`

use anyhow::Result;
use promptreg::model::history::Change;
use promptreg::ops::rollback::{rollback_on, RollbackRequest};
use promptreg::{PromptName, Version};

use crate::cli::written::{self, Written};
use crate::cli::{CliError, Context};

/// Move an environment back to the version it held before (recorded as `reverted`)
///
/// Without --to, the environment goes back to the version it held before the current one,
/// as the audit trail records it; with --to, to any version it held at some point. With
/// --format json|yaml, prints what it did (docs/FORMAT.md §8.1).
#[derive(clap::Args, Debug)]
// `--env` is checked in `run` (so that `--to ENV` without it gets a hint); the usage line says
// it is required.
#[command(
    override_usage = "promptreg rollback [OPTIONS] --env <ENV> --reason <TEXT> <NAME>",
    after_help = "Example:\n  promptreg rollback support/refund-agent --env production --reason \"refund errors in prod\""
)]
pub struct Args {
    /// The prompt
    name: String,
    /// The environment to roll back (required)
    #[arg(long, value_name = "ENV")]
    env: Option<String>,
    /// A version the environment held before (default: the one before the current)
    #[arg(long, value_name = "X.Y.Z")]
    to: Option<String>,
    /// Why (recorded in the commit message)
    #[arg(long, value_name = "TEXT")]
    reason: String,
    #[command(flatten)]
    review: crate::cli::review::BranchArgs,
}

/// Refuses an empty `--reason` (of `promote` and `rollback`): the audit trail's why.
pub fn check_reason(reason: &str) -> Result<()> {
    if reason.trim().is_empty() {
        return Err(CliError::usage_hint(
            "the reason (--reason) is empty; say why the pointer moves",
            "it is the why of the audit trail (`promptreg history`), e.g. --reason \"QA passed\"",
        )
        .into());
    }
    Ok(())
}

/// The refusal of a rollback without `--env`: `--to ENV`, as `promote` has it, is the usual
/// mistake.
fn missing_env(args: &Args) -> CliError {
    match args.to.as_deref() {
        Some(text) if !looks_like_version(text) => CliError::usage_hint(
            format!("rollback takes the environment as --env, not --to (`--to {text}`)"),
            format!(
                "`promptreg rollback {} --env {text} --reason \"…\"`; --to names a version it held before",
                args.name
            ),
        ),
        _ => CliError::usage_hint(
            "rollback needs --env ENV: the environment to roll back",
            format!("`promptreg rollback {} --env production --reason \"…\"`", args.name),
        ),
    }
}

/// Whether `text` reads as an attempt at a version (`1.2`, `v2.0.0`) rather than a word.
fn looks_like_version(text: &str) -> bool {
    let digits = text.strip_prefix(['v', 'V']).unwrap_or(text);
    digits.starts_with(|c: char| c.is_ascii_digit())
}

pub fn run(context: &Context, args: &Args) -> Result<()> {
    let format = context.format(&written::FORMATS, crate::cli::context::Format::Text)?;
    context.refuse_ref("rollback")?;
    check_reason(&args.reason)?;
    let Some(env) = &args.env else {
        return Err(missing_env(args).into());
    };
    let to = match args.to.as_deref() {
        None => None,
        // An environment's name given as --to (as `promote --to ENV` has it): say which flag.
        Some(text) if !looks_like_version(text) => {
            return Err(CliError::usage_hint(
                format!("--to `{text}` is not a version: rollback's --to names the version to go back to"),
                format!(
                    "the environment is --env: `promptreg rollback {} --env {text} --reason \"…\"`; add --to X.Y.Z only to pick the version",
                    args.name
                ),
            )
            .into())
        }
        Some(text) => Some(Version::parse(text)?),
    };
    let (store, signatures) = context.writer("rollback")?;
    let request = RollbackRequest {
        name: PromptName::parse(&args.name)?,
        environment: env.clone(),
        to,
        reason: args.reason.clone(),
    };
    let done = rollback_on(&store, &request, &signatures, args.review.branch.as_deref())?;
    context.status(&format!(
        "rolled back {} in {} from {} to {} (commit {}{})",
        request.name,
        request.environment,
        done.from.describe(),
        done.to,
        promptreg::store::short_id(done.commit),
        crate::cli::review::on_branch(&args.review)
    ));
    let to = promptreg::model::registry::Pointer::Version(done.to.clone());
    crate::cli::review::after_branch_commit(
        context,
        &args.review,
        &store,
        &crate::cli::review::Proposal::new(
            &store,
            &format!(
                "rollback {} {} to {}",
                request.name, request.environment, done.to
            ),
            &request.name,
            &request.environment,
            Some(&done.from),
            &to,
            &request.reason,
            done.commit,
        ),
    )?;
    written::print(
        format,
        &Written {
            command: "rollback",
            name: Some(request.name.to_string()),
            version: Some(done.to.to_string()),
            tag: Some(done.to.tag_name(&request.name)),
            commit: Some(done.commit.to_string()),
            new_commit: true,
            movement: Some(written::Move {
                environment: request.environment.clone(),
                change: Change::Reverted.as_str(),
                from: Some(done.from.to_string()),
                to: done.to.to_string(),
                forced: false,
                reason: request.reason.clone(),
            }),
            ..Written::default()
        },
    )
}

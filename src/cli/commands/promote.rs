//! `promptreg promote`

use anyhow::Result;
use promptreg::model::registry::{Percent, Pointer};
use promptreg::ops::promote::{promote_on, PromoteRequest, Promoted};
use promptreg::{PromptName, Version};

use crate::cli::written::{self, Written};
use crate::cli::{CliError, Context};

/// Point an environment at a version (a commit of registry.yaml alone)
///
/// The first environment of the pipeline accepts any released version; each later one only the
/// version the environment before it holds now. An environment with a gate (`policy:` in
/// registry.yaml) also needs the version's recorded test results to meet it. With --format
/// json|yaml, prints what it did (docs/FORMAT.md §8.1).
#[derive(clap::Args, Debug)]
// `--env` and the version are checked in `run` (so that rollback's spelling, `--env ENV --to
// VERSION`, gets a hint instead of clap's error); the usage line says they are required.
#[command(
    override_usage = "promptreg promote [OPTIONS] <NAME> <VERSION> --env <ENV> --reason <TEXT>",
    after_help = "Example:\n  promptreg promote support/refund-agent 1.1.0 --env staging --reason \"QA passed\""
)]
pub struct Args {
    /// The prompt
    name: String,
    /// The version to promote (required)
    version: Option<String>,
    /// The environment to point at it (required)
    #[arg(long, value_name = "ENV")]
    env: Option<String>,
    /// The older spelling of --env
    #[arg(long, value_name = "ENV")]
    to: Option<String>,
    /// Why (recorded in the commit message)
    #[arg(long, value_name = "TEXT")]
    reason: String,
    /// Override the pipeline rule and the environment's gate (recorded in the commit)
    #[arg(long)]
    force: bool,
    /// Start or re-weight a canary: ENV keeps serving its stable version to the rest and
    /// serves VERSION to this share of keys (0.01 to 99.99; see `fetch --key`). Without it, a
    /// promotion of a version ENV already serves in a split completes the split
    // Hyphen values are taken so that `--canary -5` is refused as a share (exit 1), not read
    // as an unknown flag.
    #[arg(long, value_name = "PERCENT", allow_hyphen_values = true)]
    canary: Option<String>,
    #[command(flatten)]
    review: crate::cli::review::BranchArgs,
}

/// The version and the environment from the arguments, or a usage error saying which flag.
fn version_and_env(args: &Args) -> Result<(&str, &str), CliError> {
    let example = |version: &str, env: &str| {
        format!(
            "`promptreg promote {} {version} --env {env} --reason \"…\"`",
            args.name
        )
    };
    let env = match (args.env.as_deref(), args.to.as_deref()) {
        (Some(env), None) | (None, Some(env)) => env,
        // Rollback's spelling: `--env ENV --to VERSION`.
        (Some(env), Some(to)) if args.version.is_none() => {
            return Err(CliError::usage_hint(
                format!("promote takes the version as its second argument, not --to (`--to {to}`)"),
                example(to, env),
            ))
        }
        (Some(env), Some(to)) => {
            return Err(CliError::usage_hint(
                format!("--env `{env}` and --to `{to}` both name the environment; give one"),
                example(args.version.as_deref().unwrap_or("VERSION"), env),
            ))
        }
        (None, None) => {
            return Err(CliError::usage_hint(
                "promote needs --env ENV: the environment to point at the version",
                example(args.version.as_deref().unwrap_or("VERSION"), "dev"),
            ))
        }
    };
    let Some(version) = args.version.as_deref() else {
        return Err(CliError::usage_hint(
            "promote needs the VERSION to promote, after the prompt's name",
            example("1.0.0", env),
        ));
    };
    Ok((version, env))
}

pub fn run(context: &Context, args: &Args) -> Result<()> {
    let format = context.format(&written::FORMATS, crate::cli::context::Format::Text)?;
    context.refuse_ref("promote")?;
    let (version, env) = version_and_env(args)?;
    super::rollback::check_reason(&args.reason)?;
    // A share out of range is a refused split (exit 1), like 0 or 100, which the library
    // refuses.
    let canary = match args.canary.as_deref() {
        Some(text) => Some(
            Percent::parse(text.trim_end_matches('%')).map_err(|message| {
                promptreg::Error::InvalidSplit {
                    message: format!("--canary {text}: {message}"),
                }
            })?,
        ),
        None => None,
    };
    let (store, signatures) = context.writer("promote")?;
    let request = PromoteRequest {
        name: PromptName::parse(&args.name)?,
        version: Version::parse(version)?,
        environment: env.to_owned(),
        reason: args.reason.clone(),
        force: args.force,
        canary,
    };
    let promoted = promote_on(&store, &request, &signatures, args.review.branch.as_deref())?;
    let mut result = Written {
        command: "promote",
        name: Some(request.name.to_string()),
        version: Some(request.version.to_string()),
        tag: Some(request.version.tag_name(&request.name)),
        ..Written::default()
    };
    match promoted {
        Promoted::AlreadyThere => context.status(&format!(
            "{} {} is already in {}; nothing to do",
            request.name, request.version, request.environment
        )),
        Promoted::Moved {
            from,
            to,
            commit,
            change,
            forced,
        } => {
            let was = from
                .as_ref()
                .map(|p| format!(" (was {})", p.describe()))
                .unwrap_or_default();
            let what = match (&to, request.canary) {
                (Pointer::Split(_), _) => format!(
                    "{} of {} now splits {}{was}",
                    request.environment,
                    request.name,
                    to.describe()
                ),
                _ if from.as_ref().is_some_and(|p| p.split().is_some()) => format!(
                    "completed the split: {} {} serves {} to everyone{was}",
                    request.name, request.environment, request.version
                ),
                _ => format!(
                    "promoted {} {} to {}{was}",
                    request.name, request.version, request.environment
                ),
            };
            context.status(&format!(
                "{what} (commit {}{})",
                promptreg::store::short_id(commit),
                crate::cli::review::on_branch(&args.review)
            ));
            crate::cli::review::after_branch_commit(
                context,
                &args.review,
                &store,
                &crate::cli::review::Proposal::new(
                    &store,
                    &format!(
                        "promote {} {} to {}",
                        request.name, request.version, request.environment
                    ),
                    &request.name,
                    &request.environment,
                    from.as_ref(),
                    &to,
                    &request.reason,
                    commit,
                ),
            )?;
            result.commit = Some(commit.to_string());
            result.new_commit = true;
            result.movement = Some(written::Move {
                environment: request.environment.clone(),
                change: change.as_str(),
                from: from.map(|p| p.to_string()),
                to: to.to_string(),
                forced,
                reason: request.reason.clone(),
            });
        }
    }
    written::print(format, &result)
}

//! `promptreg split`

use anyhow::Result;
use promptreg::model::registry::{Percent, Pointer, Share};
use promptreg::ops::split::{split_on, SplitRequest, SplitSet};
use promptreg::{PromptName, Version};

use crate::cli::written::{self, Written};
use crate::cli::Context;

/// Split an environment's traffic between versions (an A/B/n test; a commit of registry.yaml)
///
/// Each key (`fetch --key`, the clients' `key`) is assigned one entry, sticky, by the rule in
/// docs/FORMAT.md §3.3; entries take consecutive shares in the order given. Every version
/// entering ENV must be held by the environment before it (in whole or in part) or be served
/// by ENV already, and pass ENV's gate. For a canary, `promote --canary` is shorter; `rollback`
/// ends a split. With --format json|yaml, prints what it did (docs/FORMAT.md §8.1).
#[derive(clap::Args, Debug)]
#[command(
    override_usage = "promptreg split [OPTIONS] <NAME> --env <ENV> <VERSION=PERCENT>... --reason <TEXT>",
    after_help = "Example:\n  promptreg split support/refund-agent --env production 1.1.0=50 1.2.0=50 --reason \"A/B: tone\""
)]
pub struct Args {
    /// The prompt
    name: String,
    /// The entries, VERSION=PERCENT each, adding up to 100 (at most two decimals)
    #[arg(value_name = "VERSION=PERCENT", required = true, num_args = 1..)]
    entries: Vec<String>,
    /// The environment to split
    #[arg(long, visible_alias = "to", value_name = "ENV")]
    env: String,
    /// Why (recorded in the commit message)
    #[arg(long, value_name = "TEXT")]
    reason: String,
    /// Override the pipeline rule and the environment's gate (recorded in the commit)
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    review: crate::cli::review::BranchArgs,
}

/// The entries as written on the command line, or the refused split naming the bad one (exit
/// 1, as the library refuses a split that breaks the rules).
fn shares(args: &Args) -> Result<Vec<Share>, promptreg::Error> {
    let refused = |entry: &str, problem: String| promptreg::Error::InvalidSplit {
        message: format!("`{entry}`: {problem}"),
    };
    args.entries
        .iter()
        .map(|entry| {
            let Some((version, percent)) = entry.split_once('=') else {
                return Err(refused(entry, "not VERSION=PERCENT".to_owned()));
            };
            let version = Version::parse(version).map_err(|e| refused(entry, e.to_string()))?;
            let percent =
                Percent::parse(percent.trim_end_matches('%')).map_err(|m| refused(entry, m))?;
            Ok(Share { version, percent })
        })
        .collect()
}

pub fn run(context: &Context, args: &Args) -> Result<()> {
    let format = context.format(&written::FORMATS, crate::cli::context::Format::Text)?;
    context.refuse_ref("split")?;
    super::rollback::check_reason(&args.reason)?;
    let shares = shares(args)?;
    let (store, signatures) = context.writer("split")?;
    let request = SplitRequest {
        name: PromptName::parse(&args.name)?,
        environment: args.env.clone(),
        shares,
        reason: args.reason.clone(),
        force: args.force,
    };
    let mut result = Written {
        command: "split",
        name: Some(request.name.to_string()),
        ..Written::default()
    };
    match split_on(&store, &request, &signatures, args.review.branch.as_deref())? {
        SplitSet::AlreadyThere => context.status(&format!(
            "{} of {} already splits that way; nothing to do",
            request.environment, request.name
        )),
        SplitSet::Moved {
            from,
            to,
            commit,
            forced,
        } => {
            let to = Pointer::Split(to);
            context.status(&format!(
                "{} of {} now splits {}{} (commit {}{})",
                request.environment,
                request.name,
                to.describe(),
                from.as_ref()
                    .map(|p| format!(" (was {})", p.describe()))
                    .unwrap_or_default(),
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
                        "split {} {} {}",
                        request.name,
                        request.environment,
                        to.describe()
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
                change: promptreg::model::history::Change::Split.as_str(),
                from: from.map(|p| p.to_string()),
                to: to.to_string(),
                forced,
                reason: request.reason.clone(),
            });
        }
    }
    written::print(format, &result)
}

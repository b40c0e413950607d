//! `promptreg audit`

use anyhow::Result;
use promptreg::ops::audit::audit_proposed;

use crate::cli::context::Format;
use crate::cli::{output, Context};

/// Check every commit since BASE that changed registry.yaml or results (what a pull request's
/// CI runs)
///
/// Reports pointer moves and rollbacks by authors the access rules (as they were at BASE) do
/// not allow, version tags by taggers who may not release, results recorded by authors who
/// may not record, moves of protected environments committed on the branch without a merge,
/// promotions that skip a pipeline stage or miss the gate of BASE's policy, pointers to
/// versions that do not exist, indexes that do not parse, and recorded test runs removed or
/// rewritten. Exit 1 when anything is found.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Example (in CI, for a pull request into main):\n  promptreg audit --base origin/main"
)]
pub struct Args {
    /// The revision the change starts from, e.g. origin/main
    #[arg(long, value_name = "REF")]
    base: String,
    /// The revision audited (HEAD, or --ref) is a pull request's head, not the registry
    /// branch: moves of protected environments on it are to arrive by the merge under review.
    /// Not needed on a merge ref such as GitHub's refs/pull/N/merge
    #[arg(long)]
    pull_request: bool,
}

pub fn run(context: &Context, args: &Args) -> Result<()> {
    let format = context.format(&[Format::Text, Format::Json], Format::Text)?;
    let store = context.store()?;
    let result = audit_proposed(
        &store,
        &args.base,
        context.revision.as_deref(),
        args.pull_request,
    )?;
    if format == Format::Json {
        output::json(&result)?;
    } else {
        let mut text = String::new();
        for v in &result.violations {
            let place = match (&v.prompt, &v.environment) {
                (Some(p), Some(e)) => format!(
                    "{p} {e} {} → {}: ",
                    v.from
                        .as_deref()
                        .map_or("none".into(), output::pointer_text),
                    v.to.as_deref().map_or("none".into(), output::pointer_text)
                ),
                (Some(p), None) => match &v.to {
                    Some(version) => format!("{p} {version}: "),
                    None => format!("{p}: "),
                },
                _ => String::new(),
            };
            text.push_str(&format!(
                "{} {}: {place}{}\n",
                &v.commit[..v.commit.len().min(10)],
                v.author,
                v.message
            ));
        }
        output::print(&text)?;
    }
    if result.violations.is_empty() {
        context.status(&format!(
            "audit: {} commit(s) changed registry.yaml or results since {}; no violations",
            result.commits_checked, args.base
        ));
        Ok(())
    } else {
        Err(crate::cli::report::Failed(format!(
            "audit: {} violation(s) in {} commit(s) since {}",
            result.violations.len(),
            result.commits_checked,
            args.base
        ),
            "each violation above names its commit; review them, and keep changes to registry.yaml going through `promptreg promote`".into(),
        )
        .into())
    }
}

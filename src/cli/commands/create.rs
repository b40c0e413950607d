//! `promptreg create`

use std::path::PathBuf;

use anyhow::Result;
use clap::ValueEnum;
use promptreg::ops::create::{create, CreateRequest, VersionChoice};
use promptreg::version::Bump;
use promptreg::{PromptName, Version};

use crate::cli::Context;

/// Release the working-tree content of prompts/NAME/ as a new immutable version
///
/// Commits exactly prompts/NAME/ (your other staged and unstaged changes stay as they are) and
/// creates the annotated tag NAME/vVERSION. Prints the new version.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  promptreg create support/refund-agent --version 1.0.0 -m \"First release\"\n  promptreg create summarize --bump minor -m \"Shorter answers\" --file draft.yaml"
)]
pub struct Args {
    /// The prompt, e.g. support/refund-agent
    name: String,
    /// The exact version to release (semver)
    #[arg(
        long,
        value_name = "X.Y.Z",
        required_unless_present = "bump",
        conflicts_with = "bump"
    )]
    version: Option<String>,
    /// Derive the version from the highest one (first version: 1.0.0 for major, else 0.1.0)
    #[arg(long, value_enum)]
    bump: Option<BumpArg>,
    /// The changelog for this version (stored as the tag message)
    #[arg(short, long, value_name = "TEXT")]
    message: String,
    /// Use this file as the prompt's prompt.yaml first
    #[arg(long, value_name = "PATH")]
    file: Option<PathBuf>,
    /// Release even when the content equals the highest existing version
    #[arg(long)]
    allow_unchanged: bool,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum BumpArg {
    Major,
    Minor,
    Patch,
}

pub fn run(context: &Context, args: &Args) -> Result<()> {
    let name = PromptName::parse(&args.name)?;
    let version = match (&args.version, args.bump) {
        (Some(v), _) => VersionChoice::Exact(Version::parse(v)?),
        (None, Some(BumpArg::Major)) => VersionChoice::Bump(Bump::Major),
        (None, Some(BumpArg::Minor)) => VersionChoice::Bump(Bump::Minor),
        (None, Some(BumpArg::Patch) | None) => VersionChoice::Bump(Bump::Patch),
    };
    if args.message.trim().is_empty() {
        return Err(crate::cli::report::Usage(
            "the changelog (-m) is empty; say what changed".into(),
        )
        .into());
    }
    let store = context.store()?;
    let signatures = context.signatures(Some(&store))?;
    let request = CreateRequest {
        name,
        version,
        message: args.message.clone(),
        file: args.file.clone(),
        allow_unchanged: args.allow_unchanged,
    };
    let created = create(&store, &request, &signatures)?;
    context.status(&format!(
        "created {} {} (tag {}, commit {}{})",
        created.name,
        created.version,
        created.tag,
        super::init::short(&created.commit.to_string()),
        if created.new_commit {
            ""
        } else {
            ", already committed"
        }
    ));
    crate::cli::output::print(&format!("{}\n", created.version))
}

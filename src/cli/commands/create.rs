//! `promptreg create`

use std::path::PathBuf;

use anyhow::Result;
use clap::ValueEnum;
use promptreg::model::version::Bump;
use promptreg::ops::create::{create, CreateRequest, PromptSource, VersionChoice};
use promptreg::{PromptName, Version};

use crate::cli::context::Format;
use crate::cli::written::{self, Written};
use crate::cli::Context;

/// Release the working-tree content of prompts/NAME/ as a new immutable version
///
/// Commits exactly prompts/NAME/ (your other staged and unstaged changes stay as they are) and
/// creates the annotated tag NAME/vVERSION. Prints the new version (with --format json|yaml:
/// what it did, docs/FORMAT.md §8.1).
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  promptreg create support/refund-agent --version 1.0.0 -m \"First release\"\n  promptreg create summarize --bump minor -m \"Shorter answers\" --file draft.yaml\n  promptreg create summarize --bump auto -m \"Ask for the order number\""
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
    ///
    /// `auto` picks the bump from what changed against the highest version and says why on
    /// stderr: major when callers break (a variable removed or renamed, a new variable required
    /// without a default), minor when the text (system prompt, messages) or settings (model,
    /// temperature, token_budget, examples, variable defaults) change, patch when only the summary,
    /// tags, metadata or descriptions do. A first version is 1.0.0 with `auto`: the first
    /// release is a complete contract, so callers can rely on it.
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
    Auto,
}

pub fn run(context: &Context, args: &Args) -> Result<()> {
    let format = context.format(&[Format::Text, Format::Json, Format::Yaml], Format::Text)?;
    context.refuse_ref("create")?;
    let name = PromptName::parse(&args.name)?;
    let version = match (&args.version, args.bump) {
        (Some(v), _) => VersionChoice::Exact(Version::parse(v)?),
        (None, Some(BumpArg::Major)) => VersionChoice::Bump(Bump::Major),
        (None, Some(BumpArg::Minor)) => VersionChoice::Bump(Bump::Minor),
        (None, Some(BumpArg::Patch) | None) => VersionChoice::Bump(Bump::Patch),
        (None, Some(BumpArg::Auto)) => VersionChoice::Auto,
    };
    if args.message.trim().is_empty() {
        return Err(crate::cli::report::Usage(
            "the changelog (-m) is empty".into(),
            "say what changed: -m \"Shorter answers for refunds\"".into(),
        )
        .into());
    }
    let (store, signatures) = context.writer("create")?;
    let request = CreateRequest {
        name,
        version,
        message: args.message.clone(),
        source: args
            .file
            .clone()
            .map_or(PromptSource::WorkTree, PromptSource::File),
        allow_unchanged: args.allow_unchanged,
    };
    let created = create(&store, &request, &signatures)?;
    if let Some(auto) = &created.auto {
        context.status(&format!("bump: {} ({})", auto.bump.as_str(), auto.reason));
    }
    context.status(&format!(
        "created {} {} (tag {}, commit {}{})",
        created.name,
        created.version,
        created.tag,
        promptreg::store::short_id(created.commit),
        if created.new_commit {
            ""
        } else {
            ", already committed"
        }
    ));
    if format == Format::Text {
        return crate::cli::output::print(&format!("{}\n", created.version));
    }
    written::print(
        format,
        &Written {
            command: "create",
            name: Some(created.name.to_string()),
            version: Some(created.version.to_string()),
            tag: Some(created.tag.clone()),
            commit: Some(created.commit.to_string()),
            new_commit: created.new_commit,
            bump: created.auto.as_ref().map(|auto| written::Bump {
                bump: auto.bump.as_str(),
                reason: auto.reason.clone(),
            }),
            ..Written::default()
        },
    )
}

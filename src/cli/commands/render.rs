//! `promptreg render`

use std::path::PathBuf;

use anyhow::Result;
use promptreg::model::selector::Selector;
use promptreg::ops::render::{read_vars_file, render, Input, Origin, Source};
use promptreg::PromptName;

use crate::cli::context::Format;
use crate::cli::report::Usage;
use crate::cli::{output, Context};

/// Fill a prompt's templates with values: the messages of a chat-completion call
///
/// Strict: every variable the prompt declares gets the value given, else its default, else
/// (optional variables only) the empty string; a required variable without a value, or a value
/// for a variable the prompt does not declare (from --var or --vars-file), is an error. Values
/// from --vars-file come first, --var overrides them. Values from --var are strings; a vars file
/// can give numbers, lists and maps too.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  promptreg render support/refund-agent@staging --var company_name=Acme --var message=\"Where is my refund?\"\n  promptreg render support/refund-agent --vars-file case-17.yaml --format json\n  promptreg render support/refund-agent --worktree --var company_name=Acme   # while editing\n\nFormats: text (default: the system prompt, then each message as a [role] block), json (a\nchat-completion request: {id, model, temperature, messages: [{role, content}]}, system first)"
)]
pub struct Args {
    /// NAME, NAME@VERSION, NAME@ENVIRONMENT or NAME@latest (with --worktree: NAME)
    selector: String,
    /// A value for a variable (repeatable)
    #[arg(long = "var", value_name = "NAME=VALUE")]
    vars: Vec<String>,
    /// A JSON (.json) or YAML file holding a map of variable names to values
    #[arg(long, value_name = "FILE")]
    vars_file: Option<PathBuf>,
    /// Render the working-tree prompts/NAME/ instead of a released version
    #[arg(long)]
    worktree: bool,
}

pub fn run(context: &Context, args: &Args) -> Result<()> {
    let format = context.format(&[Format::Text, Format::Json], Format::Text)?;
    let source = if args.worktree {
        if args.selector.contains('@') {
            return Err(Usage(
                format!(
                "--worktree renders prompts/NAME/ as it is on disk; it takes a bare NAME, not `{}`",
                args.selector
            ),
                "drop the @… part, or drop --worktree to render a release".into(),
            )
            .into());
        }
        Source::Worktree(PromptName::parse(&args.selector)?)
    } else {
        Source::Release(Selector::parse(&args.selector)?)
    };
    let mut inputs = Vec::new();
    let mut flags = Vec::new();
    for var in &args.vars {
        let (name, value) = var
            .split_once('=')
            .filter(|(name, _)| !name.is_empty())
            .ok_or_else(|| {
                Usage(
                    format!("--var `{var}` is not NAME=VALUE"),
                    "write --var company_name=Acme; put richer values in a --vars-file".into(),
                )
            })?;
        flags.push(Input {
            name: name.to_owned(),
            value: value.into(),
            origin: Origin::Flag,
        });
    }
    let store = context.store()?;
    if let Some(path) = &args.vars_file {
        inputs.extend(read_vars_file(path)?);
    }
    inputs.extend(flags);
    let rendered = render(&store, &source, &inputs, context.revision.as_deref())?;
    match format {
        Format::Json => output::json(&rendered.chat()),
        _ => output::print(&rendered.text()),
    }
}

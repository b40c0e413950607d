//! `promptreg schema`

use anyhow::Result;

use crate::cli::context::Format;
use crate::cli::{output, Context};

/// Print the JSON Schema of prompt.yaml, registry.yaml or a results file, for editors that
/// validate YAML while you type
///
/// The schema (JSON Schema draft 2020-12) is generated from the types promptreg parses with, so
/// it rejects unknown keys, wrong types and out-of-range values as promptreg does. Rules that
/// need the rest of the repository (component files exist, pointers name pipeline environments)
/// are checked by promptreg only. See docs/EDITORS.md.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  promptreg schema > .promptreg/prompt.schema.json\n  promptreg schema registry > .promptreg/registry.schema.json\n\nThen start prompt.yaml with:\n  # yaml-language-server: $schema=../../../.promptreg/prompt.schema.json"
)]
pub struct Args {
    /// Which file's schema
    #[arg(value_enum, default_value_t = Which::Prompt)]
    which: Which,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Which {
    /// prompts/<name>/prompt.yaml
    Prompt,
    /// registry.yaml
    Registry,
    /// results/<name>.yaml
    Results,
}

pub fn run(context: &Context, args: &Args) -> Result<()> {
    context.format(&[Format::Json], Format::Json)?;
    let schema = match args.which {
        Which::Prompt => promptreg::model::schema::prompt(),
        Which::Registry => promptreg::model::schema::registry(),
        Which::Results => promptreg::model::schema::results(),
    };
    output::json(&schema)
}

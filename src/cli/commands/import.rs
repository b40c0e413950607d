//! `promptreg import`

use std::path::PathBuf;

use crate::cli::output::Cell;
use anyhow::Result;
use clap::ValueEnum;
use promptreg::bridge::Format as Bridge;
use promptreg::ops::import::{import, ImportRequest};

use crate::cli::context::Format;
use crate::cli::{output, Context};

/// Import prompts, with their versions, authors, dates and labels, from another system's export
///
/// One release per version, in version order, tagged with the original author and date when
/// the export has them (else the importing user, as the report says). Labels that name an
/// environment of the pipeline become its pointer, promoted in pipeline order and never forced
/// (a gate that refuses is reported). Templates are converted to MiniJinja only where they
/// render the same; anything else is refused with its file, field, line and column, before
/// anything is written. Running the same import again changes nothing. Mappings:
/// docs/BRIDGES.md.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  promptreg import langfuse langfuse-export.json\n  promptreg import prompty prompts/*.prompty --domain support --dry-run\n  promptreg import dotprompt prompts/ --format json"
)]
pub struct Args {
    /// The export's format
    #[arg(value_enum)]
    from: FormatArg,
    /// Files, or directories (their *.json, *.prompty or *.prompt files, four levels deep)
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Put every prompt under this domain (support → support/NAME)
    #[arg(long, value_name = "D")]
    domain: Option<String>,
    /// Print the report of what would happen and write nothing
    #[arg(long)]
    dry_run: bool,
    /// Read the label LABEL as the environment ENV (repeatable), e.g. --label prod=production
    #[arg(long, value_name = "LABEL=ENV")]
    label: Vec<String>,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum FormatArg {
    /// Langfuse's prompts API JSON (GET /api/public/v2/prompts/{name})
    Langfuse,
    /// Microsoft .prompty files
    Prompty,
    /// Google dotprompt .prompt files
    Dotprompt,
    /// MLflow prompt registry versions (PromptVersion fields as JSON)
    Mlflow,
    /// LangSmith prompt manifests (LangChain's serialisation), or their commits
    Langsmith,
    /// PromptLayer prompt templates (GET /prompt-templates/{name})
    Promptlayer,
}

pub fn run(context: &Context, args: &Args) -> Result<()> {
    let format = context.format(&[Format::Table, Format::Json], Format::Table)?;
    context.refuse_ref("import")?;
    if let Some(domain) = &args.domain {
        promptreg::PromptName::parse(domain)?;
    }
    let bridge = match args.from {
        FormatArg::Langfuse => Bridge::Langfuse,
        FormatArg::Prompty => Bridge::Prompty,
        FormatArg::Dotprompt => Bridge::Dotprompt,
        FormatArg::Mlflow => Bridge::Mlflow,
        FormatArg::Langsmith => Bridge::Langsmith,
        FormatArg::Promptlayer => Bridge::Promptlayer,
    };
    let mut labels = Vec::new();
    for pair in &args.label {
        let Some((from, to)) = pair
            .split_once('=')
            .filter(|(f, t)| !f.is_empty() && !t.is_empty())
        else {
            return Err(crate::cli::report::Usage(
                format!("--label `{pair}` is not LABEL=ENV"),
                "write the label and the environment it means: --label prod=production".into(),
            )
            .into());
        };
        labels.push((from.to_owned(), to.to_owned()));
    }
    let request = ImportRequest {
        format: bridge,
        paths: args.paths.clone(),
        domain: args.domain.clone(),
        dry_run: args.dry_run,
        labels,
    };
    let (store, signatures) = context.writer("import")?;
    let report = import(&store, &request, &signatures)?;
    let versions: usize = report.prompts.iter().map(|p| p.versions.len()).sum();
    let plural = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
    let created = report
        .prompts
        .iter()
        .flat_map(|p| &p.versions)
        .filter(|v| matches!(v.action, "created" | "would create"))
        .count();
    let moved = report
        .prompts
        .iter()
        .flat_map(|p| &p.labels)
        .filter(|l| matches!(l.action.as_str(), "moved" | "would move"))
        .count();
    let refused = report
        .prompts
        .iter()
        .flat_map(|p| &p.labels)
        .filter(|l| l.action.starts_with("refused"))
        .count();
    let prompts = plural(report.prompts.len(), "prompt");
    context.status(&match (report.changed, report.dry_run) {
        (false, _) => format!(
            "nothing to import: all {} of {prompts} and their labels are already here",
            plural(versions, "version")
        ),
        (true, true) => format!(
            "dry run: nothing written; would create {} and move {} ({prompts} read)",
            plural(created, "version"),
            plural(moved, "pointer")
        ),
        (true, false) => format!(
            "imported from {}: created {}, moved {} ({prompts})",
            report.format,
            plural(created, "version"),
            plural(moved, "pointer")
        ),
    });
    if refused > 0 {
        context.warning(&format!(
            "{} not moved (a gate or an access rule refused it; see the POINTER column)",
            plural(refused, "label")
        ));
    }
    if format == Format::Json {
        return output::json(&report);
    }
    let mut table = output::table(
        context,
        &[
            output::id("PROMPT"),
            output::id("VERSION"),
            output::id("FROM"),
            output::id("ACTION"),
            output::id("AUTHOR"),
            output::id("DATE"),
        ],
    );
    for prompt in &report.prompts {
        for v in &prompt.versions {
            let author = match v.author_from {
                "export" => v.author.clone(),
                _ => format!("{} (importing user)", v.author),
            };
            table.add_row(vec![
                Cell::new(&prompt.name),
                Cell::new(&v.version),
                Cell::new(format!("{} v{}", prompt.source, v.source)),
                Cell::new(v.action),
                Cell::new(author),
                Cell::new(output::short_time(&v.date)),
            ]);
        }
    }
    let mut text = table.render() + "\n";
    let mut labels = output::table(
        context,
        &[
            output::id("PROMPT"),
            output::id("LABEL"),
            output::id("VERSION"),
            output::text("POINTER"),
        ],
    );
    let mut any_label = false;
    for prompt in &report.prompts {
        for l in &prompt.labels {
            any_label = true;
            let via = if l.via.is_empty() {
                String::new()
            } else {
                format!(" (via {})", l.via.join(", "))
            };
            let pointer = match &l.environment {
                Some(env) => format!("{env}: {}{via}", l.action),
                None => l.action.clone(),
            };
            labels.add_row(vec![
                Cell::new(&prompt.name),
                Cell::new(&l.label),
                Cell::new(&l.version),
                Cell::new(pointer),
            ]);
        }
    }
    if any_label {
        text.push('\n');
        text.push_str(&labels.render());
        text.push('\n');
    }
    let mut notes = Vec::new();
    for prompt in &report.prompts {
        for v in &prompt.versions {
            for n in &v.notes {
                notes.push(format!("  {}@{}: {n}", prompt.name, v.version));
            }
            for n in &v.not_carried {
                notes.push(format!("  {}@{}: not carried: {n}", prompt.name, v.version));
            }
        }
    }
    if !notes.is_empty() {
        text.push_str("\nNOTES\n");
        text.push_str(&notes.join("\n"));
        text.push('\n');
    }
    output::print(&text)
}

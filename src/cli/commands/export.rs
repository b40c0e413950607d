//! `promptreg export`

use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;
use clap::ValueEnum;
use promptreg::ops::export::{export, export_foreign, Foreign, ForeignRequest};

use crate::cli::context::Format;
use crate::cli::{output, Context};

/// Write one file holding every prompt an environment serves (a deployment bundle)
#[derive(clap::Args, Debug)]
#[command(
    after_help = "The bundle: {\"format\": 1, \"environment\", \"exported_at\", \"commit\", \"prompts\": {NAME: RECORD}},\nwhere each RECORD is what `fetch NAME@ENV --format json` prints.\n\nFormats: json (default), yaml\n\nOther systems (--to, docs/BRIDGES.md):\n  promptreg export --to langfuse --out langfuse.json      every version, labels = environments\n  promptreg export --to prompty --env production --out prompty/\n  promptreg export --to dotprompt --prompt summarize --out dotprompt/"
)]
pub struct Args {
    /// The environment (default: the last of the pipeline, production)
    #[arg(long, value_name = "ENV")]
    env: Option<String>,
    /// Write the bundle to this file (atomically) instead of stdout; with --to prompty or
    /// dotprompt, the directory to write one file per prompt into
    #[arg(long, short, value_name = "FILE")]
    out: Option<PathBuf>,
    /// What to write: the deployment bundle, or another system's format
    #[arg(long, value_enum, default_value = "bundle")]
    to: To,
    /// Only this prompt (with --to langfuse, prompty or dotprompt)
    #[arg(long, value_name = "NAME")]
    prompt: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum To {
    /// The bundle of one environment (promptreg's own clients read it)
    Bundle,
    /// The Langfuse prompts API's JSON: a list of version objects (every version, or --env's)
    Langfuse,
    /// One Microsoft .prompty file per prompt (its latest version, or --env's)
    Prompty,
    /// One Google dotprompt .prompt file per prompt (its latest version, or --env's)
    Dotprompt,
}

pub fn run(context: &Context, args: &Args) -> Result<()> {
    if args.to != To::Bundle {
        return foreign(context, args);
    }
    if args.prompt.is_some() {
        return Err(crate::cli::report::Usage(
            "--prompt needs --to langfuse, prompty or dotprompt".into(),
            "a bundle holds every prompt an environment serves; pick the format: --to prompty"
                .into(),
        )
        .into());
    }
    let format = context.format(&[Format::Json, Format::Yaml], Format::Json)?;
    let store = context.store()?;
    let bundle = export(&store, args.env.as_deref(), context.revision.as_deref())?;
    // Each record is read as it is written (see `Export`): an error reading one stops the
    // writing and is the error reported. A JSON file is written as it is made (aside, then
    // renamed into place); what goes to stdout, or a YAML file, is made whole first, so that a
    // failed export prints nothing.
    let written = match (&args.out, format) {
        (Some(path), Format::Json) => promptreg::store::write_atomic_with(path, |file| {
            let mut out = std::io::BufWriter::with_capacity(64 * 1024, file);
            serde_json::to_writer_pretty(&mut out, &bundle)?;
            out.write_all(b"\n")?;
            out.flush()
        })
        .map_err(anyhow::Error::from),
        (out, format) => bundle_text(&bundle, format).and_then(|text| match out {
            Some(path) => Ok(promptreg::store::write_atomic(path, text.as_bytes())?),
            None => output::print(&text),
        }),
    };
    let exported = bundle.finish()?;
    written?;
    for e in &exported.results_errors {
        // The prompt is still worth shipping; the results file is reported, not fatal.
        context.warning(&format!("test results not exported: {e}"));
    }
    if let Some(path) = &args.out {
        context.status(&format!(
            "wrote {} prompt{} served by {} to {}",
            exported.prompts,
            if exported.prompts == 1 { "" } else { "s" },
            exported.environment,
            path.display()
        ));
    }
    Ok(())
}

/// The whole bundle as text in `format` (JSON or YAML).
fn bundle_text(bundle: &promptreg::ops::export::Export<'_>, format: Format) -> Result<String> {
    Ok(match format {
        Format::Yaml => promptreg::model::yaml::to_string(bundle)?,
        _ => serde_json::to_string_pretty(bundle)? + "\n",
    })
}

fn foreign(context: &Context, args: &Args) -> Result<()> {
    context.format(&[Format::Json], Format::Json)?;
    let to = match args.to {
        To::Langfuse => Foreign::Langfuse,
        To::Prompty => Foreign::Prompty,
        _ => Foreign::Dotprompt,
    };
    let dir = match (to, &args.out) {
        (Foreign::Langfuse, _) => None,
        (_, Some(dir)) => Some(dir),
        (_, None) => {
            return Err(crate::cli::report::Usage(
                "--to prompty and --to dotprompt write one file per prompt and need --out DIR"
                    .into(),
                "name a directory: --out exported/".into(),
            )
            .into())
        }
    };
    let prompt = args
        .prompt
        .as_deref()
        .map(promptreg::PromptName::parse)
        .transpose()?;
    let store = context.store()?;
    let request = ForeignRequest {
        to,
        environment: args.env.clone(),
        prompt,
    };
    let exported = export_foreign(&store, &request, context.revision.as_deref())?;
    for skipped in &exported.skipped {
        context.warning(&format!("not exported: {skipped}"));
    }
    let count = exported.exported.len();
    let what = format!("{count} version{}", if count == 1 { "" } else { "s" });
    match dir {
        None => {
            let file = &exported.files[0];
            match &args.out {
                None => output::print(&file.content)?,
                Some(path) => {
                    promptreg::store::write_atomic(path, file.content.as_bytes())?;
                    context.status(&format!("wrote {what} to {}", path.display()));
                }
            }
        }
        Some(dir) => {
            for file in &exported.files {
                let path = dir.join(&file.path);
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent).map_err(|e| {
                        anyhow::anyhow!(e).context(format!("cannot create `{}`", parent.display()))
                    })?;
                }
                promptreg::store::write_atomic(&path, file.content.as_bytes())?;
            }
            context.status(&format!(
                "wrote {what} as {} file{} into {}",
                exported.files.len(),
                if exported.files.len() == 1 { "" } else { "s" },
                dir.display()
            ));
        }
    }
    Ok(())
}

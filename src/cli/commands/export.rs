//! `promptreg export`

use std::path::PathBuf;

use anyhow::Result;
use promptreg::ops::export::export;

use crate::cli::context::Format;
use crate::cli::{output, Context};

/// Write one file holding every prompt an environment serves (a deployment bundle)
#[derive(clap::Args, Debug)]
#[command(
    after_help = "The bundle: {\"format\": 1, \"environment\", \"exported_at\", \"commit\", \"prompts\": {NAME: RECORD}},\nwhere each RECORD is what `fetch NAME@ENV --format json` prints.\n\nFormats: json (default), yaml"
)]
pub struct Args {
    /// The environment (default: the last of the pipeline, production)
    #[arg(long, value_name = "ENV")]
    env: Option<String>,
    /// Write the bundle to this file (atomically) instead of stdout
    #[arg(long, short, value_name = "FILE")]
    out: Option<PathBuf>,
}

pub fn run(context: &Context, args: &Args) -> Result<()> {
    let format = context.format(&[Format::Json, Format::Yaml], Format::Json)?;
    let store = context.store()?;
    let exported = export(&store, args.env.as_deref(), context.revision.as_deref())?;
    for e in &exported.results_errors {
        // The prompt is still worth shipping; the results file is reported, not fatal.
        context.warning(&format!("test results not exported: {e}"));
    }
    let bundle = exported.bundle;
    let Some(path) = &args.out else {
        return match format {
            Format::Yaml => output::yaml(&bundle),
            _ => output::json(&bundle),
        };
    };
    let text = match format {
        Format::Yaml => promptreg::model::yaml::to_string(&bundle)?,
        _ => serde_json::to_string_pretty(&bundle)? + "\n",
    };
    promptreg::store::write_atomic(path, text.as_bytes())?;
    context.status(&format!(
        "wrote {} prompt{} served by {} to {}",
        bundle.prompts.len(),
        if bundle.prompts.len() == 1 { "" } else { "s" },
        bundle.environment,
        path.display()
    ));
    Ok(())
}

//! `promptreg fetch`

use anyhow::Result;
use promptreg::ops::fetch::{fetch, last_update, record};
use promptreg::selector::{Selector, Target};

use crate::cli::context::Format;
use crate::cli::report::Usage;
use crate::cli::{output, Context};

/// Print one version of a prompt (default: what the last environment, production, serves)
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Selectors:\n  NAME              what the last environment (production) serves\n  NAME@2.1.0        an exact version\n  NAME@staging      what an environment serves\n  NAME@latest       the highest release\n\nFormats: yaml (default), json (the HTTP API's shape), text (the system prompt alone)"
)]
pub struct Args {
    /// NAME, NAME@VERSION, NAME@ENVIRONMENT or NAME@latest
    selector: String,
    /// An exact version (instead of @VERSION)
    #[arg(long, value_name = "X.Y.Z", conflicts_with_all = ["env", "latest"])]
    version: Option<String>,
    /// An environment (instead of @ENVIRONMENT)
    #[arg(long, value_name = "ENV", conflicts_with = "latest")]
    env: Option<String>,
    /// The highest release (instead of @latest)
    #[arg(long)]
    latest: bool,
}

pub fn run(context: &Context, args: &Args) -> Result<()> {
    let format = context.format(&[Format::Yaml, Format::Json, Format::Text], Format::Yaml)?;
    let mut selector = Selector::parse(&args.selector)?;
    let flag = match (&args.version, &args.env, args.latest) {
        (Some(v), _, _) => Some(Target::Version(promptreg::Version::parse(v)?)),
        (_, Some(env), _) => Some(Target::Environment(env.clone())),
        (_, _, true) => Some(Target::Latest),
        _ => None,
    };
    if let Some(flag) = flag {
        if selector.target.is_some() {
            return Err(Usage(format!(
                "`{}` already names a version; drop --version/--env/--latest",
                args.selector
            ))
            .into());
        }
        selector.target = Some(flag);
    }
    let store = context.store()?;
    let revision = context.revision.as_deref();
    let fetched = fetch(&store, &selector, revision)?;
    match format {
        Format::Text => output::print(&fetched.prompt.system_prompt),
        _ => {
            let update = last_update(&store, &fetched, revision)?;
            let record = record(&fetched, update);
            if format == Format::Json {
                output::json(&record)
            } else {
                output::yaml(&record)
            }
        }
    }
}

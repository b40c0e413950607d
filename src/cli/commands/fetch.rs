//! `promptreg fetch`

use anyhow::Result;
use promptreg::model::selector::{Selector, Target};
use promptreg::read::fetch;
use promptreg::read::record::prompt_record;

use crate::cli::context::Format;
use crate::cli::report::Usage;
use crate::cli::{output, Context};

/// Print one version of a prompt (default: what the last environment, production, serves)
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Selectors:\n  NAME              what the last environment (production) serves\n  NAME@2.1.0        an exact version\n  NAME@staging      what an environment serves\n  NAME@latest       the highest release\n\nFormats: yaml (default), json (the HTTP API's shape), text (the system prompt; with messages, then each message as a [role] block, as render prints them)"
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
    /// Who is asking (a user, session or tenant id): in an environment that splits traffic,
    /// the version this key is assigned (docs/FORMAT.md §3.3). Without it, a split serves its
    /// first entry
    #[arg(long, value_name = "KEY")]
    key: Option<String>,
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
            return Err(Usage(
                format!("`{}` already names a version", args.selector),
                "drop --version/--env/--latest, or give a bare NAME with one of them".into(),
            )
            .into());
        }
        selector.target = Some(flag);
    }
    let store = context.store()?;
    let revision = context.revision.as_deref();
    let started = std::time::Instant::now();
    let fetched = fetch(&store, &selector, revision, args.key.as_deref());
    if let Some(log) = std::env::var_os("PROMPTREG_AUDIT_LOG").filter(|v| !v.is_empty()) {
        audit(
            context,
            &store,
            &args.selector,
            &selector,
            &fetched,
            started,
            log.as_ref(),
        );
    }
    let fetched = fetched?;
    for skipped in &fetched.skipped {
        context.warning(&crate::cli::report::skipped_tag(skipped));
    }
    if let (Some(split), None) = (&fetched.split, &args.key) {
        let environment = match &selector.target {
            Some(Target::Environment(env)) => env.as_str(),
            _ => fetched.registry.last_environment(),
        };
        context.note(&format!(
            "{environment} of `{}` splits traffic ({}); without --key this is its first entry, {}",
            selector.name,
            promptreg::model::registry::Pointer::Split(split.clone()).describe(),
            fetched.release.version
        ));
    }
    match format {
        // The system prompt alone, byte for byte, as before; a prompt with messages is laid out
        // as `render` prints it: the system prompt, then a `[role]` block per message.
        Format::Text if fetched.prompt.messages.is_empty() => {
            output::print(&fetched.prompt.system_prompt)
        }
        Format::Text => output::print(&promptreg::model::render::layout(
            &fetched.prompt.system_prompt,
            fetched
                .prompt
                .messages
                .iter()
                .map(|m| (m.role, m.content.as_str())),
        )),
        _ => {
            let full = prompt_record(&store, &fetched, revision)?;
            if let Some(e) = &full.results_error {
                // The prompt is still worth printing; the results file is reported, not fatal.
                context.warning(&format!("test results not shown: {e}"));
            }
            let record = full.record;
            if format == Format::Json {
                output::json(&record)
            } else {
                output::yaml(&record)
            }
        }
    }
}

/// Appends the access-log line of this read (`PROMPTREG_AUDIT_LOG`); a log that cannot be
/// written is reported on stderr but does not fail the read.
fn audit(
    context: &Context,
    store: &promptreg::store::Store,
    given: &str,
    selector: &Selector,
    fetched: &promptreg::Result<promptreg::read::Fetched>,
    started: std::time::Instant,
    path: &std::path::Path,
) {
    use promptreg::ops::access_log::{append, now, AccessLine};
    let (version, bucket, status) = match fetched {
        Ok(f) => (Some(f.release.version.to_string()), f.bucket, 200),
        Err(e) => (None, None, e.status_and_code().0),
    };
    let environment = match &selector.target {
        Some(Target::Environment(env)) => Some(env.clone()),
        _ => None,
    };
    let line = AccessLine {
        time: now(),
        method: "FETCH".into(),
        path: given.to_owned(),
        prompt: Some(selector.name.to_string()),
        version,
        environment,
        bucket,
        identity: context.signatures(Some(store)).ok().map(|s| s.author.email),
        client: Some("cli".into()),
        status,
        duration_ms: (started.elapsed().as_secs_f64() * 1_000_000.0).round() / 1000.0,
    };
    if let Err(e) = append(path, &line) {
        context.warning(&format!(
            "cannot write the audit log `{}`: {e}",
            path.display()
        ));
    }
}

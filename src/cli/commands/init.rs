//! `promptreg init`

use std::path::PathBuf;

use anyhow::Result;
use promptreg::ops::example::{init_example, ExampleEvent};
use promptreg::ops::init::init;

use crate::cli::Context;

/// Make the current Git repository a prompt registry (commits registry.yaml and prompts/)
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  git init && promptreg init\n  promptreg init --example /tmp/demo   # a throwaway registry with example prompts"
)]
pub struct Args {
    /// Instead: create a new repository in DIR holding the bundled example registry, with a few
    /// versions released and promoted
    #[arg(long, value_name = "DIR")]
    example: Option<PathBuf>,
}

pub fn run(context: &Context, args: &Args) -> Result<()> {
    if let Some(dir) = &args.example {
        if std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_some()) {
            return Err(crate::cli::report::Failed(
                format!("{}: exists and is not empty", dir.display()),
                "choose a directory that does not exist yet, e.g. `promptreg init --example /tmp/promptreg-demo`; nothing was written".into(),
            )
            .into());
        }
        // A throwaway demo must work on a machine with no git identity configured, and so
        // must the commands run in it afterwards (the README's walk-through).
        let (signatures, keep_identity) = match context.signatures(None) {
            Ok(signatures) => (signatures, false),
            Err(_) => (demo_signatures()?, true),
        };
        let events = init_example(dir, &signatures, keep_identity)?;
        for event in &events {
            match event {
                ExampleEvent::Created { name, version } => {
                    context.status(&format!("created  {name} {version}"))
                }
                ExampleEvent::Tested {
                    name,
                    version,
                    test,
                } => context.status(&format!("tested   {name} {version} ({test})")),
                ExampleEvent::Promoted {
                    name,
                    version,
                    environment,
                } => context.status(&format!("promoted {name} {version} to {environment}")),
            }
        }
        context.status(&format!(
            "example registry ready in {}\ntry: promptreg --repo {} list",
            dir.display(),
            dir.display()
        ));
        return Ok(());
    }
    let store = context.store()?;
    let signatures = context.signatures(Some(&store))?;
    let done = init(&store, &signatures)?;
    context.status(&format!(
        "initialized a prompt registry on branch {} (commit {})\nnext: add prompts/NAME/prompt.yaml and run `promptreg create NAME --version 1.0.0 -m \"…\"`",
        done.branch,
        short(&done.commit.to_string())
    ));
    Ok(())
}

fn demo_signatures() -> Result<promptreg::store::identity::Signatures> {
    let env = |key: &str| std::env::var(key).ok();
    let config = |key: &str| match key {
        "user.name" => Some("promptreg demo".to_owned()),
        "user.email" => Some("demo@promptreg.invalid".to_owned()),
        _ => None,
    };
    Ok(promptreg::store::identity::resolve(&env, &config)?)
}

/// An abbreviated commit id.
pub fn short(id: &str) -> &str {
    &id[..id.len().min(10)]
}
